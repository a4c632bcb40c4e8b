package counter

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/web"
)

// Four eyes at the counter (issue 16): a loss, a death, the revocation of
// one certificate and a PIN reset run only with a supervisor's approval.
// The clerk prepares the request on the card's page, recording how the
// person asking was identified (their own card on the counter's reader, or
// identity documents the clerk checked); the request waits in the clerk's
// browser session, and the gate asks for the approval of a supervisor of
// this counter (staff.CounterSupervisor), not the clerk, who places their
// own card on the staff terminal within approvalWait. Only then does the
// request run, once: the centre gets the clerk and the supervisor and
// checks them again, and its audit row names both. A PIN reset's approval
// comes first; then the resident types the new PIN on the counter's pad.

// approvalWait is how long a prepared request waits for its approval.
const approvalWait = 5 * time.Minute

// requestKey is the session key of the clerk's prepared request: one at a
// time, a new one replaces it.
const requestKey = "counter:request"

// The procedures that need four eyes.
const (
	actLoss   = "loss"
	actDeath  = "death"
	actRevoke = "revoke"
	actPIN    = "pin"
)

// request is a procedure prepared by the clerk, waiting for its approval.
type request struct {
	ID     string `json:"id"`
	Action string `json:"action"`
	CardID string `json:"card_id"`
	// Kind, Serial and Reason are a revocation's certificate and reason;
	// Which a PIN reset's PIN.
	Kind     jpki.Kind     `json:"kind,omitempty"`
	Serial   string        `json:"serial,omitempty"`
	Reason   string        `json:"reason,omitempty"`
	Which    jpki.PINKind  `json:"which,omitempty"`
	Identity jpki.Identity `json:"identity"`
	// Clerk is the platform ID of the clerk who prepared it.
	Clerk    string    `json:"clerk"`
	Prepared time.Time `json:"prepared"`
	Until    time.Time `json:"until"`
	// Desk is the staff terminal's page where the supervisor approves.
	Desk string `json:"desk"`
}

func (rq *request) purpose() string { return "counter-request:" + rq.ID }
func (rq *request) path() string    { return Home + "requests/" + rq.ID }

// what is the procedure in both languages.
func (rq *request) what() msg {
	switch rq.Action {
	case actLoss:
		return msg{"紛失の届出（有効な電子証明書をすべて失効・keyCompromise）", "Report the card lost (revoke every live certificate, keyCompromise)"}
	case actDeath:
		return msg{"死亡の届出（有効な電子証明書をすべて失効・cessationOfOperation）", "Record the holder's death (revoke every live certificate, cessationOfOperation)"}
	case actRevoke:
		reason, _ := jpki.ParseReason(rq.Reason)
		ja, en := reasonText(reason)
		return msg{kindJA(rq.Kind) + " シリアル " + rq.Serial + " の失効（" + ja + "）", "Revoke the " + kindEN(rq.Kind) + " serial " + rq.Serial + " (" + en + ")"}
	}
	n := pinName(rq.Which)
	return msg{n.JA + "の初期化・再設定", "Reset the " + n.EN}
}

// identities are the ways the person asking may be identified.
var identities = []option{
	{string(jpki.IdentityCard), "本人のカード（窓口のカードリーダーで読み取り）", "their own card, read on the counter's reader"},
	{string(jpki.IdentityDocuments), "本人確認書類（職員が確認）", "identity documents, checked by the clerk"},
}

func identityText(i jpki.Identity) msg {
	for _, o := range identities {
		if o.Value == string(i) {
			return msg{o.JA, o.EN}
		}
	}
	return msg{}
}

// prepare records a procedure that needs four eyes and asks for its
// approval: the request's page shows where the supervisor approves.
func (p *counterPages) prepare(w http.ResponseWriter, r *http.Request, s *staff.Session) {
	id := r.PathValue("id")
	rq := &request{Action: r.PostFormValue("action"), CardID: id, Identity: jpki.Identity(r.PostFormValue("identity")),
		Clerk: s.Grant.PlatformID, Prepared: p.now()}
	if !slices.Contains([]string{actLoss, actDeath, actRevoke, actPIN}, rq.Action) {
		p.refuse(w, r, s, id, "", fmt.Errorf("%w: no such procedure", jpki.ErrInvalid), nil)
		return
	}
	rec, err := p.client(s).CardRecord(r.Context(), id)
	if err != nil {
		p.refuse(w, r, s, id, rq.Action, err, nil)
		return
	}
	_, notOnCard := p.cards.Open(id)
	switch rq.Action {
	case actRevoke:
		kind, serial, _ := strings.Cut(r.PostFormValue("cert"), ":")
		k, kerr := jpki.ParseKind(kind)
		serial, serr := jpki.ParseSerial(serial)
		reason, rerr := jpki.ParseReason(r.PostFormValue("reason"))
		if err := errors.Join(kerr, serr, rerr); err != nil || !slices.Contains(counterReasons, reason) ||
			!slices.ContainsFunc(rec.Certificates, func(c *jpki.CertInfo) bool { return c.Kind == k && c.Serial == serial }) {
			p.refuse(w, r, s, id, rq.Action, fmt.Errorf("%w: choose a certificate of this card and a reason", jpki.ErrInvalid), nil)
			return
		}
		rq.Kind, rq.Serial, rq.Reason = k, serial, reason.String()
	case actPIN:
		k, err := jpki.ParsePINKind(r.PostFormValue("which"))
		if err == nil && notOnCard != nil {
			err = fmt.Errorf("%w: card %s is not in the card store, so its PINs cannot be reset here", jpki.ErrInvalid, id)
		}
		if err != nil {
			p.refuse(w, r, s, id, rq.Action, err, nil)
			return
		}
		rq.Which = k
	}
	switch {
	case !rq.Identity.Valid():
		p.refuse(w, r, s, id, rq.Action, fmt.Errorf("%w: record how the person asking was identified", jpki.ErrInvalid), nil)
		return
	case rq.Identity == jpki.IdentityCard && notOnCard != nil:
		p.refuse(w, r, s, id, rq.Action, fmt.Errorf("%w: the card is not on the counter's reader; check identity documents instead", jpki.ErrInvalid), nil)
		return
	}
	b := make([]byte, 12)
	rand.Read(b)
	rq.ID, rq.Until = hex.EncodeToString(b), rq.Prepared.Add(approvalWait)
	rq.Desk, err = p.gate.AskApproval(w, r, s, rq.purpose(), staff.CounterSupervisor, rq.path(), rq.Until)
	if err != nil {
		p.fail(w, r, "ask for an approval", err)
		return
	}
	if err := p.keep(w, r, rq); err != nil {
		p.fail(w, r, "keep the request", err)
		return
	}
	p.logger.InfoContext(r.Context(), "counter: prepared a request", "request", rq.ID, "action", rq.Action, "card", id, "clerk", s.Grant.PlatformID)
	p.redirect(w, r, rq.path(), web.Flash{Kind: "ok", JA: "申請を作成しました。責任者の承認を受けてください。", EN: "The request is prepared; it needs a supervisor's approval."})
}

// pending is the clerk's request of the path; false when it has answered
// (there is none: run, cancelled, or another session's).
func (p *counterPages) pending(w http.ResponseWriter, r *http.Request, s *staff.Session) (*request, bool) {
	ss, err := p.site.Session(w, r)
	if err != nil {
		p.fail(w, r, "read the request", err)
		return nil, false
	}
	var rq request
	if raw := ss.Get(requestKey); raw == "" || json.Unmarshal([]byte(raw), &rq) != nil || rq.ID != r.PathValue("rid") || rq.Clerk != s.Grant.PlatformID {
		p.site.Error(w, r, web.Problem{Status: http.StatusNotFound, TitleJA: "申請が見つかりません", TitleEN: "No such request",
			WhatJA: "この申請は、実行されたか、取り消されたか、ほかの職員のものです。何も行われていません。",
			WhatEN: "The request was run, cancelled, or is another clerk's. Nothing was done.",
			DoJA:   "カードの画面からもう一度申請してください。", DoEN: "Prepare the request again from the card's page."})
		return nil, false
	}
	return &rq, true
}

// keep keeps the clerk's request in the session.
func (p *counterPages) keep(w http.ResponseWriter, r *http.Request, rq *request) error {
	ss, err := p.site.Session(w, r)
	if err != nil {
		return err
	}
	raw, _ := json.Marshal(rq)
	ss.Set(requestKey, string(raw))
	return ss.Save(r.Context())
}

// drop forgets the clerk's request.
func (p *counterPages) drop(w http.ResponseWriter, r *http.Request) {
	ss, err := p.site.Session(w, r)
	if err == nil {
		ss.Delete(requestKey)
		err = ss.Save(r.Context())
	}
	if err != nil {
		p.logger.ErrorContext(r.Context(), "counter: drop the request", "err", err)
	}
}

// requestPage is a request's page: what it is, who prepared it, how the
// person was identified, and its approval, waited for or given.
type requestPage struct {
	chrome
	ID, CardID, Holder string
	What, Identity     msg
	Action             string
	Prepared, Until    time.Time
	Desk               string
	Expired            bool
	Approval           *staff.Approval
}

func (p *counterPages) requestPage(w http.ResponseWriter, r *http.Request, s *staff.Session) {
	rq, ok := p.pending(w, r, s)
	if !ok {
		return
	}
	rec, err := p.client(s).CardRecord(r.Context(), rq.CardID)
	if err != nil {
		p.refuse(w, r, s, rq.CardID, rq.Action, err, nil)
		return
	}
	a := p.gate.Approval(w, r, s, rq.purpose())
	if !a.Approved() && (a == nil || a.State == "") && p.now().Before(rq.Until) {
		// A card login was refused (the clerk's own, a clerk's …): the
		// approval is asked for again, with a new state, in the time left.
		if rq.Desk, err = p.gate.AskApproval(w, r, s, rq.purpose(), staff.CounterSupervisor, rq.path(), rq.Until); err != nil {
			p.fail(w, r, "ask for an approval", err)
			return
		}
		if err := p.keep(w, r, rq); err != nil {
			p.fail(w, r, "keep the request", err)
			return
		}
		a = p.gate.Approval(w, r, s, rq.purpose())
	}
	p.pages.Render(w, r, http.StatusOK, "counter_request", requestPage{chrome: chrome{s}, ID: rq.ID, CardID: rq.CardID, Holder: rec.Resident.Name,
		What: rq.what(), Identity: identityText(rq.Identity), Action: rq.Action, Prepared: rq.Prepared, Until: rq.Until, Desk: rq.Desk,
		Expired: !p.now().Before(rq.Until) && !a.Approved(), Approval: a})
}

// approval is the centre's form of the supervisor's approval a (none when
// nil: the centre refuses, and its audit has the refusal).
func (rq *request) approval(a *staff.Approval) jpki.Approval {
	ap := jpki.Approval{Identity: rq.Identity}
	if a.Approved() {
		g := a.By
		ap.Supervisor = &jpki.CounterStaff{PlatformID: g.PlatformID, Name: g.Name, Office: g.Office, Role: string(g.Role), StaffNumber: g.StaffNumber}
		ap.At = a.At
	}
	return ap
}

// run runs an approved loss, death or revocation, once.
func (p *counterPages) run(w http.ResponseWriter, r *http.Request, s *staff.Session) {
	rq, ok := p.pending(w, r, s)
	if !ok {
		return
	}
	if rq.Action == actPIN {
		http.Redirect(w, r, rq.path()+"/pin", http.StatusSeeOther)
		return
	}
	a := p.gate.TakeApproval(w, r, s, rq.purpose())
	if a != nil {
		// The approval is used: the request runs once, whatever the
		// centre answers.
		p.drop(w, r)
	}
	ap := rq.approval(a)
	ctx, c := r.Context(), p.client(s)
	var done msg
	var flash string
	switch rq.Action {
	case actLoss, actDeath:
		ev, m := jpki.Loss, msg{"紛失の届出を受け付け、次の電子証明書を失効（keyCompromise）しました。", "The loss was recorded and these certificates revoked (keyCompromise)."}
		if rq.Action == actDeath {
			ev, m = jpki.Death, msg{"死亡の届出を記録し、次の電子証明書を失効（cessationOfOperation）しました。", "The death was recorded and these certificates revoked (cessationOfOperation)."}
		}
		revoked, err := c.CloseCard(ctx, jpki.CloseRequest{CardID: rq.CardID, Event: ev, Approval: ap})
		if err != nil {
			p.refuse(w, r, s, rq.CardID, rq.Action, err, nil)
			return
		}
		for _, ci := range revoked {
			p.logger.InfoContext(ctx, "counter: revoked", "action", rq.Action, "card", rq.CardID, "kind", ci.Kind, "serial", ci.Serial, "approved_by", ap.Supervisor.PlatformID)
			m = appendMsg(m, msg{kindJA(ci.Kind) + " シリアル " + ci.Serial, kindEN(ci.Kind) + " serial " + ci.Serial})
		}
		done, flash = m, "warn"
	case actRevoke:
		reason, _ := jpki.ParseReason(rq.Reason)
		if _, err := c.RevokeCertificate(ctx, jpki.RevokeRequest{CardID: rq.CardID, Kind: rq.Kind, Serial: rq.Serial, Reason: reason, Approval: ap}); err != nil {
			p.refuse(w, r, s, rq.CardID, rq.Action, err, nil)
			return
		}
		p.logger.InfoContext(ctx, "counter: revoked", "action", "revoke", "card", rq.CardID, "kind", rq.Kind, "serial", rq.Serial, "reason", reason,
			"approved_by", ap.Supervisor.PlatformID)
		ja, en := reasonText(reason)
		done, flash = msg{kindJA(rq.Kind) + " シリアル " + rq.Serial + " を失効しました（" + ja + "）。",
			"Revoked the " + kindEN(rq.Kind) + " serial " + rq.Serial + " (" + en + ")."}, "warn"
	}
	done = appendMsg(done, approvedBy(a))
	p.redirect(w, r, cardPath(rq.CardID), web.Flash{Kind: flash, JA: done.JA, EN: done.EN})
}

// approvedBy names the supervisor who approved, by name and staff number.
func approvedBy(a *staff.Approval) msg {
	if !a.Approved() {
		return msg{}
	}
	return msg{"承認：" + a.By.Name + "（" + a.By.StaffNumber + "）。", "Approved by " + a.By.Name + " (" + a.By.StaffNumber + ")."}
}

// cancel drops the clerk's request; nothing was done.
func (p *counterPages) cancel(w http.ResponseWriter, r *http.Request, s *staff.Session) {
	rq, ok := p.pending(w, r, s)
	if !ok {
		return
	}
	p.drop(w, r)
	p.logger.InfoContext(r.Context(), "counter: cancelled a request", "request", rq.ID, "clerk", s.Grant.PlatformID)
	p.redirect(w, r, cardPath(rq.CardID), web.Flash{Kind: "ok", JA: "申請を取り消しました。何も行われていません。", EN: "The request was cancelled; nothing was done."})
}

// refusal is the page of a card the counter may not touch: another
// town's. The centre refused it and has the refusal in its audit.
func (p *counterPages) refusal(w http.ResponseWriter, r *http.Request, _ *staff.Session, err error) {
	pr := jpki.CounterProblem(err)
	t := p.townName()
	p.site.Error(w, r, web.Problem{Status: http.StatusForbidden, TitleJA: "この窓口では扱えないカードです", TitleEN: "This counter cannot handle this card",
		WhatJA: pr.MessageJA + "何も行われていません。この拒否は記録されました。", WhatEN: pr.MessageEN + " Nothing was done; this refusal has been recorded.",
		DoJA: "カードの持ち主が住民登録している市区町村の窓口で手続してください（この窓口は" + t.JA + "）。",
		DoEN: "The holder must go to the counter of the town where they are registered (this counter is " + t.EN + ")."})
}
