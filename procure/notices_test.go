package procure

import (
	"bytes"
	"database/sql"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// noticesRequest is a request for number's notices signed by s now.
func (e *env) noticesRequest(number string, s *signer, at time.Time) []byte {
	der, err := SignNoticesRequest(e.ctx, number, at, s.key, s.cert, e.tsa)
	if err != nil {
		e.t.Fatal(err)
	}
	return der
}

// noticeAudit is the audit rows of requests for notices, oldest first.
func noticeAudit(t *testing.T, db *store.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT actor, corp_number, outcome, detail FROM procure_audit WHERE action = 'notices' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var actor, corp, outcome, detail string
		if err := rows.Scan(&actor, &corp, &outcome, &detail); err != nil {
			t.Fatal(err)
		}
		reason, _, _ := strings.Cut(detail, ":")
		if outcome == "ok" {
			reason = ""
		}
		out = append(out, strings.Join([]string{actor, corp, outcome, reason}, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNotices(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newAPIEnv(t, db)
		rep := e.reps[numberA]
		read := func(what string) []Notice {
			t.Helper()
			list, err := e.client.Notices(e.ctx, e.noticesRequest(numberA, rep, e.clock.now()))
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			return list
		}
		if got := read("before any filing"); len(got) != 0 {
			t.Fatalf("notices before any filing: %+v", got)
		}
		cardA, cardB := e.person(agentA), e.person(agentB)
		powerA := e.power(numberA, agentA, 365, MatterQualify)
		powerB := e.power(numberA, agentB, 365, MatterQualify)
		notice := func(agent, power string, at time.Time) Notice {
			rec, err := e.powers.Get(e.ctx, power)
			if err != nil {
				t.Fatal(err)
			}
			return Notice{AgentPlatformID: agent, AgentName: rec.Power.Agent.Name, PowerID: power,
				PowerNotBefore: rec.Power.NotBefore.UTC(), PowerNotAfter: rec.Power.NotAfter.UTC(), CreatedAt: at}
		}

		// Two filings by agent A (the correction asked for): one notice.
		e.clock.add(time.Minute)
		firstA := e.clock.now()
		f := e.mustApply(agentA, cardA, application(powerA))
		if err := e.svc.AskCorrection(e.ctx, officer, f.ApplicationID, "確認", "Check"); err != nil {
			t.Fatal(err)
		}
		e.clock.add(time.Minute)
		if f2 := e.mustApply(agentA, cardA, application(powerA)); f2.Version != 2 {
			t.Fatalf("the correction: version %d", f2.Version)
		}
		want := []Notice{notice(agentA, powerA, firstA)}
		if diff := cmp.Diff(want, read("after two filings by A")); diff != "" {
			t.Errorf("after two filings by A (-want +got):\n%s", diff)
		}

		// A refused filing by B leaves no notice; a filing by B does.
		if _, err := e.apply(agentB, cardB, e.canonical(application(powerB))); ReasonOf(err) != ReasonAlreadyOpen {
			t.Fatalf("B while A's application is open: %v", err)
		}
		if err := e.svc.Refuse(e.ctx, officer, f.ApplicationID, RefuseOther, "テスト"); err != nil {
			t.Fatal(err)
		}
		e.clock.add(time.Minute)
		firstB := e.clock.now()
		e.mustApply(agentB, cardB, application(powerB))
		want = append([]Notice{notice(agentB, powerB, firstB)}, want...)
		if diff := cmp.Diff(want, read("after B's filing")); diff != "" {
			t.Errorf("after B's filing (-want +got):\n%s", diff)
		}

		// GET with the request in the header answers the same.
		rq, err := http.NewRequest(http.MethodGet, e.url+"/procure/v1/notices", nil)
		if err != nil {
			t.Fatal(err)
		}
		rq.Header.Set("Authorization", "CMS "+base64.StdEncoding.EncodeToString(e.noticesRequest(numberA, rep, e.clock.now())))
		hc := &http.Client{Timeout: 10 * time.Second}
		resp, err := hc.Do(rq)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET: %s", resp.Status)
		}

		// Each read is an audit row naming the representative.
		okRow := "representative:" + rep.cert.Subject.CommonName + " " + numberA + " ok "
		if diff := cmp.Diff([]string{okRow, okRow, okRow, okRow}, noticeAudit(t, db)); diff != "" {
			t.Errorf("audit (-want +got):\n%s", diff)
		}
	})
}

// TestNoticeOnce: concurrent first filings of the same agent for the same
// corporation leave one notice (the key and ON CONFLICT DO NOTHING; the
// open-application index lets one filing through anyway, so the insert is
// raced here directly).
func TestNoticeOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() {
				errs[i] = db.Tx(e.ctx, func(tx *sql.Tx) error {
					_, err := db.TxExec(e.ctx, tx, qInsertNotice, numberA, agentA, "代理 花子", "p", int64(i), int64(i), int64(i))
					return err
				})
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM procure_notices`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%d notices, %v; want 1", n, err)
		}
	})
}

func TestNoticesRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newAPIEnv(t, db)
		rep := e.reps[numberA]
		card := e.person(agentA)
		e.mustApply(agentA, card, application(e.power(numberA, agentA, 365, MatterQualify)))

		used := e.noticesRequest(numberA, rep, e.clock.now())
		if _, err := e.client.Notices(e.ctx, used); err != nil {
			t.Fatal(err)
		}
		stale := e.noticesRequest(numberA, rep, e.clock.now())
		tampered := bytes.Replace(e.noticesRequest(numberA, rep, e.clock.now()), []byte(numberA), []byte(numberB), 1)
		e.clock.add(NoticeWindow + time.Second)
		tests := []struct {
			name   string
			signed []byte
			want   Reason
			actor  string
		}{
			{"signed by an agent", e.noticesRequest(numberA, card, e.clock.now()), ReasonNotRepresentative, "representative?:" + agentA},
			{"signed by another company's representative", e.noticesRequest(numberA, e.reps[numberB], e.clock.now()), ReasonNotRepresentative,
				"representative?:" + e.reps[numberB].cert.Subject.CommonName},
			{"stale", stale, ReasonStaleRequest, "representative?:" + rep.cert.Subject.CommonName},
			{"made long before its time-stamp", e.noticesRequest(numberA, rep, e.clock.now().Add(-NoticeWindow-time.Second)), ReasonStaleRequest,
				"representative?:" + rep.cert.Subject.CommonName},
			{"replayed", used, ReasonReplayedRequest, "representative:" + rep.cert.Subject.CommonName},
			{"tampered", tampered, ReasonBadNoticesRequest, "unverified"},
			{"a power, not a request", e.sign([]byte(`{"type":"mynaplat-power/1"}`), rep), ReasonBadNoticesRequest, "unverified"},
			{"not a CMS", []byte("not a CMS"), ReasonBadNoticesRequest, "unverified"},
		}
		for _, tt := range tests {
			// The replay is refused inside the window, where it is not stale.
			if tt.want == ReasonReplayedRequest {
				e.clock.add(-NoticeWindow)
			}
			before := countRows(t, db)
			audit := len(noticeAudit(t, db))
			_, err := e.client.Notices(e.ctx, tt.signed)
			r, ok := errors.AsType[*Refusal](err)
			if !ok || r.Reason != tt.want || r.MessageJA == "" || r.MessageEN == "" {
				t.Errorf("%s: %v, want %s with its texts", tt.name, err, tt.want)
			}
			after := countRows(t, db)
			after["procure_audit"]--
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("%s wrote more than its audit row (-before +after):\n%s", tt.name, diff)
			}
			rows := noticeAudit(t, db)
			if len(rows) != audit+1 {
				t.Fatalf("%s: %d audit rows, want %d", tt.name, len(rows), audit+1)
			}
			if got, want := rows[audit], tt.actor+" "+map[bool]string{true: numberA, false: ""}[tt.actor != "unverified"]+" refused "+string(tt.want); got != want {
				t.Errorf("%s: audit row %q, want %q", tt.name, got, want)
			}
			if tt.want == ReasonReplayedRequest {
				e.clock.add(NoticeWindow)
			}
		}
		var used2 int
		if err := db.QueryRow(`SELECT COUNT(*) FROM procure_notice_requests`).Scan(&used2); err != nil || used2 != 1 {
			t.Errorf("%d used requests kept, %v; want 1 (no refusal records its request)", used2, err)
		}
		// A malformed body is the API's bad request.
		hc := &http.Client{Timeout: 10 * time.Second}
		resp, err := hc.Post(e.url+"/procure/v1/notices", "application/json", strings.NewReader(`{"cms":"!"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("malformed body: %s", resp.Status)
		}
	})
}
