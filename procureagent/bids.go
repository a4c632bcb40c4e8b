package procureagent

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/internal/fileutil"
	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/procure/body"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

// BodyRef is a procuring body the agent's pages list tenders of.
type BodyRef struct {
	ID             string
	NameJA, NameEN string
}

// Bidding is what the bidding pages need (docs/procurement.md §5.5): the
// bodies' API, the bodies to list, the TSA's roots (a receipt's
// time-stamp) and the terminal's own directory, where the receipts are
// kept (bids.json; never the body's tables).
type Bidding struct {
	Client   *body.Client
	Bodies   []BodyRef
	TSARoots *x509.CertPool
	Dir      string
}

// ErrFingerprint is an opening certificate that is not the one the body's
// public tender page names: nothing is sealed to it.
var ErrFingerprint = errors.New("procureagent: the opening certificate does not match the tender page's fingerprint")

// Kept is a bid as the agent's terminal keeps it: what was bid and the
// body's verified receipt.
type Kept struct {
	Agent           string    `json:"agent"`
	Body            string    `json:"body"`
	Tender          string    `json:"tender"`
	Title           string    `json:"title"`
	CorporateNumber string    `json:"corporate_number"`
	CorporationName string    `json:"corporation_name"`
	PowerID         string    `json:"power_id"`
	PriceYen        int64     `json:"price_yen"`
	BidID           string    `json:"bid_id"`
	ReceivedAt      time.Time `json:"received_at"`
	EnvelopeSHA256  string    `json:"envelope_sha256"`
	StampedAt       time.Time `json:"stamped_at"`
	Deadline        time.Time `json:"deadline"`
	// Receipt is the body's signed receipt (CMS DER), as received.
	Receipt []byte `json:"receipt"`
	// ReplacedBy is the later bid of the business that replaced this one.
	ReplacedBy string `json:"replaced_by,omitempty"`
}

// keptFile is the terminal's file of receipts.
const keptFile = "bids.json"

// receipts is the terminal's own file of the bids it sent; mu orders its
// read-modify-writes within the process.
type receipts struct {
	mu   sync.Mutex
	path string
}

func (k *receipts) all() ([]Kept, error) {
	var out []Kept
	err := fileutil.ReadJSON(k.path, &out)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return out, err
}

// mine are the agent's kept bids, newest first.
func (k *receipts) mine(agent string) ([]Kept, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	all, err := k.all()
	if err != nil {
		return nil, err
	}
	var out []Kept
	for _, b := range all {
		if b.Agent == agent {
			out = append(out, b)
		}
	}
	slices.Reverse(out)
	return out, nil
}

// keep adds a bid; the one it replaced (replaced, the receipt's) is marked.
func (k *receipts) keep(b Kept, replaced string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	all, err := k.all()
	if err != nil {
		return err
	}
	for i := range all {
		if replaced != "" && all[i].BidID == replaced && all[i].Body == b.Body {
			all[i].ReplacedBy = b.BidID
		}
	}
	return fileutil.WriteJSON(k.path, append(all, b))
}

// bidPowers are the agent's powers that may bid: 入札 delegated, in the
// company's current name, not sub-delegated (§3 rule 2: a sub-delegated
// power may not bid).
func bidPowers(all []procure.AgentPower) []procure.AgentPower {
	var out []procure.AgentPower
	for _, ap := range all {
		if ap.Has(procure.MatterBid) && ap.Usable() && !ap.SubDelegated {
			out = append(out, ap)
		}
	}
	return out
}

// openTender is a tender taking bids, with its body's names.
type openTender struct {
	*body.Tender
	Body BodyRef
}

// FieldName is the tender's field in Japanese and English.
func (o openTender) FieldName() [2]string { ja, en := o.Field.Names(); return [2]string{ja, en} }

type tendersView struct {
	Name    string
	Tenders []openTender
	// Unreachable are the bodies that did not answer.
	Unreachable []BodyRef
	Powers      []procure.AgentPower
	// SubDelegated: the agent holds a sub-delegated power with 入札, which
	// may not bid.
	SubDelegated bool
	Kept         []Kept
}

func (p *Pages) tenders(w http.ResponseWriter, r *http.Request, v *visit) {
	all, err := p.cfg.Register.AgentPowers(r.Context(), v.login.Assertion)
	if err != nil {
		p.fail(w, r, v, err)
		return
	}
	view := tendersView{Name: v.login.Holder, Powers: bidPowers(all),
		SubDelegated: slices.ContainsFunc(all, func(ap procure.AgentPower) bool { return ap.SubDelegated && ap.Has(procure.MatterBid) })}
	for _, b := range p.cfg.Bidding.Bodies {
		ts, err := p.cfg.Bidding.Client.Tenders(r.Context(), b.ID)
		if err != nil {
			p.cfg.Logger.WarnContext(r.Context(), "procureagent: tenders", "body", b.ID, "err", err)
			view.Unreachable = append(view.Unreachable, b)
			continue
		}
		for _, t := range ts {
			if t.Accepting {
				view.Tenders = append(view.Tenders, openTender{Tender: t, Body: b})
			}
		}
	}
	if view.Kept, err = p.kept.mine(v.login.PlatformID); err != nil {
		p.fail(w, r, v, err)
		return
	}
	p.pages.Render(w, r, http.StatusOK, "tenders", view)
}

// opening reads the tender and its opening certificate and checks the
// certificate's SHA-256 against the fingerprint the body's public tender
// list shows and, when shown is not "", against the one the agent saw on
// the form (ErrFingerprint).
func (p *Pages) opening(ctx context.Context, bodyID, tender, shown string) (*body.Tender, *x509.Certificate, error) {
	t, err := p.cfg.Bidding.Client.Tender(ctx, bodyID, tender)
	if err != nil {
		return nil, nil, err
	}
	list, err := p.cfg.Bidding.Client.Tenders(ctx, bodyID)
	if err != nil {
		return nil, nil, err
	}
	i := slices.IndexFunc(list, func(l *body.Tender) bool { return l.ID == tender })
	got := body.Fingerprint(t.Certificate)
	if i < 0 || list[i].Fingerprint != got || t.Fingerprint != got || (shown != "" && shown != got) {
		return nil, nil, fmt.Errorf("%w: %s/%s", ErrFingerprint, bodyID, tender)
	}
	cert, err := x509.ParseCertificate(t.Certificate)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrFingerprint, err)
	}
	return t, cert, nil
}

func (p *Pages) bodyRef(id string) (BodyRef, bool) {
	i := slices.IndexFunc(p.cfg.Bidding.Bodies, func(b BodyRef) bool { return b.ID == id })
	if i < 0 {
		return BodyRef{}, false
	}
	return p.cfg.Bidding.Bodies[i], true
}

type bidView struct {
	Tender  *body.Tender
	Body    BodyRef
	Powers  []procure.AgentPower
	PowerID string
	Price   string
	Kept    []Kept
	Sign    *terminal.SignStep
}

// bidForm renders the bid form for the tender in the path.
func (p *Pages) bidForm(w http.ResponseWriter, r *http.Request, v *visit) {
	p.renderBid(w, r, v, http.StatusOK, r.URL.Query().Get("power"), "")
}

func (p *Pages) renderBid(w http.ResponseWriter, r *http.Request, v *visit, status int, power, price string) {
	b, ok := p.bodyRef(r.PathValue("body"))
	if !ok {
		p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusNotFound})
		return
	}
	t, err := p.cfg.Bidding.Client.Tender(r.Context(), b.ID, r.PathValue("tender"))
	if err != nil {
		p.bodyFail(w, r, v, err)
		return
	}
	all, err := p.cfg.Register.AgentPowers(r.Context(), v.login.Assertion)
	if err != nil {
		p.fail(w, r, v, err)
		return
	}
	kept, err := p.kept.mine(v.login.PlatformID)
	if err != nil {
		p.fail(w, r, v, err)
		return
	}
	view := bidView{Tender: t, Body: b, Powers: bidPowers(all), PowerID: power, Price: price,
		Sign: p.cfg.Kit.SignCard(r, v.ss, "署名して入札する", "Sign and bid")}
	for _, k := range kept {
		if k.Body == b.ID && k.Tender == t.ID {
			view.Kept = append(view.Kept, k)
		}
	}
	p.pages.Render(w, r, status, "bid", view)
}

// bodyFail answers a failed call to a body outside the form.
func (p *Pages) bodyFail(w http.ResponseWriter, r *http.Request, v *visit, err error) {
	if ref, ok := errors.AsType[*body.Refusal](err); ok && ref.Reason == body.ReasonNoTender {
		p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusNotFound})
		return
	}
	p.fail(w, r, v, err)
}

// parsePrice reads a price in yen ("1,234,000" or "1234000").
func parsePrice(s string) (int64, bool) {
	s = strings.NewReplacer(",", "", "，", "", "円", "", " ", "").Replace(strings.TrimSpace(s))
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0 && n <= body.MaxPriceYen
}

// bid signs the bid with the card, seals it to the tender's opening
// certificate and posts the envelope; the verified receipt is kept.
func (p *Pages) bid(w http.ResponseWriter, r *http.Request, v *visit) {
	if err := r.ParseForm(); err != nil {
		p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusBadRequest})
		return
	}
	b, ok := p.bodyRef(r.PathValue("body"))
	if !ok {
		p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusNotFound})
		return
	}
	powerID, priceText := strings.TrimSpace(r.PostFormValue("power")), r.PostFormValue("price")
	again := func(f web.Flash) {
		v.ss.SetFlash(f)
		if err := v.ss.Save(r.Context()); err != nil {
			p.cfg.Logger.ErrorContext(r.Context(), "procureagent: save session", "err", err)
		}
		p.renderBid(w, r, v, http.StatusUnprocessableEntity, powerID, priceText)
	}
	all, err := p.cfg.Register.AgentPowers(r.Context(), v.login.Assertion)
	if err != nil {
		p.fail(w, r, v, err)
		return
	}
	powers := bidPowers(all)
	i := slices.IndexFunc(powers, func(ap procure.AgentPower) bool { return ap.PowerID == powerID })
	if i < 0 {
		again(web.Flash{Kind: "error", JA: "何も送信していません。入札する法人の委任状を一覧から選んでください（選んだ委任状は、いま有効なあなたの入札用の委任状ではありません。復代理の委任状では入札できません）。",
			EN: "Nothing was sent. Pick the power of the company you bid for from the list (the one chosen is not a power of yours for bids in effect now; a sub-delegated power may not bid)."})
		return
	}
	price, ok := parsePrice(priceText)
	if !ok {
		again(web.Flash{Kind: "error", JA: "何も送信していません。入札金額を1円以上の整数（円）で入力してください。", EN: "Nothing was sent. Enter the price as a whole number of yen, at least 1."})
		return
	}
	t, cert, err := p.opening(r.Context(), b.ID, r.PathValue("tender"), strings.TrimSpace(r.PostFormValue("fingerprint")))
	switch {
	case errors.Is(err, ErrFingerprint):
		p.cfg.Logger.WarnContext(r.Context(), "procureagent: fingerprint", "err", err)
		again(web.Flash{Kind: "error", JA: "何も送信していません。入札書を暗号化する開札用証明書が、入札公告のページに示された指紋（SHA-256）と一致しません。発注機関に問い合わせてください。",
			EN: "Nothing was sent. The opening certificate the bid would be sealed to does not match the fingerprint (SHA-256) on the tender's public page. Contact the procuring body."})
		return
	case err != nil:
		if ref, ok := errors.AsType[*body.Refusal](err); ok {
			again(web.Flash{Kind: "error", JA: "何も送信していません。" + ref.MessageJA, EN: "Nothing was sent. " + ref.MessageEN})
			return
		}
		p.fail(w, r, v, err)
		return
	}
	ap := powers[i]
	content := &body.BidContent{Body: b.ID, Tender: t.ID, CorporateNumber: ap.CorporateNumber, CorporationName: ap.CorporationName,
		PriceYen: price, PowerID: ap.PowerID, AgentPlatformID: v.login.PlatformID}
	if err := content.Validate(); err != nil {
		p.cfg.Logger.WarnContext(r.Context(), "procureagent: bid content", "err", err)
		again(web.Flash{Kind: "error", JA: "何も送信していません。入札書の内容が正しくありません。", EN: "Nothing was sent. The bid's entries are not valid."})
		return
	}
	var envelope []byte
	res, err := p.cfg.Kit.Sign(r, v.ss, func(signing *x509.Certificate, signer crypto.Signer) error {
		var err error
		envelope, err = body.SealBid(r.Context(), content, cms.SignOptions{Signer: signer, Cert: signing, Stamper: p.cfg.Stamper}, cert)
		return err
	})
	switch {
	case err != nil:
		p.cfg.Logger.ErrorContext(r.Context(), "procureagent: sign bid", "err", err)
		again(web.Flash{Kind: "error", JA: "何も送信していません。入札書に署名できませんでした。しばらくしてからもう一度お試しください。", EN: "Nothing was sent. The bid could not be signed. Try again shortly."})
		return
	case !res.Passed():
		f := res.Flash()
		f.JA, f.EN = "何も送信していません。"+f.JA, "Nothing was sent. "+f.EN
		again(f)
		return
	}
	rc, err := p.cfg.Bidding.Client.Bid(r.Context(), b.ID, t.ID, ap.CorporateNumber, envelope)
	if ref, ok := errors.AsType[*body.Refusal](err); ok {
		again(web.Flash{Kind: "error", JA: "入札は受け付けられませんでした：" + ref.MessageJA, EN: "The bid was not accepted: " + ref.MessageEN})
		return
	} else if err != nil {
		p.fail(w, r, v, err)
		return
	}
	kept, err := p.verifyReceipt(r.Context(), b.ID, rc, envelope)
	if err != nil {
		// The body took the bid but its receipt does not verify: say so,
		// keep nothing (a receipt the agent cannot rely on is no receipt).
		p.cfg.Logger.ErrorContext(r.Context(), "procureagent: receipt", "body", b.ID, "tender", t.ID, "bid", rc.BidID, "err", err)
		again(web.Flash{Kind: "error", JA: "発注機関は入札を受け付けたと答えましたが、その受領証を検証できませんでした（受領証は保存していません）。発注機関に問い合わせてください。受付番号：" + rc.BidID,
			EN: "The body answered that it received the bid, but its receipt does not verify (nothing was kept). Contact the procuring body. Bid ID: " + rc.BidID})
		return
	}
	kept.Agent, kept.Title, kept.Deadline = v.login.PlatformID, t.Title, t.Deadline
	kept.CorporationName, kept.PowerID, kept.PriceYen = ap.CorporationName, ap.PowerID, price
	f := web.Flash{Kind: "ok", JA: fmt.Sprintf("入札を受け付けました（受付番号 %s）。受領証を検証し、この端末に保存しました。", rc.BidID),
		EN: fmt.Sprintf("The bid was received (bid ID %s). Its receipt verified and is kept on this terminal.", rc.BidID)}
	if err := p.kept.keep(*kept, rc.Replaced); err != nil {
		p.cfg.Logger.ErrorContext(r.Context(), "procureagent: keep receipt", "err", err)
		f = web.Flash{Kind: "warn", JA: fmt.Sprintf("入札を受け付けました（受付番号 %s）。受領証は検証しましたが、この端末に保存できませんでした。", rc.BidID),
			EN: fmt.Sprintf("The bid was received (bid ID %s). Its receipt verified but could not be kept on this terminal.", rc.BidID)}
	}
	if rc.Replaced != "" {
		f.JA += "先の入札（" + rc.Replaced + "）は差し替えられました。"
		f.EN += " It replaced the earlier bid (" + rc.Replaced + ")."
	}
	v.ss.SetFlash(f)
	if err := v.ss.Save(r.Context()); err != nil {
		p.cfg.Logger.ErrorContext(r.Context(), "procureagent: save session", "err", err)
	}
	http.Redirect(w, r, Home+"tenders", http.StatusSeeOther)
}

// verifyReceipt checks the body's receipt: signed by the body's receipt
// key under the body's CA, time-stamped, naming this bid and the SHA-256
// of the envelope sent.
func (p *Pages) verifyReceipt(ctx context.Context, bodyID string, rc *body.Receipt, envelope []byte) (*Kept, error) {
	ca, err := p.cfg.Bidding.Client.CA(ctx, bodyID)
	if err != nil {
		return nil, err
	}
	content, stamped, err := body.VerifyReceipt(rc.Receipt, ca, p.cfg.Bidding.TSARoots)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(envelope)
	if content.Body != bodyID || content.BidID != rc.BidID || content.EnvelopeSHA256 != hex.EncodeToString(sum[:]) {
		return nil, fmt.Errorf("%w: the receipt names another bid", body.ErrBadReceipt)
	}
	return &Kept{Body: bodyID, Tender: content.Tender, CorporateNumber: content.CorporateNumber, BidID: rc.BidID,
		ReceivedAt: rc.ReceivedAt, EnvelopeSHA256: content.EnvelopeSHA256, StampedAt: stamped, Receipt: rc.Receipt}, nil
}
