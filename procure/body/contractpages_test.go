package body

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/procure/contract"
	"github.com/mynaplat/mynaplat/staff/stafftest"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestContractPages: an officer signed in with their card prepares the
// contract on the awarded tender's page (a second time is refused), sees
// the timeline page with its verification and downloads the PDF and the
// bundle; after the cycle the page shows every element verified. Nobody
// without a staff session gets in.
func TestContractPages(t *testing.T) {
	cw := newContractWorld(t, storetest.SQLite(t))
	srv, iss := officeServer(t, cw.fixture, cw.officerID)
	home := OfficeHome("kanto")
	id := contractID(cw.tn.ID)
	stafftest.NeedStaff(t, webtest.New(t, srv.URL), home, []webtest.Step{
		{Name: "timeline", Path: home + "contracts/" + id},
		{Name: "bundle", Path: home + "contracts/" + id + "/bundle"},
		{Name: "prepare", Path: home + "tenders/" + cw.tn.ID + "/contract", Form: url.Values{"delivery_date": {"2027-01-01"}}},
	})
	c := webtest.New(t, srv.URL)
	iss.SignInAs(c, home, cw.officerID, time.Now())
	tender := home + "tenders/" + cw.tn.ID
	c.Step(webtest.Step{Name: "awarded tender", Path: tender, WantContains: []string{`id="contract-form"`}})
	form := url.Values{"delivery_date": {"2027-01-05"}, "delivery_place": {"関東地方整備局 本局 倉庫"},
		"payment_terms": {"検査合格後、適法な請求を受けた日から30日以内"}}
	c.Step(webtest.Step{Name: "prepare", Path: tender + "/contract", Form: form, WantStatus: http.StatusSeeOther,
		WantLocation: home + "contracts/" + id})
	c.Step(webtest.Step{Name: "tender links the contract", Path: tender, WantContains: []string{`id="contract-link"`},
		WantNotContains: []string{`id="contract-form"`}})
	c.Step(webtest.Step{Name: "prepare twice", Path: tender + "/contract", Form: form, WantStatus: http.StatusUnprocessableEntity,
		WantContains: []string{"作成済み"}})
	c.Step(webtest.Step{Name: "timeline prepared", Path: home + "contracts/" + id,
		WantContains: []string{`data-state="prepared"`, "代理人の署名", `id="timeline"`, `id="bundle-link"`}})
	c.Step(webtest.Step{Name: "pdf", Path: home + "contracts/" + id + "/contract.pdf", WantContains: []string{"%PDF-"}})

	// The rest of the cycle through the service, then the page again.
	cw.finish(t, id)
	c.Step(webtest.Step{Name: "timeline complete", Path: home + "contracts/" + id,
		WantContains: []string{`data-state="signed"`, `data-steps="3"`, "TOTAL_PASSED", "完了"}})
	c.Step(webtest.Step{Name: "bundle", Path: home + "contracts/" + id + "/bundle", WantContains: []string{"application/vnd.mynaplat.contract-timeline+zip"}})
}

// finish takes a prepared contract through the agent's and the officer's
// signatures, the inspection, the acceptance and the invoice, through the
// service.
func (cw *contractWorld) finish(t *testing.T, id string) {
	t.Helper()
	ctx := cw.ctx
	ctr, err := cw.s.Contract(ctx, "kanto", id)
	if err != nil {
		t.Fatal(err)
	}
	cw.clock.Set(t0.Add(3 * time.Hour))
	agentSigned := cw.sign(t, ctr.pdf, cw.agent, contract.Agent)
	if _, err := cw.s.AgentSign(ctx, "kanto", id, cw.agentID, agentSigned); err != nil {
		t.Fatal(err)
	}
	cw.clock.Set(t0.Add(4 * time.Hour))
	ctr, err = cw.s.OfficerSign(ctx, "kanto", id, cw.officerID, cw.sign(t, agentSigned, cw.officer, contract.Officer))
	if err != nil {
		t.Fatal(err)
	}
	prev := contract.Hash(ctr.pdf)
	for i, k := range []contract.Kind{contract.KindInspection, contract.KindAcceptance, contract.KindInvoice} {
		cw.clock.Set(t0.Add(time.Duration(28+24*i) * time.Hour))
		card, add := cw.agent, cw.s.AgentStep
		who := cw.agentID
		if k == contract.KindInspection {
			card, add, who = cw.officer, cw.s.Inspect, cw.officerID
		}
		s := cw.step(t, id, card, k, prev)
		if _, err := add(ctx, "kanto", id, who, s); err != nil {
			t.Fatal(err)
		}
		prev = contract.Hash(s)
	}
}
