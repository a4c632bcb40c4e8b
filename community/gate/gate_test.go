package gate_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/community/gate"
	"github.com/mynaplat/mynaplat/community/mail"
	"github.com/mynaplat/mynaplat/community/mail/mailbox"
	"github.com/mynaplat/mynaplat/community/tvlogin/tvlogintest"
	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

var jst = time.FixedZone("JST", 9*60*60)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// cards stands in for the platform's presence read: the certificate (its
// bytes) of each holder, mapped only among the IDs named, as
// platform.PresentedPerson does. It records what each body asked.
type cards struct {
	mu     sync.Mutex
	holder map[string]string
	asked  map[string][]string
}

func (c *cards) read(body string) gate.Presented {
	return func(_ context.Context, der []byte, among []string) (string, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.asked[body] = among
		id, ok := c.holder[string(der)]
		if !ok && string(der) == "junk" {
			return "", platform.ErrInvalid
		}
		if !ok || !slices.Contains(among, id) {
			return "", platform.ErrNotFound
		}
		return id, nil
	}
}

type fixture struct {
	school, library *gate.Service
	clk             *clock
	cards           *cards
	box             *mailbox.Server
}

// setup: さくら at the school and the library (parents 母 and 父 at the
// school, 母 alone at the library), 健 at the school only (parent 隣の親).
func setup(t *testing.T, db *store.DB, now func() time.Time) fixture {
	return setupWith(t, db, now, 0)
}

func setupWith(t *testing.T, db *store.DB, now func() time.Time, debounce time.Duration) fixture {
	t.Helper()
	ctx := context.Background()
	box, err := mailbox.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { box.Close() })
	clk := &clock{t: time.Date(2026, 12, 8, 7, 50, 0, 0, jst)}
	if now == nil {
		now = clk.now
	}
	sender, err := mail.NewSender(mail.Config{Addr: box.Addr(), From: "gate@town.nambu.example", DialTimeout: 2 * time.Second, Deadline: 5 * time.Second}, now)
	if err != nil {
		t.Fatal(err)
	}
	cs := &cards{holder: map[string]string{"card-sakura": "sakura", "card-ken": "ken", "card-mother": "mother"}, asked: map[string][]string{}}
	open := func(b gate.Body) *gate.Service {
		s, err := gate.New(ctx, gate.Config{DB: db, Body: b, Presented: cs.read(b.ID), Mail: sender, Now: now, Debounce: debounce})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	f := fixture{clk: clk, cards: cs, box: box,
		school:  open(gate.Body{ID: "nambu-school", Name: "南部町立 南部小学校", NameEN: "Nambu Elementary School", Phone: "0859-66-0001"}),
		library: open(gate.Body{ID: "nambu-library", Name: "南部町立図書館", NameEN: "Nambu Town Library", Phone: "0859-66-0002"})}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.school.RegisterChild(ctx, "demo", "sakura", "南部 さくら"))
	must(f.school.RegisterChild(ctx, "demo", "ken", "法勝寺 健"))
	must(f.school.LinkParent(ctx, "demo", "sakura", "mother", "mother@example.jp"))
	must(f.school.LinkParent(ctx, "demo", "sakura", "father", "father@example.jp"))
	must(f.school.LinkParent(ctx, "demo", "ken", "neighbour", "neighbour@example.jp"))
	must(f.library.RegisterChild(ctx, "demo", "sakura", "南部 さくら"))
	must(f.library.LinkParent(ctx, "demo", "sakura", "mother", "mother@example.jp"))
	return f
}

func kinds(evs []gate.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Kind)
	}
	return out
}

// TestGate: touches alternate arrive/leave within a day and start again
// the next day; a second touch within the debounce is the same event; a
// card of no child registered at that body (another body's child, an
// adult, junk) is unknown_card with its audit row only and no event; the
// platform is asked among the body's own children only; the parents' TV
// history shows their children at that body only, and another parent gets
// not_linked; the school's staff page lists its own events only; every
// read is audited.
func TestGate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db, nil)

		var got []string
		for range 3 {
			ev, err := f.school.Touch(ctx, "gate-school-1", []byte("card-sakura"))
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ev.Kind)
			f.clk.add(2 * time.Hour)
		}
		if want := []string{"arrive", "leave", "arrive"}; !slices.Equal(got, want) {
			t.Errorf("kinds = %v, want %v", got, want)
		}
		// A second touch within the debounce answers the same event.
		f.clk.add(-2*time.Hour + 20*time.Second)
		ev, err := f.school.Touch(ctx, "gate-school-1", []byte("card-sakura"))
		if err != nil || ev.Kind != "arrive" {
			t.Errorf("touch within the debounce = %+v, %v; want the arrival again", ev, err)
		}
		// The next day starts with an arrival.
		f.clk.add(20 * time.Hour)
		if ev, err := f.school.Touch(ctx, "gate-school-1", []byte("card-sakura")); err != nil || ev.Kind != "arrive" {
			t.Errorf("next day = %+v, %v; want arrive", ev, err)
		}
		if ev, err := f.library.Touch(ctx, "gate-library-1", []byte("card-sakura")); err != nil || ev.Kind != "arrive" || ev.BodyName != "南部町立図書館" {
			t.Errorf("library = %+v, %v", ev, err)
		}

		for _, tc := range []struct {
			name string
			svc  *gate.Service
			card string
		}{
			{"the school's child at the library", f.library, "card-ken"},
			{"an adult's card", f.school, "card-mother"},
			{"a card of no holder", f.school, "card-unknown"},
			{"junk", f.school, "junk"},
		} {
			if _, err := tc.svc.Touch(ctx, "gate-x", []byte(tc.card)); gate.ReasonOf(err) != gate.ReasonUnknownCard {
				t.Errorf("%s: %v, want unknown_card", tc.name, err)
			}
		}
		if diff := cmp.Diff(map[string][]string{"nambu-school": {"ken", "sakura"}, "nambu-library": {"sakura"}}, f.cards.asked); diff != "" {
			t.Errorf("the platform was asked among (-want +got):\n%s", diff)
		}

		// The parents' history.
		h, err := f.school.History(ctx, "mother", "tv-1")
		if err != nil || len(h) != 1 || h[0].Name != "南部 さくら" {
			t.Fatalf("mother at the school = %+v, %v", h, err)
		}
		if want := []string{"arrive", "arrive", "leave", "arrive"}; !slices.Equal(kinds(h[0].Events), want) {
			t.Errorf("history newest first = %v, want %v", kinds(h[0].Events), want)
		}
		if h, err := f.library.History(ctx, "mother", "tv-1"); err != nil || len(h) != 1 || len(h[0].Events) != 1 {
			t.Errorf("mother at the library = %+v, %v", h, err)
		}
		if _, err := f.library.History(ctx, "father", "tv-2"); gate.ReasonOf(err) != gate.ReasonNotLinked {
			t.Errorf("father at the library (linked at the school only): %v, want not_linked", err)
		}
		if h, err := f.school.History(ctx, "neighbour", "tv-3"); err != nil || len(h) != 1 || h[0].Name != "法勝寺 健" || len(h[0].Events) != 0 {
			t.Errorf("another parent sees only their own child: %+v, %v", h, err)
		}
		if _, err := f.school.History(ctx, "stranger", "tv-4"); gate.ReasonOf(err) != gate.ReasonNotLinked {
			t.Errorf("a stranger: %v, want not_linked", err)
		}

		// The staff page of the day: the body's own events only.
		today, err := f.library.Today(ctx, "L001 司書")
		if err != nil || len(today) != 1 || today[0].Terminal != "gate-library-1" {
			t.Errorf("library's day = %+v, %v", today, err)
		}
		today, err = f.school.Today(ctx, "S001 教員")
		if err != nil || len(today) != 1 || today[0].Terminal != "gate-school-1" {
			t.Errorf("school's day = %+v, %v", today, err)
		}

		// The audit: the school's rows about さくら, and the refusals
		// naming no one.
		rows, err := f.school.Audit(ctx, "sakura")
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, r := range rows {
			actions = append(actions, r.Actor+" "+r.Action+" "+r.Result)
		}
		want := []string{"demo child ok", "demo parent ok", "demo parent ok",
			"gate:gate-school-1 arrive ok", "gate:gate-school-1 leave ok", "gate:gate-school-1 arrive ok", "gate:gate-school-1 arrive ok",
			"mother history ok"}
		if diff := cmp.Diff(want, actions); diff != "" {
			t.Errorf("school's audit of さくら (-want +got):\n%s", diff)
		}
		rows, err = f.school.Audit(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		actions = nil
		for _, r := range rows {
			actions = append(actions, r.Actor+" "+r.Action+" "+r.Result)
		}
		want = []string{"gate:gate-x touch unknown_card", "gate:gate-x touch unknown_card", "gate:gate-x touch unknown_card",
			"stranger history not_linked", "S001 教員 today ok"}
		if diff := cmp.Diff(want, actions); diff != "" {
			t.Errorf("school's audit of no one (-want +got):\n%s", diff)
		}

		// Registration refusals.
		if err := f.school.LinkParent(ctx, "demo", "nobody", "p", "p@example.jp"); gate.ReasonOf(err) != gate.ReasonBadParent {
			t.Errorf("a parent of no child: %v", err)
		}
		if err := f.school.LinkParent(ctx, "demo", "sakura", "p", "not a mail"); gate.ReasonOf(err) != gate.ReasonBadParent {
			t.Errorf("a bad address: %v", err)
		}
		if err := f.school.RegisterChild(ctx, "demo", "x", " "); gate.ReasonOf(err) != gate.ReasonBadChild {
			t.Errorf("a child without a name: %v", err)
		}
	})
}

// TestParentMail: a touch mails each linked parent at once through the
// outbox and the SMTP server (read back from the in-process mailbox); the
// mail says who, where, arrived, when, and nothing else; the delay from
// the touch to the mail on the server is measured (≤ 5 s, issue 20 §4).
func TestParentMail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		f := setup(t, db, time.Now)
		go f.school.Run(ctx, time.Minute)
		go f.library.Run(ctx, time.Minute)
		time.Sleep(50 * time.Millisecond) // the workers' first round (nothing queued)

		start := time.Now()
		if _, err := f.school.Touch(ctx, "gate-school-1", []byte("card-sakura")); err != nil {
			t.Fatal(err)
		}
		mails, err := f.box.Wait(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		delay := time.Since(start)
		t.Logf("touch to both parents' mails on the SMTP server: %v", delay)
		if delay > 5*time.Second {
			t.Errorf("mail after %v, want ≤ 5 s", delay)
		}
		var to []string
		for _, m := range mails {
			to = append(to, m.To...)
			for _, want := range []string{"南部 さくら", "南部町立 南部小学校", "着きました", "arrived", "card was presented"} {
				if !strings.Contains(m.Subject+m.Body, want) {
					t.Errorf("mail lacks %q:\n%s\n%s", want, m.Subject, m.Body)
				}
			}
		}
		slices.Sort(to)
		if !slices.Equal(to, []string{"father@example.jp", "mother@example.jp"}) {
			t.Errorf("mailed %v", to)
		}
		// The library's touch mails the one parent linked there.
		if _, err := f.library.Touch(ctx, "gate-library-1", []byte("card-sakura")); err != nil {
			t.Fatal(err)
		}
		mails, err = f.box.Wait(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		if m := mails[2]; !slices.Equal(m.To, []string{"mother@example.jp"}) || !strings.Contains(m.Subject, "南部町立図書館") {
			t.Errorf("library's mail = %v %s", m.To, m.Subject)
		}
		time.Sleep(200 * time.Millisecond)
		if n := len(f.box.Mails()); n != 3 {
			t.Errorf("%d mails, want 3 (each once)", n)
		}
	})
}

// TestAPI: through the typed client, a gate terminal touches with its
// key (none or another body's key is refused); a parent's TV reads the
// history with their card login, another parent is not_linked, a kiosk's
// login is refused; the school's API does not serve the library's path.
func TestAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db, nil)
		m := tvlogintest.New(t, f.clk.now())
		schoolKey, libraryKey := callerkey.New(), callerkey.New()
		schoolCfg := gate.APIConfig{Login: m.Config(), Gates: callerkey.Keys{}.Add("terminals", schoolKey)}
		one := http.NewServeMux()
		f.school.Routes(one, schoolCfg)
		schoolOnly := httptest.NewServer(one)
		t.Cleanup(schoolOnly.Close)
		mux := http.NewServeMux()
		f.school.Routes(mux, schoolCfg)
		f.library.Routes(mux, gate.APIConfig{Login: m.Config(), Gates: callerkey.Keys{}.Add("terminals", libraryKey)})
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)

		school := &gate.Client{BaseURL: srv.URL, Body: "nambu-school", Key: schoolKey}
		ev, err := school.Touch(ctx, "gate-school-1", []byte("card-sakura"))
		if err != nil || ev.Kind != "arrive" || ev.Name != "南部 さくら" || ev.Terminal != "gate-school-1" {
			t.Fatalf("touch = %+v, %v", ev, err)
		}
		for _, tc := range []struct{ name, key string }{{"no key", ""}, {"the library's key", libraryKey}} {
			c := &gate.Client{BaseURL: srv.URL, Body: "nambu-school", Key: tc.key}
			if _, err := c.Touch(ctx, "gate-school-1", []byte("card-sakura")); !errors.Is(err, callerkey.CodeUnauthorized) {
				t.Errorf("%s: %v, want unauthorized", tc.name, err)
			}
		}
		if _, err := school.Touch(ctx, "gate-school-1", []byte("card-mother")); gate.ReasonOf(err) != gate.ReasonUnknownCard {
			t.Errorf("an adult's card: %v", err)
		}

		h, err := school.History(ctx, m.Mint("mother", "tv-nambu-2", nil))
		if err != nil || len(h) != 1 || len(h[0].Events) != 1 || h[0].Events[0].Kind != "arrive" {
			t.Errorf("mother's history = %+v, %v", h, err)
		}
		if ok, err := school.Linked(ctx, m.Mint("mother", "tv-nambu-2", nil)); !ok || err != nil {
			t.Errorf("mother linked = %v, %v", ok, err)
		}
		if ok, err := school.Linked(ctx, m.Mint("stranger", "tv-nambu-3", nil)); ok || err != nil {
			t.Errorf("stranger linked = %v, %v", ok, err)
		}
		if _, err := school.Linked(ctx, "junk"); !errors.Is(err, gate.CodeLogin) {
			t.Errorf("linked without a login: %v", err)
		}
		if _, err := school.History(ctx, m.Mint("stranger", "tv-nambu-3", nil)); gate.ReasonOf(err) != gate.ReasonNotLinked {
			t.Errorf("another parent: %v, want not_linked", err)
		}
		if _, err := school.History(ctx, m.Mint("mother", "kiosk-1", func(c *platform.Claims) { c.TerminalKind = platform.Kiosk })); !errors.Is(err, gate.CodeLogin) {
			t.Errorf("a kiosk's login: %v, want %s", err, gate.CodeLogin)
		}
		library := &gate.Client{BaseURL: srv.URL, Body: "nambu-library"}
		if h, err := library.History(ctx, m.Mint("mother", "tv-nambu-2", nil)); err != nil || len(h) != 1 || len(h[0].Events) != 0 {
			t.Errorf("the library knows nothing of the school's touch: %+v, %v", h, err)
		}
		onlySchool := &gate.Client{BaseURL: schoolOnly.URL, Body: "nambu-library"}
		if _, err := onlySchool.History(ctx, m.Mint("mother", "tv-nambu-2", nil)); err == nil {
			t.Error("the school's server answered the library's path")
		}
	})
}

// TestTouchesAtOnce: eight touches of one card at once (two readers, no
// debounce) make eight events numbered 1…8 within the day, alternating
// arrive and leave: the unique (child, day, seq) index decides, and the
// losers run again.
func TestTouchesAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setupWith(t, db, nil, -1)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 8 {
			wg.Go(func() {
				_, err := f.school.Touch(ctx, "gate-school-"+strconv.Itoa(i%2+1), []byte("card-sakura"))
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		today, err := f.school.Today(ctx, "S001")
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"arrive", "leave", "arrive", "leave", "arrive", "leave", "arrive", "leave"}
		if got := kinds(today); !slices.Equal(got, want) {
			t.Errorf("kinds = %v, want %v", got, want)
		}
	})
}
