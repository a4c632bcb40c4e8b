// Package terminal is the terminal side of card-holder authentication: a
// kiosk, reception desk, TV set-top box or tablet with a card reader. It owns
// the reader transport, runs the card flow — place the card, enter the PIN,
// have the card sign the platform's challenge, show the result — and keeps
// the terminal's credentials. The PIN goes from the person to the card
// through this package and nowhere else: not to the platform, not to a log.
//
// In the single-machine demo every terminal has a virtual reader whose slot a
// person fills by choosing a demo card; which card lies on which screen's
// reader is kept in that browser's session, so any instance can serve it.
// With the pcsc build tag a terminal can use a real PC/SC reader instead.
package terminal

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"github.com/mynaplat/mynaplat/internal/fileutil"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/platform"
)

// Config is a terminal's identity and credential, kept in <data>/terminals/<id>.json
// (mode 0600) on the machine the terminal runs on.
type Config struct {
	ID    string                `json:"id"`
	Kind  platform.TerminalKind `json:"kind"`
	Owner string                `json:"owner"`
	Name  string                `json:"name"`
	// Key is the HMAC key (base64) the platform issued at registration.
	Key string `json:"key"`
	// Reader is "virtual" (the demo's card slot) or "pcsc:NAME".
	Reader string `json:"reader,omitempty"`
}

// SaveConfig writes a terminal's configuration file.
func SaveConfig(dir string, c Config) error {
	return fileutil.WriteJSON(filepath.Join(dir, c.ID+".json"), c)
}

// LoadConfigs reads every terminal configuration in dir, sorted by ID (the
// file names).
func LoadConfigs(dir string) ([]Config, error) {
	cs, err := fileutil.ReadJSONDir[Config](dir)
	if err != nil {
		return nil, fmt.Errorf("terminal: %w", err)
	}
	return cs, nil
}

// Terminal is one terminal at run time.
type Terminal struct {
	Config
	client *platform.TerminalClient
}

// New makes a terminal that talks to the platform at baseURL through hc.
func New(c Config, baseURL string, hc *http.Client) (*Terminal, error) {
	key, err := base64.StdEncoding.DecodeString(c.Key)
	if err != nil || len(key) < 16 {
		return nil, fmt.Errorf("terminal %s: bad key in its configuration", c.ID)
	}
	return &Terminal{Config: c, client: &platform.TerminalClient{BaseURL: baseURL, TerminalID: c.ID, Key: key, HTTP: hc}}, nil
}

// Client is the terminal's platform client.
func (t *Terminal) Client() *platform.TerminalClient { return t.client }

// CardStatus is what the terminal reads from a card before asking for the PIN.
type CardStatus struct {
	TriesLeft int
	MaxTries  int
	Blocked   bool
	LastTry   bool
	HasCert   bool
}

// Status reads the auth PIN's tries left and whether the card has an
// authentication certificate, without using up a try.
func Status(tr card.Transport) (CardStatus, error) {
	cl := card.NewClient(tr)
	defer cl.Logout()
	n, err := cl.PINStatus(card.AuthPIN)
	if err != nil {
		return CardStatus{}, fmt.Errorf("terminal: read PIN status: %w", err)
	}
	st := CardStatus{TriesLeft: n, MaxTries: card.AuthPIN.MaxTries(), Blocked: n == 0, LastTry: n == 1}
	if _, err := cl.Certificate(card.Auth); err == nil {
		st.HasCert = true
	} else if !errors.Is(err, card.ErrNotFound) {
		return st, fmt.Errorf("terminal: read certificate: %w", err)
	}
	return st, nil
}

// ErrNoCertificate means the card has no authentication certificate.
var ErrNoCertificate = errors.New("terminal: the card has no user authentication certificate")

// Login runs the card flow: verify the PIN on the card, have the card sign
// a fresh challenge of the platform, and send the answer. Card errors come
// back as the card package's (card.ErrPINFormat, *card.PINError with tries
// left, card.ErrPINBlocked); a FAILED or INDETERMINATE result is not an error
// but a report.
func (t *Terminal) Login(ctx context.Context, tr card.Transport, pin string) (*platform.AuthResponse, error) {
	return t.LoginFor(ctx, tr, pin, "")
}

// LoginFor is Login for a purpose with rules of its own
// (platform.PurposeEligibility).
func (t *Terminal) LoginFor(ctx context.Context, tr card.Transport, pin, purpose string) (*platform.AuthResponse, error) {
	if err := card.ValidatePIN(card.AuthPIN, pin); err != nil {
		return nil, err
	}
	cl := card.NewClient(tr)
	// Log out (select the AP again) whatever happens, so the PIN's verified
	// state never outlives this flow on a shared reader.
	defer cl.Logout()
	cert, err := cl.Certificate(card.Auth)
	if errors.Is(err, card.ErrNotFound) {
		return nil, ErrNoCertificate
	}
	if err != nil {
		return nil, fmt.Errorf("terminal: read certificate: %w", err)
	}
	ch, err := t.client.Challenge(ctx)
	if err != nil {
		return nil, err
	}
	if err := cl.VerifyPIN(card.AuthPIN, pin); err != nil {
		return nil, err
	}
	signer, err := cl.Signer(card.Auth)
	if err != nil {
		return nil, fmt.Errorf("terminal: card signer: %w", err)
	}
	req, err := platform.Answer(ch, cert, signer)
	if err != nil {
		return nil, err
	}
	req.Purpose = purpose
	return t.client.Authenticate(ctx, req)
}

// PINRefusalOf is the report to the platform of a card step's result when
// the card refused the PIN (pin is card.AuthPIN or card.SignPIN): a wrong
// one with the tries left, or a blocked one. Nothing of the PIN is in it;
// the certificate is filled in by ReportPINRefusal. False for any other
// result (a PIN of the wrong format never reached the card; the warning
// before a last try is not a try).
func PINRefusalOf(pin card.PIN, res Result) (platform.PINRefusal, bool) {
	which := platform.PINAuth
	if pin == card.SignPIN {
		which = platform.PINSign
	}
	switch res.Outcome {
	case WrongPIN, SignWrong:
	case LastTry, SignLastTry:
		if !res.Wrong {
			return platform.PINRefusal{}, false
		}
	case PINBlocked, SignBlocked:
		return platform.PINRefusal{PIN: which, Result: platform.ResultPINBlocked}, true
	default:
		return platform.PINRefusal{}, false
	}
	return platform.PINRefusal{PIN: which, Result: platform.ResultPINWrong, TriesLeft: res.TriesLeft}, true
}

// ReportPINRefusal tells the platform that the card on tr refused a PIN
// (ref, from PINRefusalOf): it reads the card's authentication certificate,
// which needs no PIN, to name the holder, and sends it with what the card
// said. A card without one is ErrNoCertificate and nothing is sent.
func (t *Terminal) ReportPINRefusal(ctx context.Context, tr card.Transport, ref platform.PINRefusal) error {
	cl := card.NewClient(tr)
	cert, err := cl.Certificate(card.Auth)
	cl.Logout()
	if errors.Is(err, card.ErrNotFound) {
		return ErrNoCertificate
	}
	if err != nil {
		return fmt.Errorf("terminal: read certificate: %w", err)
	}
	ref.Certificate = cert
	return t.client.ReportPINRefusal(ctx, ref)
}

// SignOffline is the card flow without the platform: verify the PIN and have
// the card sign an offline answer (platform.OfflineMessage) of this
// terminal, with a fresh nonce and the time of use, for the platform to
// check when the network returns (platform.AuthenticateDeferred). The
// terminal should verify it locally first (its CA and last CRL).
func (t *Terminal) SignOffline(tr card.Transport, pin, id string, at time.Time, purpose string) (platform.DeferredAuthRequest, error) {
	var req platform.DeferredAuthRequest
	if err := card.ValidatePIN(card.AuthPIN, pin); err != nil {
		return req, err
	}
	cl := card.NewClient(tr)
	defer cl.Logout()
	cert, err := cl.Certificate(card.Auth)
	if errors.Is(err, card.ErrNotFound) {
		return req, ErrNoCertificate
	}
	if err != nil {
		return req, fmt.Errorf("terminal: read certificate: %w", err)
	}
	if err := cl.VerifyPIN(card.AuthPIN, pin); err != nil {
		return req, err
	}
	signer, err := cl.Signer(card.Auth)
	if err != nil {
		return req, fmt.Errorf("terminal: card signer: %w", err)
	}
	nonce := make([]byte, 32)
	rand.Read(nonce)
	at = at.Truncate(time.Millisecond)
	digest := sha256.Sum256(platform.OfflineMessage(id, at, nonce, t.ID))
	sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return req, fmt.Errorf("terminal: the card did not sign: %w", err)
	}
	return platform.DeferredAuthRequest{ID: id, SignedAt: at, Nonce: nonce, Certificate: cert, Signature: sig, Purpose: purpose}, nil
}

// SignDocument has the card sign a document with its signing key, as a
// SHA-256 PKCS#1 v1.5 signature: the signing password (6–16 of A–Z and 0–9)
// goes to the card only. It returns the signing certificate (DER) and the
// signature. A password of the wrong format is card.ErrPINFormat and costs
// no try; a wrong one is a *card.PINError with the tries left; a blocked
// one card.ErrPINBlocked.
func SignDocument(tr card.Transport, password string, doc []byte) (certDER, sig []byte, err error) {
	err = WithSigner(tr, password, func(cert *x509.Certificate, signer crypto.Signer) error {
		d := sha256.Sum256(doc)
		if sig, err = signer.Sign(rand.Reader, d[:], crypto.SHA256); err != nil {
			return fmt.Errorf("terminal: sign: %w", err)
		}
		certDER = cert.Raw
		return nil
	})
	return certDER, sig, err
}

// WithSigner opens the card's signing key with the signing password and
// runs fn with the signing certificate and the card as a crypto.Signer —
// for one or several signatures (CMS, PAdES) in one card session. The
// password goes to the card only; errors are as for SignDocument. The
// card's security state is reset when fn returns.
func WithSigner(tr card.Transport, password string, fn func(cert *x509.Certificate, signer crypto.Signer) error) error {
	cl := card.NewClient(tr)
	// Select the AP again whatever happens, so the verified password never
	// outlives this session on a shared reader.
	defer cl.Logout()
	if err := cl.VerifyPIN(card.SignPIN, password); err != nil {
		return err
	}
	der, err := cl.Certificate(card.Sign)
	if err != nil {
		return fmt.Errorf("terminal: read signing certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("terminal: signing certificate: %w", err)
	}
	signer, err := cl.Signer(card.Sign)
	if err != nil {
		return fmt.Errorf("terminal: card signer: %w", err)
	}
	return fn(cert, signer)
}

// Reader gives the card on a terminal's reader for one request.
type Reader interface {
	// Card returns the transport to the card on the reader, or ErrNoCard.
	Card(r *http.Request, placed string) (card.Transport, error)
	// Virtual reports whether a person chooses the card (the demo slot).
	Virtual() bool
}

// ErrNoCard means no card lies on the reader.
var ErrNoCard = errors.New("terminal: no card on the reader")

// VirtualReader is the demo's reader: the card is the one chosen on the
// screen (its ID kept in the session), opened from the card store.
type VirtualReader struct{ Cards *card.Store }

// Card opens the placed card.
func (v VirtualReader) Card(_ *http.Request, placed string) (card.Transport, error) {
	if placed == "" {
		return nil, ErrNoCard
	}
	c, err := v.Cards.Open(placed)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoCard, err)
	}
	// A card placed on the reader is powered up afresh.
	c.Reset()
	return c, nil
}

// Virtual is true.
func (VirtualReader) Virtual() bool { return true }

// readerFor picks the reader of a terminal configuration.
func readerFor(c Config, cards *card.Store, pcsc func(name string) (Reader, error)) (Reader, error) {
	switch {
	case c.Reader == "" || c.Reader == "virtual":
		return VirtualReader{Cards: cards}, nil
	case strings.HasPrefix(c.Reader, "pcsc:"):
		if pcsc == nil {
			return nil, fmt.Errorf("terminal %s: reader %q needs a build with -tags pcsc", c.ID, c.Reader)
		}
		return pcsc(strings.TrimPrefix(c.Reader, "pcsc:"))
	}
	return nil, fmt.Errorf("terminal %s: unknown reader %q", c.ID, c.Reader)
}
