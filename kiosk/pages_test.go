package kiosk

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/jlis"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/wareki"
)

// testStore is the store the test kiosks stand in.
const testStore = "ローソン酒田本町店"

// kioskPages registers kiosks with the platform and the relay, keeps their
// configurations in a directory as a machine would, opens them as stations
// and mounts their pages on the world's server.
func (w *world) kioskPages(t testing.TB, ids ...string) (*Pages, []*Station) {
	t.Helper()
	return w.kioskPagesWith(t, w.srv.Client(), ids...)
}

// kioskPagesWith is kioskPages with the stations' HTTP client.
func (w *world) kioskPagesWith(t testing.TB, hc *http.Client, ids ...string) (*Pages, []*Station) {
	t.Helper()
	dir := t.TempDir()
	for _, id := range ids {
		k := w.kiosk(t, id)
		if err := SaveStationConfig(dir, StationConfig{Terminal: k.term.Config, Store: testStore, RelayKey: k.client.Key}); err != nil {
			t.Fatal(err)
		}
	}
	cfgs, err := LoadStationConfigs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfgs) != len(ids) {
		t.Fatalf("loaded %d station configurations, want %d", len(cfgs), len(ids))
	}
	var sts []*Station
	for _, c := range cfgs {
		st, err := NewStation(c, StationOptions{PlatformURL: w.srv.URL, RelayURL: w.srv.URL, Dir: dir, Now: w.now, HTTP: hc})
		if err != nil {
			t.Fatal(err)
		}
		sts = append(sts, st)
	}
	p, err := NewPages(w.site, w.cards, sts, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.Routes(w.mux)
	return p, sts
}

// screen is one person's browser at a kiosk, over plain HTTP: it follows
// redirects and keeps the session cookie and the page's CSRF token.
type screen struct {
	t    testing.TB
	c    *webtest.Client
	base string // /kiosk/{id}
	last *webtest.Response
	// path and body are those of the last page.
	path, body string
	status     int
}

func (w *world) screen(t testing.TB, id string) *screen {
	return &screen{t: t, c: webtest.New(t, w.srv.URL).Follow(true), base: "/kiosk/" + id}
}

var (
	trayRE = regexp.MustCompile(`/tray/([0-9a-f]{32})"`)
	itemRE = regexp.MustCompile(`name="item" value="([^"]+)" class="kitem"`)
)

func (s *screen) take(r *webtest.Response) {
	s.last, s.status, s.path, s.body = r, r.Status, r.Path(), r.Body
}

// get opens a page of the kiosk (path after /kiosk/{id}/).
func (s *screen) get(path string) *screen {
	s.t.Helper()
	s.take(s.c.Get(s.base + "/" + path))
	return s
}

// post submits a form of the kiosk with the page's token.
func (s *screen) post(path string, v url.Values) *screen {
	s.t.Helper()
	s.take(s.c.PostForm(s.base+"/"+path, v))
	return s
}

// at fails unless the last page is step (path after /kiosk/{id}/).
func (s *screen) at(step string) *screen {
	s.t.Helper()
	if !strings.HasSuffix(s.path, "/"+step) || s.status != http.StatusOK {
		s.t.Fatalf("at %s (%d), want step %q of %s; flash %q", s.path, s.status, step, s.base, s.flash())
	}
	return s
}

// flash is the last page's flash message.
func (s *screen) flash() string {
	if kind, text := s.last.Flash(); kind != "" {
		return kind + ": " + text
	}
	return ""
}

func (s *screen) has(t testing.TB, wants ...string) {
	t.Helper()
	body := html.UnescapeString(s.body)
	for _, want := range wants {
		if !strings.Contains(body, want) {
			t.Errorf("page %s lacks %q; flash %q", s.path, want, s.flash())
		}
	}
}

// login places the card and enters the PIN: the menu.
func (s *screen) login(cd *card.Card, pin string) *screen {
	s.t.Helper()
	s.get("").post("start", nil).at("card")
	s.post("card", url.Values{"card": {cd.Info().ID}}).at("pin")
	return s.post("pin", url.Values{"pin": {pin}})
}

// print orders item (municipality:type) with default options and copies
// and returns the printed job's ID.
func (s *screen) print(item string, copies string, extra url.Values) string {
	s.t.Helper()
	s.post("menu", url.Values{"item": {item}}).at("options")
	v := url.Values{"copies": {copies}, "household": {"self"}, "year": {"0"}}
	for k, vs := range extra {
		v[k] = vs
	}
	s.post("options", v).at("fee")
	before := trayRE.FindAllStringSubmatch(s.get("printed").body, -1)
	s.get("fee").at("fee")
	s.post("confirm", nil).at("printed")
	after := trayRE.FindAllStringSubmatch(s.body, -1)
	if len(after) != len(before)+1 {
		s.t.Fatalf("printed page lists %d certificates, want %d", len(after), len(before)+1)
	}
	return after[len(after)-1][1]
}

// authSerial is the serial of a card's authentication certificate.
func authSerial(t testing.TB, cd *card.Card) string {
	t.Helper()
	der, err := card.NewClient(cd).Certificate(card.Auth)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return jpki.Serial(c.SerialNumber)
}

func TestStationConfigs(t *testing.T) {
	dir := t.TempDir()
	good := StationConfig{Terminal: terminalConfig("kiosk-b"), Store: testStore, RelayKey: "kiosk_x"}
	if err := SaveStationConfig(dir, good); err != nil {
		t.Fatal(err)
	}
	a := good
	a.Terminal = terminalConfig("kiosk-a")
	if err := SaveStationConfig(dir, a); err != nil {
		t.Fatal(err)
	}
	got, err := LoadStationConfigs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Terminal.ID != "kiosk-a" || got[1] != good {
		t.Fatalf("loaded %+v", got)
	}
	if fi, err := os.Stat(filepath.Join(dir, "kiosk-a.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config file: %v %v", fi, err)
	}
	notKiosk := terminalConfig("k1")
	notKiosk.Kind = platform.Reception
	for name, c := range map[string]StationConfig{
		"path in the ID": {Terminal: terminalConfig("../x"), RelayKey: "k"},
		"not a kiosk":    {Terminal: notKiosk, RelayKey: "k"},
		"no relay key":   {Terminal: terminalConfig("k2")},
	} {
		if err := SaveStationConfig(dir, c); !errors.Is(err, jlis.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := NewStation(good, StationOptions{}); !errors.Is(err, jlis.ErrInvalid) {
		t.Errorf("station without a directory: %v", err)
	}
}

func terminalConfig(id string) terminal.Config {
	return terminal.Config{ID: id, Kind: platform.Kiosk, Owner: testStore, Name: "マルチコピー機",
		Key: base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))}
}

// TestKioskPagesEveryCertificate: 本間 光 (住所地 and 本籍 酒田市, an adult
// with a seal registration and a tax record) prints every certificate of
// the catalogue over the pages; each PDF waits in the tray, carries the
// seal's signature, and opens only for her session; 「受け取りました」
// empties the tray.
func TestKioskPagesEveryCertificate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		p, sts := w.kioskPages(t, "kiosk-lawson-sakata-1")
		st := sts[0]
		if l := p.Links(); len(l) != 1 || l[0].Path != "/kiosk/kiosk-lawson-sakata-1/" || !strings.Contains(l[0].TitleJA, testStore) {
			t.Errorf("links %+v", l)
		}
		cd := w.card(t, "本間　光")
		s := w.screen(t, st.ID())
		s.take(s.c.Get("/kiosk/"))
		s.has(t, `href="/kiosk/kiosk-lawson-sakata-1/"`, testStore)
		if s.get("no-such-step"); s.status != http.StatusNotFound {
			t.Errorf("unknown step: %d", s.status)
		}
		s.take(s.c.Get("/kiosk/no-such-kiosk/"))
		if s.status != http.StatusNotFound {
			t.Errorf("unknown kiosk: %d", s.status)
		}
		s.login(cd, testPIN).at("menu")
		items := itemRE.FindAllStringSubmatch(s.body, -1)
		var keys []string
		for _, m := range items {
			keys = append(keys, m[1])
		}
		var want []string
		for _, ct := range municipal.CertTypes() {
			want = append(want, "062049:"+string(ct))
		}
		if !slices.Equal(keys, want) {
			t.Fatalf("menu items %v, want %v", keys, want)
		}
		fees := map[municipal.CertType]string{municipal.Juminhyo: "400", municipal.KosekiZenbu: "350"}
		var jobs []string
		for _, k := range keys {
			ct := municipal.CertType(strings.TrimPrefix(k, "062049:"))
			copies := "1"
			if ct == municipal.Juminhyo {
				copies = "2"
			}
			s.get("menu").at("menu")
			jobs = append(jobs, s.print(k, copies, nil))
			if f, ok := fees[ct]; ok {
				s.has(t, f+"円")
			}
			s.has(t, ct.Title(), "カードと証明書をお取り忘れなく")
		}
		tray, err := st.Tray()
		if err != nil {
			t.Fatal(err)
		}
		if len(tray) != len(municipal.CertTypes()) {
			t.Fatalf("tray %v", tray)
		}
		sm, _ := jlis.SealMunicipality("062049")
		for _, j := range jobs {
			r := s.c.Step(webtest.Step{Name: "tray " + j, Path: s.base + "/tray/" + j, WantHeader: map[string]string{"Content-Type": "application/pdf"}})
			if err := w.seal.CheckSealed(sm, []byte(r.Body)); err != nil {
				t.Errorf("tray %s: %v", j, err)
			}
			// Another browser never sees it.
			other := w.screen(t, st.ID())
			other.get("tray/" + j)
			if other.status != http.StatusNotFound {
				t.Errorf("another session got tray/%s: %d", j, other.status)
			}
		}
		s.get("printed").post("received", nil).at("")
		s.has(t, "ご利用ありがとうございました")
		if tray, _ := st.Tray(); len(tray) != 0 {
			t.Errorf("tray after 受け取りました: %v", tray)
		}
		if s.get("tray/" + jobs[0]); s.status != http.StatusNotFound {
			t.Errorf("tray link after the session ended: %d", s.status)
		}
		// The session ended: the next person starts from the card.
		if s.get("menu"); !strings.HasSuffix(s.path, "/card") {
			t.Errorf("menu after the end: %s", s.path)
		}
	})
}

// TestKioskPagesCardErrors: a wrong PIN shows the tries left, a blocked one
// says so, and a revoked or expired certificate is refused with its reason;
// nothing reaches the menu.
func TestKioskPagesCardErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		_, sts := w.kioskPages(t, "kiosk-lawson-sakata-1")
		id := sts[0].ID()

		s := w.screen(t, id)
		// No card, no PIN step; no assertion, no menu.
		s.get("pin").at("card")
		s.get("menu").at("card")
		cd := w.card(t, "鳥海　誠")
		s.login(cd, "12").at("pin")
		if got := s.flash(); !strings.Contains(got, "数字4桁") {
			t.Errorf("short PIN: %q", got)
		}
		s.post("pin", url.Values{"pin": {"9999"}}).at("pin")
		if got := s.flash(); !strings.Contains(got, "残り 2 回") {
			t.Errorf("wrong PIN: %q", got)
		}
		s.has(t, `id="tries-left">2</strong>`)
		s.post("pin", url.Values{"pin": {"9998"}}).at("pin")
		if got := s.flash(); !strings.HasPrefix(got, "warn:") || !strings.Contains(got, "あと1回") {
			t.Errorf("second wrong PIN: %q", got)
		}
		s.post("pin", url.Values{"pin": {"9997"}}).at("pin")
		s.has(t, `id="blocked"`, "ロックされています")
		if strings.Contains(s.body, `name="pin"`) {
			t.Error("a blocked card is still asked for its PIN")
		}
		s.post("cancel", nil).at("")
		s.has(t, "取りやめました")

		// A revoked authentication certificate.
		cd = w.card(t, "飛島　悟")
		if err := w.centre.Revoke(ctx, jpki.Auth, authSerial(t, cd), jpki.KeyCompromise); err != nil {
			t.Fatal(err)
		}
		if err := w.plat.RefreshCRL(ctx); err != nil {
			t.Fatal(err)
		}
		s.login(cd, testPIN).at("pin")
		s.has(t, `id="refused"`, "失効しているため")
		if s.post("pin", url.Values{"pin": {testPIN}}); strings.Contains(s.body, `name="pin"`) {
			t.Error("a refused card is asked for its PIN again")
		}
		s.get("menu").at("pin")
		s.post("cancel", nil).at("")

		// An expired one: the same card six years on (a Tuesday at 10:00).
		cd = w.card(t, "本間　光")
		w.set(time.Date(2032, 11, 23, 10, 0, 0, 0, wareki.JST()))
		s.login(cd, testPIN).at("pin")
		s.has(t, `id="refused"`, "有効期限が切れているため")
	})
}

// TestKioskPagesRefusalsAndChoices: items out of hours are shown but cannot
// be chosen; bad options are refused; a municipality's refusal returns to
// the menu with its message and nothing is printed; 戸籍 before the
// registration is refused.
func TestKioskPagesRefusalsAndChoices(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		_, sts := w.kioskPages(t, "kiosk-lawson-sakata-1")
		st := sts[0]
		s := w.screen(t, st.ID())
		s.login(w.card(t, "酒田　一郎"), testPIN).at("menu")
		s.has(t, "住所地", "山形県酒田市", "本籍地の利用登録")

		// 戸籍 from the 住所地, which does not keep his.
		s.post("menu", url.Values{"item": {"062049:koseki-zenbu"}}).at("options")
		s.post("options", url.Values{"copies": {"1"}}).at("fee")
		s.post("confirm", nil).at("menu")
		if got := s.flash(); !strings.Contains(got, "本籍がこの市区町村にない") {
			t.Errorf("koseki at the 住所地: %q", got)
		}
		// Before registering, the 本籍地 is not on the menu at all, and an
		// item sent anyway is refused.
		s.post("menu", url.Values{"item": {"062014:koseki-zenbu"}}).at("menu")
		if got := s.flash(); !strings.Contains(got, "選べません") {
			t.Errorf("item not on the menu: %q", got)
		}
		// A tax year without a record: the municipality refuses.
		s.post("menu", url.Values{"item": {"062049:tax"}}).at("options")
		s.has(t, "令和8年度（2026年度）", "令和6年度（2024年度）")
		s.post("options", url.Values{"copies": {"1"}, "year": {"2019"}}).at("options")
		s.post("options", url.Values{"copies": {"11"}, "year": {"0"}}).at("options")
		if got := s.flash(); !strings.Contains(got, "確認してください") {
			t.Errorf("11 copies: %q", got)
		}
		s.post("options", url.Values{"copies": {"1"}, "year": {"2025"}}).at("fee")
		s.has(t, "令和7年度")
		s.post("confirm", nil).at("menu")
		if got := s.flash(); !strings.Contains(got, "記載する登録がありません") {
			t.Errorf("tax without a record: %q", got)
		}
		// 住民票 with a bad household choice.
		s.post("menu", url.Values{"item": {"062049:juminhyo"}}).at("options")
		s.has(t, `id="household-self" checked`)
		for _, opt := range []string{`id="opt-honseki">`, `id="opt-relation">`, `id="opt-mynumber">`} {
			s.has(t, opt) // unchecked by default
		}
		s.post("options", url.Values{"copies": {"1"}, "household": {"neighbours"}}).at("options")
		if tray, _ := st.Tray(); len(tray) != 0 {
			t.Errorf("tray after refusals: %v", tray)
		}
		// Out of hours: 20:00, 戸籍 (weekdays 9–17) is shown, disabled.
		s.post("cancel", nil)
		w.set(worldNow.Add(10 * time.Hour))
		s.login(w.card(t, "酒田　一郎"), testPIN).at("menu")
		s.has(t, `value="062049:koseki-zenbu" class="kitem closed" disabled`, "ただいま時間外", "平日 09:00–17:00")
		s.post("menu", url.Values{"item": {"062049:koseki-zenbu"}}).at("menu")
		if got := s.flash(); !strings.Contains(got, "時間は交付していません") {
			t.Errorf("closed item: %q", got)
		}
		var n int
		if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM kiosk_jobs WHERE state = 'printed'`).Scan(&n); err != nil || n != 0 {
			t.Errorf("printed jobs: %d %v", n, err)
		}
	})
}

// failingPrints is a transport that fails the relay's print calls while on.
type failingPrints struct {
	next http.RoundTripper
	mu   sync.Mutex
	on   bool
}

func (f *failingPrints) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	on := f.on
	f.mu.Unlock()
	if on && strings.HasSuffix(r.URL.Path, "/print") {
		return nil, errors.New("the line to the centre dropped")
	}
	return f.next.RoundTrip(r)
}

func (f *failingPrints) set(on bool) {
	f.mu.Lock()
	f.on = on
	f.mu.Unlock()
}

// TestKioskPagesConfirmOnce: a double submission of 「確認」 orders and
// prints once; a print that fails keeps the rendered job, which a retry
// prints (the same job) and 「やめる」 cancels at the relay.
func TestKioskPagesConfirmOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		fp := &failingPrints{next: w.srv.Client().Transport}
		_, sts := w.kioskPagesWith(t, &http.Client{Transport: fp}, "kiosk-lawson-sakata-1")
		st := sts[0]
		jobs := func() map[string]int {
			rows, err := db.QueryContext(ctx, `SELECT state FROM kiosk_jobs WHERE kiosk = $1`, st.ID())
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			out := map[string]int{}
			for rows.Next() {
				var s string
				rows.Scan(&s)
				out[s]++
			}
			return out
		}

		s := w.screen(t, st.ID())
		s.login(w.card(t, "酒田　一郎"), testPIN).at("menu")
		s.post("menu", url.Values{"item": {"062049:juminhyo"}}).at("options")
		s.post("options", url.Values{"copies": {"1"}, "household": {"all"}, "relation": {"on"}}).at("fee")
		s.has(t, "世帯全員")
		var wg sync.WaitGroup
		results := make([]string, 2)
		for i := range results {
			wg.Go(func() {
				// HTTP, not the helpers: they fail the test, which only
				// the test's goroutine may do.
				v := url.Values{"csrf": {s.c.Token()}}
				resp, err := s.c.HTTP().PostForm(s.c.URL(s.base+"/confirm"), v)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				results[i] = resp.Request.URL.Path
			})
		}
		wg.Wait()
		for _, r := range results {
			if !strings.HasSuffix(r, "/printed") {
				t.Errorf("a submission ended at %s", r)
			}
		}
		if got := jobs(); got[jlis.Printed] != 1 || len(got) != 1 {
			t.Fatalf("jobs after a double submission: %v", got)
		}
		if n := len(trayRE.FindAllString(s.get("printed").body, -1)); n != 1 {
			t.Errorf("printed page lists %d", n)
		}
		if tray, _ := st.Tray(); len(tray) != 1 {
			t.Errorf("tray %v", tray)
		}

		// The print fails: the job stays rendered; a retry prints it.
		s.get("menu")
		s.post("menu", url.Values{"item": {"062049:juminhyo-kisai"}}).at("options")
		s.post("options", url.Values{"copies": {"1"}}).at("fee")
		fp.set(true)
		s.post("confirm", nil).at("fee")
		if got := s.flash(); !strings.Contains(got, "接続できませんでした") {
			t.Errorf("failed print: %q", got)
		}
		if got := jobs(); got[jlis.Rendered] != 1 {
			t.Fatalf("jobs after a failed print: %v", got)
		}
		fp.set(false)
		s.post("confirm", nil).at("printed")
		if got := jobs(); got[jlis.Printed] != 2 || got[jlis.Rendered] != 0 || len(got) != 1 {
			t.Fatalf("jobs after the retry: %v", got)
		}

		// Another failed print, then 「やめる」: cancelled at the relay.
		s.get("menu")
		s.post("menu", url.Values{"item": {"062049:inkan"}}).at("options")
		s.post("options", url.Values{"copies": {"3"}}).at("fee")
		s.has(t, `id="total">600<`)
		fp.set(true)
		s.post("confirm", nil).at("fee")
		fp.set(false)
		s.post("cancel", nil).at("")
		if got := jobs(); got[jlis.Cancelled] != 1 || got[jlis.Rendered] != 0 || got[jlis.Printed] != 2 {
			t.Fatalf("jobs after やめる: %v", got)
		}
		if tray, _ := st.Tray(); len(tray) != 0 {
			t.Errorf("tray after やめる: %v", tray)
		}
	})
}

// TestKioskPagesRegistration: the registration's error paths — a
// municipality without kiosk issuance, one that keeps no 戸籍 of his, a
// malformed and a wrong password — then a filing whose details differ from
// the 戸籍 waits for a clerk.
func TestKioskPagesRegistration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		_, sts := w.kioskPages(t, "kiosk-lawson-sakata-1")
		s := w.screen(t, sts[0].ID())
		cd := w.card(t, "酒田　一郎")
		s.login(cd, testPIN).at("menu")
		s.get("register").at("register")
		s.has(t, `value="062014"`, "山形県山形市")
		if strings.Contains(s.body, `value="062049"`) {
			t.Error("the 住所地 is offered as a 本籍地")
		}
		s.post("register", url.Values{"honseki": {"202011"}}).at("register")
		if got := s.flash(); !strings.Contains(got, "参加していません") {
			t.Errorf("長野市: %q", got)
		}
		s.post("register", url.Values{"honseki": {"202070"}}).at("register/sign")
		s.has(t, "長野県須坂市", `id="sign-left">5<`)
		s.post("register/sign", url.Values{"password": {"abc"}}).at("register/sign")
		if got := s.flash(); !strings.Contains(got, "6〜16文字") {
			t.Errorf("short password: %q", got)
		}
		s.post("register/sign", url.Values{"password": {"WRONG2026"}}).at("register/sign")
		if got := s.flash(); !strings.Contains(got, "残り 4 回") {
			t.Errorf("wrong password: %q", got)
		}
		s.has(t, `id="sign-left">4<`)
		s.post("register/sign", url.Values{"password": {strings.ToLower(testPassword)}}).at("register")
		if got := s.flash(); !strings.Contains(got, "戸籍は見つかりませんでした") {
			t.Errorf("須坂市: %q", got)
		}
		s.post("cancel", nil)

		// A card whose holder's birth date differs from the 戸籍's.
		r := resident(t, "酒田　一郎")
		r.Birth = "1975-07-01"
		other := issue(t, w, r)
		s.login(other, testPIN).at("menu")
		s.get("register").post("register", url.Values{"honseki": {"062014"}}).at("register/sign")
		s.post("register/sign", url.Values{"password": {testPassword}}).at("register/done")
		s.has(t, "本籍地の職員が確認します")
		s.get("register").at("register")
		s.has(t, `value="062014" class="kitem closed" disabled`, "本籍地で確認中")
		s.get("menu").has(t, "本籍地で確認中")
		if strings.Contains(s.body, `value="062014:`) {
			t.Error("a pending registration's 戸籍 is on the menu")
		}
	})
}

// issue issues a card to a resident as given (w.card keeps one per name).
func issue(t testing.TB, w *world, r municipal.DemoResident) *card.Card {
	t.Helper()
	birth, err := time.ParseInLocation(time.DateOnly, r.Birth, wareki.JST())
	if err != nil {
		t.Fatal(err)
	}
	sex := "1"
	if r.Sex == jpki.Female {
		sex = "2"
	}
	cd, err := w.cards.Create(card.Spec{AuthPIN: testPIN, SignPIN: testPassword, TextPIN: testPIN, MyNumber: myNumber(t),
		Name: r.Name, Address: r.Address, BirthDate: birth.Format("20060102"), Sex: sex})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.centre.IssueCard(context.Background(), jpki.Resident{Name: r.Name, Kana: r.Kana, BirthDate: birth,
		Sex: r.Sex, Address: r.Address, Municipality: r.Municipality}, cd); err != nil {
		t.Fatal(err)
	}
	return cd
}

// TestKioskPagesAssertionExpires: the card check is good for five minutes;
// a confirmation after that asks for the PIN again and comes back to the
// fee, and the order then prints once.
func TestKioskPagesAssertionExpires(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		_, sts := w.kioskPages(t, "kiosk-lawson-sakata-1")
		s := w.screen(t, sts[0].ID())
		s.login(w.card(t, "前橋　美咲"), testPIN).at("menu")
		s.has(t, "住所地：群馬県前橋市", "150円")
		s.post("menu", url.Values{"item": {"102016:juminhyo"}}).at("options")
		s.post("options", url.Values{"copies": {"2"}, "household": {"all"}, "my_number": {"on"}}).at("fee")
		s.has(t, `id="total">300<`, `id="sum-mynumber">記載する<`)
		w.set(w.now().Add(6 * time.Minute))
		s.post("confirm", nil).at("pin")
		if got := s.flash(); !strings.Contains(got, "もう一度暗証番号") {
			t.Errorf("expired assertion: %q", got)
		}
		s.post("pin", url.Values{"pin": {testPIN}}).at("fee")
		s.post("confirm", nil).at("printed")
		s.has(t, "住民票の写し", "300円")
		var n int
		if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM kiosk_jobs`).Scan(&n); err != nil || n != 1 {
			t.Errorf("jobs: %d %v", n, err)
		}
	})
}
