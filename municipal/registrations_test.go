package municipal

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/wareki"
)

// fakeQueue is a RegistrationQueue in memory, as package kiosk keeps it.
type fakeQueue struct {
	mu   sync.Mutex
	regs []*fakeReg
}

type fakeReg struct {
	code     string
	p        PendingRegistration
	decided  bool
	approved bool
	clerk    string
}

func civilDay(s string) time.Time {
	d, err := time.ParseInLocation(time.DateOnly, s, wareki.JST())
	if err != nil {
		panic(err)
	}
	return d
}

func (q *fakeQueue) add(code, id, name, birth string, sex jpki.Sex) {
	q.mu.Lock()
	defer q.mu.Unlock()
	filed := muniTuesday.Add(time.Duration(len(q.regs)) * time.Minute)
	q.regs = append(q.regs, &fakeReg{code: code, p: PendingRegistration{ID: id, Name: name, BirthDate: civilDay(birth), Sex: sex, FiledAt: filed}})
}

func (q *fakeQueue) get(id string) fakeReg {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, r := range q.regs {
		if r.p.ID == id {
			return *r
		}
	}
	return fakeReg{}
}

func (q *fakeQueue) Pending(_ context.Context, code string) ([]PendingRegistration, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []PendingRegistration
	for _, r := range q.regs {
		if r.code == code && !r.decided {
			out = append(out, r.p)
		}
	}
	return out, nil
}

func (q *fakeQueue) Decide(_ context.Context, code, id, clerk string, approve bool) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if clerk == "" {
		return ErrInvalid
	}
	for _, r := range q.regs {
		if r.p.ID == id && r.code == code && !r.decided {
			r.decided, r.approved, r.clerk = true, approve, clerk
			return nil
		}
	}
	return ErrNotFound
}

// yamagataQueue holds three registrations at 山形市 (062014), the 本籍地 of
// 酒田 一郎 in the demo world — his birth date mistyped, his name with
// another character (朗), and a stranger — and one of 本間 光 at 酒田市.
func yamagataQueue() *fakeQueue {
	q := &fakeQueue{}
	q.add("062014", "reg-birth", "酒田　一郎", "1975-06-03", jpki.Male)
	q.add("062014", "reg-name", "酒田　一朗", "1975-06-30", jpki.Male)
	q.add("062014", "reg-stranger", "山田　花子", "2001-01-01", jpki.Female)
	q.add("062049", "reg-sakata", "本間　光", "1988-12-24", jpki.Male)
	return q
}

func TestMatchKoseki(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _, _ := muniSeeded(t, db)
		ichiro := civilDay("1975-06-30")
		for _, tc := range []struct {
			name, code, holder string
			birth              time.Time
			sex                jpki.Sex
			want               []string
		}{
			{"exact", "062014", "酒田　一郎", ichiro, jpki.Male, nil},
			{"an ASCII space is the same spelling", "062014", "酒田 一郎", ichiro, jpki.Male, nil},
			{"birth date differs", "062014", "酒田　一郎", civilDay("1975-06-03"), jpki.Male, []string{"birth_date"}},
			{"name differs", "062014", "酒田　一朗", ichiro, jpki.Male, []string{"name"}},
			{"sex differs", "062014", "酒田　一郎", ichiro, jpki.Female, []string{"sex"}},
			{"birth date and sex differ", "062014", "酒田　一郎", civilDay("1976-06-30"), jpki.Female, []string{"birth_date", "sex"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.MatchKoseki(ctx, tc.code, tc.holder, tc.birth, tc.sex)
				if err != nil || !cmp.Equal(got, tc.want) {
					t.Errorf("MatchKoseki = %q, %v; want %q", got, err, tc.want)
				}
			})
		}
		for _, tc := range []struct {
			name, code, holder string
			birth              time.Time
		}{
			{"nobody", "062014", "山田　花子", civilDay("2001-01-01")},
			// 酒田市 keeps 本間 光's 戸籍, not 酒田 一郎's (his 本籍 is 山形市).
			{"another 本籍地", "062049", "酒田　一郎", ichiro},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got, err := s.MatchKoseki(ctx, tc.code, tc.holder, tc.birth, jpki.Male); !errors.Is(err, ErrNotFound) {
					t.Errorf("MatchKoseki = %q, %v; want ErrNotFound", got, err)
				}
			})
		}
	})
}

func TestKosekiMatchAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		_, w, srv, _ := muniServer(t, db)
		key := w.Keys["062014"].Relay
		post := func(t *testing.T, code, key, body string) (int, []byte) {
			t.Helper()
			r := srv.With(t).Bearer(key).PostJSON("/municipal/"+code+"/v1/koseki-match", body)
			return r.Status, []byte(r.Body)
		}
		exact := `{"name":"酒田　一郎","birth_date":"1975-06-30","sex":1}`
		for _, tc := range []struct {
			name, body string
			want       []string
		}{
			{"exact", exact, []string{}},
			{"birth date differs", `{"name":"酒田　一郎","birth_date":"1975-06-03","sex":1}`, []string{"birth_date"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				st, b := post(t, "062014", key, tc.body)
				var ans KosekiMatchAnswer
				if err := json.Unmarshal(b, &ans); err != nil || st != http.StatusOK || !cmp.Equal(ans.Mismatches, tc.want) {
					t.Errorf("status %d, %s (%v); want %q", st, b, err, tc.want)
				}
			})
		}
		for _, tc := range []struct {
			name, code, key, body string
			status                int
			problem               httpapi.Code
		}{
			{"no key", "062014", "", exact, 401, CodeUnauthorized},
			{"wrong key", "062014", "muni_relay_062014_nope", exact, 401, CodeUnauthorized},
			{"another town's relay key", "062014", w.Keys["062049"].Relay, exact, 401, CodeUnauthorized},
			{"a staff key", "062014", "muni_staff_062014_not-a-relay-key", exact, 401, CodeUnauthorized},
			{"nobody", "062014", key, `{"name":"山田　花子","birth_date":"2001-01-01","sex":2}`, 404, CodeNotFound},
			{"no name", "062014", key, `{"name":"","birth_date":"1975-06-30","sex":1}`, 400, CodeInvalidRequest},
			{"bad date", "062014", key, `{"name":"酒田　一郎","birth_date":"S50.6.30","sex":1}`, 400, CodeInvalidRequest},
			{"unknown field", "062014", key, `{"name":"酒田　一郎","birth_date":"1975-06-30","sex":1,"address":"x"}`, 400, CodeInvalidRequest},
			{"bad json", "062014", key, `{"name":`, 400, CodeInvalidRequest},
		} {
			t.Run(tc.name, func(t *testing.T) {
				st, b := post(t, tc.code, tc.key, tc.body)
				var p httpapi.Problem
				if err := json.Unmarshal(b, &p); err != nil || st != tc.status || p.Code != tc.problem {
					t.Errorf("status %d, %s; want %d %s", st, b, tc.status, tc.problem)
				}
				if strings.Contains(string(b), "mismatches") {
					t.Error("a refusal compared the holder")
				}
			})
		}
	})
}

func decision(d string) url.Values { return url.Values{"decision": {d}} }

// yamagataClerk is how the audit names the test clerk of 山形市.
var yamagataClerk = "staff:clerk-062014 " + clerkName("062014") + " (municipal:062014, registry-clerk, R-062014)"

func TestOfficeRegistrationQueue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		q := yamagataQueue()
		s, w, srv, st := muniServerWith(t, db, q)
		ichiro := muniPerson(t, w, "酒田　一郎").KosekiID
		base := "/municipal/062014/office/"
		c := srv.With(t)

		// Not logged in: the login form, nothing decided.
		c.Run([]webtest.Step{
			{Name: "queue without login", Path: base + "registrations", WantStatus: http.StatusSeeOther, WantLocation: base + "signin", WantNotContains: []string{"酒田　一"}},
			{Name: "decision without login", Path: base + "registrations/reg-birth", Form: decision("approve"), WantStatus: http.StatusForbidden},
		})

		st.signIn(c, "062014")
		c.Step(webtest.Step{Name: "main page links the queue with 3 pending", Path: base, WantContains: []string{`id="reg-queue-count">3<`, base + "registrations"}})
		// The queue shows the three, and not another municipality's registration.
		body := c.Step(webtest.Step{Name: "queue", Path: base + "registrations",
			WantContains:    []string{"酒田　一郎", "酒田　一朗", "山田　花子", "昭和50年6月3日", "昭和50年6月30日", "平成13年1月1日", "reg-birth", "該当しそうな人"},
			WantNotContains: []string{"本間", "reg-sakata"}}).Body
		// Marks: a birth date (reg-birth), a name (reg-name), all three
		// (the stranger: nobody to compare with).
		for field, n := range map[string]int{"name": 2, "birth_date": 2, "sex": 1} {
			if got := strings.Count(body, `class="field-`+field+` differs"`); got != n {
				t.Errorf("%s marked %d times, want %d", field, got, n)
			}
		}
		es, err := s.Audit(ctx, "062014", 50)
		if err != nil {
			t.Fatal(err)
		}
		var views []string
		for _, e := range es {
			if e.Action != AuditViewRegistration || e.Actor != yamagataClerk {
				t.Errorf("audit row %+v", e)
			}
			views = append(views, e.Detail+"/"+e.PersonID)
		}
		slices.Sort(views)
		if want := []string{"registration:reg-birth/" + ichiro, "registration:reg-name/" + ichiro, "registration:reg-stranger/"}; !cmp.Equal(views, want) {
			t.Errorf("view audit %q, want %q", views, want)
		}

		// Another municipality's registration, an unknown one, a bad
		// decision, no CSRF token: nothing decided.
		for _, tc := range []struct {
			name, id string
			v        url.Values
			status   int
		}{
			{"another municipality's", "reg-sakata", decision("approve"), http.StatusNotFound},
			{"unknown", "reg-nope", decision("approve"), http.StatusNotFound},
			{"no decision", "reg-birth", decision("maybe"), http.StatusBadRequest},
			{"no CSRF token", "reg-birth", url.Values{"decision": {"approve"}, "csrf": {"forged"}}, http.StatusForbidden},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c.With(t).Step(webtest.Step{Name: tc.name, Path: base + "registrations/" + tc.id, Form: tc.v, WantStatus: tc.status})
			})
		}
		if q.get("reg-sakata").decided || q.get("reg-birth").decided {
			t.Fatal("a refused decision was recorded")
		}

		c.Step(webtest.Step{Name: "approve", Path: base + "registrations/reg-birth", Form: decision("approve"), WantStatus: http.StatusSeeOther})
		if r := q.get("reg-birth"); !r.decided || !r.approved || r.clerk != yamagataClerk {
			t.Errorf("after approval: %+v", r)
		}
		c.Run([]webtest.Step{
			{Name: "deciding again", Path: base + "registrations/reg-birth", Form: decision("reject"), WantStatus: http.StatusNotFound},
			{Name: "reject", Path: base + "registrations/reg-name", Form: decision("reject"), WantStatus: http.StatusSeeOther},
		})
		if r := q.get("reg-name"); !r.decided || r.approved {
			t.Errorf("after rejection: %+v", r)
		}
		c.Step(webtest.Step{Name: "queue after the decisions", Path: base + "registrations",
			WantContains: []string{"利用登録を却下しました", "reg-stranger"}, WantNotContains: []string{"reg-birth", "reg-name"}})
		if es, err = s.Audit(ctx, "062014", 50); err != nil {
			t.Fatal(err)
		}
		var decisions []string
		for _, e := range es {
			if e.Action != AuditViewRegistration {
				decisions = append(decisions, e.Action+" "+e.Detail+" "+e.PersonID+" "+e.Actor)
			}
		}
		if want := []string{"reject-registration registration:reg-name " + ichiro + " " + yamagataClerk,
			"approve-registration registration:reg-birth " + ichiro + " " + yamagataClerk}; !cmp.Equal(decisions, want) {
			t.Errorf("decision audit %q, want %q", decisions, want)
		}
		if n := len(es) - len(decisions); n != 4 {
			t.Errorf("%d view rows, want 3 + 1", n)
		}
		c.Step(webtest.Step{Name: "the main page counts 1 pending", Path: base, WantContains: []string{`id="reg-queue-count">1<`}})

		// A clerk of 酒田市 sees only 酒田市's queue, and cannot decide 山形市's.
		other := c.Fresh()
		st.signIn(other, "062049")
		other.Run([]webtest.Step{
			{Name: "酒田市's queue", Path: "/municipal/062049/office/registrations", WantContains: []string{"reg-sakata"}, WantNotContains: []string{"reg-stranger"}},
			{Name: "酒田市 deciding 山形市's registration", Path: "/municipal/062049/office/registrations/reg-stranger", Form: decision("approve"),
				WantStatus: http.StatusNotFound},
			{Name: "山形市's queue with 酒田市's login: the sign-in", Path: base + "registrations", WantStatus: http.StatusSeeOther, WantLocation: base + "signin",
				WantNotContains: []string{"reg-stranger"}},
			{Name: "山形市's decision with 酒田市's login", Path: base + "registrations/reg-stranger", Form: decision("approve"), WantStatus: http.StatusForbidden},
		})
		if q.get("reg-stranger").decided {
			t.Error("another municipality decided")
		}
		es, err = s.Audit(ctx, "062014", 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if strings.Contains(e.Actor, clerkName("062049")) {
				t.Errorf("山形市's audit has 酒田市's clerk: %+v", e)
			}
		}
	})
}

func TestOfficeWithoutQueue(t *testing.T) {
	_, _, c, st := muniServer(t, storetest.SQLite(t))
	st.signIn(c, "062014")
	c.Run([]webtest.Step{
		{Name: "no link to a queue that is not served", Path: "/municipal/062014/office/", WantNotContains: []string{"reg-queue"}},
		{Name: "queue page without a queue", Path: "/municipal/062014/office/registrations", WantStatus: http.StatusNotFound},
		{Name: "decision without a queue", Path: "/municipal/062014/office/registrations/x", Form: decision("approve"), WantStatus: http.StatusNotFound},
	})
}
