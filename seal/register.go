package seal

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/internal/trace"

	"github.com/mynaplat/mynaplat/store"
)

//go:embed migrations
var migrations embed.FS

// Queries, in the PostgreSQL dialect that both engines accept (store doc).
const (
	qInsertCertificate = `INSERT INTO seal_certificates
  (municipality, number, cert_type, municipality_ja, municipality_en, issued_at, digest, nonce, content, trace_id)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`
	qCertificate = `SELECT cert_type, municipality_ja, municipality_en, issued_at, digest, nonce, content
  FROM seal_certificates WHERE municipality = $1 AND number = $2`
	qCertificateType    = `SELECT cert_type FROM seal_certificates WHERE municipality = $1 AND number = $2`
	qInsertVerification = `INSERT INTO seal_verifications (at, channel, outcome, municipality, number, trace_id)
  VALUES ($1, $2, $3, $4, $5, $6)`
	qCountVerifications = `SELECT outcome, COUNT(*) FROM seal_verifications GROUP BY outcome`
)

// Config is what the Service needs.
type Config struct {
	DB        *store.DB
	Authority *Authority
	// Now is the clock (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger
	// Pdftoppm is poppler's pdftoppm, used to read the QR code of an
	// uploaded PDF; empty means "pdftoppm" from PATH. Without it the page
	// accepts QR text only.
	Pdftoppm string
	// Stamper, when set, time-stamps the seal's signatures, and the PDFs
	// get a DSS with the seal CA's CRL (PAdES B-LT, SignPDFLongTerm);
	// without it they are B-B.
	Stamper cms.Stamper
	// TSARoots are the TSA roots time-stamps are checked against; needed
	// with Stamper. It is asked when first needed (the TSA may be this
	// process, not serving yet at start).
	TSARoots func(context.Context) (*x509.CertPool, error)
	// Archive adds a document time-stamp to every sealed PDF (B-LTA).
	Archive bool
}

// Service is the register of issued certificates and their verification.
type Service struct {
	db       *store.DB
	auth     *Authority
	now      func() time.Time
	logger   *slog.Logger
	pdftoppm string
	stamper  cms.Stamper
	tsaRoots func(context.Context) (*x509.CertPool, error)
	archive  bool
}

// New migrates the register's tables.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Authority == nil {
		return nil, errors.New("seal: New needs a database and the seal authority")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	mfs, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if err := cfg.DB.Migrate(ctx, "seal", mfs); err != nil {
		return nil, err
	}
	if cfg.Stamper != nil && cfg.TSARoots == nil {
		return nil, errors.New("seal: New needs the TSA roots with a Stamper")
	}
	return &Service{db: cfg.DB, auth: cfg.Authority, now: cfg.Now, logger: cfg.Logger, pdftoppm: cfg.Pdftoppm,
		stamper: cfg.Stamper, tsaRoots: cfg.TSARoots, archive: cfg.Archive}, nil
}

// IssueRequest is one certificate about to be printed.
type IssueRequest struct {
	Municipality Municipality
	// Number is the certificate number printed on it.
	Number string
	// Type names the certificate, e.g. 住民票の写し.
	Type string
	// Content is the certificate's canonical content text: what the
	// verification page shows back, and whose SHA-256 the QR carries.
	Content string
}

// Issued is a registered certificate: the QR to draw on it and the seal to
// sign the PDF with (SignPDF, or Service.SignPDF).
type Issued struct {
	Payload *QRPayload
	// QRText is the QR code's text and QRPNG its image.
	QRText string
	QRPNG  []byte
	Seal   *Seal
}

// Issue records a certificate in the register and makes its signed QR code.
// A number already issued by the municipality is ErrDuplicate.
func (s *Service) Issue(ctx context.Context, req IssueRequest) (*Issued, error) {
	if req.Type == "" || req.Content == "" {
		return nil, fmt.Errorf("%w: certificate type and content are required", ErrInvalid)
	}
	seal, err := s.auth.Seal(req.Municipality)
	if err != nil {
		return nil, err
	}
	p, err := NewQRPayload(req.Number, req.Municipality.Code, s.now(), req.Content)
	if err != nil {
		return nil, err
	}
	if err := SignQR(p, seal.QRSigner); err != nil {
		return nil, err
	}
	png, err := QRPNG(p)
	if err != nil {
		return nil, err
	}
	gcm, err := contentCipher(p)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	ct := gcm.Seal(nil, nonce, []byte(req.Content), contentAAD(p, req.Type))
	_, err = s.db.Write(ctx, qInsertCertificate, p.Municipality, p.Number, req.Type,
		req.Municipality.NameJA, req.Municipality.NameEN, p.IssuedAt.Unix(), p.Digest[:], nonce, ct, trace.ID(ctx))
	if store.IsUniqueViolation(err) {
		return nil, fmt.Errorf("%w: %s of %s", ErrDuplicate, p.Number, p.Municipality)
	}
	if err != nil {
		return nil, fmt.Errorf("seal: record certificate: %w", err)
	}
	s.logger.InfoContext(ctx, "seal: certificate registered", "municipality", p.Municipality, "type", req.Type)
	return &Issued{Payload: p, QRText: p.Text(), QRPNG: png, Seal: seal}, nil
}

// SignPDF signs a rendered certificate with the municipality's seal at the
// service's clock: PAdES B-LT (or B-LTA with Config.Archive) when the
// service has a Stamper, B-B otherwise.
func (s *Service) SignPDF(ctx context.Context, m Municipality, pdf []byte) ([]byte, error) {
	seal, err := s.auth.Seal(m)
	if err != nil {
		return nil, err
	}
	var lt LongTerm
	if s.stamper != nil {
		roots, err := s.tsaRoots(ctx)
		if err != nil {
			return nil, fmt.Errorf("seal: TSA roots: %w", err)
		}
		crl, err := s.auth.CRL()
		if err != nil {
			return nil, err
		}
		lt = LongTerm{Stamper: s.stamper, TSARoots: roots, CRL: crl, Archive: s.archive}
	}
	return SignPDFLongTerm(ctx, pdf, seal.Signer, seal.Cert, seal.Chain, s.now(), lt)
}

// timestampRoots are the TSA roots, nil without a Stamper (or when they
// cannot be had: then every time-stamp fails its check).
func (s *Service) timestampRoots(ctx context.Context) *x509.CertPool {
	if s.tsaRoots == nil {
		return nil
	}
	roots, err := s.tsaRoots(ctx)
	if err != nil {
		s.logger.ErrorContext(ctx, "seal: TSA roots", "err", err)
		return nil
	}
	return roots
}

// contentCipher is AES-256-GCM under HKDF-SHA-256(secret) (RFC 5869), salted
// with the municipality and number so that no two certificates share a key
// even if a secret repeated.
func contentCipher(p *QRPayload) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, p.Secret[:], []byte(p.Municipality+"/"+p.Number), "mynaplat seal content v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// contentAAD binds the ciphertext to its row: moved to another row, it does
// not open.
func contentAAD(p *QRPayload, certType string) []byte {
	return fmt.Appendf(nil, "%s\x00%s\x00%s\x00%d\x00%x", p.Municipality, p.Number, certType, p.IssuedAt.Unix(), p.Digest)
}

// Outcome is the result of a verification.
type Outcome string

// The outcomes, as recorded in seal_verifications and answered by the API.
const (
	Genuine      Outcome = "genuine"
	Malformed    Outcome = "malformed"
	BadSignature Outcome = "bad_signature"
	Unknown      Outcome = "unknown"
	Altered      Outcome = "altered"
	Failed       Outcome = "failed" // the register could not be read
)

// OutcomeOf maps Verify's error to its outcome.
func OutcomeOf(err error) Outcome {
	switch {
	case err == nil:
		return Genuine
	case errors.Is(err, ErrMalformed):
		return Malformed
	case errors.Is(err, ErrBadSignature):
		return BadSignature
	case errors.Is(err, ErrUnknown):
		return Unknown
	case errors.Is(err, ErrAltered):
		return Altered
	}
	return Failed
}

// Verification is a genuine certificate as the register knows it.
type Verification struct {
	Number         string
	Municipality   string
	MunicipalityJA string
	MunicipalityEN string
	Type           string
	IssuedAt       time.Time
	// Content is the original content text.
	Content string
}

// Channels of a verification, for the audit rows.
const (
	ChannelPage = "page"
	ChannelPDF  = "pdf"
	ChannelAPI  = "api"
)

// Verify checks a QR code's text against its signature and the register and
// returns the original certificate, or an error wrapping ErrMalformed,
// ErrBadSignature, ErrUnknown or ErrAltered (see the package doc). Every call
// leaves an audit row, whatever the answer.
func (s *Service) Verify(ctx context.Context, text, channel string) (*Verification, error) {
	v, p, err := s.verify(ctx, text)
	var muni, number string
	if p != nil {
		muni, number = p.Municipality, p.Number
	}
	outcome := OutcomeOf(err)
	if _, aerr := s.db.Write(ctx, qInsertVerification, s.now().Unix(), channel, string(outcome), muni, number, trace.ID(ctx)); aerr != nil {
		// An answer that cannot be audited is not given.
		s.logger.ErrorContext(ctx, "seal: record verification", "err", aerr)
		return nil, fmt.Errorf("seal: record verification: %w", aerr)
	}
	if outcome == Failed {
		s.logger.ErrorContext(ctx, "seal: verification", "err", err)
	} else {
		s.logger.InfoContext(ctx, "seal: verification", "outcome", string(outcome), "channel", channel, "municipality", muni)
	}
	return v, err
}

func (s *Service) verify(ctx context.Context, text string) (*Verification, *QRPayload, error) {
	p, err := ParseQR(text)
	if err != nil {
		return nil, nil, err
	}
	if err := VerifyQR(p, s.auth); err != nil {
		return nil, p, err
	}
	var (
		v                     = &Verification{Number: p.Number, Municipality: p.Municipality}
		issued                int64
		digest, nonce, sealed []byte
	)
	err = s.db.QueryRowContext(ctx, qCertificate, p.Municipality, p.Number).
		Scan(&v.Type, &v.MunicipalityJA, &v.MunicipalityEN, &issued, &digest, &nonce, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, p, fmt.Errorf("%w: %s of %s", ErrUnknown, p.Number, p.Municipality)
	}
	if err != nil {
		return nil, p, fmt.Errorf("seal: read register: %w", err)
	}
	v.IssuedAt = time.Unix(issued, 0)
	if issued != p.IssuedAt.Unix() || subtle.ConstantTimeCompare(digest, p.Digest[:]) != 1 {
		return nil, p, fmt.Errorf("%w: issue time or content digest differs", ErrAltered)
	}
	gcm, err := contentCipher(p)
	if err != nil {
		return nil, p, err
	}
	if len(nonce) != gcm.NonceSize() {
		return nil, p, fmt.Errorf("seal: register row of %s has a bad nonce", p.Number)
	}
	content, err := gcm.Open(nil, nonce, sealed, contentAAD(p, v.Type))
	if err != nil {
		return nil, p, fmt.Errorf("%w: the QR's secret does not open the register's content", ErrAltered)
	}
	if d := sha256.Sum256(content); !bytes.Equal(d[:], p.Digest[:]) {
		return nil, p, fmt.Errorf("%w: content digest differs", ErrAltered)
	}
	v.Content = string(content)
	return v, p, nil
}

// RegisteredType returns the type (e.g. 住民票の写し) under which Issue
// entered certificate number of municipality, or an error wrapping
// ErrUnknown: the relay checks an issuance server's answer against it, so
// that a certificate rendered as one type and labelled another, or never
// registered, is not handed out.
func (s *Service) RegisteredType(ctx context.Context, municipality, number string) (string, error) {
	var t string
	err := s.db.QueryRowContext(ctx, qCertificateType, municipality, number).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%w: %s of %s", ErrUnknown, number, municipality)
	}
	if err != nil {
		return "", fmt.Errorf("seal: read register: %w", err)
	}
	return t, nil
}

// VerificationCounts counts the audit rows by outcome.
func (s *Service) VerificationCounts(ctx context.Context) (map[Outcome]int, error) {
	rows, err := s.db.QueryContext(ctx, qCountVerifications)
	if err != nil {
		return nil, fmt.Errorf("seal: count verifications: %w", err)
	}
	defer rows.Close()
	out := map[Outcome]int{}
	for rows.Next() {
		var o string
		var n int
		if err := rows.Scan(&o, &n); err != nil {
			return nil, err
		}
		out[Outcome(o)] = n
	}
	return out, rows.Err()
}

// CheckSealed checks that pdf carries exactly one valid signature, followed
// by nothing but its validation data, by municipality m's current seal: what
// the relay checks before it hands an issuance server's PDF to a kiosk.
func (s *Service) CheckSealed(m Municipality, pdf []byte) error {
	seal, err := s.auth.Seal(m)
	if err != nil {
		return err
	}
	rep, err := VerifyPDF(pdf, s.auth.Roots(), s.timestampRoots(context.Background()))
	if err != nil {
		return err
	}
	if len(rep.Signatures) != 1 {
		return fmt.Errorf("%w: %d signatures, want the seal's one", ErrPDFSignature, len(rep.Signatures))
	}
	sig := rep.Signatures[0]
	switch {
	case sig.Chain == nil:
		return ErrUntrusted
	case !bytes.Equal(sig.Signer.Raw, seal.Cert.Raw):
		return fmt.Errorf("%w: signed by %q, not the seal of %s", ErrUntrusted, sig.Signer.Subject.CommonName, m.Code)
	}
	return nil
}
