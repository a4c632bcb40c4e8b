package procureagent_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/demo"
	"github.com/mynaplat/mynaplat/internal/pbworld"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/procure/body"
	"github.com/mynaplat/mynaplat/procure/contract"
	"github.com/mynaplat/mynaplat/procureagent"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/wareki"
	"github.com/mynaplat/mynaplat/web"
)

// contractEnv is a whole procurement on the pbworld (platform, JPKI
// centre, TSA, corporate registry, delegation register): 株式会社須坂テック
// (its representative's key at the registry) empowers the agent, who bids
// at 関東地方整備局 through the agent's pages; the body opens the tender with
// its two officers' passphrases and awards it; the agent's pages reach the
// body's contract API with the card login as bearer. The officer's side
// (prepare, sign, inspect) is done through the service, with the
// officer's card (terminal.WithSigner), as the body's own tests do.
type contractEnv struct {
	w              *pbworld.World
	agent, officer *pbworld.Person
	// who is the person logged in at the agent's pages.
	who    atomic.Pointer[pbworld.Person]
	svc    *body.Service
	tender *body.Tender
	power  *delegation.Power
	grade  atomic.Value
	url    string
	client *body.Client
}

var corp = demo.SuzakaTech

func (e *contractEnv) Qualification(ctx context.Context, number string) (*procure.Qualification, error) {
	return e.QualificationAt(ctx, number, e.w.Clock.Now())
}

func (e *contractEnv) QualificationAt(_ context.Context, number string, at time.Time) (*procure.Qualification, error) {
	g, _ := e.grade.Load().(procure.Grade)
	from := pbworld.Start().AddDate(0, 0, -30)
	if number != corp.Number || g == "" || at.Before(from) {
		return nil, procure.ErrNotFound
	}
	return &procure.Qualification{CorporateNumber: number, Name: corp.NameJA, ValidFrom: from, ValidUntil: from.AddDate(2, 0, 0),
		Fields: []procure.Graded{{Field: procure.FieldSale, Grade: g}}}, nil
}

// newContractEnv builds the world up to the award; matters are the
// agent's power's (all four when none).
func newContractEnv(t *testing.T, db *store.DB, matters ...string) *contractEnv {
	t.Helper()
	ctx := context.Background()
	w := pbworld.New(t, db)
	e := &contractEnv{w: w, agent: w.Person(pbworld.Yumi), officer: w.Person(pbworld.Ichiro)}
	w.Login(e.agent)
	w.Login(e.officer)
	e.who.Store(e.agent)
	w.Appoint(corp)
	if len(matters) == 0 {
		matters = []string{procure.MatterQualify, procure.MatterBid, procure.MatterContract, procure.MatterInvoice}
	}
	p := w.NewPower(corp, e.agent, matters, w.Clock.Now().Add(-time.Hour), w.Clock.Now().AddDate(1, 0, 0))
	rep := w.Reps[corp.Number]
	if _, err := w.Powers.Register(ctx, w.SignPower(p, rep.Key, rep.Cert)); err != nil {
		t.Fatal(err)
	}
	e.power = p

	renderer, err := municipal.NewRenderer("")
	if err != nil {
		t.Fatal(err)
	}
	e.svc, err = body.New(ctx, body.Config{DB: db, Bodies: bodies, KeyDir: t.TempDir(), Register: e, Stamper: w.Stamper, Now: w.Clock.Now,
		Opening: &body.OpeningConfig{Verify: delegation.VerifyCMS(w.TSARoots), Powers: w.Powers, Corporations: w.Registry,
			Status: func(context.Context, *x509.Certificate) (bool, time.Time, error) { return false, time.Time{}, nil }},
		Contracts: &body.ContractConfig{Renderer: renderer, Policy: w.Policy, Stamper: w.Stamper, SignerPerson: w.Plat.SignerPerson}})
	if err != nil {
		t.Fatal(err)
	}
	officers := []string{e.officer.PlatformID, "pid-kanto-b"}
	for _, o := range officers {
		pass := []byte("opening passphrase of " + o)
		if err := e.svc.Enroll(ctx, "kanto", o, "担当官", pass, pass); err != nil {
			t.Fatal(err)
		}
	}
	if e.tender, err = e.svc.Publish(ctx, "kanto", officers[0], body.TenderRequest{Title: "庁舎用コピー用紙の購入", Item: "事務用品",
		Field: procure.FieldSale, EstimateYen: 5_000_000, Deadline: w.Clock.Now().Add(time.Hour).Truncate(time.Second), Officers: officers, K: 2}); err != nil {
		t.Fatal(err)
	}
	e.grade.Store(e.tender.Grade)
	bmux := http.NewServeMux()
	e.svc.Routes(bmux, body.APIConfig{Login: procure.APIConfig{Keys: func(context.Context) (platform.JWKS, error) { return w.Plat.PublicKeys(), nil },
		Issuer: w.Srv.URL, Terminal: pbworld.PostboxTerminal}})
	bsrv := httptest.NewServer(bmux)
	t.Cleanup(bsrv.Close)
	e.client = &body.Client{BaseURL: bsrv.URL, HTTP: bsrv.Client()}

	reg := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		who := e.who.Load()
		if r.URL.Path != "/procure/v1/agent/powers" || r.Header.Get("Authorization") != "Bearer "+who.Assertion {
			http.Error(rw, "no", http.StatusNotFound)
			return
		}
		out := []procure.AgentPower{}
		if who == e.agent {
			out = append(out, procure.AgentPower{PowerID: p.ID, CorporateNumber: corp.Number, CorporationName: corp.NameJA, Matters: p.Powers,
				NotBefore: p.NotBefore, NotAfter: p.NotAfter})
		}
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(out)
	}))
	t.Cleanup(reg.Close)

	site, err := web.New(ctx, web.Options{DB: storetest.SQLite(t), Now: w.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	kit := terminal.NewKit(terminal.KitConfig{Terminal: w.Term, Reader: terminal.VirtualReader{Cards: w.Cards}, Cards: w.Cards, Now: w.Clock.Now})
	pages, err := procureagent.New(procureagent.Config{Site: site, Register: &procure.Client{BaseURL: reg.URL, HTTP: reg.Client()}, Kit: kit,
		Stamper: w.Stamper, Now: w.Clock.Now,
		Bidding: &procureagent.Bidding{Client: e.client, Bodies: []procureagent.BodyRef{{ID: "kanto", NameJA: "関東地方整備局", NameEN: "Kanto Regional Development Bureau"}},
			TSARoots: w.TSARoots, Dir: t.TempDir()},
		LoggedIn: func(ss *web.Session, now time.Time) (terminal.Login, error) {
			who := e.who.Load()
			if ss.Get(whoKey) != who.PlatformID {
				return terminal.Login{}, terminal.ErrNotLoggedIn
			}
			return terminal.Login{Terminal: w.Term.ID, PlatformID: who.PlatformID, Assertion: who.Assertion, Holder: who.Name, Expires: now.Add(5 * time.Minute)}, nil
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
		who := e.who.Load()
		r.PostForm = url.Values{"card": {who.Card.ID()}}
		if res := kit.Place(r, ss); !res.Passed() {
			http.Error(rw, string(res.Outcome), http.StatusInternalServerError)
			return
		}
		ss.Set(whoKey, who.PlatformID)
		if err := ss.Save(r.Context()); err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		http.Redirect(rw, r, procureagent.Home+"contracts", http.StatusSeeOther)
	})
	srv := httptest.NewServer(trace.Middleware(site.Protect(mux)))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// login logs who in at the agent's pages, in a new browser.
func (e *contractEnv) login(t *testing.T, who *pbworld.Person) *webtest.Client {
	t.Helper()
	e.who.Store(who)
	c := webtest.New(t, e.url)
	c.Step(webtest.Step{Name: "log in", Path: "/test/login", WantStatus: http.StatusSeeOther})
	return c
}

// bidAndAward has the agent bid on the pages, then, after the deadline,
// the two officers open the tender: the agent's company wins.
func (e *contractEnv) bidAndAward(t *testing.T, c *webtest.Client) {
	t.Helper()
	path := procureagent.Home + "tenders/kanto/" + e.tender.ID
	c.Step(webtest.Step{Name: "the bid form", Path: path})
	c.Step(webtest.Step{Name: "bid", Method: http.MethodPost, Path: path, WantStatus: http.StatusSeeOther,
		Form: url.Values{"power": {e.power.ID}, "price": {"4400000"}, "fingerprint": {e.tender.Fingerprint}, "password": {e.agent.SignPIN}}})
	c.Step(webtest.Step{Name: "won nothing yet", Path: procureagent.Home + "contracts", WantContains: []string{`id="no-contracts"`}})
	e.w.Clock.Advance(2 * time.Hour)
	// The card login of two hours ago has expired: log in again.
	e.w.Login(e.agent)
	e.w.Login(e.officer)
	pass := map[string][]byte{}
	for _, o := range []string{e.officer.PlatformID, "pid-kanto-b"} {
		pass[o] = []byte("opening passphrase of " + o)
	}
	res, err := e.svc.OpenTender(context.Background(), "kanto", e.tender.ID, pass)
	if err != nil || !res.Awarded() || res.WinnerNumber != corp.Number {
		t.Fatalf("opening: %+v %v", res, err)
	}
	// So has the site's session.
	c.Step(webtest.Step{Name: "log in again", Path: "/test/login", WantStatus: http.StatusSeeOther})
}

// prepare has the officer prepare the contract.
func (e *contractEnv) prepare(t *testing.T) *body.Contract {
	t.Helper()
	c, err := e.svc.PrepareContract(context.Background(), "kanto", e.tender.ID, e.officer.PlatformID, body.ContractInput{
		DeliveryDate: e.w.Clock.Now().AddDate(0, 1, 0), DeliveryPlace: "関東地方整備局 本局 倉庫", PaymentTerms: "検査合格後、適法な請求書を受理した日から30日以内"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// with runs fn in a signing session of the officer's card.
func (e *contractEnv) with(t *testing.T, fn func(o contract.SignOptions) error) {
	t.Helper()
	if err := terminal.WithSigner(e.officer.Card, e.officer.SignPIN, func(cert *x509.Certificate, s crypto.Signer) error {
		return fn(contract.SignOptions{Signer: s, Cert: cert, Stamper: e.w.Stamper, When: e.w.Clock.Now()})
	}); err != nil {
		t.Fatal(err)
	}
}

// officerSignsAndInspects is the officer's side after the agent signed:
// the officer's signature (the body makes it B-LTA), then the inspection.
func (e *contractEnv) officerSignsAndInspects(t *testing.T, id string) {
	t.Helper()
	ctx := context.Background()
	pdf, err := e.client.ContractPDF(ctx, e.agent.Assertion, "kanto", id)
	if err != nil {
		t.Fatal(err)
	}
	e.with(t, func(o contract.SignOptions) error {
		pdf, err = contract.Sign(ctx, pdf, contract.Officer, o)
		return err
	})
	if _, err := e.svc.OfficerSign(ctx, "kanto", id, e.officer.PlatformID, pdf); err != nil {
		t.Fatal(err)
	}
	c, err := e.svc.Contract(ctx, "kanto", id)
	if err != nil {
		t.Fatal(err)
	}
	tl, err := e.svc.Timeline(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	var der []byte
	e.with(t, func(o contract.SignOptions) error {
		der, err = contract.SignStep(ctx, contract.Step{Kind: contract.KindInspection, ContractID: id, Previous: tl.Previous(),
			Result: contract.Passed, Note: "数量・外観とも仕様どおり", Time: e.w.Clock.Now()}, o)
		return err
	})
	if _, err := e.svc.Inspect(ctx, "kanto", id, e.officer.PlatformID, der); err != nil {
		t.Fatal(err)
	}
}

func (e *contractEnv) contract(t *testing.T, id string) *body.Contract {
	t.Helper()
	c, err := e.svc.Contract(context.Background(), "kanto", id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// at is the state token the pages' forms carry.
func at(c *body.Contract) string { return c.State + "/" + strconv.Itoa(c.Steps) }

// TestContractFlow: the agent's contract pages from the award to the
// invoice. The won tender is listed before the body prepares its
// contract; the agent reads the contract with its report and signs it with
// the card (a wrong signing password first: nothing sent); the same form
// sent again is answered "done" and signs nothing; after the officer's
// signature and inspection the agent accepts and invoices (a bad date and
// an empty bank account first: nothing signed; the invoice sent twice at
// once: stored once, both answered); the timeline page shows
// TOTAL_PASSED and complete; the PDF carries both signatures (pdfsig) and
// the timeline file from the page passes contract.VerifyBundle, what
// `mynaplat verify` runs.
func TestContractFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newContractEnv(t, db)
		c := e.login(t, e.agent)
		e.bidAndAward(t, c)
		list := procureagent.Home + "contracts"
		c.Step(webtest.Step{Name: "won, no contract yet", Path: list,
			WantContains: []string{`data-tender="` + e.tender.ID + `"`, "作成待ち", "発注機関による契約書の作成"}, WantNotContains: []string{"data-contract="}})
		id := e.prepare(t).ID
		page := list + "/kanto/" + id
		c.Step(webtest.Step{Name: "prepared", Path: list, WantContains: []string{`data-contract="` + id + `" data-state="prepared"`, `href="` + page + `"`,
			"あなたの署名"}})
		c.Step(webtest.Step{Name: "the contract page", Path: page,
			WantContains: []string{`data-due="contract"`, `id="contract-form"`, `id="no-signature"`, "署名用パスワード", "4400000"}})
		signForm := func(password string) url.Values {
			return url.Values{"at": {at(e.contract(t, id))}, "password": {password}}
		}
		c.Step(webtest.Step{Name: "a wrong signing password", Method: http.MethodPost, Path: page + "/sign", Form: signForm("WRONG1"),
			WantStatus: http.StatusUnprocessableEntity, WantContains: []string{"何も送信していません"}})
		if got := e.contract(t, id); got.State != body.ContractPrepared {
			t.Fatalf("after a wrong password: %s", got.State)
		}
		form := signForm(e.agent.SignPIN)
		c.Step(webtest.Step{Name: "sign", Method: http.MethodPost, Path: page + "/sign", Form: form, WantStatus: http.StatusSeeOther, WantLocation: page})
		c.Step(webtest.Step{Name: "signed", Path: page, WantContains: []string{"契約書に署名しました", `data-state="agent_signed"`, `data-due=""`, "担当職員の署名",
			`data-kind="contract" data-indication="INDETERMINATE" data-reason="contract_not_signed"`}, WantNotContains: []string{`id="contract-form"`, `id="no-signature"`}})
		signed := e.contract(t, id)
		c.Step(webtest.Step{Name: "the same form again", Method: http.MethodPost, Path: page + "/sign", Form: form, WantStatus: http.StatusSeeOther})
		c.Step(webtest.Step{Name: "done once", Path: page, WantContains: []string{"この手続は済んでいます"}})
		if again := e.contract(t, id); again.State != body.ContractAgentSigned || !again.UpdatedAt.Equal(signed.UpdatedAt) {
			t.Fatalf("the second send changed the contract: %+v", again)
		}

		e.officerSignsAndInspects(t, id)
		c.Step(webtest.Step{Name: "to accept", Path: page, WantContains: []string{`data-due="acceptance"`, `id="acceptance-form"`, "あなたの受領の記録"}})
		stepForm := func(k, v string) url.Values {
			f := url.Values{"at": {at(e.contract(t, id))}, "password": {e.agent.SignPIN}, "accepted_date": {e.w.Clock.Now().In(wareki.JST()).Format(time.DateOnly)},
				"amount": {"4,400,000"}, "bank": {"デモ銀行 須坂支店 普通 1234567 カ）スザカテック"}}
			if k != "" {
				f.Set(k, v)
			}
			return f
		}
		c.Step(webtest.Step{Name: "a bad date", Method: http.MethodPost, Path: page + "/steps/acceptance", Form: stepForm("accepted_date", "5 Jan"),
			WantStatus: http.StatusUnprocessableEntity, WantContains: []string{"受領した日を"}})
		c.Step(webtest.Step{Name: "the invoice before the acceptance", Method: http.MethodPost, Path: page + "/steps/invoice", Form: stepForm("", ""),
			WantStatus: http.StatusUnprocessableEntity, WantContains: []string{"契約の状態が変わりました"}})
		accept := stepForm("", "")
		c.Step(webtest.Step{Name: "accept", Method: http.MethodPost, Path: page + "/steps/acceptance", Form: accept, WantStatus: http.StatusSeeOther})
		c.Step(webtest.Step{Name: "accept again", Method: http.MethodPost, Path: page + "/steps/acceptance", Form: accept, WantStatus: http.StatusSeeOther})
		c.Step(webtest.Step{Name: "accepted once", Path: page, WantContains: []string{"この手続は済んでいます", `data-steps="2"`, `data-due="invoice"`, `value="4400000"`}})
		c.Step(webtest.Step{Name: "no bank account", Method: http.MethodPost, Path: page + "/steps/invoice", Form: stepForm("bank", " "),
			WantStatus: http.StatusUnprocessableEntity, WantContains: []string{"振込先を入力してください"}})
		// The invoice sent twice at once (a double click): both pass the
		// page's check and both are signed; the body takes one, and the
		// other is answered "done".
		invoice := stepForm("", "")
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				c.With(t).Step(webtest.Step{Name: "invoice", Method: http.MethodPost, Path: page + "/steps/invoice", Form: invoice, WantStatus: http.StatusSeeOther})
			})
		}
		wg.Wait()
		if got := e.contract(t, id); got.Steps != 3 {
			t.Fatalf("steps after two invoices at once: %d", got.Steps)
		}
		c.Step(webtest.Step{Name: "complete", Path: page, WantContains: []string{`data-steps="3"`, "完了", "TOTAL_PASSED"},
			WantNotContains: []string{`id="password"`}})
		c.Step(webtest.Step{Name: "listed complete", Path: list, WantContains: []string{`data-state="signed" data-steps="3"`, "完了"}})

		pdf := []byte(c.Step(webtest.Step{Name: "the PDF", Path: page + "/contract.pdf", WantHeader: map[string]string{"Content-Type": "application/pdf"}}).Body)
		if contract.IDOf(pdf) != id {
			t.Fatalf("the PDF names %q", contract.IDOf(pdf))
		}
		zip := []byte(c.Step(webtest.Step{Name: "the timeline file", Path: page + "/bundle", WantHeader: map[string]string{"Content-Type": contract.MIMEType}}).Body)
		if rep := contract.VerifyBundle(context.Background(), id+".zip", zip, e.w.Policy, contract.Parties{}); !rep.Passed() || !rep.Complete {
			t.Fatalf("the timeline file: %s %s %s", rep.Indication, rep.SubIndication, rep.MessageEN)
		}
		pdfsig(t, pdf, 2)
	})
}

// pdfsig has poppler's pdfsig check the PDF: want signatures, each valid
// (the document time-stamp besides).
func pdfsig(t *testing.T, pdf []byte, want int) {
	t.Helper()
	bin, err := exec.LookPath("pdfsig")
	if err != nil {
		t.Skip("pdfsig not installed (apt-get install poppler-utils)")
	}
	path := filepath.Join(t.TempDir(), "contract.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(bin, path).CombinedOutput()
	if n := strings.Count(string(out), "Signature is Valid."); n < want {
		t.Fatalf("pdfsig: %d valid signatures, want %d:\n%s", n, want, out)
	}
}

// TestContractRefused: what the body refuses is shown with its words and
// changes nothing: the invoice under a power without 請求 (out_of_scope,
// delegation's text), another person's login (not the contract's party).
func TestContractRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newContractEnv(t, db, procure.MatterBid, procure.MatterContract)
		c := e.login(t, e.agent)
		e.bidAndAward(t, c)
		id := e.prepare(t).ID
		page := procureagent.Home + "contracts/kanto/" + id
		c.Step(webtest.Step{Name: "the contract", Path: page})
		c.Step(webtest.Step{Name: "sign", Method: http.MethodPost, Path: page + "/sign", Form: url.Values{"at": {at(e.contract(t, id))},
			"password": {e.agent.SignPIN}}, WantStatus: http.StatusSeeOther})
		e.officerSignsAndInspects(t, id)
		form := func() url.Values {
			return url.Values{"at": {at(e.contract(t, id))}, "password": {e.agent.SignPIN}, "accepted_date": {"2027-01-05"},
				"amount": {"4400000"}, "bank": {"デモ銀行 須坂支店 普通 1234567"}}
		}
		c.Step(webtest.Step{Name: "accept", Method: http.MethodPost, Path: page + "/steps/acceptance", Form: form(), WantStatus: http.StatusSeeOther})
		ja, _ := delegation.OutOfScope.Messages()
		c.Step(webtest.Step{Name: "invoice without 請求", Method: http.MethodPost, Path: page + "/steps/invoice", Form: form(),
			WantStatus: http.StatusUnprocessableEntity, WantContains: []string{"発注機関は受け付けませんでした", ja}})
		if got := e.contract(t, id); got.Steps != 2 {
			t.Fatalf("steps after the refusal: %d", got.Steps)
		}

		// Another person (a card login, no power of the company).
		s := e.login(t, e.officer)
		s.Step(webtest.Step{Name: "no contract listed", Path: procureagent.Home + "contracts", WantContains: []string{`id="no-contracts"`}})
		s.Step(webtest.Step{Name: "not a party", Path: page, WantStatus: http.StatusForbidden, WantContains: []string{"この契約は表示できません"}})
		s.Step(webtest.Step{Name: "not a party's PDF", Path: page + "/contract.pdf", WantStatus: http.StatusForbidden})
	})
}
