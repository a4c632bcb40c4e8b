package jpki

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/anchors"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/store"
)

//go:embed migrations
var migrations embed.FS

// Errors the centre returns; the HTTP and CLI edges map them to messages.
var (
	ErrInvalid        = errors.New("jpki: invalid request")
	ErrNotFound       = errors.New("jpki: not found")
	ErrAlreadyRevoked = errors.New("jpki: certificate already revoked")
	ErrUnauthorized   = errors.New("jpki: operator credential missing or not valid")
)

// Errors of the HTTP API only.
var (
	errNoSuchCert = fmt.Errorf("%w: no such CA or responder certificate", ErrNotFound)
	errNoSuchCRL  = fmt.Errorf("%w: no such CRL", ErrNotFound)
	errNoOperator = fmt.Errorf("%w: no operator credential", ErrUnauthorized)
	errNoCRL      = errors.New("jpki: the CRL could not be read")
)

// The centre API's problem codes.
const (
	CodeInvalid      httpapi.Code = "invalid"
	CodeNotFound     httpapi.Code = "not_found"
	CodeUnauthorized httpapi.Code = "unauthorized"
	CodeUnavailable  httpapi.Code = "unavailable"
)

// Rules answers the centre's errors on its API, and maps the answers back
// to the sentinels in Client.
var Rules = httpapi.Rules{
	{Err: errNoSuchCert, Status: http.StatusNotFound, Code: CodeNotFound,
		JA: "そのような証明書はありません。auth.crt か sign.crt を指定してください。", EN: "No such certificate: ask for auth.crt or sign.crt."},
	{Err: errNoSuchCRL, Status: http.StatusNotFound, Code: CodeNotFound,
		JA: "そのような失効リストはありません。auth.crl か sign.crl を指定してください。", EN: "No such CRL: ask for auth.crl or sign.crl."},
	{Err: errNoOperator, Status: http.StatusUnauthorized, Code: CodeUnauthorized,
		Header: http.Header{"Www-Authenticate": {`Bearer realm="jpki"`}},
		JA:     "プラットフォーム事業者の認証情報が必要です。Authorization: Bearer <トークン> を付けてください。",
		EN:     "A platform operator credential is required: send Authorization: Bearer <token>."},
	{Err: errNoCRL, Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
		JA: "失効リストを取得できませんでした。しばらくしてから再度お試しください。", EN: "The CRL could not be read; try again shortly."},
	{Err: ErrInvalid, Status: http.StatusBadRequest, Code: CodeInvalid, Detail: true,
		JA: "要求の内容に誤りがあります。", EN: "Invalid request."},
	{Err: ErrNotFound, Status: http.StatusNotFound, Code: CodeNotFound,
		JA: "該当する証明書がありません。", EN: "No such certificate."},
	{Err: ErrUnauthorized, Status: http.StatusUnauthorized, Code: CodeUnauthorized,
		JA: "認証情報が正しくありません。", EN: "The credential is not valid."},
}

// Reason is a CRL reason code (RFC 5280 §5.3.1).
type Reason int

// The reason codes the JPKI centre uses.
const (
	Unspecified          Reason = 0
	KeyCompromise        Reason = 1
	CACompromise         Reason = 2
	AffiliationChanged   Reason = 3
	Superseded           Reason = 4
	CessationOfOperation Reason = 5
	CertificateHold      Reason = 6
)

var reasonNames = map[Reason]string{
	Unspecified: "unspecified", KeyCompromise: "keyCompromise", CACompromise: "cACompromise",
	AffiliationChanged: "affiliationChanged", Superseded: "superseded",
	CessationOfOperation: "cessationOfOperation", CertificateHold: "certificateHold",
}

// String is the RFC 5280 name of the reason, e.g. "keyCompromise".
func (r Reason) String() string {
	if s, ok := reasonNames[r]; ok {
		return s
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// ParseReason accepts an RFC 5280 name (case-insensitive) or a number.
func ParseReason(s string) (Reason, error) {
	for r, n := range reasonNames {
		if strings.EqualFold(n, s) || fmt.Sprint(int(r)) == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("%w: revocation reason %q", ErrInvalid, s)
}

// Status is a certificate's revocation status.
type Status string

// Certificate statuses, as OCSP names them.
const (
	StatusGood    Status = "good"
	StatusRevoked Status = "revoked"
	StatusUnknown Status = "unknown"
)

// Config holds what the centre needs.
type Config struct {
	DB *store.DB
	// Dir keeps the CA and OCSP responder keys (mode 0600) and certificates.
	Dir string
	// BaseURL is where this centre is reached, e.g. http://127.0.0.1:8080; it
	// goes into the certificates' CRL distribution point.
	BaseURL string
	// CRLValidity is the time from a CRL's thisUpdate to its nextUpdate
	// (default 24h, as J-LIS publishes daily).
	CRLValidity time.Duration
	// OCSPValidity is the nextUpdate horizon of OCSP responses (default 4h);
	// responses without a nonce are re-signed after a quarter of it.
	OCSPValidity time.Duration
	Now          func() time.Time
	Logger       *slog.Logger
}

// Centre is the JPKI centre.
type Centre struct {
	db           *store.DB
	ca           map[Kind]*authority
	now          func() time.Time
	logger       *slog.Logger
	baseURL      string
	crlValidity  time.Duration
	ocspValidity time.Duration
}

// Open migrates the centre's tables, loads (or on first start creates) both
// CAs, checks them against the database and makes sure each CA has a CRL.
func Open(ctx context.Context, cfg Config) (*Centre, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CRLValidity <= 0 {
		cfg.CRLValidity = 24 * time.Hour
	}
	if cfg.OCSPValidity <= 0 {
		cfg.OCSPValidity = 4 * time.Hour
	}
	mfs, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if err := cfg.DB.Migrate(ctx, "jpki", mfs); err != nil {
		return nil, err
	}
	cas, err := loadAuthorities(cfg.Dir, cfg.Now())
	if err != nil {
		return nil, err
	}
	c := &Centre{db: cfg.DB, ca: cas, now: cfg.Now, logger: cfg.Logger,
		baseURL: strings.TrimRight(cfg.BaseURL, "/"), crlValidity: cfg.CRLValidity, ocspValidity: cfg.OCSPValidity}
	if err := c.checkAuthorities(ctx); err != nil {
		return nil, err
	}
	if _, err := c.RefreshCRLs(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// CACertificate is the DER certificate of one CA.
func (c *Centre) CACertificate(k Kind) []byte { return c.ca[k].cert.Raw }

// CA returns the parsed certificate of one CA.
func (c *Centre) CA(k Kind) *x509.Certificate { return c.ca[k].cert }

// Now is the centre's clock, and Logger its log: the counter's pages
// (package counter) age and log what they show by the centre's.
func (c *Centre) Now() time.Time { return c.now() }

// Logger is the centre's log.
func (c *Centre) Logger() *slog.Logger { return c.logger }

// ResponderCertificate is the DER certificate of one CA's OCSP responder.
func (c *Centre) ResponderCertificate(k Kind) []byte { return c.ca[k].responderCert.Raw }

func (c *Centre) crlURL(k Kind) string {
	if c.baseURL == "" {
		return ""
	}
	return c.baseURL + "/jpki/crl/" + string(k) + ".crl"
}

// caIssuersURL is where the CA of kind k is published (anchors.Serve in
// the jpki role), for the AIA caIssuers of the certificates it issues; ""
// without a base URL.
func (c *Centre) caIssuersURL(k Kind) string {
	if c.baseURL == "" {
		return ""
	}
	return c.baseURL + anchors.DERPath("jpki-"+string(k))
}

// Serial formats a certificate serial number as upper-case hex, the form
// used in the database, on the command line and in the APIs.
func Serial(n *big.Int) string { return strings.ToUpper(n.Text(16)) }

// ParseSerial accepts upper- or lower-case hex, with or without colons.
func ParseSerial(s string) (string, error) {
	s = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
	n, ok := new(big.Int).SetString(s, 16)
	if !ok || n.Sign() <= 0 {
		return "", fmt.Errorf("%w: serial %q is not a positive hex number", ErrInvalid, s)
	}
	return Serial(n), nil
}

// nextCounter increments a named counter and returns its new value. The row
// lock it takes orders concurrent transactions, which is what keeps the
// revocation feed's sequence in commit order.
func nextCounter(ctx context.Context, tx *sql.Tx, name string, start int64) (int64, error) {
	var n int64
	err := tx.QueryRowContext(ctx, qNextCounter, name, start).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("jpki: counter %s: %w", name, err)
	}
	return n, nil
}

// serialStart makes serial numbers look like JPKI's eight-digit ones.
const serialStart = 10_000_001

// issued is one certificate freshly issued inside a transaction.
type issued struct {
	kind   Kind
	serial string
	der    []byte
}

// issueTx signs a certificate of kind k for pub and records it for card.
func (c *Centre) issueTx(ctx context.Context, tx *sql.Tx, k Kind, cardID string, pub *rsa.PublicKey, h *Holder, notAfter time.Time) (issued, error) {
	if pub == nil || pub.N.BitLen() != 2048 || pub.E != 65537 {
		return issued{}, fmt.Errorf("%w: the card's %s key must be RSA-2048 with e=65537", ErrInvalid, k)
	}
	n, err := nextCounter(ctx, tx, "serial:"+string(k), serialStart)
	if err != nil {
		return issued{}, err
	}
	serial := big.NewInt(n)
	cn, err := opaqueID()
	if err != nil {
		return issued{}, err
	}
	now := c.now()
	a := c.ca[k]
	if notAfter.After(a.cert.NotAfter) {
		notAfter = a.cert.NotAfter
	}
	tmpl, err := eeTemplate(k, pub, serial, cn, h, now, notAfter, c.crlURL(k), c.caIssuersURL(k))
	if err != nil {
		return issued{}, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, pub, a.signer)
	if err != nil {
		return issued{}, fmt.Errorf("jpki: sign %s certificate: %w", k, err)
	}
	s := Serial(serial)
	if _, err := tx.ExecContext(ctx, qInsertCertificate, string(k), s, cardID, der,
		tmpl.NotBefore.Unix(), tmpl.NotAfter.Unix(), now.Unix()); err != nil {
		return issued{}, fmt.Errorf("jpki: record %s certificate: %w", k, err)
	}
	return issued{kind: k, serial: s, der: der}, nil
}

// opaqueID is the 23-character CN of a JPKI end-entity certificate, which says
// nothing about the holder.
func opaqueID() (string, error) {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, 23)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b), nil
}

// link records a linkage between two certificates.
func (c *Centre) link(ctx context.Context, tx *sql.Tx, link string, from, to issuedRef) error {
	_, err := tx.ExecContext(ctx, qInsertLink, link, string(from.Kind), from.Serial, string(to.Kind), to.Serial, c.now().Unix())
	if err != nil {
		return fmt.Errorf("jpki: record %s link: %w", link, err)
	}
	return nil
}

// Link kinds.
const (
	linkPair    = "pair"    // 証明書紐付け: signing ↔ authentication certificate of one card
	linkRenewal = "renewal" // 証明書新旧紐付け: old → new certificate
)

// issuedRef names a certificate.
type issuedRef struct {
	Kind   Kind   `json:"kind"`
	Serial string `json:"serial"`
}

// revokeTx revokes one certificate, appends it to the revocation feed and
// drops its cached OCSP response. The CRL is regenerated by the caller in the
// same transaction.
func (c *Centre) revokeTx(ctx context.Context, tx *sql.Tx, k Kind, serial string, reason Reason) error {
	now := c.now().Unix()
	res, err := tx.ExecContext(ctx, qRevoke, now, int(reason), string(k), serial)
	if err != nil {
		return fmt.Errorf("jpki: revoke %s %s: %w", k, serial, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var revokedAt sql.NullInt64
		err := tx.QueryRowContext(ctx, qCertRevokedAt, string(k), serial).Scan(&revokedAt)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %s certificate %s", ErrNotFound, k, serial)
		}
		if err != nil {
			return fmt.Errorf("jpki: revoke %s %s: %w", k, serial, err)
		}
		return fmt.Errorf("%w: %s certificate %s", ErrAlreadyRevoked, k, serial)
	}
	seq, err := nextCounter(ctx, tx, "feed", 1)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, qInsertRevocation, seq, string(k), serial, int(reason), now); err != nil {
		return fmt.Errorf("jpki: record revocation: %w", err)
	}
	if _, err := tx.ExecContext(ctx, qDeleteOCSPCache, string(k), serial); err != nil {
		return fmt.Errorf("jpki: drop cached OCSP response: %w", err)
	}
	c.logger.InfoContext(ctx, "certificate revoked", "kind", k, "serial", serial, "reason", reason.String())
	return nil
}

// Revoke revokes one certificate and publishes a new CRL of its CA.
func (c *Centre) Revoke(ctx context.Context, k Kind, serial string, reason Reason) error {
	serial, err := ParseSerial(serial)
	if err != nil {
		return err
	}
	return c.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := c.revokeTx(ctx, tx, k, serial, reason); err != nil {
			return err
		}
		_, err := c.crlTx(ctx, tx, k)
		return err
	})
}

// CRL is a published certificate revocation list.
type CRL struct {
	Kind       Kind
	Number     int64
	ThisUpdate time.Time
	NextUpdate time.Time
	DER        []byte
}

// crlTx signs a new CRL for k listing every revoked certificate of that CA
// that has not expired (RFC 5280 §3.3 allows dropping expired entries).
func (c *Centre) crlTx(ctx context.Context, tx *sql.Tx, k Kind) (*CRL, error) {
	now := c.now()
	rows, err := tx.QueryContext(ctx, qRevokedForCRL, string(k), now.Unix())
	if err != nil {
		return nil, fmt.Errorf("jpki: list revoked %s certificates: %w", k, err)
	}
	var entries []x509.RevocationListEntry
	for rows.Next() {
		var serial string
		var at int64
		var reason int
		if err := rows.Scan(&serial, &at, &reason); err != nil {
			rows.Close()
			return nil, err
		}
		n, _ := new(big.Int).SetString(serial, 16)
		entries = append(entries, x509.RevocationListEntry{SerialNumber: n, RevocationTime: time.Unix(at, 0).UTC(), ReasonCode: reason})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	number, err := nextCounter(ctx, tx, "crl:"+string(k), 1)
	if err != nil {
		return nil, err
	}
	a := c.ca[k]
	this := now.UTC().Truncate(time.Second)
	next := this.Add(c.crlValidity)
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(number),
		ThisUpdate:                this,
		NextUpdate:                next,
		RevokedCertificateEntries: entries,
	}, a.cert, a.signer)
	if err != nil {
		return nil, fmt.Errorf("jpki: sign %s CRL: %w", k, err)
	}
	if _, err := tx.ExecContext(ctx, qInsertCRL, string(k), number, this.Unix(), next.Unix(), der); err != nil {
		return nil, fmt.Errorf("jpki: store %s CRL: %w", k, err)
	}
	// Keep a short history; relying parties only ever want the newest.
	if _, err := tx.ExecContext(ctx, qPruneCRLs, string(k), number-10); err != nil {
		return nil, fmt.Errorf("jpki: prune %s CRLs: %w", k, err)
	}
	return &CRL{Kind: k, Number: number, ThisUpdate: this, NextUpdate: next, DER: der}, nil
}

// LatestCRL returns the newest CRL of a CA.
func (c *Centre) LatestCRL(ctx context.Context, k Kind) (*CRL, error) {
	crl := &CRL{Kind: k}
	var this, next int64
	err := c.db.QueryRowContext(ctx, qLatestCRL, string(k)).Scan(&crl.Number, &this, &next, &crl.DER)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: no CRL for %s yet", ErrNotFound, k)
	}
	if err != nil {
		return nil, fmt.Errorf("jpki: read %s CRL: %w", k, err)
	}
	crl.ThisUpdate, crl.NextUpdate = time.Unix(this, 0).UTC(), time.Unix(next, 0).UTC()
	return crl, nil
}

// RefreshCRLs publishes a new CRL for each CA whose newest one has passed
// half its validity (or that has none), and returns those it published. The
// server calls it on a schedule.
func (c *Centre) RefreshCRLs(ctx context.Context) ([]*CRL, error) {
	var out []*CRL
	for _, k := range Kinds {
		latest, err := c.LatestCRL(ctx, k)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return out, err
		}
		if latest != nil && c.now().Before(latest.ThisUpdate.Add(c.crlValidity/2)) {
			continue
		}
		err = c.db.Tx(ctx, func(tx *sql.Tx) error {
			crl, err := c.crlTx(ctx, tx, k)
			if err == nil {
				out = append(out, crl)
			}
			return err
		})
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// CertInfo is what the centre knows about one certificate.
type CertInfo struct {
	Kind      Kind      `json:"kind"`
	Serial    string    `json:"serial"`
	CardID    string    `json:"card_id,omitempty"`
	Status    Status    `json:"status"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	Reason    Reason    `json:"-"`
	// ReasonName is Reason's RFC 5280 name, set when revoked.
	ReasonName string `json:"reason,omitempty"`
	DER        []byte `json:"-"`
}

// Certificate returns one certificate's record; ErrNotFound if the CA never
// issued it.
func (c *Centre) Certificate(ctx context.Context, k Kind, serial string) (*CertInfo, error) {
	serial, err := ParseSerial(serial)
	if err != nil {
		return nil, err
	}
	return scanCert(c.db.QueryRowContext(ctx, qCertificate, string(k), serial))
}

func scanCert(row interface{ Scan(...any) error }) (*CertInfo, error) {
	var ci CertInfo
	var kind string
	var nb, na int64
	var revokedAt, reason sql.NullInt64
	err := row.Scan(&kind, &ci.Serial, &ci.CardID, &ci.DER, &nb, &na, &revokedAt, &reason)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: certificate", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("jpki: read certificate: %w", err)
	}
	ci.Kind = Kind(kind)
	ci.NotBefore, ci.NotAfter = time.Unix(nb, 0).UTC(), time.Unix(na, 0).UTC()
	ci.Status = StatusGood
	if revokedAt.Valid {
		ci.Status = StatusRevoked
		ci.RevokedAt = time.Unix(revokedAt.Int64, 0).UTC()
		ci.Reason = Reason(reason.Int64)
		ci.ReasonName = ci.Reason.String()
	}
	return &ci, nil
}

// CardCertificates lists every certificate ever issued to a card, newest
// first.
func (c *Centre) CardCertificates(ctx context.Context, cardID string) ([]*CertInfo, error) {
	rows, err := c.db.QueryContext(ctx, qCardCertificates, cardID)
	if err != nil {
		return nil, fmt.Errorf("jpki: list certificates of card: %w", err)
	}
	defer rows.Close()
	var out []*CertInfo
	for rows.Next() {
		ci, err := scanCert(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ci)
	}
	return out, rows.Err()
}

// current returns the live (unrevoked, unexpired) certificate of kind k on a
// card, or nil.
func (c *Centre) currentTx(ctx context.Context, tx *sql.Tx, cardID string, k Kind) (*CertInfo, error) {
	ci, err := scanCert(tx.QueryRowContext(ctx, qCurrentCert, cardID, string(k), c.now().Unix()))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return ci, err
}

// PublishCRL signs and publishes a new CRL of one CA now.
func (c *Centre) PublishCRL(ctx context.Context, k Kind) error {
	return c.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := c.crlTx(ctx, tx, k)
		return err
	})
}
