package body

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/internal/testutil"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/procure/contract"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/staff/stafftest"
	"github.com/mynaplat/mynaplat/staffdesk/desktest"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/verify"
	"github.com/mynaplat/mynaplat/web"
)

// signingServer is the office's server whose gate signs with the cards of
// the world's card store on the staff terminal's reader, the platform's
// linkage being the world's.
func (cw *contractWorld) signingServer(t *testing.T) (string, *stafftest.Issuer) {
	t.Helper()
	srv, iss := officeServerMount(t, cw.fixture, func(gc *staff.GateConfig) {
		gc.Desk = "/staffdesk/"
		gc.SignerPerson = func(ctx context.Context, c *x509.Certificate) (string, error) { return cw.world.signerPerson(ctx, c) }
	}, func(mux *http.ServeMux, site *web.Site, url string) {
		// The staff terminals, on the same host here: they reach the
		// office's desk API over HTTP all the same.
		desktest.Mount(t, mux, site, cw.cards, url, nil, stafftest.DeskTerminal)
	}, cw.officerID)
	return srv.URL, iss
}

// TestContractPages: an officer signed in with their card prepares the
// contract on the awarded tender's page (a second time is refused), sees
// the timeline page with its verification and downloads the PDF and the
// bundle. Once the agent has signed through the API, the officer signs on
// the page with their own card through the staff signing step (a
// stranger's card and a wrong password refused, nothing stored), then
// records the inspection the same way; the same post twice says it is
// done already and stores nothing more. After the agent's acceptance and
// invoice through the API the page shows every element verified, and
// pdfsig calls both signatures of the final PDF valid. Nobody without a
// staff session gets in.
func TestContractPages(t *testing.T) {
	cw := newContractWorld(t, storetest.SQLite(t))
	srv, iss := cw.signingServer(t)
	ctx := cw.ctx
	home := OfficeHome("kanto")
	id := contractID(cw.tn.ID)
	page := home + "contracts/" + id
	stafftest.NeedStaff(t, webtest.New(t, srv), home, []webtest.Step{
		{Name: "timeline", Path: page},
		{Name: "bundle", Path: page + "/bundle"},
		{Name: "prepare", Path: home + "tenders/" + cw.tn.ID + "/contract", Form: url.Values{"delivery_date": {"2027-01-01"}}},
		{Name: "sign page", Path: page + "/sign"},
		{Name: "sign", Path: page + "/sign", Form: url.Values{"state": {"x"}}, NoToken: true},
		{Name: "inspect", Path: page + "/inspect?result=passed", Form: url.Values{"state": {"x"}}, NoToken: true},
	})
	c := webtest.New(t, srv)
	iss.SignInAs(c, home, cw.officerID, time.Now())
	tender := home + "tenders/" + cw.tn.ID
	c.Step(webtest.Step{Name: "awarded tender", Path: tender, WantContains: []string{`id="contract-form"`}})
	form := url.Values{"delivery_date": {"2027-01-05"}, "delivery_place": {"関東地方整備局 本局 倉庫"},
		"payment_terms": {"検査合格後、適法な請求を受けた日から30日以内"}}
	c.Step(webtest.Step{Name: "prepare", Path: tender + "/contract", Form: form, WantStatus: http.StatusSeeOther,
		WantLocation: page})
	c.Step(webtest.Step{Name: "tender links the contract", Path: tender, WantContains: []string{`id="contract-link"`},
		WantNotContains: []string{`id="contract-form"`}})
	c.Step(webtest.Step{Name: "prepare twice", Path: tender + "/contract", Form: form, WantStatus: http.StatusUnprocessableEntity,
		WantContains: []string{"作成済み"}})
	c.Step(webtest.Step{Name: "timeline prepared", Path: page,
		WantContains:    []string{`data-state="prepared"`, "代理人の署名", `id="timeline"`, `id="bundle-link"`},
		WantNotContains: []string{`id="officer-sign-go"`, `id="inspect-form"`}})
	c.Step(webtest.Step{Name: "pdf", Path: page + "/contract.pdf", WantContains: []string{"%PDF-"}})
	order, _ := ReasonSignOrder.Messages()
	c.Step(webtest.Step{Name: "the officer's signing page before the agent's", Path: page + "/sign", WantStatus: http.StatusSeeOther, WantLocation: page})
	c.Step(webtest.Step{Name: "says so", Path: page, WantContains: []string{order}})

	// The agent signs through the API, as today.
	cw.clock.Set(t0.Add(3 * time.Hour))
	cw.agentSigns(t, id)
	cw.clock.Set(t0.Add(4 * time.Hour))
	agentSigned := cw.contract(t, id)
	c.Step(webtest.Step{Name: "timeline agent signed", Path: page, WantContains: []string{`data-state="agent_signed"`, `id="officer-sign-go"`}})
	const desk = "/staffdesk/" + stafftest.DeskTerminal + "/sign"
	// start goes from the office's signing page to the desk.
	start := func(path string) {
		t.Helper()
		r := c.Step(webtest.Step{Name: "to the desk", Path: path, WantStatus: http.StatusSeeOther})
		if !strings.HasPrefix(r.Location(), desk+"?") {
			t.Fatalf("the office sent the browser to %q", r.Location())
		}
		c.Step(webtest.Step{Name: "the desk takes the handoff", Path: r.Location(), WantStatus: http.StatusSeeOther, WantLocation: desk})
	}
	place := func(cd string) {
		t.Helper()
		c.Step(webtest.Step{Name: "place a card", Path: desk + "/place", Form: url.Values{"card": {cd}}, WantStatus: http.StatusSeeOther, WantLocation: desk})
	}
	post := func(name, password string) {
		t.Helper()
		c.Step(webtest.Step{Name: name, Path: desk, Form: url.Values{"password": {password}}, WantStatus: http.StatusSeeOther, WantLocation: desk})
	}
	// signed has the card sign and gives the desk's form back to the office.
	signed := func(name, action string) url.Values {
		t.Helper()
		r := c.Step(webtest.Step{Name: name, Path: desk, Form: url.Values{"password": {cardPIN}}, WantContains: []string{`id="signback"`,
			`action="` + html.EscapeString(action) + `"`}})
		return hiddenInputs(t, r.Body, "state", "certificate", "signature")
	}
	back := func(name, action string, form url.Values, to string) {
		t.Helper()
		c.Step(webtest.Step{Name: name, Path: action, Form: form, NoToken: true, WantStatus: http.StatusSeeOther, WantLocation: to})
	}
	start(page + "/sign")
	c.Step(webtest.Step{Name: "the signing page", Path: desk, WantContains: []string{"契約書への署名", id, `id="place"`,
		`action="` + desk + `/place"`}})
	// A stranger's card, its right password: refused, nothing stored.
	place(cw.stranger.ID())
	c.Step(webtest.Step{Name: "the password step", Path: desk, WantContains: []string{`id="sign-form"`, `id="sign-left">5<`}})
	post("sign with a stranger's card", cardPIN)
	c.Step(webtest.Step{Name: "refused", Path: desk, WantContains: []string{
		html.EscapeString("このカードの署名用電子証明書は、ログインしている職員本人のものではありません。")}})
	// Their own card, a wrong password: the tries left.
	place(cw.officer.ID())
	post("a wrong password", "WRONG1")
	wrong := terminal.Result{Outcome: terminal.SignWrong, TriesLeft: 4, Wrong: true}.Message().JA
	c.Step(webtest.Step{Name: "4 tries left", Path: desk, WantContains: []string{html.EscapeString(wrong), `id="sign-left">4<`}})
	if now := cw.contract(t, id); now.State != ContractAgentSigned || !bytes.Equal(now.pdf, agentSigned.pdf) {
		t.Fatalf("a refusal changed the contract: %s", now.State)
	}
	// The right password: the desk's page takes the signature back; the
	// office completes it: B-LTA, stored.
	form = signed("sign", page+"/sign")
	if now := cw.contract(t, id); now.State != ContractAgentSigned {
		t.Fatalf("the desk's signature stored before it came back: %s", now.State)
	}
	cw.clock.Set(t0.Add(4*time.Hour + time.Minute))
	back("the signature back", page+"/sign", form, page)
	c.Step(webtest.Step{Name: "signed", Path: page, WantContains: []string{`data-state="signed"`, "契約書に署名しました", `id="inspect-form"`}})
	done := cw.contract(t, id)
	if done.officer != cw.officerID {
		t.Errorf("signed by %q, want %q", done.officer, cw.officerID)
	}
	// The same post again (a second click): done already, nothing more.
	back("sign again", page+"/sign", form, page)
	c.Step(webtest.Step{Name: "already signed", Path: page, WantContains: []string{"署名が済んでいます"}, WantNotContains: []string{order}})
	if now := cw.contract(t, id); !bytes.Equal(now.pdf, done.pdf) {
		t.Fatal("a second post changed the signed contract")
	}

	// The inspection: a failed one needs its note; a passed one is signed.
	cw.clock.Set(t0.Add(28 * time.Hour))
	c.Step(webtest.Step{Name: "failed without a note", Path: page + "/inspect?result=failed", WantStatus: http.StatusSeeOther, WantLocation: page})
	c.Step(webtest.Step{Name: "says so", Path: page, WantContains: []string{"不合格のときは、その内容"}})
	inspect := page + "/inspect?" + url.Values{"note": {"数量・外観とも仕様どおり"}, "result": {"passed"}}.Encode()
	start(inspect)
	c.Step(webtest.Step{Name: "the inspection's signing page", Path: desk, WantContains: []string{"検査の記録への署名", "合格", "数量・外観とも仕様どおり", `id="place"`}})
	place(cw.officer.ID())
	form = signed("sign the inspection", inspect)
	// Sent twice at once (a double click): the inspection is recorded
	// once, and both end on the contract's page.
	var wg sync.WaitGroup
	got := make([]string, 2)
	for i := range got {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, c.URL(inspect), strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := c.HTTP().Do(req)
			if err != nil {
				got[i] = err.Error()
				return
			}
			resp.Body.Close()
			got[i] = fmt.Sprint(resp.StatusCode, " ", resp.Header.Get("Location"))
		})
	}
	wg.Wait()
	for _, g := range got {
		if g != fmt.Sprint(http.StatusSeeOther, " ", page) {
			t.Errorf("the inspection sent twice at once: %q, want each to end on %s", got, page)
		}
	}
	c.Step(webtest.Step{Name: "inspected", Path: page, WantContains: []string{`data-steps="1"`, "受領"},
		WantNotContains: []string{`id="inspect-form"`, "署名の手続きが古い"}})
	back("inspect again", inspect, form, page)
	c.Step(webtest.Step{Name: "already inspected", Path: page, WantContains: []string{"検査は記録済み", `data-steps="1"`}})

	// The agent's acceptance and invoice through the API.
	cw.agentSteps(t, id)
	c.Step(webtest.Step{Name: "timeline complete", Path: page,
		WantContains: []string{`data-state="signed"`, `data-steps="3"`, "TOTAL_PASSED", "完了"}})
	c.Step(webtest.Step{Name: "bundle", Path: page + "/bundle", WantContains: []string{"application/vnd.mynaplat.contract-timeline+zip"}})
	bundle := c.Step(webtest.Step{Name: "bundle", Path: page + "/bundle"})
	if rep := contract.VerifyBundle(ctx, id+".zip", []byte(bundle.Body), cw.policy, contract.Parties{}); rep.Indication != verify.TotalPassed || !rep.Complete {
		t.Errorf("the bundle: %s %s %s", rep.Indication, rep.SubIndication, rep.MessageEN)
	}
	pdfsig(t, []byte(c.Step(webtest.Step{Name: "the final pdf", Path: page + "/contract.pdf"}).Body))
}

// pdfsig checks with Debian's pdfsig that both signatures of the final
// contract are valid and that it carries the document time-stamp.
func pdfsig(t *testing.T, pdf []byte) {
	t.Helper()
	bin := testutil.NeedProgram(t, "pdfsig", "poppler-utils")
	path := filepath.Join(t.TempDir(), "contract.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(bin, path).CombinedOutput()
	if n := bytes.Count(out, []byte("Signature Validation: Signature is Valid.")); n != 2 || !bytes.Contains(out, []byte("Signature #3")) {
		t.Errorf("pdfsig: %d valid signatures, want 2 and the document time-stamp:\n%s", n, out)
	}
}

func (cw *contractWorld) contract(t *testing.T, id string) *Contract {
	t.Helper()
	c, err := cw.s.Contract(cw.ctx, "kanto", id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// agentSigns has the agent read the contract and sign it through the API.
func (cw *contractWorld) agentSigns(t *testing.T, id string) {
	t.Helper()
	pdf, err := cw.client.ContractPDF(cw.ctx, cw.mint(cw.agentID), "kanto", id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cw.client.SignContract(cw.ctx, cw.mint(cw.agentID), "kanto", id, cw.sign(t, pdf, cw.agent, contract.Agent)); err != nil {
		t.Fatal(err)
	}
}

// agentSteps has the agent sign the acceptance and the invoice after the
// inspection, through the API.
func (cw *contractWorld) agentSteps(t *testing.T, id string) {
	t.Helper()
	tl, err := cw.s.Timeline(cw.ctx, cw.contract(t, id))
	if err != nil || len(tl.Steps) != 1 {
		t.Fatalf("the timeline before the acceptance: %v", err)
	}
	prev := contract.Hash(tl.Steps[0])
	for i, k := range []contract.Kind{contract.KindAcceptance, contract.KindInvoice} {
		cw.clock.Set(t0.Add(time.Duration(52+24*i) * time.Hour))
		s := cw.step(t, id, cw.agent, k, prev)
		if _, err := cw.client.ContractStep(cw.ctx, cw.mint(cw.agentID), "kanto", id, s); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		prev = contract.Hash(s)
	}
}

// hiddenInputs is the values of a page's hidden inputs names.
func hiddenInputs(t *testing.T, body string, names ...string) url.Values {
	t.Helper()
	out := url.Values{}
	for _, n := range names {
		m := regexp.MustCompile(`name="` + n + `" value="([^"]*)"`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no %s in the page", n)
		}
		out.Set(n, html.UnescapeString(m[1]))
	}
	return out
}
