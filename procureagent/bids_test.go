package procureagent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/internal/pbworld"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/procure/body"
	"github.com/mynaplat/mynaplat/procureagent"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

// Corporate numbers with valid check digits.
const (
	corpA = "4010001000011"
	corpB = "1010001000022"
)

var bodies = []body.Body{
	{ID: "kanto", NameJA: "関東地方整備局", NameEN: "Kanto Regional Development Bureau", Level: body.National},
	{ID: "suzaka", NameJA: "須坂市", NameEN: "Suzaka City", Level: body.Local},
}

// qualifications is the register as the bodies read it (not used before
// the opening).
type qualifications struct{}

func (qualifications) Qualification(context.Context, string) (*procure.Qualification, error) {
	return nil, procure.ErrNotFound
}

func (qualifications) QualificationAt(context.Context, string, time.Time) (*procure.Qualification, error) {
	return nil, procure.ErrNotFound
}

// tamper replaces the opening certificate in the answers of the bodies'
// tender API: with cert, in the tender's answer only (a body, or a path,
// serving another certificate than its page names); with all, everywhere
// with its fingerprint (a page that names it too).
type tamper struct {
	cert, all atomic.Bool
	with      []byte
	next      http.RoundTripper
}

var oneTender = regexp.MustCompile(`/v1/tenders/[^/]+$`)

func (tp *tamper) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := tp.next.RoundTrip(r)
	one := oneTender.MatchString(r.URL.Path)
	if err != nil || r.Method != http.MethodGet || !(tp.all.Load() && (one || strings.HasSuffix(r.URL.Path, "/v1/tenders")) || tp.cert.Load() && one) {
		return resp, err
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	set := func(t map[string]any) {
		t["certificate"] = tp.with
		if tp.all.Load() {
			t["fingerprint"] = body.Fingerprint(tp.with)
		}
	}
	if one {
		var t map[string]any
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, err
		}
		set(t)
		raw, _ = json.Marshal(t)
	} else {
		var ts []map[string]any
		if err := json.Unmarshal(raw, &ts); err != nil {
			return nil, err
		}
		for _, t := range ts {
			set(t)
		}
		raw, _ = json.Marshal(ts)
	}
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(raw)), int64(len(raw))
	resp.Header.Del("Content-Length")
	return resp, nil
}

type env struct {
	w       *pbworld.World
	agent   *pbworld.Person
	svc     *body.Service
	tenders map[string]*body.Tender
	tamper  *tamper
	// late moves the bodies' clock past the deadlines.
	late atomic.Bool
	dir  string
	url  string
}

const whoKey = "test:who"

// newEnv is the pbworld (platform, cards, TSA) with the two bodies serving
// their API, a tender published at each, a register that answers the
// agent's powers (one with 入札 for corpA, a sub-delegated one with 入札
// for corpB, one for applications only), and the agent's pages with
// bidding; GET /test/login stands in for the card login.
func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	ctx := context.Background()
	w := pbworld.New(t, db)
	agent := w.Person(pbworld.Yumi)
	w.Login(agent)
	e := &env{w: w, agent: agent, tenders: map[string]*body.Tender{}, dir: t.TempDir()}

	svc, err := body.New(ctx, body.Config{DB: db, Bodies: bodies, KeyDir: t.TempDir(), Register: qualifications{},
		Stamper: w.Stamper, Now: func() time.Time {
			if e.late.Load() {
				return w.Clock.Now().Add(73 * time.Hour)
			}
			return w.Clock.Now()
		}})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	for _, b := range bodies {
		officers := []string{"pid-" + b.ID + "-a", "pid-" + b.ID + "-b"}
		for _, o := range officers {
			p := []byte("opening passphrase of " + o)
			if err := svc.Enroll(ctx, b.ID, o, "担当官", p, p); err != nil {
				t.Fatal(err)
			}
		}
		tn, err := svc.Publish(ctx, b.ID, officers[0], body.TenderRequest{Title: b.NameJA + " 事務用品の購入", Item: "事務用品",
			Field: procure.FieldSale, EstimateYen: 5_000_000, Deadline: w.Clock.Now().Add(72 * time.Hour).Truncate(time.Second), Officers: officers, K: 2})
		if err != nil {
			t.Fatal(err)
		}
		e.tenders[b.ID] = tn
	}
	bmux := http.NewServeMux()
	svc.Routes(bmux, body.APIConfig{})
	bsrv := httptest.NewServer(bmux)
	t.Cleanup(bsrv.Close)
	e.tamper = &tamper{with: e.tenders["suzaka"].Certificate, next: bsrv.Client().Transport}

	reg := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/procure/v1/agent/powers" || r.Header.Get("Authorization") != "Bearer "+agent.Assertion {
			http.Error(rw, "no", http.StatusNotFound)
			return
		}
		from, until := w.Clock.Now().Add(-time.Hour), w.Clock.Now().Add(300*24*time.Hour)
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode([]procure.AgentPower{
			{PowerID: "power-bid-a", CorporateNumber: corpA, CorporationName: "株式会社須坂テスト商事", Matters: []string{procure.MatterQualify, procure.MatterBid}, NotBefore: from, NotAfter: until},
			{PowerID: "power-sub-b", CorporateNumber: corpB, CorporationName: "株式会社復代理", Matters: []string{procure.MatterBid}, NotBefore: from, NotAfter: until, SubDelegated: true},
			{PowerID: "power-qualify-b", CorporateNumber: corpB, CorporationName: "株式会社復代理", Matters: []string{procure.MatterQualify}, NotBefore: from, NotAfter: until},
		})
	}))
	t.Cleanup(reg.Close)

	site, err := web.New(ctx, web.Options{DB: storetest.SQLite(t), Now: w.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	kit := terminal.NewKit(terminal.KitConfig{Terminal: w.Term, Reader: terminal.VirtualReader{Cards: w.Cards}, Cards: w.Cards, Now: w.Clock.Now})
	refs := []procureagent.BodyRef{{ID: "kanto", NameJA: "関東地方整備局", NameEN: "Kanto Regional Development Bureau"}, {ID: "suzaka", NameJA: "須坂市", NameEN: "Suzaka City"}}
	pages, err := procureagent.New(procureagent.Config{Site: site, Register: &procure.Client{BaseURL: reg.URL, HTTP: reg.Client()}, Kit: kit,
		Stamper: w.Stamper, Now: w.Clock.Now,
		Bidding: &procureagent.Bidding{Client: &body.Client{BaseURL: bsrv.URL, HTTP: &http.Client{Transport: e.tamper, Timeout: 30 * time.Second}},
			Bodies: refs, TSARoots: w.TSARoots, Dir: e.dir},
		LoggedIn: func(ss *web.Session, now time.Time) (terminal.Login, error) {
			if ss.Get(whoKey) == "" {
				return terminal.Login{}, terminal.ErrNotLoggedIn
			}
			return terminal.Login{Terminal: w.Term.ID, PlatformID: agent.PlatformID, Assertion: agent.Assertion, Holder: agent.Name, Expires: now.Add(5 * time.Minute)}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	site.Routes(mux)
	pages.Routes(mux)
	mux.HandleFunc("GET /test/login", func(rw http.ResponseWriter, r *http.Request) {
		ss, err := site.Session(rw, r)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		r.PostForm = url.Values{"card": {agent.Card.ID()}}
		if res := kit.Place(r, ss); !res.Passed() {
			http.Error(rw, string(res.Outcome), http.StatusInternalServerError)
			return
		}
		ss.Set(whoKey, "agent")
		if err := ss.Save(r.Context()); err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		http.Redirect(rw, r, procureagent.Home+"tenders", http.StatusSeeOther)
	})
	srv := httptest.NewServer(trace.Middleware(site.Protect(mux)))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

func (e *env) browser(t *testing.T) *webtest.Client {
	t.Helper()
	c := webtest.New(t, e.url)
	c.Step(webtest.Step{Name: "log in", Path: "/test/login", WantStatus: http.StatusSeeOther})
	return c
}

// bids are the bodies' stored bids of a tender.
func (e *env) bids(t *testing.T, b string) []*body.Bid {
	t.Helper()
	out, err := e.svc.Bids(context.Background(), b, e.tenders[b].ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// kept is the terminal's file of receipts.
func (e *env) kept(t *testing.T) []procureagent.Kept {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(e.dir, "bids.json"))
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	var out []procureagent.Kept
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *env) bidPath(b string) string {
	return procureagent.Home + "tenders/" + b + "/" + e.tenders[b].ID
}

func (e *env) form(b, price string) url.Values {
	return url.Values{"power": {"power-bid-a"}, "price": {price}, "fingerprint": {e.tenders[b].Fingerprint}, "password": {e.agent.SignPIN}}
}

// TestBidFlow: the agent sees the open tenders of both bodies with their
// fingerprints and only the power that may bid; bids at both bodies (the
// card signs, the terminal seals, the body stores only the envelope); the
// receipts verify and are kept; a second bid replaces the first.
func TestBidFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		c := e.browser(t)
		c.Step(webtest.Step{Name: "the tenders", Path: procureagent.Home + "tenders",
			WantContains: []string{e.tenders["kanto"].Fingerprint, e.tenders["suzaka"].Fingerprint, "関東地方整備局 事務用品の購入", "須坂市 事務用品の購入",
				`data-power="power-bid-a"`, `id="sub-delegated"`, `id="no-kept"`},
			WantNotContains: []string{`data-power="power-sub-b"`, `data-power="power-qualify-b"`}})
		for _, b := range []string{"kanto", "suzaka"} {
			c.Step(webtest.Step{Name: "the form at " + b, Path: e.bidPath(b),
				WantContains: []string{`id="fingerprint">` + e.tenders[b].Fingerprint, `value="power-bid-a"`}, WantNotContains: []string{"power-sub-b"}})
			c.Step(webtest.Step{Name: "bid at " + b, Method: http.MethodPost, Path: e.bidPath(b), Form: e.form(b, "4,500,000"),
				WantStatus: http.StatusSeeOther, WantLocation: procureagent.Home + "tenders"})
			got := e.bids(t, b)
			if len(got) != 1 || got[0].CorporateNumber != corpA {
				t.Fatalf("%s: bids %+v", b, got)
			}
			if bytes.Contains(got[0].Envelope, []byte(corpA)) || bytes.Contains(got[0].Envelope, []byte("4500000")) {
				t.Fatalf("%s: the body holds the bid in clear", b)
			}
		}
		kept := e.kept(t)
		if len(kept) != 2 || kept[0].Body != "kanto" || kept[1].Body != "suzaka" || kept[0].PriceYen != 4_500_000 || len(kept[0].Receipt) == 0 {
			t.Fatalf("kept %+v", kept)
		}
		c.Step(webtest.Step{Name: "the receipts", Path: procureagent.Home + "tenders", WantContains: []string{kept[0].BidID, kept[1].BidID, kept[0].EnvelopeSHA256, "入札を受け付けました"}})

		c.Step(webtest.Step{Name: "replace the bid at kanto", Method: http.MethodPost, Path: e.bidPath("kanto"), Form: e.form("kanto", "4400000"),
			WantStatus: http.StatusSeeOther})
		kept = e.kept(t)
		if len(kept) != 3 || kept[0].ReplacedBy != kept[2].BidID || kept[2].ReplacedBy != "" || kept[2].PriceYen != 4_400_000 {
			t.Fatalf("after the replacement: %+v", kept)
		}
		got := e.bids(t, "kanto")
		if len(got) != 2 {
			t.Fatalf("kanto bids %+v", got)
		}
		c.Step(webtest.Step{Name: "the form lists the bids", Path: e.bidPath("kanto"), WantContains: []string{`data-bid="` + kept[0].BidID + `" data-replaced`, kept[2].BidID}})
	})
}

// TestBidRefused: a certificate that is not the tender page's, a power
// that may not bid, a wrong price, an envelope the body refuses (sealed to
// another certificate), a wrong signing password and a late bid store
// nothing at the body and keep nothing on the terminal, with the refusal's
// text.
func TestBidRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		c := e.browser(t)
		c.Step(webtest.Step{Name: "the form", Path: e.bidPath("kanto")})
		with := func(k, v string) url.Values { f := e.form("kanto", "4000000"); f.Set(k, v); return f }
		steps := []struct {
			name string
			form url.Values
			want []string
			pre  func()
		}{
			{"a sub-delegated power", with("power", "power-sub-b"), []string{"復代理の委任状では入札できません"}, nil},
			{"no price", with("price", "0"), []string{"入札金額を"}, nil},
			{"another fingerprint shown", with("fingerprint", strings.Repeat("0", 64)), []string{"指紋（SHA-256）と一致しません"}, nil},
			{"the body serves another certificate", e.form("kanto", "4000000"), []string{"指紋（SHA-256）と一致しません"}, func() { e.tamper.cert.Store(true) }},
			// The page and the tender name another certificate alike: the
			// bid is sealed to it and the body refuses the envelope.
			{"sealed to another certificate", with("fingerprint", body.Fingerprint(e.tenders["suzaka"].Certificate)),
				[]string{"入札は受け付けられませんでした", "開札用証明書あての暗号データ"}, func() { e.tamper.cert.Store(false); e.tamper.all.Store(true) }},
			{"a wrong signing password", with("password", "WRONG1"), []string{"何も送信していません"}, func() { e.tamper.all.Store(false) }},
			{"late", e.form("kanto", "4000000"), []string{"入札は受け付けられませんでした", "提出期限を過ぎています"}, func() { e.late.Store(true) }},
		}
		for _, s := range steps {
			if s.pre != nil {
				s.pre()
			}
			c.Step(webtest.Step{Name: s.name, Method: http.MethodPost, Path: e.bidPath("kanto"), Form: s.form,
				WantStatus: http.StatusUnprocessableEntity, WantContains: s.want})
		}
		if got := e.bids(t, "kanto"); len(got) != 0 {
			t.Fatalf("bids stored: %+v", got)
		}
		if got := e.kept(t); len(got) != 0 {
			t.Fatalf("kept: %+v", got)
		}
	})
}
