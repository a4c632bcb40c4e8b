package body

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mynaplat/mynaplat/procure/contract"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/web"
)

// The officers' contract pages (docs/procurement.md §5.7, body side): the
// prepare form on an awarded tender's page, and the timeline page that
// shows each element with its verification (contract.Report, the same
// report `mynaplat verify` prints) and offers the PDF and the bundle. The
// officer signs the contract, and then the inspection, with their own
// card through the staff gate's signing handoff (staff.Gate.SendToSign
// and SignedAtDesk: the GET sends the browser to the staff terminal they
// signed in at, whose kit runs the card and the signing password, refused
// for anyone else's card; the desk's page posts the signature back to the
// POST); the signed PDF goes to Service.OfficerSign, the signed step to
// Service.Inspect. A second post of the same signature (a double click,
// another tab) finds the place taken and says it is done already.

func (p *Pages) contractRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /bodies/{body}/office/tenders/{tender}/contract", p.gate.Only(p.prepareContract))
	mux.HandleFunc("GET /bodies/{body}/office/contracts/{id}", p.gate.Only(p.contractPage))
	mux.HandleFunc("GET /bodies/{body}/office/contracts/{id}/contract.pdf", p.gate.Only(p.contractFile))
	mux.HandleFunc("GET /bodies/{body}/office/contracts/{id}/bundle", p.gate.Only(p.contractBundle))
	mux.HandleFunc("GET /bodies/{body}/office/contracts/{id}/sign", p.gate.Only(p.officerSignPage))
	mux.HandleFunc("GET /bodies/{body}/office/contracts/{id}/inspect", p.gate.Only(p.inspectPage))
	// The staff terminal's page posts the signature back, from its host:
	// the handoff's state, one-time and bound to this session, and the
	// signature over what the office asked guard these posts instead of
	// the site's CSRF token (as for the staff login).
	for _, back := range []string{"POST /bodies/{body}/office/contracts/{id}/sign", "POST /bodies/{body}/office/contracts/{id}/inspect"} {
		p.site.CrossOriginLogin(back)
	}
	mux.HandleFunc("POST /bodies/{body}/office/contracts/{id}/sign", p.gate.Only(p.officerSign))
	mux.HandleFunc("POST /bodies/{body}/office/contracts/{id}/inspect", p.gate.Only(p.inspect))
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
	// CanSign says the officer's card can sign here (staff.Gate.CanSign).
	CanSign bool
}

// ToSign says the officer's signature is next; ToInspect the inspection.
func (v contractView) ToSign() bool { return v.Contract.State == ContractAgentSigned }

// ToInspect says the inspection is next.
func (v contractView) ToInspect() bool {
	return v.Contract.State == ContractSigned && v.Contract.Next == string(contract.KindInspection)
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
	p.pages.Render(w, r, http.StatusOK, "office_contract", contractView{Body: b, Staff: st, Contract: c, Report: rep, CanSign: p.gate.CanSign(st)})
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

// The texts of a signature already made: a second post of the same
// signature is answered with them, not with a refusal.
var (
	alreadySigned = web.Flash{Kind: "ok", JA: "この契約書には担当職員の署名が済んでいます（署名済み）。",
		EN: "The officer has already signed this contract."}
	alreadyInspected = web.Flash{Kind: "ok", JA: "この契約の検査は記録済みです。",
		EN: "The inspection of this contract is already recorded."}
)

// A signing step: the contract's signature or the inspection, with what
// it says when it is done already and whether it is.
type signing struct {
	action string
	done   web.Flash
	isDone func(c *Contract) bool
}

var (
	signingContract = signing{action: "contract.officer_sign", done: alreadySigned,
		isDone: func(c *Contract) bool { return c.State == ContractSigned }}
	signingInspection = signing{action: "contract.step", done: alreadyInspected,
		isDone: func(c *Contract) bool { return c.State == ContractSigned && c.Steps > 0 }}
)

// notNow answers a signing page or post for a contract whose next step is
// not sg: done already, or not yet (the order's refusal text).
func (p *Pages) notNow(w http.ResponseWriter, r *http.Request, c *Contract, sg signing) {
	ja, en := ReasonSignOrder.Messages()
	f := web.Flash{Kind: "error", JA: ja, EN: en}
	if sg.isDone(c) {
		f = sg.done
	}
	p.site.Done(w, r, f, contractPath(c.Body, c.ID))
}

// signRequest is the staff signing step of the contract's signature.
func signRequest(b Body, c *Contract) staff.SignRequest {
	path := contractPath(b.ID, c.ID)
	return staff.SignRequest{TitleJA: "契約書への署名", TitleEN: "Sign the contract",
		WhatJA: "契約 " + c.ID + "（" + b.NameJA + "、調達案件 " + c.Tender + "、法人番号 " + c.CorporateNumber +
			"）に、発注者の担当職員として署名します。代理人の署名の後に加わり、署名タイムスタンプの後、長期署名（B-LTA）にして保存します。",
		WhatEN: "You sign contract " + c.ID + " (" + b.NameEN + ", tender " + c.Tender + ", corporate number " + c.CorporateNumber +
			") as the procuring body's officer. Your signature follows the agent's, is time-stamped, and the contract is then kept long-term (B-LTA).",
		LabelJA: "署名する", LabelEN: "Sign", Action: path + "/sign", Back: path}
}

func (p *Pages) officerSignPage(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	b, c, ok := p.bodyContract(w, r)
	if !ok {
		return
	}
	if c.State != ContractAgentSigned {
		p.notNow(w, r, c, signingContract)
		return
	}
	p.gate.SendToSign(w, r, st, signRequest(b, c), p.signContract(c, nil))
}

// signContract is the staff signing job of the contract: the officer's
// approval signature (contract.Sign as Officer, time-stamped) on the PDF
// the agent signed, kept in out. The handoff runs it twice: for the
// digest the card signs (it stops at the signature), and with the card's
// signature, when the time-stamp is fetched and the PDF kept.
func (p *Pages) signContract(c *Contract, out *[]byte) staff.SignJob {
	return func(ctx context.Context, cert *x509.Certificate, signer crypto.Signer, when time.Time) error {
		signed, err := contract.Sign(ctx, c.pdf, contract.Officer, contract.SignOptions{Signer: signer, Cert: cert,
			Stamper: p.s.stamper, When: when})
		if err == nil && out != nil {
			*out = signed
		}
		return err
	}
}

// officerSign has the officer's card add the officer's signature to the
// PDF the agent signed (contract.Sign, time-stamped) and hands it to
// Service.OfficerSign, which checks it, makes it B-LTA and stores it.
func (p *Pages) officerSign(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	b, c, ok := p.bodyContract(w, r)
	if !ok {
		return
	}
	if c.State != ContractAgentSigned {
		p.notNow(w, r, c, signingContract)
		return
	}
	var signed []byte
	ok, err := p.gate.SignedAtDesk(w, r, st, contractPath(b.ID, c.ID), p.signContract(c, &signed))
	if err == nil && ok {
		_, err = p.s.OfficerSign(r.Context(), b.ID, c.ID, st.Grant.PlatformID, signed)
	}
	switch {
	case err != nil:
		p.signFailed(w, r, st, c, signingContract, err)
	case ok:
		p.site.Done(w, r, web.Flash{Kind: "ok", JA: "契約書に署名しました。タイムスタンプを付け、長期署名（B-LTA）にして保存しました。次は検査です。",
			EN: "You signed the contract. It is time-stamped and kept long-term (B-LTA). The inspection comes next."}, contractPath(b.ID, c.ID))
	}
}

// signFailed answers a refusal of a signature the officer's card made: a
// second post of the same signature (the place or the handoff's state
// taken meanwhile) is done already; a reason of the contract package is a refusal with its
// texts (audited); anything else is the service's failure.
func (p *Pages) signFailed(w http.ResponseWriter, r *http.Request, st *staff.Session, c *Contract, sg signing, err error) {
	if errors.Is(err, staff.ErrSignState) {
		// The handoff's state was used (the same signature posted twice
		// at once) or is gone: done if the other post did it.
		if now, e := p.s.Contract(r.Context(), c.Body, c.ID); e == nil && sg.isDone(now) {
			p.notNow(w, r, now, sg)
			return
		}
		p.site.Done(w, r, staff.SignStateRefusal, contractPath(c.Body, c.ID))
		return
	}
	if _, ok := errors.AsType[*Refusal](err); ok {
		if now, e := p.s.Contract(r.Context(), c.Body, c.ID); e == nil && sg.isDone(now) {
			p.notNow(w, r, now, sg)
			return
		}
		p.fail(w, r, err)
		return
	}
	var cr contract.Reason
	if errors.As(err, &cr) {
		p.fail(w, r, p.s.refused(r.Context(), c.Body, st.Actor(), sg.action, c.Tender, stepRefusal(err)))
		return
	}
	p.fail(w, r, err)
}

// maxNote bounds the inspection's note.
const maxNote = 500

// inspection is the inspection's result and note from the request's
// query (the contract page's form, carried to the signing step's post).
func inspection(q url.Values) (result, note string, ok bool) {
	note = strings.TrimSpace(q.Get("note"))
	switch q.Get("result") {
	case "passed":
		result = contract.Passed
	case "failed":
		// A failed inspection says what failed.
		result = contract.Failed
		if note == "" {
			return "", "", false
		}
	default:
		return "", "", false
	}
	return result, note, utf8.RuneCountInString(note) <= maxNote
}

// badInspection is the refusal of an inspection without its result, or a
// failed one without its note.
var badInspection = web.Flash{Kind: "error", JA: "検査の結果を選んでください（不合格のときは、その内容を500字以内で記入してください）。何も署名していません。",
	EN: "Choose the inspection's result (for a failed one, say what failed, in 500 characters at most). Nothing was signed."}

// inspectRequest is the staff signing step of the inspection.
func inspectRequest(b Body, c *Contract, result, note string) staff.SignRequest {
	path := contractPath(b.ID, c.ID)
	q := url.Values{"result": {"passed"}, "note": {note}}
	resEN := "passed"
	if result == contract.Failed {
		q.Set("result", "failed")
		resEN = "failed"
	}
	what, whatEN := "契約 "+c.ID+" の検査の結果「"+result+"」", "The inspection of contract "+c.ID+": "+resEN
	if note != "" {
		what, whatEN = what+"（"+note+"）", whatEN+" ("+note+")"
	}
	return staff.SignRequest{TitleJA: "検査の記録への署名", TitleEN: "Sign the inspection",
		WhatJA:  what + "を、担当職員として署名して記録します。署名した契約書のハッシュ値を指し、タイムスタンプが付きます。",
		WhatEN:  whatEN + ". You sign it as the officer; it names the signed contract's hash and is time-stamped.",
		LabelJA: "署名して記録する", LabelEN: "Sign and record", Action: path + "/inspect?" + q.Encode(), Back: path}
}

func (p *Pages) inspectPage(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	b, c, ok := p.bodyContract(w, r)
	if !ok {
		return
	}
	if c.State != ContractSigned || c.Steps > 0 {
		p.notNow(w, r, c, signingInspection)
		return
	}
	result, note, ok := inspection(r.URL.Query())
	if !ok {
		p.site.Done(w, r, badInspection, contractPath(b.ID, c.ID))
		return
	}
	p.gate.SendToSign(w, r, st, inspectRequest(b, c, result, note), p.signInspection(c, result, note, nil))
}

// signInspection is the staff signing job of the inspection: the step
// (contract.SignStep, naming the final PDF's hash, at the handoff's time),
// kept in out.
func (p *Pages) signInspection(c *Contract, result, note string, out *[]byte) staff.SignJob {
	return func(ctx context.Context, cert *x509.Certificate, signer crypto.Signer, when time.Time) error {
		der, err := contract.SignStep(ctx, contract.Step{Kind: contract.KindInspection, ContractID: c.ID, Previous: contract.Hash(c.pdf),
			Result: result, Note: note, Time: when}, contract.SignOptions{Signer: signer, Cert: cert, Stamper: p.s.stamper})
		if err == nil && out != nil {
			*out = der
		}
		return err
	}
}

// inspect has the officer's card sign the inspection (contract.SignStep,
// naming the final PDF's hash) and hands it to Service.Inspect.
func (p *Pages) inspect(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	b, c, ok := p.bodyContract(w, r)
	if !ok {
		return
	}
	if c.State != ContractSigned || c.Steps > 0 {
		p.notNow(w, r, c, signingInspection)
		return
	}
	result, note, ok := inspection(r.URL.Query())
	if !ok {
		p.site.Done(w, r, badInspection, contractPath(b.ID, c.ID))
		return
	}
	var der []byte
	ok, err := p.gate.SignedAtDesk(w, r, st, contractPath(b.ID, c.ID), p.signInspection(c, result, note, &der))
	if err == nil && ok {
		_, err = p.s.Inspect(r.Context(), b.ID, c.ID, st.Grant.PlatformID, der)
	}
	switch {
	case err != nil:
		p.signFailed(w, r, st, c, signingInspection, err)
	case ok:
		p.site.Done(w, r, web.Flash{Kind: "ok", JA: "検査の結果（" + result + "）を署名して記録しました。",
			EN: "The inspection (" + map[bool]string{true: "passed", false: "failed"}[result == contract.Passed] + ") is signed and recorded."},
			contractPath(b.ID, c.ID))
	}
}

// bodyContract is the path's body and contract; false when answered.
func (p *Pages) bodyContract(w http.ResponseWriter, r *http.Request) (Body, *Contract, bool) {
	b, err := p.s.Body(r.PathValue("body"))
	if err != nil {
		p.fail(w, r, err)
		return Body{}, nil, false
	}
	c, ok := p.officeContract(w, r)
	return b, c, ok
}
