package staff

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/web"
)

// The signing handoff (issue 19 §4, docs/procurement.md §5.7): the card
// is on the reader of the staff terminal, which is another role, so the
// office never calls it. As with the sign-in, the browser carries the
// request there and the result back:
//
//  1. The office's page calls SendToSign with what is signed (a
//     SignRequest for the officer to read, and a SignJob: the office's own
//     signing code, contract.Sign or contract.SignStep, run with a signer
//     it is given). The gate keeps both under a fresh state, bound to the
//     browser's session, for stateTTL, and sends the browser to the desk
//     the officer signed in at: Desk + terminal + "/sign?office=…&state=…".
//  2. The desk asks the office's desk API (POST SignDeskPath, the state is
//     the capability) for the request to show, then runs the kit's
//     signing step; in the card session, with the signing certificate
//     read, it asks again with the certificate. The gate checks that it is
//     the signed-in officer's (SignerPerson, as before), runs the job with
//     a signer that only records the digest it is asked to sign (nothing
//     after the signature runs: no time-stamp, nothing stored) and answers
//     that digest. The card signs it; the PIN stays at the desk.
//  3. The desk's page posts the state, the certificate and the signature
//     to the office's action. SignedAtDesk takes the state (once, this
//     session's, not expired), checks the certificate's holder again and
//     runs the office's job once more, with a signer that gives back the
//     desk's signature only if it verifies over exactly the digest the job
//     asks for: the office signs what it asked for or nothing.
//
// A job must give the signer the same digest for the same certificate and
// time (cms.Sign and cms.SignPDF do: no randomness before the signature),
// and store nothing before the signer answers.

// SignJob is an office's signing code: it signs with signer, whose
// certificate is cert, as of when, and stores the result.
type SignJob func(ctx context.Context, cert *x509.Certificate, signer crypto.Signer, when time.Time) error

// ErrSignatureMismatch is a signature from the desk that does not verify
// over what the office's job asked to sign.
var ErrSignatureMismatch = errors.New("staff: the desk's signature is not over what the office asked to sign")

// ErrSignState is a signature posted back with no, another or an expired
// handoff state (a second post of the same signature among them): nothing
// was signed. SignedAtDesk leaves it to the office to answer, which may
// find that the first post did the work (SignStateRefusal otherwise).
var ErrSignState = errors.New("staff: no, another or an expired signing handoff")

// SignStateRefusal is what to say for ErrSignState.
var SignStateRefusal = web.Flash{Kind: "error", JA: signStateJA, EN: signStateEN}

// errCaptured stops a job at its signature: the digest is all the desk
// API needs.
var errCaptured = errors.New("staff: digest captured")

// SignDeskPath is the office's desk API for office: the path under its
// home, on the host LoginPath's login is on.
func SignDeskPath(office string) (string, error) {
	p, err := LoginPath(office)
	if err != nil {
		return "", err
	}
	home, ok := strings.CutSuffix(p, "login")
	if !ok {
		return "", fmt.Errorf("%w: office %q has no signing", ErrInvalid, office)
	}
	return home + "sign/desk", nil
}

// DeskQuery is what the desk sends the office's desk API: the state of
// the handoff, its terminal, and, once the card is read, its signing
// certificate (DER).
type DeskQuery struct {
	State       string `json:"state"`
	Terminal    string `json:"terminal"`
	Certificate []byte `json:"certificate,omitempty"`
}

// DeskTicket is the office's answer: what the desk shows (the request,
// the office, who signs) and, for a query with a certificate, the SHA-256
// digest the card signs (PKCS #1 v1.5 or ECDSA).
type DeskTicket struct {
	Office     string      `json:"office"`
	OfficeName string      `json:"office_name"`
	Name       string      `json:"name"`
	Req        SignRequest `json:"request"`
	Digest     []byte      `json:"digest,omitempty"`
}

// The desk API's refusals.
const (
	CodeSignState httpapi.Code = "staff_sign_state"
	CodeNotOwn    httpapi.Code = "staff_not_own_card"
)

// pendingSign is a handoff the office started.
type pendingSign struct {
	office, platformID, terminal string
	officeName, name             string
	req                          SignRequest
	job                          SignJob
	when, until                  time.Time
}

// handoffs are the gate's pending handoffs by state. They live in the
// office's process: the desk's call and the browser's post must reach the
// process that sent the browser (one office process, or sticky routing).
type handoffs struct {
	mu sync.Mutex
	m  map[string]*pendingSign
}

func (h *handoffs) put(state string, p *pendingSign, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[string]*pendingSign{}
	}
	for k, v := range h.m {
		if !now.Before(v.until) {
			delete(h.m, k)
		}
	}
	h.m[state] = p
}

// get is the handoff of state while it lasts; take removes it too.
func (h *handoffs) get(state string, now time.Time, take bool) *pendingSign {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.m[state]
	if take || (p != nil && !now.Before(p.until)) {
		delete(h.m, state)
	}
	if p == nil || !now.Before(p.until) {
		return nil
	}
	return p
}

func signStateKey(office string) string { return "staff:signstate:" + office }

// SendToSign starts the handoff of req for s: the gate keeps req and job
// under a new state bound to this browser's session and sends the browser
// to the staff terminal s signed in at, whose kit runs the card.
func (g *Gate) SendToSign(w http.ResponseWriter, r *http.Request, s *Session, req SignRequest, job SignJob) {
	if !g.CanSign(s) {
		g.cfg.Site.Error(w, r, offProblem)
		return
	}
	ss, err := g.cfg.Site.Session(w, r)
	if err != nil {
		g.cfg.Site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		g.cfg.Site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	state := hex.EncodeToString(b)
	now := g.cfg.Now()
	g.signs.put(state, &pendingSign{office: s.Grant.Office, platformID: s.Grant.PlatformID, terminal: s.Terminal,
		officeName: s.OfficeName, name: s.Grant.Name, req: req, job: job,
		when: now, until: now.Add(stateTTL)}, now)
	ss.Set(signStateKey(s.Grant.Office), state)
	g.save(r, ss)
	http.Redirect(w, r, g.cfg.Desk+url.PathEscape(s.Terminal)+"/sign?"+url.Values{"office": {s.Grant.Office}, "state": {state}}.Encode(), http.StatusSeeOther)
}

// signDesk is the office's desk API (POST SignDeskPath): the request to
// show for a state, and with the card's signing certificate the digest to
// sign, once the certificate is the signed-in officer's. It reads no
// cookie: the state, unguessable, short-lived and the terminal's, is the
// caller's credential, and what it gives (the text and a digest only that
// certificate's key can use) is nothing a third party can use.
func (g *Gate) signDesk(w http.ResponseWriter, r *http.Request) {
	office, _, err := g.cfg.Office(r)
	if err != nil {
		httpapi.Write(w, httpapi.New(http.StatusNotFound, CodeSignState, "この事務所はありません。", "No such office."))
		return
	}
	var q DeskQuery
	if err := httpapi.Decode(r.Body, &q, 64<<10); err != nil {
		httpapi.Write(w, httpapi.New(http.StatusBadRequest, "staff_invalid", "要求の形式が正しくありません。", "The request is not well formed."))
		return
	}
	p := g.signs.get(q.State, g.cfg.Now(), false)
	if p == nil || p.office != office || p.terminal != q.Terminal {
		httpapi.Write(w, httpapi.New(http.StatusGone, CodeSignState, signStateJA, signStateEN))
		return
	}
	t := DeskTicket{Office: p.office, OfficeName: p.officeName, Name: p.name, Req: p.req}
	if q.Certificate == nil {
		httpapi.WriteJSON(w, http.StatusOK, t)
		return
	}
	cert, err := x509.ParseCertificate(q.Certificate)
	if err != nil {
		httpapi.Write(w, httpapi.New(http.StatusBadRequest, "staff_invalid", "カードの証明書を読めません。何も署名していません。", "The card's certificate cannot be read. Nothing was signed."))
		return
	}
	if err := g.ownCard(r.Context(), cert, p.platformID); err != nil {
		g.cardRefused(w, r, p, err)
		return
	}
	cs := &captureSigner{pub: cert.PublicKey}
	err = p.job(r.Context(), cert, cs, p.when)
	if cs.digest == nil {
		// The job refused before signing (the office's own checks): the
		// desk shows it and the officer goes back to the office.
		g.cfg.Logger.WarnContext(r.Context(), "staff: the office's signing job before the signature", "office", office, "err", err)
		httpapi.Write(w, httpapi.New(http.StatusConflict, "staff_sign_job", "事務所が署名の内容を用意できませんでした。何も署名していません。事務所の画面に戻ってください。",
			"The office could not prepare what is signed. Nothing was signed. Go back to the office's page."))
		return
	}
	t.Digest = cs.digest
	httpapi.WriteJSON(w, http.StatusOK, t)
}

// cardRefused answers the desk API's refusal of a card.
func (g *Gate) cardRefused(w http.ResponseWriter, r *http.Request, p *pendingSign, err error) {
	if errors.Is(err, ErrNotOwnCard) {
		g.cfg.Logger.WarnContext(r.Context(), "staff: signing with another's card refused", "office", p.office, "platform_id", p.platformID, "err", err)
		g.audit(r, p.platformID, p.office, ErrNotOwnCard, "terminal "+p.terminal)
		httpapi.Write(w, httpapi.New(http.StatusForbidden, CodeNotOwn, notOwnCard.JA, notOwnCard.EN))
		return
	}
	g.cfg.Logger.ErrorContext(r.Context(), "staff: whose signing certificate", "office", p.office, "err", err)
	httpapi.Write(w, httpapi.New(http.StatusServiceUnavailable, "staff_linkage", "カードの持ち主を共通プラットフォームに確認できないため、何も署名していません。",
		"The platform could not say whose card this is, so nothing was signed."))
}

// ownCard is nil when cert is platformID's signing certificate,
// ErrNotOwnCard when it is someone else's or no one's, another error when
// the platform could not say.
func (g *Gate) ownCard(ctx context.Context, cert *x509.Certificate, platformID string) error {
	pid, err := g.cfg.SignerPerson(ctx, cert)
	switch {
	case errors.Is(err, platform.ErrNotFound), errors.Is(err, platform.ErrInvalid):
		return fmt.Errorf("%w: %w", ErrNotOwnCard, err)
	case err != nil:
		return err
	case pid != platformID:
		return ErrNotOwnCard
	}
	return nil
}

const (
	signStateJA = "署名の手続きが古いか、別の画面のものです。何も署名していません。事務所の画面からやり直してください。"
	signStateEN = "The signing was started elsewhere or has expired. Nothing was signed. Start again from the office's page."
)

// SignedAtDesk completes the handoff the desk's page posted (state,
// certificate, signature, base64): the state must be the one this
// session's SendToSign made, not used and not expired; the certificate the
// signed-in officer's; then job runs with a signer that answers with the
// desk's signature only where it verifies over the digest asked for. ok is
// true when job ran and returned nil. A refusal is answered here (back to
// page, an office path, with what happened; ok false, err nil), except
// ErrSignState, returned unanswered as is an error of job, for the office
// to word.
func (g *Gate) SignedAtDesk(w http.ResponseWriter, r *http.Request, s *Session, page string, job SignJob) (ok bool, err error) {
	if !g.CanSign(s) {
		g.cfg.Site.Error(w, r, offProblem)
		return false, nil
	}
	ss, err := g.cfg.Site.Session(w, r)
	if err != nil {
		g.cfg.Site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return false, nil
	}
	if !g.officePath(s, page) {
		page = g.cfg.Home(s.Grant.Office)
	}
	back := func(f web.Flash) (bool, error) {
		ss.SetFlash(f)
		g.save(r, ss)
		http.Redirect(w, r, page, http.StatusSeeOther)
		return false, nil
	}
	// The state first: it is used up whatever follows.
	state := r.PostFormValue("state")
	want := ss.Get(signStateKey(s.Grant.Office))
	ss.Delete(signStateKey(s.Grant.Office))
	p := g.signs.get(state, g.cfg.Now(), true)
	if want == "" || state != want || p == nil || p.office != s.Grant.Office || p.platformID != s.Grant.PlatformID {
		g.save(r, ss)
		return false, ErrSignState
	}
	certDER, err1 := base64.StdEncoding.DecodeString(r.PostFormValue("certificate"))
	sig, err2 := base64.StdEncoding.DecodeString(r.PostFormValue("signature"))
	cert, err3 := x509.ParseCertificate(certDER)
	if err := errors.Join(err1, err2, err3); err != nil || len(sig) == 0 {
		g.cfg.Logger.WarnContext(r.Context(), "staff: the desk's signature", "office", s.Grant.Office, "err", err)
		return back(mismatch)
	}
	if err := g.ownCard(r.Context(), cert, s.Grant.PlatformID); err != nil {
		if errors.Is(err, ErrNotOwnCard) {
			g.cfg.Logger.WarnContext(r.Context(), "staff: signing with another's card refused", "office", s.Grant.Office, "platform_id", s.Grant.PlatformID, "err", err)
			g.audit(r, s.Grant.PlatformID, s.Grant.Office, ErrNotOwnCard, "terminal "+s.Terminal)
			return back(notOwnCard)
		}
		g.cfg.Logger.ErrorContext(r.Context(), "staff: whose signing certificate", "office", s.Grant.Office, "err", err)
		g.cfg.Site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable, TitleJA: "署名できませんでした", TitleEN: "Nothing was signed",
			WhatJA: "カードの持ち主を共通プラットフォームに確認できないため、何も署名していません。", WhatEN: "The platform could not say whose card this is, so nothing was signed.",
			DoJA: "しばらくしてからもう一度お試しください。", DoEN: "Please try again shortly."})
		return false, nil
	}
	g.save(r, ss)
	err = job(r.Context(), cert, &replaySigner{pub: cert.PublicKey, sig: sig}, p.when)
	if errors.Is(err, ErrSignatureMismatch) {
		g.cfg.Logger.WarnContext(r.Context(), "staff: the desk's signature does not match", "office", s.Grant.Office, "err", err)
		return back(mismatch)
	}
	return err == nil, err
}

// mismatch is the refusal of a signature that is not over what was asked.
var mismatch = web.Flash{Kind: "error",
	JA: "職員用端末からの署名が、事務所の求めた内容と一致しません。何も署名していません。もう一度お試しください。",
	EN: "The staff terminal's signature is not over what the office asked to sign. Nothing was signed. Please try again."}

// captureSigner records the digest a job asks to sign and stops it.
type captureSigner struct {
	pub    crypto.PublicKey
	digest []byte
}

func (c *captureSigner) Public() crypto.PublicKey { return c.pub }

func (c *captureSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts.HashFunc() != crypto.SHA256 {
		return nil, fmt.Errorf("staff: the card signs SHA-256 digests, not %v", opts.HashFunc())
	}
	c.digest = append([]byte(nil), digest...)
	return nil, errCaptured
}

// replaySigner answers with the desk's signature when it verifies over
// the digest asked for, with the certificate's key.
type replaySigner struct {
	pub crypto.PublicKey
	sig []byte
}

func (s *replaySigner) Public() crypto.PublicKey { return s.pub }

func (s *replaySigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if _, pss := opts.(*rsa.PSSOptions); pss || opts.HashFunc() != crypto.SHA256 {
		return nil, fmt.Errorf("%w: not a SHA-256 PKCS #1 v1.5 or ECDSA signature", ErrSignatureMismatch)
	}
	switch k := s.pub.(type) {
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(k, crypto.SHA256, digest, s.sig); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSignatureMismatch, err)
		}
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, digest, s.sig) {
			return nil, ErrSignatureMismatch
		}
	default:
		return nil, fmt.Errorf("%w: %T keys", ErrSignatureMismatch, k)
	}
	return append([]byte(nil), s.sig...), nil
}
