package eligibility

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/wareki"
)

// Payment with the card (issue §3, the 酒田市 pilot: after the eligibility
// check at the reception the same My Number Card pays the co-payment through
// a credit-card company).
//
// Linking, once per resident: the resident has a token from the card company
// (the company enrolled the card number on its own side; the platform keeps
// only the token and the last four digits) and consents, with the card's
// signing key (署名用電子証明書), to the document ConsentDoc.Text. The service
// accepts the link only when
//
//  1. the signature (RSASSA-PKCS1-v1_5 over the SHA-256 DigestInfo of the
//     text, as the card computes it) verifies with the signing certificate;
//  2. the certificate was issued by the JPKI signing CA (PaymentConfig.SignCA)
//     for signatures (keyUsage nonRepudiation / digitalSignature), and both
//     are within their validity now;
//  3. it is not revoked: the centre's OCSP responder (RFC 6960) is asked
//     every time — a link is rare and lasts, so a same-day answer is worth a
//     round trip, and no CRL cache is needed. No answer means no link
//     (fail closed);
//  4. it belongs to the person of the platform ID: the four attributes the
//     signing certificate carries as subjectAltName otherNames (name, birth
//     date, sex, address; jpki-card.md §8.2) equal the platform's current
//     JPKI attributes of the platform ID (PaymentConfig.PersonAttributes).
//
// One link per platform ID is active; linking again replaces it.

// PaymentConfig is what linking a card-company token needs.
type PaymentConfig struct {
	// SignCA is the trusted JPKI 署名用 CA certificate.
	SignCA *x509.Certificate
	// OCSP sends a DER OCSP request to the JPKI centre and returns the DER
	// response: (*jpki.Client).OCSP over HTTP, or, in one process, a
	// wrapper of (*jpki.Centre).Respond.
	OCSP func(ctx context.Context, request []byte) ([]byte, error)
	// PersonAttributes are the current JPKI attributes of a platform ID's
	// holder: (*platform.Platform).PersonAttributes.
	PersonAttributes func(ctx context.Context, platformID string) (*jpki.HolderAttributes, error)
	// OCSPMaxAge bounds the age of an OCSP answer (default 10 minutes).
	OCSPMaxAge time.Duration
	// ConsentTTL is how long a consent document may be signed after it was
	// shown (default 15 minutes).
	ConsentTTL time.Duration
}

// Errors of linking. Each refusal has its own sentinel; Rules gives the
// text for the person.
var (
	ErrPaymentNotConfigured = errors.New("eligibility: payment with the card is not configured")
	ErrBadSignature         = errors.New("eligibility: the consent signature does not verify")
	// The signing certificate's checks are the JPKI verifier's.
	ErrUntrustedCert     = jpki.ErrUntrustedCert
	ErrCertExpired       = jpki.ErrCertExpired
	ErrCertRevoked       = jpki.ErrCertRevoked
	ErrRevocationUnknown = jpki.ErrRevocationUnknown
	ErrNotSamePerson     = errors.New("eligibility: the signing certificate is another person's")
	ErrConsentStale      = errors.New("eligibility: the consent document is not the current one")
	ErrNoPaymentLink     = errors.New("eligibility: no card is linked for payment")
)

// ConsentDoc is the document a resident signs to link a card-company token
// to their platform ID. Its Text is what is shown and signed; the service
// builds the text again from these fields, so nothing else can be slipped
// in.
type ConsentDoc struct {
	PlatformID string
	Token      string
	Last4      string
	// At is when the document was shown, to the second.
	At time.Time
}

// NewConsent is the consent document for linking token (card ending last4)
// to platformID, as of now.
func (s *Service) NewConsent(platformID, token, last4 string) ConsentDoc {
	return ConsentDoc{PlatformID: platformID, Token: token, Last4: last4, At: s.now().Truncate(time.Second)}
}

// fingerprint is the first 16 hex digits of SHA-256(v): the document names
// the platform ID and the token without spelling them out.
func fingerprint(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:8])
}

// PlatformIDHash is how the consent names the platform ID.
func (d ConsentDoc) PlatformIDHash() string { return fingerprint(d.PlatformID) }

// Text is the signed document, Japanese first, with English.
func (d ConsentDoc) Text() string {
	var b strings.Builder
	b.WriteString("マイナンバーカードによる医療費のお支払い　同意書\n")
	b.WriteString("Consent to paying medical co-payments with the My Number Card\n\n")
	fmt.Fprintf(&b, "日本海総合病院などの医療機関での自己負担金を、登録したクレジットカード（末尾 %s）で支払うことに同意します。"+
		"医療機関には支払番号・金額・カード末尾4桁だけが伝えられ、カード番号は伝えられません。"+
		"この登録はいつでも解除できます。\n", d.Last4)
	fmt.Fprintf(&b, "I agree to pay my co-payments at medical facilities such as Nihonkai General Hospital with the registered "+
		"credit card (ending %s). Facilities learn only the payment number, the amount and the last four digits, never the card number. "+
		"I can cancel this at any time.\n\n", d.Last4)
	fmt.Fprintf(&b, "プラットフォームID（SHA-256） / Platform ID (SHA-256): %s\n", d.PlatformIDHash())
	fmt.Fprintf(&b, "カード会社のトークン（SHA-256） / Card-company token (SHA-256): %s\n", fingerprint(d.Token))
	fmt.Fprintf(&b, "日時 / Date: %s\n", d.At.In(wareki.JST()).Format(time.RFC3339))
	return b.String()
}

// Digest is the SHA-256 of Text, which the card signs as a DigestInfo.
func (d ConsentDoc) Digest() [32]byte { return sha256.Sum256([]byte(d.Text())) }

// PaymentLink is a platform ID's link to a card-company token. The token is
// for the platform's own use (charging) and is never shown to a facility.
type PaymentLink struct {
	ID         string
	PlatformID string
	Token      string
	Last4      string
	CertSerial string // the signing certificate's serial, upper-case hex
	Consent    string // the signed text
	Signature  []byte
	LinkedAt   time.Time
	// Replayed is set when the same signed consent had linked it before: a
	// link sent again links nothing twice.
	Replayed bool
}

// Resident is the card holder a request about their own payment link comes
// from, as their platform assertion says: the platform ID and the terminal
// the card was used at. Both go into the audit row.
type Resident struct {
	PlatformID string
	Terminal   string
}

// The actions of the payment-link audit (elig_pay_audit).
const (
	PayAuditView     = "view"
	PayAuditLink     = "link"
	PayAuditRelinked = "link_replayed" // the same signed consent sent again
	PayAuditUnlink   = "unlink"
)

// payAudit writes the audit row of a resident's request.
func (s *Service) payAudit(ctx context.Context, ex execer, who Resident, action, linkID string) error {
	if _, err := ex.ExecContext(ctx, qPayAudit, s.now().UnixMilli(), who.PlatformID, who.Terminal, action, linkID, trace.ID(ctx)); err != nil {
		return fmt.Errorf("eligibility: payment audit: %w", err)
	}
	return nil
}

func (s *Service) payConfigured() error {
	if s.pay.SignCA == nil || s.pay.OCSP == nil || s.pay.PersonAttributes == nil {
		return ErrPaymentNotConfigured
	}
	return nil
}

// validLast4 reports whether v is four digits.
func validLast4(v string) bool {
	if len(v) != 4 {
		return false
	}
	for i := range 4 {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

// LinkPayment links a card-company token to the resident's platform ID
// after checking the signed consent (see the top of this file). Nothing is
// stored when any check fails; the error says which (errors.Is with the
// sentinels above). The same signed consent sent again (a retry after a
// lost answer) answers the link it made, Replayed, and links nothing twice.
func (s *Service) LinkPayment(ctx context.Context, who Resident, consent ConsentDoc, certDER, signature []byte) (*PaymentLink, error) {
	if err := s.payConfigured(); err != nil {
		return nil, err
	}
	platformID := who.PlatformID
	now := s.now()
	ttl := s.pay.ConsentTTL
	if ttl <= 0 {
		ttl = 15 * time.Minute
	}
	switch {
	case platformID == "" || consent.PlatformID != platformID:
		return nil, fmt.Errorf("%w: the consent names another platform ID", ErrConsentStale)
	case consent.Token == "" || len(consent.Token) > 100 || !validLast4(consent.Last4):
		return nil, fmt.Errorf("%w: a token and the card's last four digits are required", ErrInvalid)
	case consent.At.After(now.Add(time.Minute)) || now.Sub(consent.At) > ttl:
		return nil, fmt.Errorf("%w: shown at %s, more than %s ago", ErrConsentStale, consent.At.Format(time.RFC3339), ttl)
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUntrustedCert, err)
	}
	if err := s.signingVerifier().Check(ctx, cert, now); err != nil {
		return nil, err
	}
	text := consent.Text()
	if err := cert.CheckSignature(x509.SHA256WithRSA, []byte(text), signature); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	if err := s.samePerson(ctx, platformID, cert); err != nil {
		return nil, err
	}
	link := &PaymentLink{ID: newID(), PlatformID: platformID, Token: consent.Token, Last4: consent.Last4,
		CertSerial: jpki.Serial(cert.SerialNumber), Consent: text, Signature: signature, LinkedAt: now.UTC()}
	var replay *PaymentLink
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		// The consent's text names the moment it was shown, so the same
		// text, signature and certificate are the same request again.
		replay = nil
		active, err := activeLink(ctx, tx, platformID)
		if err != nil && !errors.Is(err, ErrNoPaymentLink) {
			return err
		}
		if active != nil && active.Consent == text && bytes.Equal(active.Signature, signature) && active.CertSerial == link.CertSerial {
			replay, active.Replayed = active, true
			return s.payAudit(ctx, tx, who, PayAuditRelinked, active.ID)
		}
		if _, err := tx.ExecContext(ctx, qPayUnlink, now.UnixMilli(), platformID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, qPayInsertLink, link.ID, platformID, link.Token, link.Last4, link.CertSerial,
			link.Consent, link.Signature, now.UnixMilli()); err != nil {
			return err
		}
		return s.payAudit(ctx, tx, who, PayAuditLink, link.ID)
	})
	if err != nil {
		return nil, fmt.Errorf("eligibility: store payment link: %w", err)
	}
	if replay != nil {
		s.logger.InfoContext(ctx, "payment link replayed", "platform_id", fingerprint(platformID), "link", replay.ID)
		return replay, nil
	}
	s.logger.InfoContext(ctx, "payment link", "platform_id", fingerprint(platformID), "last4", link.Last4, "serial", link.CertSerial)
	return link, nil
}

// signingVerifier checks signing certificates with the configured CA and
// OCSP.
func (s *Service) signingVerifier() *jpki.SigningVerifier {
	return &jpki.SigningVerifier{CA: s.pay.SignCA, OCSP: s.pay.OCSP, MaxAge: s.pay.OCSPMaxAge}
}

// samePerson compares the certificate's four attributes with the platform
// ID's current ones.
func (s *Service) samePerson(ctx context.Context, platformID string, cert *x509.Certificate) error {
	got, err := jpki.SigningHolder(cert)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUntrustedCert, err)
	}
	want, err := s.pay.PersonAttributes(ctx, platformID)
	if err != nil {
		return fmt.Errorf("eligibility: attributes of the platform ID: %w", err)
	}
	var diff []string
	if normalize(got.Name) != normalize(want.Name) {
		diff = append(diff, "name")
	}
	if civil(got.BirthDate) != civil(want.BirthDate) {
		diff = append(diff, "birth_date")
	}
	if got.Sex != want.Sex {
		diff = append(diff, "sex")
	}
	if normalize(got.Address) != normalize(want.Address) {
		diff = append(diff, "address")
	}
	if len(diff) > 0 {
		return fmt.Errorf("%w: %s differ", ErrNotSamePerson, strings.Join(diff, ", "))
	}
	return nil
}

// PaymentLinkOf is the active payment link of a platform ID, or
// ErrNoPaymentLink: the service's own read, for charging.
func (s *Service) PaymentLinkOf(ctx context.Context, platformID string) (*PaymentLink, error) {
	return activeLink(ctx, s.db, platformID)
}

// queryer is a *sql.Tx or the store: where a link is read.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func activeLink(ctx context.Context, q queryer, platformID string) (*PaymentLink, error) {
	l := PaymentLink{PlatformID: platformID}
	var at int64
	err := q.QueryRowContext(ctx, qPayActiveLink, platformID).Scan(&l.ID, &l.Token, &l.Last4, &l.CertSerial, &l.Consent, &l.Signature, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoPaymentLink
	}
	if err != nil {
		return nil, fmt.Errorf("eligibility: read payment link: %w", err)
	}
	l.LinkedAt = time.UnixMilli(at).UTC()
	return &l, nil
}

// MyPaymentLink is the resident's own active payment link, or
// ErrNoPaymentLink; the read is audited.
func (s *Service) MyPaymentLink(ctx context.Context, who Resident) (*PaymentLink, error) {
	l, err := s.PaymentLinkOf(ctx, who.PlatformID)
	if err != nil && !errors.Is(err, ErrNoPaymentLink) {
		return nil, err
	}
	linkID := ""
	if l != nil {
		linkID = l.ID
	}
	if aerr := s.payAudit(ctx, s.db, who, PayAuditView, linkID); aerr != nil {
		return nil, aerr
	}
	return l, err
}

// UnlinkPayment ends the resident's active payment link; with none,
// ErrNoPaymentLink. Payments made before stay recorded.
func (s *Service) UnlinkPayment(ctx context.Context, who Resident) error {
	var linkID string
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		l, err := activeLink(ctx, tx, who.PlatformID)
		if err != nil {
			return err
		}
		linkID = l.ID
		if _, err := tx.ExecContext(ctx, qPayUnlink, s.now().UnixMilli(), who.PlatformID); err != nil {
			return err
		}
		return s.payAudit(ctx, tx, who, PayAuditUnlink, l.ID)
	})
	if errors.Is(err, ErrNoPaymentLink) {
		return err
	}
	if err != nil {
		return fmt.Errorf("eligibility: unlink payment: %w", err)
	}
	s.logger.InfoContext(ctx, "payment unlink", "platform_id", fingerprint(who.PlatformID), "link", linkID)
	return nil
}
