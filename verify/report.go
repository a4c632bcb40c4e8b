package verify

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/jpki"
)

// This file is the detail of a report that ETSI EN 319 102-1 §5.1.3 asks a
// validation report to carry beyond the indication: the time-stamps, the
// chain, the revocation data and where it came from, and a PDF's
// certification. One Report is rendered three ways: JSON (its tags), text
// (WriteText) and HTML (HTML and WritePage).

// Kinds of time-stamp in a report.
const (
	TimestampSignature = "signature" // over the signature value (RFC 3161 Appendix A): the signature's proof of existence
	TimestampDocument  = "document"  // a PDF document time-stamp (ETSI EN 319 142-1 §5.4.3)
	TimestampToken     = "token"     // a token given on its own
)

// TimestampInfo is one time-stamp the validation relied on.
type TimestampInfo struct {
	Kind string    `json:"kind"`
	Time time.Time `json:"time"`
	// Accuracy is the TSA's stated accuracy ("" when not stated).
	Accuracy string `json:"accuracy,omitempty"`
	TSA      string `json:"tsa,omitempty"`
	Serial   string `json:"serial,omitempty"`
}

// CertInfo is one certificate of a chain, end-entity first.
type CertInfo struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	SHA256    string    `json:"sha256"`
}

// Sources of revocation data.
const (
	SourceDSSOCSP       = "dss-ocsp"       // an OCSP answer kept in the PDF's DSS
	SourceDSSCRL        = "dss-crl"        // a CRL kept in the PDF's DSS
	SourceOCSPResponder = "ocsp-responder" // asked of the JPKI centre's responder now
)

// RevocationInfo is the revocation data a signer's status was read from.
type RevocationInfo struct {
	Source string `json:"source"`
	// Status is good, revoked or unknown.
	Status string `json:"status"`
	// Time is when the data says the status was known (OCSP thisUpdate).
	Time      time.Time `json:"time,omitzero"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	Detail    string    `json:"detail,omitempty"`
}

// Certification is a PDF's certification signature (DocMDP, PDF 32000-1
// §12.8.2.2): which changes the certifier allowed after it.
type Certification struct {
	P         int    `json:"p"`
	MeaningJA string `json:"meaning_ja"`
	MeaningEN string `json:"meaning_en"`
}

// certificationOf names the DocMDP permission levels.
func certificationOf(p int) *Certification {
	switch p {
	case 1:
		return &Certification{1, "変更不可（検証情報と文書タイムスタンプの追加のみ）", "no changes (only validation data and document time-stamps may be added)"}
	case 2:
		return &Certification{2, "フォーム入力と署名のみ可", "form filling and signing only"}
	case 3:
		return &Certification{3, "フォーム入力・署名・注釈のみ可", "form filling, signing and annotations only"}
	}
	return nil
}

// TokenInfo is what a time-stamp token given on its own covers.
type TokenInfo struct {
	HashAlgorithm string `json:"hash_algorithm"`
	// Imprint is the hex of the time-stamped digest.
	Imprint string `json:"imprint"`
}

func certInfo(c *x509.Certificate) CertInfo {
	sum := sha256.Sum256(c.Raw)
	return CertInfo{Subject: c.Subject.String(), Issuer: c.Issuer.String(), Serial: jpki.Serial(c.SerialNumber),
		NotBefore: c.NotBefore, NotAfter: c.NotAfter, SHA256: hex.EncodeToString(sum[:])}
}

func chainInfo(chain []*x509.Certificate) []CertInfo {
	out := make([]CertInfo, 0, len(chain))
	for _, c := range chain {
		out = append(out, certInfo(c))
	}
	return out
}

func timestampInfo(kind string, ts *cms.Timestamp) TimestampInfo {
	ti := TimestampInfo{Kind: kind, Time: ts.Time}
	if ts.Accuracy > 0 {
		ti.Accuracy = ts.Accuracy.String()
	}
	if ts.TSA != nil {
		ti.TSA = ts.TSA.Subject.CommonName
	}
	if ts.Serial != nil {
		ti.Serial = jpki.Serial(ts.Serial)
	}
	return ti
}

// WriteText writes the report as lines of text, for a terminal.
func (r *Report) WriteText(out io.Writer) {
	utc := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	fmt.Fprintf(out, "%s: %s", r.Document, r.Indication)
	if r.SubIndication != "" {
		fmt.Fprintf(out, " / %s", r.SubIndication)
	}
	fmt.Fprintf(out, "\n  %s\n  %s\n", r.MessageJA, r.MessageEN)
	fmt.Fprintf(out, "  format: %s\n", r.Format)
	if r.Signer != nil {
		fmt.Fprintf(out, "  signer: %s (%s, serial %s)\n", r.Signer.Name, r.Signer.Issuer, r.Signer.Serial)
	}
	if r.ClaimedTime != nil {
		fmt.Fprintf(out, "  claimed signing time: %s\n", utc(*r.ClaimedTime))
	}
	if r.SigningTime != nil {
		fmt.Fprintf(out, "  proven signing time: %s (%s)\n", utc(*r.SigningTime), r.TSA)
	}
	for _, t := range r.Timestamps {
		fmt.Fprintf(out, "  time-stamp (%s): %s", t.Kind, utc(t.Time))
		if t.TSA != "" {
			fmt.Fprintf(out, " by %s", t.TSA)
		}
		if t.Serial != "" {
			fmt.Fprintf(out, ", serial %s", t.Serial)
		}
		fmt.Fprintln(out)
	}
	if r.Token != nil {
		fmt.Fprintf(out, "  time-stamped digest: %s %s\n", r.Token.HashAlgorithm, r.Token.Imprint)
	}
	for i, c := range r.Chain {
		fmt.Fprintf(out, "  chain[%d]: %s (serial %s, %s – %s)\n", i, c.Subject, c.Serial, utc(c.NotBefore), utc(c.NotAfter))
	}
	if r.Level != "" {
		fmt.Fprintf(out, "  level: PAdES %s\n", r.Level)
	}
	if c := r.Certification; c != nil {
		fmt.Fprintf(out, "  certification: DocMDP P=%d (%s)\n", c.P, c.MeaningEN)
	}
	if rd := r.RevocationData; rd != nil {
		fmt.Fprintf(out, "  revocation: %s from %s", rd.Status, rd.Source)
		if !rd.Time.IsZero() {
			fmt.Fprintf(out, " at %s", utc(rd.Time))
		}
		fmt.Fprintln(out)
	}
	if r.Revocation != "" {
		fmt.Fprintf(out, "  revocation detail: %s\n", r.Revocation)
	}
	if d := r.Delegation; d != nil {
		fmt.Fprintf(out, "  power of attorney: %s", d.Result)
		if d.Reason != "" {
			fmt.Fprintf(out, " (%s)", d.Reason)
		}
		if d.Corporation != "" {
			fmt.Fprintf(out, " for %s %s", d.Corporation, d.CorporateNumber)
		}
		if d.Agent != "" {
			fmt.Fprintf(out, ", agent %s", d.Agent)
		}
		if len(d.Powers) > 0 {
			fmt.Fprintf(out, ", powers %s", strings.Join(d.Powers, ", "))
		}
		fmt.Fprintln(out)
	}
	for _, e := range r.Signatures {
		fmt.Fprintf(out, "  signature %d (%s): %s", e.Index, e.Kind, e.Indication)
		if e.SubIndication != "" {
			fmt.Fprintf(out, " / %s", e.SubIndication)
		}
		fmt.Fprintf(out, ", signs revision %d of %d (%d bytes)", e.Revision, e.Revisions, e.CoveredBytes)
		if e.Signer != nil {
			fmt.Fprintf(out, ", by %s", e.Signer.Name)
		}
		for _, t := range e.Timestamps {
			fmt.Fprintf(out, ", %s time-stamp %s", t.Kind, utc(t.Time))
		}
		if e.Certification != nil {
			fmt.Fprintf(out, ", DocMDP P=%d", e.Certification.P)
		}
		fmt.Fprintf(out, "\n    %s\n", e.MessageEN)
		if e.NoteEN != "" {
			fmt.Fprintf(out, "    %s\n", e.NoteEN)
		}
	}
	fmt.Fprintf(out, "  validated at: %s\n", utc(r.ValidatedAt))
}

// revocationInfo says where a JPKI signer's status came from.
func revocationInfo(st jpki.RevocationStatus, err error) *RevocationInfo {
	if err != nil {
		return &RevocationInfo{Source: SourceOCSPResponder, Status: "unknown", Detail: err.Error()}
	}
	ri := &RevocationInfo{Source: SourceOCSPResponder, Status: "good", Time: st.ThisUpdate, Detail: st.Source}
	if st.Archived {
		ri.Source = SourceDSSOCSP
	}
	if st.Revoked {
		ri.Status, ri.RevokedAt = "revoked", st.RevokedAt
	}
	return ri
}

// validateToken validates a time-stamp token given on its own: its
// signature and its TSA's chain at genTime. It proves that the digest it
// carries existed then; which document has that digest is the reader's to
// compare (the report shows it).
func (p *Policy) validateToken(doc Document, r *Report) *Report {
	ts, h, imprint, err := cms.VerifyTimestampToken(doc.Data, p.TSARoots)
	if imprint != nil {
		r.Token = &TokenInfo{HashAlgorithm: h.String(), Imprint: hex.EncodeToString(imprint)}
	}
	if err != nil {
		if !cms.IsTimestampToken(doc.Data) {
			return r.fail(FormatFailure, "タイムスタンプトークンとして読み取れません。", "This is not a time-stamp token.")
		}
		return r.fail(NoPOE, "タイムスタンプトークンが正しくないか、信頼できない時刻認証局のものです。",
			"The time-stamp token is not valid, or its TSA is not trusted.")
	}
	t := ts.Time
	r.SigningTime, r.TSA = &t, ts.TSA.Subject.CommonName
	r.Timestamps = []TimestampInfo{timestampInfo(TimestampToken, ts)}
	r.Chain = chainInfo(ts.Chain)
	r.Indication = TotalPassed
	r.MessageJA, r.MessageEN = "タイムスタンプは有効です。記載のハッシュ値のデータがこの時刻に存在していました。",
		"The time-stamp is valid: data with the digest shown existed at its time."
	return r
}
