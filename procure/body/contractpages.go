package body

import (
	"net/http"
	"time"

	"github.com/mynaplat/mynaplat/procure/contract"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/web"
)

// The officers' contract pages (docs/procurement.md §5.7, body side): the
// prepare form on an awarded tender's page, and the timeline page that
// shows each element with its verification (contract.Report, the same
// report `mynaplat verify` prints) and offers the PDF and the bundle. The
// officer's signature and the inspection are made with the officer's card
// and sent to Service.OfficerSign and Service.Inspect; the staff session
// has no signing kit yet, so these pages do not sign (the gap is recorded
// in docs/procurement.md).

func (p *Pages) contractRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /bodies/{body}/office/tenders/{tender}/contract", p.gate.Only(p.prepareContract))
	mux.HandleFunc("GET /bodies/{body}/office/contracts/{id}", p.gate.Only(p.contractPage))
	mux.HandleFunc("GET /bodies/{body}/office/contracts/{id}/contract.pdf", p.gate.Only(p.contractFile))
	mux.HandleFunc("GET /bodies/{body}/office/contracts/{id}/bundle", p.gate.Only(p.contractBundle))
}

func contractPath(body, id string) string { return OfficeHome(body) + "contracts/" + id }

func (p *Pages) prepareContract(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	body, tender := r.PathValue("body"), r.PathValue("tender")
	due, err := time.ParseInLocation(time.DateOnly, r.PostFormValue("delivery_date"), jst)
	if err != nil {
		p.fail(w, r, p.s.refused(r.Context(), body, st.Actor(), "contract.prepare", tender, refuse(ReasonContractTerms, "delivery date")))
		return
	}
	c, err := p.s.PrepareContract(r.Context(), body, tender, st.Grant.PlatformID, ContractInput{DeliveryDate: due,
		DeliveryPlace: r.PostFormValue("delivery_place"), PaymentTerms: r.PostFormValue("payment_terms")})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.site.Done(w, r, web.Flash{Kind: "ok", JA: "契約書を作成しました。落札者の代理人が署名すると、担当職員の署名に進みます。",
		EN: "The contract is prepared. Once the winner's agent has signed it, an officer signs."}, contractPath(body, c.ID))
}

// contractView is the timeline page.
type contractView struct {
	Body     Body
	Staff    *staff.Session
	Contract *Contract
	Report   *contract.Report
}

// StaffStrip is the strip the site's layout shows.
func (v contractView) StaffStrip() *web.StaffStrip {
	return v.Staff.Strip(OfficeHome(v.Body.ID) + "logout")
}

// NextJA and NextEN name what comes next.
func (v contractView) NextJA() string { ja, _ := v.next(); return ja }

// NextEN is NextJA in English.
func (v contractView) NextEN() string { _, en := v.next(); return en }

func (v contractView) next() (ja, en string) {
	switch v.Contract.State {
	case ContractPrepared:
		return "落札者の代理人の署名（マイナンバーカード）", "The winner's agent signs (My Number Card)"
	case ContractAgentSigned:
		return "担当職員の署名（職員カード）", "An officer signs (staff card)"
	}
	if v.Contract.Next == "" {
		return "完了", "Complete"
	}
	return contract.Kind(v.Contract.Next).Label()
}

func (p *Pages) officeContract(w http.ResponseWriter, r *http.Request) (*Contract, bool) {
	c, err := p.s.Contract(r.Context(), r.PathValue("body"), r.PathValue("id"))
	if err != nil {
		p.fail(w, r, err)
		return nil, false
	}
	return c, true
}

func (p *Pages) contractPage(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	b, err := p.s.Body(r.PathValue("body"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	c, ok := p.officeContract(w, r)
	if !ok {
		return
	}
	rep, _, err := p.s.VerifyContract(r.Context(), c)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	rep.Document = c.ID
	p.pages.Render(w, r, http.StatusOK, "office_contract", contractView{Body: b, Staff: st, Contract: c, Report: rep})
}

func (p *Pages) contractFile(w http.ResponseWriter, r *http.Request, _ *staff.Session) {
	if c, ok := p.officeContract(w, r); ok {
		w.Header().Set("Content-Type", "application/pdf")
		w.Write(c.pdf)
	}
}

func (p *Pages) contractBundle(w http.ResponseWriter, r *http.Request, _ *staff.Session) {
	c, ok := p.officeContract(w, r)
	if !ok {
		return
	}
	tl, err := p.s.Timeline(r.Context(), c)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	zip, err := tl.Bundle()
	if err != nil {
		p.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.mynaplat.contract-timeline+zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+c.ID+`.zip"`)
	w.Write(zip)
}
