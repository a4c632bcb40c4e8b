package jlis

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/staff/stafftest"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/wareki"
	"github.com/mynaplat/mynaplat/web"
)

// ichiroHolder is what 酒田 一郎's signing certificate says, as kept.
var ichiroHolder = &jpki.Holder{Name: regIchiro.Name, BirthDate: regIchiro.BirthDate, Sex: jpki.Male}

func TestRegistrationKeepsTheSigningHolder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// 山形市 writes 一朗: a clerk must decide.
		w := newRegWorld(t, db, yamagata("酒田　一朗"))
		serial := w.issued.Auth.Serial
		d := w.doc(serial)
		cert, sig := w.sign(t, d)
		r, err := w.s.Register(ctx, d, cert, sig)
		if err != nil || r.Status != RegPending {
			t.Fatalf("register: %+v %v", r, err)
		}
		if diff := cmp.Diff(ichiroHolder, r.Holder); diff != "" {
			t.Errorf("Register's holder (-want +got):\n%s", diff)
		}
		pending, err := w.s.Registrations(ctx, "062014", RegPending)
		if err != nil || len(pending) != 1 {
			t.Fatalf("pending %+v %v", pending, err)
		}
		if diff := cmp.Diff(ichiroHolder, pending[0].Holder); diff != "" {
			t.Errorf("the stored holder (-want +got):\n%s", diff)
		}
		// Only name, birth date and sex are kept: not the address.
		var name, birth string
		var sex int
		if err := db.QueryRowContext(ctx, `SELECT holder_name, holder_birth, holder_sex FROM kiosk_registrations WHERE id = $1`, r.ID).
			Scan(&name, &birth, &sex); err != nil || name != "酒田　一郎" || birth != "1975-06-30" || sex != 1 {
			t.Errorf("columns %q %q %d, %v", name, birth, sex, err)
		}
		// The holder never goes out as JSON (the kiosk's menu lists the
		// registrations of a card).
		mine, err := w.s.RegistrationsOf(ctx, serial)
		if err != nil || len(mine) != 1 {
			t.Fatalf("RegistrationsOf %+v %v", mine, err)
		}
		b, err := json.Marshal(mine)
		if err != nil || strings.Contains(string(b), "酒田") || strings.Contains(string(b), "1975") {
			t.Errorf("JSON %s, %v", b, err)
		}
	})
}

func TestRegistrationFiledBeforeTheHolderWasKept(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := openKiosk(t, db)
		if _, err := db.Write(ctx, `INSERT INTO kiosk_registrations (id, platform_id, auth_serial, honseki, status, mismatches, sign_serial, signature, request, created_at)
VALUES ('old', 'pid', 'AA', '062014', 'pending', 'name', 'BB', $1, 'text', 1)`, []byte{1}); err != nil {
			t.Fatal(err)
		}
		rs, err := s.Registrations(ctx, "062014", RegPending)
		if err != nil || len(rs) != 1 || rs[0].Holder != nil {
			t.Fatalf("registrations %+v, %v", rs, err)
		}
		ps, err := s.Queue().Pending(ctx, "062014")
		if err != nil || len(ps) != 1 || ps[0].ID != "old" || ps[0].Name != "" || !ps[0].BirthDate.IsZero() {
			t.Errorf("pending %+v, %v", ps, err)
		}
	})
}

func TestQueueAdapter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newRegWorld(t, db, yamagata("酒田　一朗"))
		q := w.s.Queue()
		serial := w.issued.Auth.Serial
		d := w.doc(serial)
		cert, sig := w.sign(t, d)
		r, err := w.s.Register(ctx, d, cert, sig)
		if err != nil {
			t.Fatal(err)
		}
		ps, err := q.Pending(ctx, "062014")
		if err != nil {
			t.Fatal(err)
		}
		want := []municipal.PendingRegistration{{ID: r.ID, Name: "酒田　一郎", BirthDate: regIchiro.BirthDate, Sex: jpki.Male, FiledAt: r.CreatedAt}}
		if diff := cmp.Diff(want, ps); diff != "" {
			t.Errorf("pending (-want +got):\n%s", diff)
		}
		if ps, err := q.Pending(ctx, "062049"); err != nil || len(ps) != 0 {
			t.Errorf("another 本籍地's queue: %+v %v", ps, err)
		}
		for _, tc := range []struct {
			name, code, id, clerk string
			want                  error
		}{
			{"another 本籍地", "062049", r.ID, "酒田市 戸籍係", municipal.ErrNotFound},
			{"unknown", "062014", "nope", "山形市 戸籍係", municipal.ErrNotFound},
			{"no clerk", "062014", r.ID, " ", municipal.ErrInvalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if err := q.Decide(ctx, tc.code, tc.id, tc.clerk, true); !errors.Is(err, tc.want) {
					t.Errorf("got %v, want %v", err, tc.want)
				}
			})
		}
		if ok, _ := w.s.Registered(ctx, serial, "062014"); ok {
			t.Fatal("registered by a refused decision")
		}
		if err := q.Decide(ctx, "062014", r.ID, "山形市 戸籍係", true); err != nil {
			t.Fatal(err)
		}
		if ok, _ := w.s.Registered(ctx, serial, "062014"); !ok {
			t.Error("not registered after approval")
		}
		if ps, _ := q.Pending(ctx, "062014"); len(ps) != 0 {
			t.Errorf("still pending: %+v", ps)
		}
		if err := q.Decide(ctx, "062014", r.ID, "山形市 戸籍係", false); !errors.Is(err, municipal.ErrNotFound) {
			t.Errorf("deciding again: %v", err)
		}

		// After a renewal he files again; this time the clerk rejects it.
		w.clock.advance(time.Hour)
		renewed, err := w.centre.Renew(ctx, w.cd.ID(), w.cd)
		if err != nil {
			t.Fatal(err)
		}
		d = w.doc(renewed.Auth.Serial)
		cert, sig = w.sign(t, d)
		r2, err := w.s.Register(ctx, d, cert, sig)
		if err != nil || r2.Status != RegPending {
			t.Fatalf("register again: %+v %v", r2, err)
		}
		if err := q.Decide(ctx, "062014", r2.ID, "山形市 戸籍係", false); err != nil {
			t.Fatal(err)
		}
		if ok, _ := w.s.Registered(ctx, renewed.Auth.Serial, "062014"); ok {
			t.Error("registered after rejection")
		}
		var by string
		if err := db.QueryRowContext(ctx, `SELECT decided_by FROM kiosk_registrations WHERE id = $1`, r2.ID).Scan(&by); err != nil || by != "山形市 戸籍係" {
			t.Errorf("decided by %q, %v", by, err)
		}
	})
}

// TestRegistrationQueueInTheBackOffice wires the kiosk service to a real
// 本籍地: registration compared by municipal.Service.MatchKoseki, the queue
// (Service.Queue) in 山形市's back office, where a registry clerk signed in
// with their card approves it.
func TestRegistrationQueueInTheBackOffice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := func() time.Time { return time.Date(2026, 11, 24, 10, 5, 0, 0, wareki.JST()) }
		ms, err := municipal.Open(ctx, municipal.Config{DB: db, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ms.AddMunicipality(ctx, "062014"); err != nil {
			t.Fatal(err)
		}
		// 山形市's 戸籍 has his birth date a month off.
		k, err := ms.AddKoseki(ctx, municipal.Koseki{Municipality: "062014", Honseki: "山形県山形市旅篭町二丁目３番２５号", Hitto: "酒田　一郎",
			Members: []municipal.KosekiMember{{Name: "酒田　一郎", BirthDate: time.Date(1975, 7, 30, 0, 0, 0, 0, wareki.JST()), Sex: jpki.Male, Relation: "長男"}}})
		if err != nil {
			t.Fatal(err)
		}
		iss := stafftest.NewIssuer(t)
		dir := stafftest.Directory(t, db, now)
		stafftest.Grant(t, dir, staff.Grant{PlatformID: "clerk", Name: "山形　花子", Office: municipal.OfficeID("062014"),
			Role: staff.RegistryClerk, StaffNumber: "R-1"})
		const clerk = "staff:clerk 山形　花子 (municipal:062014, registry-clerk, R-1)"
		match := func(ctx context.Context, honseki string, h *jpki.Holder) ([]string, error) {
			mm, err := ms.MatchKoseki(ctx, honseki, h.Name, h.BirthDate, h.Sex)
			if errors.Is(err, municipal.ErrNotFound) {
				return nil, ErrNoKoseki
			}
			return mm, err
		}
		w := newRegWorld(t, db, match)
		d := w.doc(w.issued.Auth.Serial)
		cert, sig := w.sign(t, d)
		r, err := w.s.Register(ctx, d, cert, sig)
		if err != nil || r.Status != RegPending || !cmp.Equal(r.Mismatches, []string{"birth_date"}) {
			t.Fatalf("register: %+v %v", r, err)
		}

		site, err := web.New(ctx, web.Options{DB: db, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		pages, err := municipal.NewPages(ms, site, nil)
		if err != nil {
			t.Fatal(err)
		}
		pages.SetRegistrations(w.s.Queue())
		gate, err := staff.NewOfficeGate(staff.GateConfig{Site: site, Directory: dir, Keys: iss.Keys, Desk: "/staffdesk/", Now: now}, pages.StaffOffice())
		if err != nil {
			t.Fatal(err)
		}
		pages.SetStaff(gate)
		mux := http.NewServeMux()
		site.Routes(mux)
		pages.Routes(mux)
		c := webtest.Start(t, site.Protect(mux))
		base := "/municipal/062014/office/"
		stafftest.SignIn(c, base, base+"login", iss.Assertion(stafftest.StaffLogin("clerk", now())))
		c.Run([]webtest.Step{
			{Name: "the main page counts the registration", Path: base, WantContains: []string{`id="reg-queue-count">1<`}},
			{Name: "the queue", Path: base + "registrations",
				WantContains: []string{"酒田　一郎", "昭和50年6月30日", "昭和50年7月30日", `class="field-birth_date differs"`, r.ID},
				// agreeing fields are not marked
				WantNotContains: []string{`class="field-name differs"`, `class="field-sex differs"`}},
			{Name: "approve", Path: base + "registrations/" + r.ID, Form: url.Values{"decision": {"approve"}}, WantStatus: http.StatusSeeOther},
		})
		if ok, _ := w.s.Registered(ctx, w.issued.Auth.Serial, "062014"); !ok {
			t.Error("not registered after the clerk approved")
		}
		c.Step(webtest.Step{Name: "the queue is empty", Path: base + "registrations", WantContains: []string{"queue-empty"}})
		es, err := ms.Audit(ctx, "062014", 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range es {
			got = append(got, e.Action+" "+e.PersonID+" "+e.Detail+" "+e.Actor)
		}
		member := k.Members[0].PersonID
		if want := []string{"approve-registration " + member + " registration:" + r.ID + " " + clerk,
			"view-registration " + member + " registration:" + r.ID + " " + clerk}; !cmp.Equal(got, want) {
			t.Errorf("audit %q, want %q", got, want)
		}
		var by string
		if err := db.QueryRowContext(ctx, `SELECT decided_by FROM kiosk_registrations WHERE id = $1`, r.ID).Scan(&by); err != nil || by != clerk {
			t.Errorf("decided by %q, %v", by, err)
		}
	})
}
