package platform

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/jpki"
)

// Challenge is a single-use random value a terminal has the card sign.
type Challenge struct {
	ID         string    `json:"challenge_id"`
	Nonce      []byte    `json:"challenge"`
	TerminalID string    `json:"terminal_id"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// Message is the exact bytes the card signs for a challenge: a fixed label,
// the challenge and the terminal, so a signature made for one terminal or
// purpose cannot be used for another.
func (c *Challenge) Message() []byte { return SignedMessage(c.ID, c.Nonce, c.TerminalID) }

// SignedMessage builds the signed bytes of a challenge.
func SignedMessage(challengeID string, nonce []byte, terminalID string) []byte {
	return []byte("mynaplat-auth-v1\n" + challengeID + "\n" + base64.RawURLEncoding.EncodeToString(nonce) + "\n" + terminalID)
}

// Answer has a card's authentication key (as a crypto.Signer, after its PIN)
// sign a challenge, and builds the request that carries the answer.
func Answer(ch *Challenge, certDER []byte, signer crypto.Signer) (AuthRequest, error) {
	digest := sha256.Sum256(ch.Message())
	sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return AuthRequest{}, fmt.Errorf("platform: the card did not sign the challenge: %w", err)
	}
	return AuthRequest{ChallengeID: ch.ID, Certificate: certDER, Signature: sig}, nil
}

// NewChallenge issues a challenge to a terminal and stores it, so that any
// instance can check the answer.
func (p *Platform) NewChallenge(ctx context.Context, t *Terminal) (*Challenge, error) {
	nonce := make([]byte, 32)
	rand.Read(nonce)
	now := p.now()
	c := &Challenge{ID: newID(), Nonce: nonce, TerminalID: t.ID, ExpiresAt: now.Add(p.challengeTTL)}
	if _, err := p.db.Write(ctx, qInsertChallenge, c.ID, t.ID, nonce, now.UnixMilli(), c.ExpiresAt.UnixMilli()); err != nil {
		return nil, fmt.Errorf("platform: store challenge: %w", err)
	}
	return c, nil
}

// Result is the outcome of an authentication.
type Result string

// The three results. INDETERMINATE is refused like FAILED.
const (
	Passed        Result = "PASSED"
	Failed        Result = "FAILED"
	Indeterminate Result = "INDETERMINATE"
)

// Reason says why an authentication did not pass.
type Reason string

// Reasons of FAILED and INDETERMINATE results.
const (
	ReasonMalformed        Reason = "malformed"
	ReasonUnknownChallenge Reason = "unknown_challenge"
	ReasonExpiredChallenge Reason = "expired_challenge"
	ReasonReplayed         Reason = "replayed"
	ReasonUnknownIssuer    Reason = "unknown_issuer"
	ReasonExpired          Reason = "expired"
	ReasonNotYetValid      Reason = "not_yet_valid"
	ReasonBadSignature     Reason = "bad_signature"
	ReasonRevoked          Reason = "revoked"
	ReasonNoRevocationData Reason = "no_revocation_data"
	ReasonNoLinkage        Reason = "no_linkage_data"
)

// messages are the Japanese and English texts shown for each reason.
var messages = map[Reason][2]string{
	ReasonMalformed:        {"証明書または署名の形式が正しくありません。", "The certificate or signature is malformed."},
	ReasonUnknownChallenge: {"認証要求が見つかりません。最初からやり直してください。", "Unknown challenge: start again."},
	ReasonExpiredChallenge: {"時間切れです。最初からやり直してください。", "The challenge expired: start again."},
	ReasonReplayed:         {"この認証要求は既に使われています。最初からやり直してください。", "This challenge was already used: start again."},
	ReasonUnknownIssuer:    {"公的個人認証サービスの利用者証明用電子証明書ではありません。", "Not a JPKI user authentication certificate."},
	ReasonExpired:          {"電子証明書の有効期限が切れています。市区町村の窓口で更新してください。", "The certificate has expired: renew it at the municipal counter."},
	ReasonNotYetValid:      {"電子証明書はまだ有効になっていません。", "The certificate is not valid yet."},
	ReasonBadSignature:     {"カードの署名を確認できませんでした。", "The card's signature did not verify."},
	ReasonRevoked:          {"電子証明書は失効しています。市区町村の窓口にお問い合わせください。", "The certificate is revoked: ask at the municipal counter."},
	ReasonNoRevocationData: {"失効情報を確認できないため、本人確認を完了できません。しばらくしてから再度お試しください。", "Revocation data is not available, so the check cannot be completed: try again shortly."},
	ReasonNoLinkage:        {"紐付け情報を取得できないため、本人確認を完了できません。しばらくしてから再度お試しください。", "Linkage records are not available: try again shortly."},
}

// Check is one step of the verification report.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Report is what the platform found.
type Report struct {
	Result     Result    `json:"result"`
	Reason     Reason    `json:"reason,omitempty"`
	Detail     string    `json:"detail,omitempty"`
	MessageJA  string    `json:"message_ja,omitempty"`
	MessageEN  string    `json:"message_en,omitempty"`
	PlatformID string    `json:"platform_id,omitempty"`
	TerminalID string    `json:"terminal_id"`
	Serial     string    `json:"certificate_serial,omitempty"`
	NotAfter   time.Time `json:"certificate_not_after,omitzero"`
	Checks     []Check   `json:"checks"`
	// Warnings are conditions of a PASSED result the person must be told
	// about (WarnCertExpired).
	Warnings []string  `json:"warnings,omitempty"`
	At       time.Time `json:"at"`
}

func (r *Report) check(name string, ok bool, detail string) {
	r.Checks = append(r.Checks, Check{name, ok, detail})
}

func (r *Report) fail(res Result, reason Reason, detail string) *Report {
	r.Result, r.Reason, r.Detail = res, reason, detail
	m := messages[reason]
	r.MessageJA, r.MessageEN = m[0], m[1]
	if detail != "" {
		r.MessageJA += "（" + detail + "）"
		r.MessageEN += " (" + detail + ")"
	}
	return r
}

// AuthRequest is a terminal's answer to a challenge.
type AuthRequest struct {
	ChallengeID string `json:"challenge_id"`
	Certificate []byte `json:"certificate"` // DER 利用者証明用 certificate read from the card
	Signature   []byte `json:"signature"`   // PKCS#1 v1.5 SHA-256 over SignedMessage
	// Purpose names the service the authentication is for, when that
	// service has rules of its own (PurposeEligibility); empty otherwise.
	Purpose string `json:"purpose,omitempty"`
}

// PurposeEligibility is an authentication for an eligibility check (オンライン
// 資格確認): there an authentication certificate that expired less than
// EligibilityGrace ago is still accepted, with a warning, because a patient
// must not be turned away at the reception over a certificate renewal.
const PurposeEligibility = "eligibility"

// PurposeStaff is a staff member's sign-in at an office (package staff):
// only a staff terminal (StaffDesk) may ask for it, so that an assertion a
// resident's terminal obtained never opens an office.
const PurposeStaff = "staff"

// PurposeOIDC is a login to an outside service through the OpenID Connect
// provider (package oidcop, docs/oidc-provider.md §4.2): only the
// provider's terminal (App) may ask for it, and that terminal asks for
// nothing else, so that an assertion obtained for an outside service never
// opens a service or an office here, and no kiosk logs anyone into an
// outside service.
const PurposeOIDC = "oidc"

// DetailPurpose is the detail of a FAILED malformed report whose purpose
// the terminal may not ask for (purposeFits); the terminal kit words it as
// a purpose refusal.
const DetailPurpose = "purpose"

// purposeFits reports whether a terminal of kind k may ask for an
// authentication for purpose: a staff terminal signs staff in and nothing
// else, the provider's terminal logs people into outside services and
// nothing else, and no other terminal does either.
func purposeFits(k TerminalKind, purpose string) bool {
	return (purpose == PurposeStaff) == (k == StaffDesk) && (purpose == PurposeOIDC) == (k == App)
}

// EligibilityGrace is how long after its expiry an authentication
// certificate still works for an eligibility check: three months.
func EligibilityGrace(notAfter time.Time) time.Time { return notAfter.AddDate(0, 3, 0) }

// WarnCertExpired is the report warning of a certificate accepted within
// the eligibility grace.
const WarnCertExpired = "certificate_expired"

// Authenticate checks a terminal's answer: challenge, certificate, chain,
// validity, signature and revocation, in that order, cheapest first. The
// challenge is used up whatever the outcome, and an audit row is written. On
// PASSED the report carries the platform ID and assertion is a signed
// assertion for services.
func (p *Platform) Authenticate(ctx context.Context, t *Terminal, req AuthRequest) (rep *Report, assertion string, err error) {
	now := p.now()
	rep = &Report{TerminalID: t.ID, At: now.UTC(), Checks: []Check{}}
	signed := false
	defer func() {
		if err == nil {
			err = p.finish(ctx, t, req.ChallengeID, rep, signed)
		}
		if err == nil {
			p.results.WithLabelValues(string(rep.Result), string(rep.Reason)).Inc()
			p.latency.Observe(p.now().Sub(now).Seconds())
		}
		if err == nil && rep.Result == Passed {
			assertion, err = p.keys.sign(p.claims(rep, t, now, now, req.Purpose), now)
		}
		if err != nil {
			rep, assertion = nil, ""
		}
	}()
	switch req.Purpose {
	case "", PurposeEligibility, PurposeStaff, PurposeOIDC:
	default:
		rep.check("challenge", false, "unknown purpose")
		return rep.fail(Failed, ReasonMalformed, DetailPurpose), "", nil
	}
	if !purposeFits(t.Kind, req.Purpose) {
		rep.check("challenge", false, "purpose of another kind of terminal")
		return rep.fail(Failed, ReasonMalformed, DetailPurpose), "", nil
	}

	// The challenge.
	var termID string
	var nonce []byte
	var expires int64
	var used sql.NullInt64
	err = p.stmts.challenge.QueryRowContext(ctx, req.ChallengeID).Scan(&termID, &nonce, &expires, &used)
	switch {
	case errors.Is(err, sql.ErrNoRows) || (err == nil && termID != t.ID):
		rep.check("challenge", false, "unknown")
		return rep.fail(Failed, ReasonUnknownChallenge, ""), "", nil
	case err != nil:
		return nil, "", fmt.Errorf("platform: read challenge: %w", err)
	case used.Valid:
		rep.check("challenge", false, "already used")
		return rep.fail(Failed, ReasonReplayed, ""), "", nil
	case now.UnixMilli() > expires:
		rep.check("challenge", false, "expired at "+time.UnixMilli(expires).UTC().Format(time.RFC3339))
		return rep.fail(Failed, ReasonExpiredChallenge, ""), "", nil
	}
	rep.check("challenge", true, "single use, expires "+time.UnixMilli(expires).UTC().Format(time.RFC3339))
	signed, err = p.verifyAnswer(ctx, rep, req.Certificate, req.Signature, SignedMessage(req.ChallengeID, nonce, t.ID), now, req.Purpose)
	return rep, "", err
}

// verifyAnswer runs the checks after the challenge: certificate, chain,
// validity at the time of use, the card's signature over msg, revocation as
// of that time, and the platform ID. It fills rep (PASSED or the first
// failure) and reports whether the card's signature verified.
func (p *Platform) verifyAnswer(ctx context.Context, rep *Report, certDER, sig, msg []byte, at time.Time, purpose string) (signed bool, err error) {
	// The certificate and its chain to the 利用者証明用 CA.
	cert, malformed := p.certificate(certDER)
	if malformed {
		rep.check("certificate", false, "cannot be parsed")
		rep.fail(Failed, ReasonMalformed, "")
		return false, nil
	}
	rep.Serial, rep.NotAfter = jpki.Serial(cert.SerialNumber), cert.NotAfter.UTC()
	rep.check("certificate", true, "serial "+rep.Serial)
	if !p.chainOK(certDER, cert) {
		rep.check("chain", false, "issuer "+cert.Issuer.String())
		rep.fail(Failed, ReasonUnknownIssuer, "")
		return false, nil
	}
	rep.check("chain", true, p.issuedBy)

	// The validity period.
	switch {
	case at.After(cert.NotAfter) && purpose == PurposeEligibility && at.Before(EligibilityGrace(cert.NotAfter)):
		rep.Warnings = append(rep.Warnings, WarnCertExpired)
		rep.check("validity", true, "expired "+cert.NotAfter.UTC().Format(time.RFC3339)+
			"; accepted for an eligibility check until "+EligibilityGrace(cert.NotAfter).UTC().Format(time.RFC3339))
	case at.After(cert.NotAfter):
		rep.check("validity", false, "expired "+cert.NotAfter.UTC().Format(time.RFC3339))
		rep.fail(Failed, ReasonExpired, "")
		return false, nil
	case at.Before(cert.NotBefore):
		rep.check("validity", false, "valid from "+cert.NotBefore.UTC().Format(time.RFC3339))
		rep.fail(Failed, ReasonNotYetValid, "")
		return false, nil
	default:
		rep.check("validity", true, "until "+cert.NotAfter.UTC().Format(time.RFC3339))
	}

	// The card's signature: the one RSA verification of the hot path.
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	digest := sha256.Sum256(msg)
	if !ok || rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) != nil {
		rep.check("signature", false, "does not verify")
		rep.fail(Failed, ReasonBadSignature, "")
		return false, nil
	}
	rep.check("signature", true, "RSA PKCS#1 v1.5 SHA-256")

	// Revocation as of the time of use: a certificate revoked after it was
	// used (an offline check confirmed later) was good when it was used.
	rs, rerr := p.rev.check(ctx, cert)
	if rerr != nil {
		p.logger.WarnContext(ctx, "no fresh revocation data", "err", rerr)
		rep.check("revocation", false, "no fresh CRL and no OCSP answer")
		rep.fail(Indeterminate, ReasonNoRevocationData, "")
		return true, nil
	}
	if rs.Revoked && !rs.RevokedAt.After(at) {
		rep.check("revocation", false, fmt.Sprintf("revoked %s (%s), %s", rs.RevokedAt.UTC().Format(time.RFC3339), rs.Reason, rs.Source))
		rep.fail(Failed, ReasonRevoked, rs.Reason.String())
		return true, nil
	}
	if rs.Revoked {
		rep.check("revocation", true, fmt.Sprintf("revoked only after use, %s (%s), %s", rs.RevokedAt.UTC().Format(time.RFC3339), rs.Reason, rs.Source))
	} else {
		rep.check("revocation", true, "not revoked per "+rs.Source)
	}

	// The platform ID, from the JPKI linkage records.
	personID, err := p.personFor(ctx, rep.Serial)
	if err != nil {
		if errors.Is(err, jpki.ErrUnavailable) || errors.Is(err, jpki.ErrUnauthorized) {
			p.logger.WarnContext(ctx, "linkage records unavailable", "err", err)
			rep.check("linkage", false, "linkage records unavailable")
			rep.fail(Indeterminate, ReasonNoLinkage, "")
			return true, nil
		}
		return true, err
	}
	rep.check("linkage", true, "platform ID from JPKI linkage records")
	rep.Result, rep.PlatformID = Passed, personID
	return true, nil
}

// certificate parses a certificate, or finds it among those already known to
// chain to the CA.
func (p *Platform) certificate(der []byte) (cert *x509.Certificate, malformed bool) {
	if c := p.leaves.get(sha256.Sum256(der)); c != nil {
		return c, false
	}
	c, err := x509.ParseCertificate(der)
	return c, err != nil
}

// chainOK checks that cert was issued by the 利用者証明用 CA for digital
// signatures, verifying the CA's signature once per certificate.
func (p *Platform) chainOK(der []byte, cert *x509.Certificate) bool {
	k := sha256.Sum256(der)
	if p.leaves.get(k) != nil {
		return true
	}
	if cert.CheckSignatureFrom(p.ca) != nil || cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return false
	}
	p.leaves.add(k, cert)
	return true
}

// finish uses up the challenge and writes the audit row, in a group commit.
// If another request used the challenge first, the result becomes FAILED
// (replayed) whatever the checks found.
func (p *Platform) finish(ctx context.Context, t *Terminal, challengeID string, rep *Report, signed bool) error {
	j := &finishJob{terminalID: t.ID, challengeID: challengeID, rep: rep, signed: signed, traceID: trace.ID(ctx)}
	if err := p.commit.submit(ctx, j); err != nil {
		return err
	}
	if j.replayed {
		rep.PlatformID = ""
		rep.check("challenge", false, "used by a concurrent request")
		rep.fail(Failed, ReasonReplayed, "")
	}
	return nil
}
