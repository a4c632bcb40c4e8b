package verify

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/seal"
	"github.com/mynaplat/mynaplat/wareki"
)

// Indication is the overall result (ETSI EN 319 102-1 §5.1.3).
type Indication string

// The three results.
const (
	TotalPassed   Indication = "TOTAL_PASSED"
	TotalFailed   Indication = "TOTAL_FAILED"
	Indeterminate Indication = "INDETERMINATE"
)

// SubIndication says why a result is not TOTAL_PASSED.
type SubIndication string

// The sub-indications this validator gives (EN 319 102-1 Table 5).
const (
	FormatFailure             SubIndication = "FORMAT_FAILURE"
	HashFailure               SubIndication = "HASH_FAILURE"
	SigCryptoFailure          SubIndication = "SIG_CRYPTO_FAILURE"
	Revoked                   SubIndication = "REVOKED"
	Expired                   SubIndication = "EXPIRED"
	NotYetValid               SubIndication = "NOT_YET_VALID"
	NoSigningCertificateFound SubIndication = "NO_SIGNING_CERTIFICATE_FOUND"
	NoCertificateChainFound   SubIndication = "NO_CERTIFICATE_CHAIN_FOUND"
	RevokedNoPOE              SubIndication = "REVOKED_NO_POE"
	NoPOE                     SubIndication = "NO_POE"
	TryLater                  SubIndication = "TRY_LATER"
	SigConstraintsFailure     SubIndication = "SIG_CONSTRAINTS_FAILURE"
)

// indicationOf is the indication each sub-indication belongs to.
var indicationOf = map[SubIndication]Indication{
	FormatFailure: TotalFailed, HashFailure: TotalFailed, SigCryptoFailure: TotalFailed,
	Revoked: TotalFailed, Expired: TotalFailed, NotYetValid: TotalFailed,
	NoSigningCertificateFound: Indeterminate, NoCertificateChainFound: Indeterminate,
	RevokedNoPOE: Indeterminate, NoPOE: Indeterminate, TryLater: Indeterminate,
	SigConstraintsFailure: Indeterminate,
}

// Formats of signed documents.
const (
	FormatCMS   = "cms"   // CAdES: a CMS SignedData, content enveloped
	FormatPAdES = "pades" // a PDF with a PAdES signature
	// FormatTimestamp is an RFC 3161 time-stamp token on its own (a .tst
	// file): it proves that a digest existed at a time.
	FormatTimestamp = "timestamp"
)

// DetectFormat tells a PDF, a time-stamp token and a CMS signature apart
// by their first bytes and content type.
func DetectFormat(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("%PDF-")):
		return FormatPAdES
	case cms.IsTimestampToken(data):
		return FormatTimestamp
	}
	return FormatCMS
}

// Document is one signed document to validate.
type Document struct {
	Name   string
	Format string // FormatCMS or FormatPAdES
	Data   []byte
	// Power is the signed 電子委任状 the document's author acts under, sent
	// with the document; nil when the author signs for themselves.
	Power []byte
	// Claimed is the organisation that delivered the document as its own
	// (the post box vouches for the delivering party), and Type the type it
	// gave. They count only when the signed content does not say (a PDF):
	// then the signer must hold that organisation's power for that type.
	Claimed *Issuer
	Type    string
	// OCSPs are OCSP answers kept beside a CMS document (a contract
	// timeline's validation data): like a PDF's DSS, one the JPKI CA signed
	// and produced at or after the signature time-stamp gives the signer's
	// status without asking the responder.
	OCSPs [][]byte
}

// DelegationQuery asks whether a signer acted within a power of attorney.
type DelegationQuery struct {
	Power           []byte
	CorporateNumber string
	DocType         string
	Signer          *x509.Certificate
	At              time.Time
}

// Delegation is the delegation part of a report.
type Delegation struct {
	// Result is PASSED, FAILED, or UNAVAILABLE (the check could not be made).
	Result          string    `json:"result"`
	Reason          string    `json:"reason,omitempty"`
	MessageJA       string    `json:"message_ja,omitempty"`
	MessageEN       string    `json:"message_en,omitempty"`
	PowerID         string    `json:"power_id,omitempty"`
	Corporation     string    `json:"corporation,omitempty"`
	CorporateNumber string    `json:"corporate_number,omitempty"`
	Representative  string    `json:"representative,omitempty"`
	Agent           string    `json:"agent,omitempty"`
	Powers          []string  `json:"powers,omitempty"`
	NotBefore       time.Time `json:"not_before,omitzero"`
	NotAfter        time.Time `json:"not_after,omitzero"`
}

// Delegation results.
const (
	DelegationPassed      = "PASSED"
	DelegationFailed      = "FAILED"
	DelegationUnavailable = "UNAVAILABLE"
)

// DelegationChecker answers a DelegationQuery: a Delegation with Result
// PASSED or FAILED (and the reason), or an error when it could not decide.
type DelegationChecker func(ctx context.Context, q DelegationQuery) (*Delegation, error)

// Policy is what a receiver trusts.
type Policy struct {
	// Signing checks signing certificates against the JPKI 署名用 CA and
	// its OCSP responder.
	Signing *jpki.SigningVerifier
	// TSARoots are the trusted time-stamp authorities' roots.
	TSARoots *x509.CertPool
	// Delegation checks documents that name an issuing organisation; nil
	// makes every such document INDETERMINATE.
	Delegation DelegationChecker
	// RequireTimestamp makes a signature without a time-stamp
	// INDETERMINATE/NO_POE. Without it, such a signature is judged at the
	// validation time.
	RequireTimestamp bool
	// SealRoots, when set, are the municipal seal CAs: a PDF sealed by one
	// of them (a kiosk certificate) is validated as seal.VerifyPDF checks
	// it, its status read from the CRL in its DSS.
	SealRoots *x509.CertPool
	Now       func() time.Time
}

// Signer is the signing certificate as the report shows it.
type Signer struct {
	Name      string    `json:"name"`
	Issuer    string    `json:"issuer"`
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
}

// Report is the validation of one document.
type Report struct {
	Document      string        `json:"document"`
	Format        string        `json:"format"`
	Indication    Indication    `json:"indication"`
	SubIndication SubIndication `json:"sub_indication,omitempty"`
	MessageJA     string        `json:"message_ja"`
	MessageEN     string        `json:"message_en"`
	Signer        *Signer       `json:"signer,omitempty"`
	// SigningTime is the time-stamp's time (the proof of existence).
	SigningTime *time.Time `json:"signing_time,omitempty"`
	TSA         string     `json:"tsa,omitempty"`
	// Revocation says what the responder said, at ValidatedAt, or the
	// OCSP answer kept in the PDF's DSS.
	Revocation string `json:"revocation,omitempty"`
	// Level is the PAdES baseline level the PDF reached (ETSI EN 319
	// 142-1 §6): B-B, B-T, B-LT (its DSS held what validated it) or B-LTA
	// (and a valid document time-stamp covers them).
	Level string `json:"level,omitempty"`
	// DocTimestamps are the times of the PDF's document time-stamps.
	DocTimestamps []time.Time `json:"doc_timestamps,omitempty"`
	// ClaimedTime is the time the signer wrote (a PDF's /M): a claim,
	// unlike SigningTime.
	ClaimedTime *time.Time `json:"claimed_signing_time,omitempty"`
	// Timestamps are every time-stamp checked: the signature's, then the
	// document time-stamps, or the token validated on its own.
	Timestamps []TimestampInfo `json:"timestamps,omitempty"`
	// Chain is the signer's chain to the trusted CA, end-entity first.
	Chain []CertInfo `json:"chain,omitempty"`
	// RevocationData is the revocation data used and where it came from.
	RevocationData *RevocationInfo `json:"revocation_data,omitempty"`
	// Certification is a PDF's certification signature in force (DocMDP).
	Certification *Certification `json:"certification,omitempty"`
	// Token is what a time-stamp token validated on its own covers.
	Token      *TokenInfo  `json:"token,omitempty"`
	Delegation *Delegation `json:"delegation,omitempty"`
	// Content is the signed content, when it is a post-box document.
	Content     *Content  `json:"content,omitempty"`
	ValidatedAt time.Time `json:"validated_at"`
	// SignerCert is the signing certificate itself, for callers that act
	// on it (reading the holder's new address from a moving notice).
	SignerCert *x509.Certificate `json:"-"`
	// Signed is the signed content (a PDF's signed bytes for PAdES).
	Signed []byte `json:"-"`
	// Signatures are a PDF's signatures and document time-stamps, each
	// judged on its own, in the order they were added; Indication is the
	// worst of them, and the fields above are the first signature's.
	Signatures []SignatureReport `json:"signatures,omitempty"`
}

// Passed reports whether the document is TOTAL_PASSED.
func (r *Report) Passed() bool { return r.Indication == TotalPassed }

func (r *Report) fail(sub SubIndication, ja, en string) *Report {
	r.Indication, r.SubIndication = indicationOf[sub], sub
	r.MessageJA, r.MessageEN = ja, en
	return r
}

// Validate validates one document. It always returns a report; errors of
// the document are its indication, never a Go error.
func (p *Policy) Validate(ctx context.Context, doc Document) *Report {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	r := &Report{Document: doc.Name, Format: doc.Format, ValidatedAt: now()}
	var sig *cms.Signature
	var err error
	var pdf *pdfFacts
	switch doc.Format {
	case FormatCMS:
		sig, err = cms.Verify(doc.Data, nil, p.TSARoots)
	case FormatTimestamp:
		return p.validateToken(doc, r)
	case FormatPAdES:
		if p.SealRoots != nil {
			if sealed := p.validateSealed(doc, r); sealed != nil {
				return sealed
			}
		}
		sigs, _ := cms.VerifyPDF(doc.Data, p.TSARoots)
		if countSignatures(sigs) > 1 {
			return p.validateSeveral(ctx, doc, r, sigs)
		}
		defer func() { r.Signatures = singleEntries(r, sigs, doc.Data) }()
		var ps *cms.PDFSignature
		ps, pdf, err = verifyPDF(doc.Data, p.TSARoots)
		if ps != nil {
			sig = &ps.Signature
			if !ps.SigningTime.IsZero() {
				t := ps.SigningTime
				r.ClaimedTime = &t
			}
			r.Certification = certificationOf(ps.Certification)
		}
		if pdf != nil {
			r.DocTimestamps = pdf.docTimestamps
		}
	default:
		return r.fail(FormatFailure, "対応していない文書形式です（"+doc.Format+"）。", "Unsupported document format ("+doc.Format+").")
	}
	return p.judge(ctx, doc, r, sig, pdf, err)
}

// judge fills r for one signature that cms read (sig, with err its
// failure), and pdf's validation data when it is in a PDF: the signer, its
// time-stamps, chain, revocation and power of attorney.
func (p *Policy) judge(ctx context.Context, doc Document, r *Report, sig *cms.Signature, pdf *pdfFacts, err error) *Report {
	if sig != nil && sig.Signer != nil {
		r.SignerCert = sig.Signer
		r.Signer = &Signer{Issuer: sig.Signer.Issuer.String(), Serial: jpki.Serial(sig.Signer.SerialNumber),
			NotBefore: sig.Signer.NotBefore, NotAfter: sig.Signer.NotAfter, Name: sig.Signer.Subject.CommonName}
		if h, herr := jpki.SigningHolder(sig.Signer); herr == nil {
			r.Signer.Name = h.Name
		}
	}
	if sig != nil && sig.Timestamp != nil {
		r.Timestamps = append(r.Timestamps, timestampInfo(TimestampSignature, sig.Timestamp))
	}
	if pdf != nil {
		for _, ts := range pdf.timestamps {
			r.Timestamps = append(r.Timestamps, timestampInfo(TimestampDocument, ts))
		}
	}
	if err != nil {
		return r.cmsFailure(err)
	}
	r.Signed = sig.Content
	// The content is what the signer signed, whatever the checks below
	// find: a receiver sees what a refused document says.
	if doc.Format == FormatCMS {
		if c, ok := ParseContent(sig.Content); ok {
			r.Content = c
		}
	}
	if err := p.Signing.Issued(sig.Signer); err != nil {
		return r.fail(NoCertificateChainFound, "署名者の証明書は公的個人認証サービスの署名用電子証明書ではありません。",
			"The signer's certificate is not a JPKI signing certificate.")
	}
	r.Chain = chainInfo([]*x509.Certificate{sig.Signer, p.Signing.CA})
	at := r.ValidatedAt
	if ts := sig.Timestamp; ts != nil {
		t := ts.Time
		r.SigningTime = &t
		at = t
		if ts.TSA != nil {
			r.TSA = ts.TSA.Subject.CommonName
		}
	} else if p.RequireTimestamp {
		return r.fail(NoPOE, "署名にタイムスタンプがないため、署名の時刻を確認できません。",
			"The signature has no time-stamp, so when it was made cannot be proven.")
	}
	if at.Before(sig.Signer.NotBefore) {
		return r.fail(NotYetValid, "署名の時刻に、署名者の証明書はまだ有効になっていませんでした。",
			"At the signing time the signer's certificate was not yet valid.")
	}
	if at.After(sig.Signer.NotAfter) {
		return r.fail(Expired, "署名の時刻に、署名者の証明書は有効期限が切れていました。",
			"At the signing time the signer's certificate had expired.")
	}
	st, err := p.revocation(ctx, sig, pdf, doc.OCSPs, r)
	r.RevocationData = revocationInfo(st, err)
	if err != nil {
		r.Revocation = "unknown: " + err.Error()
		return r.fail(TryLater, "署名者の証明書の失効情報を確認できませんでした。しばらくしてから再検証してください。",
			"The revocation status of the signer's certificate could not be confirmed. Validate again later.")
	}
	switch {
	case !st.Revoked && st.Archived:
		r.Revocation = "good (OCSP kept in the document's DSS, " + jst(st.ThisUpdate) + ")"
	case !st.Revoked:
		r.Revocation = "good (OCSP " + jst(st.ThisUpdate) + ")"
	case sig.Timestamp != nil && at.Before(st.RevokedAt):
		r.Revocation = fmt.Sprintf("revoked %s (%s), after the time-stamp", jst(st.RevokedAt), st.Reason)
	case sig.Timestamp != nil:
		r.Revocation = fmt.Sprintf("revoked %s (%s), before the time-stamp", jst(st.RevokedAt), st.Reason)
		return r.fail(Revoked, "署名の時刻より前に、署名者の証明書は失効していました。",
			"The signer's certificate was revoked before the signing time.")
	default:
		r.Revocation = fmt.Sprintf("revoked %s (%s)", jst(st.RevokedAt), st.Reason)
		return r.fail(RevokedNoPOE, "署名者の証明書は失効しており、タイムスタンプがないため失効前の署名か確認できません。",
			"The signer's certificate is revoked, and without a time-stamp the signature cannot be shown to predate it.")
	}
	issuer, docType := doc.Claimed, doc.Type
	if r.Content != nil {
		issuer, docType = r.Content.Issuer, r.Content.Type
	}
	if issuer != nil {
		if sub := p.delegation(ctx, r, doc, issuer, docType, at); sub != "" {
			return r
		}
	}
	r.Indication = TotalPassed
	r.MessageJA, r.MessageEN = "署名は有効です。", "The signature is valid."
	return r
}

// delegation checks the author's power of attorney and fails r when it does
// not hold; it returns the sub-indication it failed with, or "".
func (p *Policy) delegation(ctx context.Context, r *Report, doc Document, is *Issuer, docType string, at time.Time) SubIndication {
	if p.Delegation == nil {
		r.Delegation = &Delegation{Result: DelegationUnavailable, CorporateNumber: is.CorporateNumber, Corporation: is.Name}
		r.fail(TryLater, "発行者の権限（電子委任状）を確認できません。", "The issuer's authority (power of attorney) cannot be checked.")
		return TryLater
	}
	if len(doc.Power) == 0 {
		r.Delegation = &Delegation{Result: DelegationFailed, Reason: "no_power", CorporateNumber: is.CorporateNumber, Corporation: is.Name,
			MessageJA: "電子委任状が添付されていません。", MessageEN: "No power of attorney came with the document."}
		r.fail(SigConstraintsFailure, "署名者が "+is.Name+" を代理する権限を確認できません（電子委任状がありません）。",
			"The signer's authority to act for "+is.Name+" is not shown (no power of attorney).")
		return SigConstraintsFailure
	}
	d, err := p.Delegation(ctx, DelegationQuery{Power: doc.Power, CorporateNumber: is.CorporateNumber,
		DocType: docType, Signer: r.SignerCert, At: at})
	if err != nil {
		r.Delegation = &Delegation{Result: DelegationUnavailable, CorporateNumber: is.CorporateNumber, Corporation: is.Name}
		r.fail(TryLater, "電子委任状を確認できませんでした。しばらくしてから再検証してください。",
			"The power of attorney could not be checked. Validate again later.")
		return TryLater
	}
	r.Delegation = d
	if d.Result != DelegationPassed {
		r.fail(SigConstraintsFailure, "署名者に "+is.Name+" を代理してこの文書を発行する権限が確認できません："+d.MessageJA,
			"The signer's authority to issue this document for "+is.Name+" is not established: "+d.MessageEN)
		return SigConstraintsFailure
	}
	return ""
}

// jst writes a time as the pages do.
func jst(t time.Time) string { return t.In(wareki.JST()).Format("2006-01-02 15:04:05 JST") }

// cmsFailure maps what cms found to the report.
func (r *Report) cmsFailure(err error) *Report {
	switch {
	case errors.Is(err, cms.ErrHash):
		return r.fail(HashFailure, "文書が署名後に改ざんされています（ハッシュ値が一致しません）。",
			"The document was altered after it was signed (the digest does not match).")
	case errors.Is(err, cms.ErrSignature):
		return r.fail(SigCryptoFailure, "署名値が署名者の公開鍵で検証できません。",
			"The signature value does not verify with the signer's public key.")
	case errors.Is(err, cms.ErrNoSigner):
		return r.fail(NoSigningCertificateFound, "署名者の証明書が文書に含まれていません。",
			"The signer's certificate is not in the document.")
	case errors.Is(err, cms.ErrTimestamp):
		return r.fail(NoPOE, "タイムスタンプが正しくないため、署名の時刻を確認できません。",
			"The time-stamp is not valid, so when the signature was made cannot be proven.")
	case errors.Is(err, cms.ErrNoSignature):
		return r.fail(FormatFailure, "文書に署名がありません。", "The document is not signed.")
	case errors.Is(err, errExtended):
		return r.fail(FormatFailure, "PDF に署名の後から追記されています。", "The PDF was extended after it was signed.")
	case errors.Is(err, errDocTimestamp):
		return r.fail(NoPOE, "文書タイムスタンプが正しくありません（検証情報またはタイムスタンプが改ざんされたか、信頼できない時刻認証局です）。",
			"A document time-stamp is not valid (the validation data or the time-stamp was altered, or its TSA is not trusted).")
	}
	return r.fail(FormatFailure, "署名付き文書の形式が正しくありません。", "The signed document is malformed.")
}

var (
	errExtended     = errors.New("verify: the PDF was extended after its signature")
	errDocTimestamp = errors.New("verify: a document time-stamp is not valid")
)

// pdfFacts is what a PAdES document carries besides its signature.
type pdfFacts struct {
	dss           cms.ValidationData
	docTimestamps []time.Time
	// timestamps are the verified document time-stamps.
	timestamps []*cms.Timestamp
}

// verifyPDF checks a PDF with exactly one signature, followed by nothing
// but validation data and document time-stamps (PAdES B-LT and B-LTA),
// each of which must verify.
func verifyPDF(data []byte, roots *x509.CertPool) (*cms.PDFSignature, *pdfFacts, error) {
	sigs, err := cms.VerifyPDF(data, roots)
	if len(sigs) == 0 {
		if err == nil {
			err = cms.ErrNoSignature
		}
		return nil, nil, err
	}
	s := sigs[0]
	if s.DocTimeStamp {
		return nil, nil, fmt.Errorf("%w: the first signature is a document time-stamp", cms.ErrFormat)
	}
	if s.Err != nil {
		return &s, nil, s.Err
	}
	facts := &pdfFacts{}
	for _, d := range sigs[1:] {
		if !d.DocTimeStamp {
			return &s, nil, fmt.Errorf("%w: %d signatures, want 1", cms.ErrFormat, len(sigs))
		}
		if d.Err != nil {
			return &s, nil, fmt.Errorf("%w: %w", errDocTimestamp, d.Err)
		}
		facts.docTimestamps = append(facts.docTimestamps, d.Timestamp.Time)
		facts.timestamps = append(facts.timestamps, d.Timestamp)
	}
	if !s.OnlyLTVAfter {
		return &s, nil, errExtended
	}
	if facts.dss, err = cms.DSS(data); err != nil {
		return &s, nil, err
	}
	return &s, facts, nil
}

// revocation is the signer's status: from an OCSP answer in the PDF's DSS
// produced after the signature's time-stamp, when there is one (no
// network needed: B-LT), or else from the responder at the validation
// time. It sets r.Level. kept are the OCSP answers that came with a CMS
// document (Document.OCSPs), used as a PDF's DSS is.
func (p *Policy) revocation(ctx context.Context, sig *cms.Signature, pdf *pdfFacts, kept [][]byte, r *Report) (jpki.RevocationStatus, error) {
	if pdf != nil {
		r.Level = "B-B"
		if sig.Timestamp != nil {
			r.Level = "B-T"
		}
	}
	if pdf != nil && sig.Timestamp != nil && len(pdf.dss.OCSPs) > 0 {
		st, err := p.Signing.ArchivedRevocation(sig.Signer, pdf.dss.OCSPs, sig.Timestamp.Time)
		if err == nil {
			r.Level = "B-LT"
			if len(pdf.docTimestamps) > 0 {
				r.Level = "B-LTA"
			}
			return st, nil
		}
	}
	if pdf == nil && sig.Timestamp != nil && len(kept) > 0 {
		if st, err := p.Signing.ArchivedRevocation(sig.Signer, kept, sig.Timestamp.Time); err == nil {
			return st, nil
		}
	}
	return p.Signing.Revocation(ctx, sig.Signer, r.ValidatedAt)
}

// Extend makes a signed PDF long-term (ETSI EN 319 142-1 §5.4): it checks
// every signature and its time-stamp (B-T is needed: validation data must
// postdate a proof of existence), then adds a DSS with each signer's
// certificate and CA, an OCSP answer about each signer produced after its
// signature's time-stamp, and the chains of every time-stamp (B-LT); with
// st, a document time-stamp after it (B-LTA). A PDF with several
// signatures (a contract the agent and then the officer signed) gets the
// validation data of all of them in the one DSS. Extending a B-LTA file
// again adds what its last document time-stamp needs and a new one, before
// that one's TSA certificate expires.
func (p *Policy) Extend(ctx context.Context, data []byte, st cms.Stamper) ([]byte, error) {
	sigs, facts, err := verifyPDFAll(data, p.TSARoots)
	if err != nil {
		return nil, fmt.Errorf("verify: extend: %w", err)
	}
	var vd cms.ValidationData
	for _, ps := range sigs {
		sig := &ps.Signature
		if sig.Timestamp == nil {
			return nil, fmt.Errorf("verify: extend: %w: a signature has no time-stamp (B-T is needed)", cms.ErrFormat)
		}
		if err := p.Signing.Issued(sig.Signer); err != nil {
			return nil, fmt.Errorf("verify: extend: %w", err)
		}
		vd.Certs = append(vd.Certs, sig.Signer, p.Signing.CA)
		// A renewal keeps the answer the DSS has: the responder may no
		// longer answer for a certificate that has expired since. An
		// answer fetched for an earlier signature of the same signer
		// counts too when it is recent enough.
		kept := append(slices.Clone(facts.dss.OCSPs), vd.OCSPs...)
		if _, err := p.Signing.ArchivedRevocation(sig.Signer, kept, sig.Timestamp.Time); err != nil {
			answer, err := p.Signing.OCSPResponse(ctx, sig.Signer, sig.Timestamp.Time)
			if err != nil {
				return nil, fmt.Errorf("verify: extend: %w", err)
			}
			vd.OCSPs = append(vd.OCSPs, answer)
		}
		vd.Certs = append(vd.Certs, sig.Timestamp.Chain...)
	}
	for _, ts := range facts.timestamps {
		vd.Certs = append(vd.Certs, ts.Chain...)
	}
	out, err := cms.AddDSS(data, vd)
	if err != nil {
		return nil, fmt.Errorf("verify: extend: %w", err)
	}
	if st == nil {
		return out, nil
	}
	if out, err = cms.AddDocTimeStamp(ctx, out, st); err != nil {
		return nil, fmt.Errorf("verify: extend: %w", err)
	}
	return out, nil
}

// verifyPDFAll checks a PDF's signatures, in the order they were added,
// for Extend: each must verify, and the last may be followed by nothing but
// validation data and document time-stamps, each of which must verify.
func verifyPDFAll(data []byte, roots *x509.CertPool) ([]cms.PDFSignature, *pdfFacts, error) {
	all, err := cms.VerifyPDF(data, roots)
	if len(all) == 0 {
		if err == nil {
			err = cms.ErrNoSignature
		}
		return nil, nil, err
	}
	all = inOrder(all)
	if all[0].DocTimeStamp {
		return nil, nil, fmt.Errorf("%w: the first signature is a document time-stamp", cms.ErrFormat)
	}
	facts := &pdfFacts{}
	var sigs []cms.PDFSignature
	for _, s := range all {
		switch {
		case s.DocTimeStamp && s.Err != nil:
			return nil, nil, fmt.Errorf("%w: %w", errDocTimestamp, s.Err)
		case s.DocTimeStamp:
			facts.docTimestamps = append(facts.docTimestamps, s.Timestamp.Time)
			facts.timestamps = append(facts.timestamps, s.Timestamp)
		case len(facts.timestamps) > 0:
			return nil, nil, fmt.Errorf("%w: a signature after a document time-stamp", cms.ErrFormat)
		case s.Err != nil:
			return nil, nil, s.Err
		default:
			sigs = append(sigs, s)
		}
	}
	if !sigs[len(sigs)-1].OnlyLTVAfter {
		return nil, nil, errExtended
	}
	if facts.dss, err = cms.DSS(data); err != nil {
		return nil, nil, err
	}
	return sigs, facts, nil
}

// validateSealed validates a PDF sealed by a municipality (a kiosk
// certificate) with seal.VerifyPDF; nil when the PDF is not signed by a
// seal of SealRoots. The seal CA has no online status service: without a
// CRL in the DSS issued after the time-stamp (B-LT) the result is
// INDETERMINATE.
func (p *Policy) validateSealed(doc Document, r *Report) *Report {
	rep, err := seal.VerifyPDF(doc.Data, p.SealRoots, p.TSARoots)
	if rep == nil || len(rep.Signatures) != 1 || rep.Signatures[0].Chain == nil {
		return nil
	}
	s := rep.Signatures[0]
	r.SignerCert = s.Signer
	r.Signer = &Signer{Name: s.Signer.Subject.CommonName, Issuer: s.Signer.Issuer.String(), Serial: jpki.Serial(s.Signer.SerialNumber),
		NotBefore: s.Signer.NotBefore, NotAfter: s.Signer.NotAfter}
	if !s.Timestamp.IsZero() {
		t := s.Timestamp
		r.SigningTime = &t
	}
	r.Level, r.DocTimestamps, r.Revocation = rep.Level, rep.DocTimestamps, s.Revocation
	r.Chain, r.Certification = chainInfo(s.Chain), certificationOf(s.Certification)
	if !s.SigningTime.IsZero() {
		t := s.SigningTime
		r.ClaimedTime = &t
	}
	// seal.VerifyPDF gives times only; the TSAs are read again here.
	if sigs, _ := cms.VerifyPDF(doc.Data, p.TSARoots); len(sigs) > 0 {
		for i, d := range sigs {
			switch {
			case d.Err != nil || d.Timestamp == nil:
			case i == 0 && !d.DocTimeStamp:
				r.Timestamps = append(r.Timestamps, timestampInfo(TimestampSignature, d.Timestamp))
			case d.DocTimeStamp:
				r.Timestamps = append(r.Timestamps, timestampInfo(TimestampDocument, d.Timestamp))
			}
		}
	}
	if s.Revocation != "" {
		r.RevocationData = &RevocationInfo{Source: SourceDSSCRL, Status: "good", Detail: s.Revocation,
			Time: newestCRL(doc.Data, s.Chain)}
		if strings.HasPrefix(s.Revocation, "revoked") {
			r.RevocationData.Status = "revoked"
		}
	}
	switch {
	case errors.Is(err, seal.ErrRevoked):
		return r.fail(Revoked, "署名の時刻より前に、公印の証明書は失効していました。", "The seal's certificate was revoked before the signing time.")
	case errors.Is(err, cms.ErrTimestamp):
		return r.fail(NoPOE, "タイムスタンプが正しくないため、署名の時刻を確認できません。",
			"A time-stamp is not valid, so when the seal was applied cannot be proven.")
	case err != nil:
		return r.cmsFailure(err)
	case s.Timestamp.IsZero() && p.RequireTimestamp:
		return r.fail(NoPOE, "公印の署名にタイムスタンプがないため、署名の時刻を確認できません。",
			"The seal's signature has no time-stamp, so when it was applied cannot be proven.")
	case s.Revocation == "":
		return r.fail(TryLater, "公印の証明書の失効情報が文書にありません（公印の認証局はオンラインの失効確認を提供していません）。",
			"The document holds no revocation data for the seal's certificate (the seal CA offers no online status).")
	}
	r.Indication = TotalPassed
	r.MessageJA, r.MessageEN = "公印の署名は有効です。", "The seal's signature is valid."
	return r
}

// newestCRL is the thisUpdate of the newest CRL in a PDF's DSS signed by
// the issuer of chain[0] (what seal.VerifyPDF read the status from); zero
// when there is none.
func newestCRL(pdf []byte, chain []*x509.Certificate) time.Time {
	var newest time.Time
	vd, err := cms.DSS(pdf)
	if err != nil || len(chain) < 2 {
		return newest
	}
	for _, der := range vd.CRLs {
		crl, err := x509.ParseRevocationList(der)
		if err == nil && crl.CheckSignatureFrom(chain[1]) == nil && crl.ThisUpdate.After(newest) {
			newest = crl.ThisUpdate
		}
	}
	return newest
}

// Content is the signed content of a post-box document: a JSON object any
// receiver can read and show, whose type and issuer the validation uses.
type Content struct {
	// Profile is ContentProfile.
	Profile string `json:"profile"`
	// Type is the document type, e.g. 保険料控除証明書 or 申告書.
	Type  string `json:"type"`
	Title string `json:"title"`
	// Issuer is the organisation the signer acts for; nil when the signer
	// writes in their own name.
	Issuer   *Issuer   `json:"issuer,omitempty"`
	IssuedAt time.Time `json:"issued_at"`
	// To names the receiver the document is meant for, if any.
	To string `json:"to,omitempty"`
	// Fields are what the document says, in order.
	Fields []Field `json:"fields"`
	// Attachments bind other documents to this one by digest (an
	// application and the certificates sent with it).
	Attachments []Attachment `json:"attachments,omitempty"`
}

// ContentProfile marks a post-box document's content.
const ContentProfile = "mynaplat-postbox-doc/1"

// Issuer is an organisation by its 法人番号.
type Issuer struct {
	CorporateNumber string `json:"corporate_number"`
	Name            string `json:"name"`
}

// Field is one labelled value of a document.
type Field struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// Attachment names a document bound to another by its SHA-256 (hex).
type Attachment struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	SHA256 string `json:"sha256"`
}

// ParseContent reads signed content as a post-box document.
func ParseContent(b []byte) (*Content, bool) {
	var c Content
	if json.Unmarshal(b, &c) != nil || c.Profile != ContentProfile || c.Type == "" {
		return nil, false
	}
	return &c, true
}

// Marshal is the content's signed form.
func (c *Content) Marshal() ([]byte, error) {
	c.Profile = ContentProfile
	return json.Marshal(c)
}
