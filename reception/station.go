package reception

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/eligibility"
	"github.com/mynaplat/mynaplat/internal/fileutil"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/terminal"
)

// A station is the facility side of a reception or mobile terminal: the
// platform terminal (card reader, its platform credential) plus the
// facility's credential at this service, and — for when the network is
// gone — the 利用者証明用 CA certificate, the last CRL, and a queue of
// offline checks on the terminal's own disk.

// StationConfig is a station's configuration, kept in <dir>/<id>.json (mode
// 0600) on the machine the terminal runs on.
type StationConfig struct {
	Terminal     terminal.Config `json:"terminal"`
	Facility     string          `json:"facility"`
	FacilityName string          `json:"facility_name"`
	FacilityKey  string          `json:"facility_key"`
}

// SaveStationConfig writes a station's configuration file.
func SaveStationConfig(dir string, c StationConfig) error {
	return fileutil.WriteJSON(filepath.Join(dir, c.Terminal.ID+".json"), c)
}

// LoadStationConfigs reads every station configuration in dir, sorted by
// terminal ID (the file names).
func LoadStationConfigs(dir string) ([]StationConfig, error) {
	cs, err := fileutil.ReadJSONDir[StationConfig](dir)
	if err != nil {
		return nil, fmt.Errorf("reception: %w", err)
	}
	return cs, nil
}

// OfflineCheck is a queued check: the card's offline answer, what the
// patient consented to, and the state of sending it.
type OfflineCheck struct {
	ClientID string                       `json:"client_id"`
	Terminal string                       `json:"terminal"`
	At       time.Time                    `json:"at"`
	Holder   string                       `json:"holder"`
	Consent  eligibility.Consent          `json:"consent"`
	Answer   platform.DeferredAuthRequest `json:"answer"`
	// LocalCRL is when the CRL the terminal checked against was issued.
	LocalCRL time.Time `json:"local_crl"`
	// LastError is why the last attempt to send it failed.
	LastError string `json:"last_error,omitempty"`
	// Refused is set when the platform refused the answer (a card revoked
	// before the visit): the check is moved out of the queue, kept for the
	// staff, and never sent again.
	Refused string `json:"refused,omitempty"`
}

// queue is a station's offline queue: one file per check under dir, written
// whole or not at all; a check leaves the queue only after the service has
// recorded it.
type queue struct {
	dir string
	mu  sync.Mutex // one sender at a time
}

func (q *queue) put(c OfflineCheck) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(q.dir, 0o700); err != nil {
		return err
	}
	return fileutil.WriteAtomic(filepath.Join(q.dir, c.ClientID+".json"), b, 0o600)
}

func (q *queue) list(sub string) ([]OfflineCheck, error) {
	files, err := filepath.Glob(filepath.Join(q.dir, sub, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []OfflineCheck
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var c OfflineCheck
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("reception: offline queue %s: %w", f, err)
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}

func (q *queue) done(id string) error {
	err := os.Remove(filepath.Join(q.dir, id+".json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

func (q *queue) refuse(c OfflineCheck) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(q.dir, "refused"), 0o700); err != nil {
		return err
	}
	if err := fileutil.WriteAtomic(filepath.Join(q.dir, "refused", c.ClientID+".json"), b, 0o600); err != nil {
		return err
	}
	return q.done(c.ClientID)
}

// Station runs a reception or mobile terminal of a facility.
type Station struct {
	cfg    StationConfig
	term   *terminal.Terminal
	reader terminal.Reader
	fac    *eligibility.FacilityClient
	jpki   *jpki.Client
	dir    string
	queue  *queue
	now    func() time.Time
	logger *slog.Logger

	mu      sync.RWMutex
	ca      *x509.Certificate
	crl     *x509.RevocationList
	network *networkSwitch
}

// StationOptions hold what a station needs besides its configuration.
type StationOptions struct {
	// PlatformURL, ServiceURL and JPKIURL are where the platform, this
	// service and the JPKI centre answer; HTTP reaches them.
	PlatformURL, ServiceURL, JPKIURL string
	HTTP                             *http.Client
	Reader                           terminal.Reader
	// Dir keeps the station's trust anchors and offline queue.
	Dir    string
	Now    func() time.Time
	Logger *slog.Logger
}

// NewStation opens a station and what it kept on disk (a restart keeps the
// queue).
func NewStation(cfg StationConfig, o StationOptions) (*Station, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	sw := &networkSwitch{next: o.HTTP}
	hc := &http.Client{Transport: sw, Timeout: 15 * time.Second}
	term, err := terminal.New(cfg.Terminal, o.PlatformURL, hc)
	if err != nil {
		return nil, err
	}
	term.Client().Now = o.Now
	st := &Station{cfg: cfg, term: term, reader: o.Reader, dir: o.Dir, now: o.Now, logger: o.Logger, network: sw,
		fac:   &eligibility.FacilityClient{BaseURL: o.ServiceURL, Key: cfg.FacilityKey, HTTP: hc},
		jpki:  &jpki.Client{BaseURL: o.JPKIURL, HTTP: hc},
		queue: &queue{dir: filepath.Join(o.Dir, "queue")}}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(filepath.Join(o.Dir, "auth-ca.der")); err == nil {
		if st.ca, err = x509.ParseCertificate(b); err != nil {
			return nil, fmt.Errorf("reception: station %s: kept CA certificate: %w", cfg.Terminal.ID, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(o.Dir, "auth.crl")); err == nil && st.ca != nil {
		if crl, err := x509.ParseRevocationList(b); err == nil && crl.CheckSignatureFrom(st.ca) == nil {
			st.crl = crl
		}
	}
	return st, nil
}

// ID is the terminal's ID.
func (st *Station) ID() string { return st.cfg.Terminal.ID }

// Config is the station's configuration.
func (st *Station) Config() StationConfig { return st.cfg }

// networkSwitch is the station's link to the network. The demo can cut it
// to show the offline mode; tests use it to take the network away.
type networkSwitch struct {
	next *http.Client
	down sync.Mutex
	off  bool
}

// ErrNetworkDown is the error of a request while the station is cut off.
var ErrNetworkDown = errors.New("network unreachable (the terminal's link is down)")

func (n *networkSwitch) RoundTrip(r *http.Request) (*http.Response, error) {
	n.down.Lock()
	off := n.off
	n.down.Unlock()
	if off {
		return nil, ErrNetworkDown
	}
	var t http.RoundTripper = http.DefaultTransport
	if n.next != nil && n.next.Transport != nil {
		t = n.next.Transport
	}
	return t.RoundTrip(r)
}

// SetOnline connects or cuts the station's network link.
func (st *Station) SetOnline(on bool) {
	st.network.down.Lock()
	st.network.off = !on
	st.network.down.Unlock()
}

// Online reports whether the station's link is up (as far as the switch
// goes).
func (st *Station) Online() bool {
	st.network.down.Lock()
	defer st.network.down.Unlock()
	return !st.network.off
}

// RefreshTrust fetches the 利用者証明用 CA certificate (once) and the newest
// CRL, and keeps them on disk for offline checks.
func (st *Station) RefreshTrust(ctx context.Context) error {
	st.mu.RLock()
	ca := st.ca
	st.mu.RUnlock()
	if ca == nil {
		c, err := st.jpki.CACertificate(ctx, jpki.Auth)
		if err != nil {
			return err
		}
		if err := fileutil.WriteAtomic(filepath.Join(st.dir, "auth-ca.der"), c.Raw, 0o600); err != nil {
			return err
		}
		ca = c
	}
	der, _, _, err := st.jpki.CRL(ctx, jpki.Auth, "")
	if err != nil {
		return err
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return fmt.Errorf("reception: CRL: %w", err)
	}
	if err := crl.CheckSignatureFrom(ca); err != nil {
		return fmt.Errorf("reception: CRL signature: %w", err)
	}
	if err := fileutil.WriteAtomic(filepath.Join(st.dir, "auth.crl"), der, 0o600); err != nil {
		return err
	}
	st.mu.Lock()
	st.ca, st.crl = ca, crl
	st.mu.Unlock()
	return nil
}

// Errors of an offline check made at the terminal.
var (
	ErrNoTrust      = errors.New("reception: the terminal has no CA certificate or CRL yet, so it cannot check a card offline")
	ErrOfflineCheck = errors.New("reception: the card did not pass the terminal's own check")
)

// OfflineRefusal is a card the terminal's own check refused, with the
// outcome the person is told; it matches ErrOfflineCheck.
type OfflineRefusal struct {
	Outcome terminal.Outcome
	Detail  string
}

func (e *OfflineRefusal) Error() string        { return ErrOfflineCheck.Error() + ": " + e.Detail }
func (e *OfflineRefusal) Is(target error) bool { return target == ErrOfflineCheck }

// verifyLocally checks an offline answer the way the terminal can without
// the network: chain to the kept CA, validity (with the eligibility
// grace), the card's signature, and the kept CRL.
func (st *Station) verifyLocally(a platform.DeferredAuthRequest) (crlAt time.Time, err error) {
	st.mu.RLock()
	ca, crl := st.ca, st.crl
	st.mu.RUnlock()
	if ca == nil || crl == nil {
		return time.Time{}, ErrNoTrust
	}
	cert, err := x509.ParseCertificate(a.Certificate)
	if err != nil {
		return time.Time{}, &OfflineRefusal{terminal.Malformed, "certificate: " + err.Error()}
	}
	if err := cert.CheckSignatureFrom(ca); err != nil {
		return time.Time{}, &OfflineRefusal{terminal.UnknownIssuer, "not issued by the 利用者証明用 CA"}
	}
	switch {
	case a.SignedAt.Before(cert.NotBefore):
		return time.Time{}, &OfflineRefusal{terminal.NotYetValid, "not valid yet"}
	case !a.SignedAt.Before(platform.EligibilityGrace(cert.NotAfter)):
		return time.Time{}, &OfflineRefusal{terminal.Expired, "expired " + cert.NotAfter.Format(time.DateOnly)}
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	digest := sha256.Sum256(platform.OfflineMessage(a.ID, a.SignedAt, a.Nonce, st.ID()))
	if !ok || rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], a.Signature) != nil {
		return time.Time{}, &OfflineRefusal{terminal.BadSignature, "the card's signature does not verify"}
	}
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			return time.Time{}, &OfflineRefusal{terminal.Revoked, "revoked (CRL of " + crl.ThisUpdate.Format(time.DateTime) + ")"}
		}
	}
	return crl.ThisUpdate, nil
}

// Login is the online card flow for an eligibility check.
func (st *Station) Login(ctx context.Context, tr card.Transport, pin string) (*platform.AuthResponse, error) {
	return st.term.LoginFor(ctx, tr, pin, platform.PurposeEligibility)
}

// SignOffline has the card sign an offline answer and checks it locally.
func (st *Station) SignOffline(tr card.Transport, pin string) (platform.DeferredAuthRequest, time.Time, error) {
	a, err := st.term.SignOffline(tr, pin, newClientID(), st.now(), platform.PurposeEligibility)
	if err != nil {
		return a, time.Time{}, err
	}
	crlAt, err := st.verifyLocally(a)
	return a, crlAt, err
}

func newClientID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "off-" + hex.EncodeToString(b)
}

// Check asks the service about the holder of an assertion.
func (st *Station) Check(ctx context.Context, assertion string, consent eligibility.Consent) (*eligibility.CheckResult, error) {
	return st.fac.Check(ctx, eligibility.CardCheckRequest{Assertion: assertion, Consent: consent})
}

// Charge charges the co-payment of a check to the patient's linked card.
func (st *Station) Charge(ctx context.Context, checkID string, amount int64, idemKey string) (*eligibility.Payment, error) {
	return st.fac.Charge(ctx, checkID, amount, idemKey)
}

// Paper is a 資格確認書 check.
func (st *Station) Paper(ctx context.Context, req eligibility.PaperCheckRequest) (*eligibility.CheckResult, error) {
	req.Terminal = st.ID()
	return st.fac.Paper(ctx, req)
}

// Enqueue keeps an offline check on disk until it is confirmed.
func (st *Station) Enqueue(a platform.DeferredAuthRequest, crlAt time.Time, holder string, consent eligibility.Consent) (OfflineCheck, error) {
	c := OfflineCheck{ClientID: a.ID, Terminal: st.ID(), At: a.SignedAt, Holder: holder, Consent: consent, Answer: a, LocalCRL: crlAt}
	if err := st.queue.put(c); err != nil {
		return c, fmt.Errorf("reception: keep the offline check: %w", err)
	}
	return c, nil
}

// Pending are the queued offline checks (provisional), and Refused those
// the platform refused.
func (st *Station) Pending() ([]OfflineCheck, error) { return st.queue.list("") }

// Refused are the offline checks the platform refused.
func (st *Station) Refused() ([]OfflineCheck, error) { return st.queue.list("refused") }

// SyncResult says what a Sync did.
type SyncResult struct {
	Confirmed []*eligibility.CheckResult
	Refused   []OfflineCheck
	Waiting   int
}

// Sync sends the queued offline checks: the platform confirms the card's
// answer (as of the visit) and the service records the check under the
// terminal's ID of it, so a check sent twice — after a lost answer or a
// restart — is recorded once. A check leaves the queue only once recorded
// or refused.
func (st *Station) Sync(ctx context.Context) (*SyncResult, error) {
	st.queue.mu.Lock()
	defer st.queue.mu.Unlock()
	pending, err := st.queue.list("")
	if err != nil {
		return nil, err
	}
	res := &SyncResult{}
	for _, c := range pending {
		confirmed, refused, err := st.send(ctx, c)
		switch {
		case err != nil:
			c.LastError = err.Error()
			if perr := st.queue.put(c); perr != nil {
				return res, perr
			}
			res.Waiting++
			if errors.Is(err, platform.ErrPlatformUnavailable) || errors.Is(err, eligibility.ErrUnavailable) {
				// The network is still gone: the rest would fail the same way.
				res.Waiting += len(pending) - len(res.Confirmed) - len(res.Refused) - res.Waiting
				return res, nil
			}
		case refused != "":
			c.Refused, c.LastError = refused, ""
			if err := st.queue.refuse(c); err != nil {
				return res, err
			}
			res.Refused = append(res.Refused, c)
		default:
			if err := st.queue.done(c.ClientID); err != nil {
				return res, err
			}
			res.Confirmed = append(res.Confirmed, confirmed)
		}
	}
	return res, nil
}

func (st *Station) send(ctx context.Context, c OfflineCheck) (*eligibility.CheckResult, string, error) {
	ar, err := st.term.Client().AuthenticateDeferred(ctx, c.Answer)
	if err != nil {
		return nil, "", err
	}
	switch ar.Report.Result {
	case platform.Indeterminate:
		return nil, "", fmt.Errorf("%w: %s", platform.ErrPlatformUnavailable, ar.Report.MessageEN)
	case platform.Failed:
		return nil, ar.Report.MessageJA + " / " + ar.Report.MessageEN, nil
	}
	res, err := st.fac.Check(ctx, eligibility.CardCheckRequest{Assertion: ar.Assertion, Consent: c.Consent, ClientID: c.ClientID})
	if err != nil {
		return nil, "", err
	}
	return res, "", nil
}

// Unreachable reports whether err means the station could not reach the
// platform or the service (so the offline mode applies).
func Unreachable(err error) bool {
	return errors.Is(err, platform.ErrPlatformUnavailable) || errors.Is(err, eligibility.ErrUnavailable) || errors.Is(err, ErrNetworkDown)
}
