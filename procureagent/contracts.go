package procureagent

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/procure/body"
	"github.com/mynaplat/mynaplat/procure/contract"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/wareki"
	"github.com/mynaplat/mynaplat/web"
)

// The agent's contract pages (docs/procurement.md §5.7, "As built: the
// agent's pages"): the contracts of the tenders the agent's companies won,
// each with its state, what comes next, the PDF, the timeline file and the
// body's report of the timeline; the agent signs the contract (PAdES with a
// signature time-stamp) and the acceptance and the invoice (signed steps)
// with the card here, and the body's API takes them (body.Client, bearer =
// the card login). The body decides: its refusals are shown with its texts.

// contractsPath is the list of the agent's contracts.
const contractsPath = Home + "contracts"

func contractPath(bodyID, id string) string { return contractsPath + "/" + bodyID + "/" + id }

// wonTender is an awarded tender the agent's company won, with its contract
// once the body prepared it.
type wonTender struct {
	Body   BodyRef
	Tender *body.Tender
	// Contract is nil until the body prepares it.
	Contract *body.Contract
}

// NextJA names what comes next, in Japanese.
func (w wonTender) NextJA() string { ja, _ := nextStep(w.Contract); return ja }

// NextEN names what comes next, in English.
func (w wonTender) NextEN() string { _, en := nextStep(w.Contract); return en }

// nextStep names what comes next on a contract (nil: not prepared yet).
func nextStep(c *body.Contract) (ja, en string) {
	switch {
	case c == nil:
		return "発注機関による契約書の作成", "The body prepares the contract"
	case c.State == body.ContractPrepared:
		return "あなたの署名（マイナンバーカードの署名用電子証明書）", "Your signature (the signing certificate on your My Number Card)"
	case c.State == body.ContractAgentSigned:
		return "発注機関の担当職員の署名", "The body's officer signs"
	}
	switch contract.Kind(c.Next) {
	case "":
		return "完了", "Complete"
	case contract.KindInspection:
		return "発注機関の担当職員による検査", "The body's officer inspects"
	case contract.KindAcceptance:
		return "あなたの受領の記録（署名）", "Your acceptance (signed)"
	case contract.KindInvoice:
		return "あなたの請求（署名）", "Your invoice (signed)"
	}
	ja, en = contract.Kind(c.Next).Label()
	return ja, en
}

type contractsView struct {
	Name        string
	Won         []wonTender
	Unreachable []BodyRef
}

// won are the awarded tenders that a company the agent acts for won (a
// company of one of their powers, or the company of a bid kept on this
// terminal), each with its contract when the body has prepared it and the
// agent is its party. A contract of the company signed by another of its
// agents is not listed.
func (p *Pages) won(ctx context.Context, v *visit) ([]wonTender, []BodyRef, error) {
	powers, err := p.cfg.Register.AgentPowers(ctx, v.login.Assertion)
	if err != nil {
		return nil, nil, err
	}
	kept, err := p.kept.mine(v.login.PlatformID)
	if err != nil {
		return nil, nil, err
	}
	mine := func(bodyID string, t *body.Tender) bool {
		for _, ap := range powers {
			if ap.CorporateNumber == t.Result.WinnerNumber {
				return true
			}
		}
		for _, k := range kept {
			if k.Body == bodyID && k.Tender == t.ID && k.CorporateNumber == t.Result.WinnerNumber {
				return true
			}
		}
		return false
	}
	var out []wonTender
	var unreachable []BodyRef
	for _, b := range p.cfg.Bidding.Bodies {
		ts, err := p.cfg.Bidding.Client.Tenders(ctx, b.ID)
		if err != nil {
			p.cfg.Logger.WarnContext(ctx, "procureagent: tenders", "body", b.ID, "err", err)
			unreachable = append(unreachable, b)
			continue
		}
		for _, t := range ts {
			if t.Result == nil || !t.Result.Awarded() || !mine(b.ID, t) {
				continue
			}
			c, err := p.cfg.Bidding.Client.ContractOf(ctx, v.login.Assertion, b.ID, t.ID)
			if ref, ok := errors.AsType[*body.Refusal](err); ok && ref.Reason == body.ReasonNotParty {
				continue
			}
			if err != nil && !errors.Is(err, body.ErrNotFound) {
				return nil, nil, err
			}
			out = append(out, wonTender{Body: b, Tender: t, Contract: c})
		}
	}
	return out, unreachable, nil
}

func (p *Pages) contracts(w http.ResponseWriter, r *http.Request, v *visit) {
	won, unreachable, err := p.won(r.Context(), v)
	if err != nil {
		p.fail(w, r, v, err)
		return
	}
	p.pages.Render(w, r, http.StatusOK, "contracts", contractsView{Name: v.login.Holder, Won: won, Unreachable: unreachable})
}

// contractView is one contract's page.
type contractView struct {
	wonTender
	// Report is the body's report of the timeline; nil before the
	// agent's signature.
	Report *contract.Report
	// At is the contract's state the forms were made for: a form sent
	// again after its step was taken is answered "done", not signed again.
	At string
	// Sign is the card's signing step when the agent has something to
	// sign now.
	Sign *terminal.SignStep
	// AcceptedDate, AmountYen and Bank fill the step forms.
	AcceptedDate, AmountYen, Bank string
}

// Due says what the agent signs now: "contract", "acceptance", "invoice"
// or "".
func (v contractView) Due() string { return due(v.Contract) }

func due(c *body.Contract) string {
	switch {
	case c == nil:
		return ""
	case c.State == body.ContractPrepared:
		return string(contract.KindContract)
	case c.State == body.ContractSigned && contract.Kind(c.Next).Party() == contract.Agent && c.Next != "":
		return c.Next
	}
	return ""
}

// at is the token of the contract's state the forms carry.
func at(c *body.Contract) string { return c.State + "/" + strconv.Itoa(c.Steps) }

// done reports whether the agent's step what has been taken on c: the
// signature once the contract left prepared (only the agent's signature
// moves it), a step once the timeline holds it.
func done(c *body.Contract, what string) bool {
	if what == string(contract.KindContract) {
		return c.State != body.ContractPrepared
	}
	place := map[string]int{string(contract.KindAcceptance): 2, string(contract.KindInvoice): 3}[what]
	return c.State == body.ContractSigned && place > 0 && c.Steps >= place
}

// locks are a mutex per key, made on first use.
type locks struct {
	mu sync.Mutex
	m  map[string]*sync.Mutex
}

// lock locks key's mutex and returns its unlock.
func (l *locks) lock(key string) func() {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*sync.Mutex{}
	}
	m := l.m[key]
	if m == nil {
		m = &sync.Mutex{}
		l.m[key] = m
	}
	l.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// form is what a step form sent, to show it again.
type form struct{ acceptedDate, amount, bank string }

// contract reads the contract in the path for the agent; false when the
// answer was written.
func (p *Pages) contract(w http.ResponseWriter, r *http.Request, v *visit) (BodyRef, *body.Contract, bool) {
	b, ok := p.bodyRef(r.PathValue("body"))
	if !ok {
		p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusNotFound})
		return BodyRef{}, nil, false
	}
	c, err := p.cfg.Bidding.Client.Contract(r.Context(), v.login.Assertion, b.ID, r.PathValue("id"))
	if err != nil {
		p.contractFail(w, r, v, err)
		return BodyRef{}, nil, false
	}
	return b, c, true
}

// contractFail answers a failed read of a contract: none (404), another
// agent's (403, with the body's words), the rest as fail.
func (p *Pages) contractFail(w http.ResponseWriter, r *http.Request, v *visit, err error) {
	if ref, ok := errors.AsType[*body.Refusal](err); ok {
		p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusForbidden, TitleJA: "この契約は表示できません", TitleEN: "This contract cannot be shown",
			WhatJA: ref.MessageJA, WhatEN: ref.MessageEN, DoJA: "契約の一覧から選んでください。", DoEN: "Pick a contract from the list."})
		return
	}
	if errors.Is(err, body.ErrNotFound) {
		p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusNotFound})
		return
	}
	p.fail(w, r, v, err)
}

func (p *Pages) contractPage(w http.ResponseWriter, r *http.Request, v *visit) {
	p.renderContract(w, r, v, http.StatusOK, form{})
}

// renderContract shows the contract in the path with the body's report of
// its timeline and the form of what the agent signs now.
func (p *Pages) renderContract(w http.ResponseWriter, r *http.Request, v *visit, status int, f form) {
	b, c, ok := p.contract(w, r, v)
	if !ok {
		return
	}
	t, err := p.cfg.Bidding.Client.Tender(r.Context(), b.ID, c.Tender)
	if err != nil {
		p.bodyFail(w, r, v, err)
		return
	}
	// Before the agent's signature there is no signature to report on
	// (the report would say "not signed" in red): none is shown.
	var rep *contract.Report
	if c.State != body.ContractPrepared {
		if rep, err = p.cfg.Bidding.Client.ContractTimeline(r.Context(), v.login.Assertion, b.ID, c.ID); err != nil {
			p.contractFail(w, r, v, err)
			return
		}
		rep.Document = c.ID
	}
	view := contractView{wonTender: wonTender{Body: b, Tender: t, Contract: c}, Report: rep, At: at(c),
		AcceptedDate: f.acceptedDate, AmountYen: f.amount, Bank: f.bank}
	if view.AcceptedDate == "" {
		view.AcceptedDate = p.cfg.Now().In(wareki.JST()).Format(time.DateOnly)
	}
	if view.AmountYen == "" && t.Result != nil {
		view.AmountYen = strconv.FormatInt(t.Result.WinnerPriceYen, 10)
	}
	switch view.Due() {
	case string(contract.KindContract):
		view.Sign = p.cfg.Kit.SignCard(r, v.ss, "契約書に署名する", "Sign the contract")
	case string(contract.KindAcceptance):
		view.Sign = p.cfg.Kit.SignCard(r, v.ss, "署名して受領を記録する", "Sign the acceptance")
	case string(contract.KindInvoice):
		view.Sign = p.cfg.Kit.SignCard(r, v.ss, "署名して請求する", "Sign the invoice")
	}
	p.pages.Render(w, r, status, "contract", view)
}

// contractFile serves the contract's current PDF.
func (p *Pages) contractFile(w http.ResponseWriter, r *http.Request, v *visit) {
	b, ok := p.bodyRef(r.PathValue("body"))
	if !ok {
		p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusNotFound})
		return
	}
	pdf, err := p.cfg.Bidding.Client.ContractPDF(r.Context(), v.login.Assertion, b.ID, r.PathValue("id"))
	if err != nil {
		p.contractFail(w, r, v, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `inline; filename="`+r.PathValue("id")+`.pdf"`)
	w.Write(pdf)
}

// contractBundle serves the timeline as the body exports it: the ZIP
// `mynaplat verify` checks.
func (p *Pages) contractBundle(w http.ResponseWriter, r *http.Request, v *visit) {
	b, ok := p.bodyRef(r.PathValue("body"))
	if !ok {
		p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusNotFound})
		return
	}
	zip, err := p.cfg.Bidding.Client.ContractBundle(r.Context(), v.login.Assertion, b.ID, r.PathValue("id"))
	if err != nil {
		p.contractFail(w, r, v, err)
		return
	}
	w.Header().Set("Content-Type", contract.MIMEType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+r.PathValue("id")+`.zip"`)
	w.Write(zip)
}

// act runs the agent's signing of what (the contract or a step) once: a
// form made for an earlier state whose step has been taken since (sent
// twice, or from another tab) is answered "done" and nothing is signed;
// sign has the card sign and the body take it. A refusal of the body is
// shown with its words, unless the contract shows the step taken
// meanwhile (two sends at once from two terminals: the body took one).
//
// check, when not nil, words what the form states wrong before anything is
// signed.
func (p *Pages) act(w http.ResponseWriter, r *http.Request, v *visit, what string, f form, check func() *web.Flash,
	sign func(c *body.Contract, cert *x509.Certificate, signer crypto.Signer) error,
	send func(c *body.Contract) error) {
	if err := r.ParseForm(); err != nil {
		p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusBadRequest})
		return
	}
	// One act per contract at a time on this terminal: a second send
	// waits for the first and then finds its step taken (the card in the
	// reader signs one document at a time anyway).
	defer p.acting.lock(r.PathValue("body") + "/" + r.PathValue("id"))()
	b, c, ok := p.contract(w, r, v)
	if !ok {
		return
	}
	page := contractPath(b.ID, c.ID)
	again := func(fl web.Flash) {
		v.ss.SetFlash(fl)
		if err := v.ss.Save(r.Context()); err != nil {
			p.cfg.Logger.ErrorContext(r.Context(), "procureagent: save session", "err", err)
		}
		p.renderContract(w, r, v, http.StatusUnprocessableEntity, f)
	}
	already := func() {
		p.cfg.Site.Done(w, r, web.Flash{Kind: "ok", JA: "この手続は済んでいます（同じ送信が二度ありましたが、署名して送ったのは一度だけです）。",
			EN: "This step has been taken already (the form was sent twice; it was signed and sent once)."}, page)
	}
	if done(c, what) {
		already()
		return
	}
	if due(c) != what || r.PostFormValue("at") != at(c) {
		again(web.Flash{Kind: "error", JA: "何も送信していません。契約の状態が変わりました。表示されている状態を確かめてから、もう一度操作してください。",
			EN: "Nothing was sent. The contract's state has changed: check the state shown and try again."})
		return
	}
	if check != nil {
		if fl := check(); fl != nil {
			again(*fl)
			return
		}
	}
	res, err := p.cfg.Kit.Sign(r, v.ss, func(cert *x509.Certificate, signer crypto.Signer) error { return sign(c, cert, signer) })
	if ref, ok := errors.AsType[*body.Refusal](err); ok {
		// What the agent was about to sign does not fit (a PDF that is not
		// this contract, a timeline that does not parse): nothing sent.
		again(web.Flash{Kind: "error", JA: "何も送信していません。" + ref.MessageJA, EN: "Nothing was sent. " + ref.MessageEN})
		return
	}
	switch {
	case errors.Is(err, procure.ErrAssertion):
		p.fail(w, r, v, err)
		return
	case err != nil:
		p.cfg.Logger.ErrorContext(r.Context(), "procureagent: sign", "contract", c.ID, "what", what, "err", err)
		again(web.Flash{Kind: "error", JA: "何も送信していません。署名できませんでした。しばらくしてからもう一度お試しください。",
			EN: "Nothing was sent. It could not be signed. Try again shortly."})
		return
	case !res.Passed():
		fl := res.Flash()
		fl.JA, fl.EN = "何も送信していません。"+fl.JA, "Nothing was sent. "+fl.EN
		again(fl)
		return
	}
	err = send(c)
	if ref, ok := errors.AsType[*body.Refusal](err); ok {
		if now, err := p.cfg.Bidding.Client.Contract(r.Context(), v.login.Assertion, b.ID, c.ID); err == nil && done(now, what) {
			already()
			return
		}
		again(web.Flash{Kind: "error", JA: "発注機関は受け付けませんでした：" + ref.MessageJA, EN: "The body did not accept it: " + ref.MessageEN})
		return
	} else if err != nil {
		p.fail(w, r, v, err)
		return
	}
	msgs := map[string][2]string{
		string(contract.KindContract): {"契約書に署名しました。発注機関の担当職員が署名すると契約が成立します。",
			"You signed the contract. It is concluded once the body's officer signs."},
		string(contract.KindAcceptance): {"受領を記録しました。次は請求です。", "The acceptance is recorded. The invoice comes next."},
		string(contract.KindInvoice): {"請求しました。契約の手続はすべて記録されました（履歴ファイルを mynaplat verify で検証できます）。",
			"The invoice is sent. Every step of the contract is recorded (check the timeline file with mynaplat verify)."},
	}[what]
	p.cfg.Site.Done(w, r, web.Flash{Kind: "ok", JA: msgs[0], EN: msgs[1]}, page)
}

// notThisContract is a PDF or timeline from the body that is not the
// contract the page shows: nothing is signed.
func notThisContract(id string) error {
	return &body.Refusal{Reason: "not_this_contract", MessageJA: "発注機関から受け取った文書が、この契約（" + id + "）のものではありません。発注機関に問い合わせてください。",
		MessageEN: "What the body sent is not this contract's (" + id + "). Contact the procuring body."}
}

// signContract has the card sign the contract as the agent (PAdES, with a
// signature time-stamp) and sends it.
func (p *Pages) signContract(w http.ResponseWriter, r *http.Request, v *visit) {
	var signed []byte
	p.act(w, r, v, string(contract.KindContract), form{}, nil,
		func(c *body.Contract, cert *x509.Certificate, signer crypto.Signer) error {
			pdf, err := p.cfg.Bidding.Client.ContractPDF(r.Context(), v.login.Assertion, c.Body, c.ID)
			if err != nil {
				return err
			}
			if contract.IDOf(pdf) != c.ID {
				return notThisContract(c.ID)
			}
			signed, err = contract.Sign(r.Context(), pdf, contract.Agent, contract.SignOptions{Signer: signer, Cert: cert,
				Stamper: p.cfg.Stamper, When: p.cfg.Now()})
			if errors.Is(err, contract.ErrSignOrder) {
				return notThisContract(c.ID)
			}
			return err
		},
		func(c *body.Contract) error {
			_, err := p.cfg.Bidding.Client.SignContract(r.Context(), v.login.Assertion, c.Body, c.ID, signed)
			return err
		})
}

// step has the card sign the acceptance or the invoice (a step naming the
// SHA-256 of the timeline's last element, read from the body's timeline
// file) and sends it.
func (p *Pages) step(w http.ResponseWriter, r *http.Request, v *visit) {
	kind := contract.Kind(r.PathValue("kind"))
	if kind != contract.KindAcceptance && kind != contract.KindInvoice {
		p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusNotFound})
		return
	}
	f := form{acceptedDate: strings.TrimSpace(r.PostFormValue("accepted_date")), amount: r.PostFormValue("amount"),
		bank: strings.TrimSpace(r.PostFormValue("bank"))}
	st := contract.Step{Kind: kind, Time: p.cfg.Now()}
	if kind == contract.KindAcceptance {
		st.AcceptedDate = f.acceptedDate
	} else {
		st.AmountYen, _ = parsePrice(f.amount)
		st.Bank = f.bank
	}
	check := func() *web.Flash {
		// The contract and the hash come from the body's timeline when
		// signing; here only what the agent entered.
		probe := st
		probe.ContractID, probe.Previous = "check", strings.Repeat("0", 64)
		if probe.Validate() == nil {
			return nil
		}
		if kind == contract.KindAcceptance {
			return &web.Flash{Kind: "error", JA: "何も送信していません。受領した日を年-月-日（例 2027-01-05）で入力してください。",
				EN: "Nothing was sent. Enter the day of acceptance as year-month-day (e.g. 2027-01-05)."}
		}
		return &web.Flash{Kind: "error", JA: "何も送信していません。請求金額（1円以上の整数、税込）と振込先を入力してください。",
			EN: "Nothing was sent. Enter the amount (a whole number of yen, at least 1, tax included) and the bank account."}
	}
	var signed []byte
	p.act(w, r, v, string(kind), f, check,
		func(c *body.Contract, cert *x509.Certificate, signer crypto.Signer) error {
			zip, err := p.cfg.Bidding.Client.ContractBundle(r.Context(), v.login.Assertion, c.Body, c.ID)
			if err != nil {
				return err
			}
			tl, err := contract.ParseBundle(zip)
			if err != nil || contract.IDOf(tl.PDF) != c.ID || tl.Next() != kind {
				return notThisContract(c.ID)
			}
			st.ContractID, st.Previous = c.ID, tl.Previous()
			signed, err = contract.SignStep(r.Context(), st, contract.SignOptions{Signer: signer, Cert: cert, Stamper: p.cfg.Stamper})
			return err
		},
		func(c *body.Contract) error {
			_, err := p.cfg.Bidding.Client.ContractStep(r.Context(), v.login.Assertion, c.Body, c.ID, signed)
			return err
		})
}
