package verify

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/mynaplat/mynaplat/cms"
)

// This file reports a PDF signature by signature (ETSI EN 319 102-1 §5.1.3
// asks for a result per signature): a certification followed by an
// approval, or two approvals, each judged over the revision it signs, and
// every document time-stamp; the document's indication is the worst of
// them.

// Kinds of entry in Report.Signatures.
const (
	KindCertification = "certification"      // the signature the catalog's /Perms /DocMDP names
	KindApproval      = "approval"           // any other signature
	KindDocTimestamp  = "document-timestamp" // /Type /DocTimeStamp (ETSI EN 319 142-1 §5.4.3)
)

// SignatureReport is one signature or document time-stamp of a PDF.
type SignatureReport struct {
	// Index counts from 1 in the order they were added.
	Index int    `json:"index"`
	Kind  string `json:"kind"`
	// Revision is the revision of the file it signs (1 is the original;
	// an incremental update adds one), of Revisions; CoveredBytes is that
	// revision's length, what its /ByteRange spans.
	Revision      int           `json:"revision"`
	Revisions     int           `json:"revisions"`
	CoveredBytes  int64         `json:"covered_bytes"`
	Indication    Indication    `json:"indication"`
	SubIndication SubIndication `json:"sub_indication,omitempty"`
	MessageJA     string        `json:"message_ja"`
	MessageEN     string        `json:"message_en"`
	Signer        *Signer       `json:"signer,omitempty"`
	SigningTime   *time.Time    `json:"signing_time,omitempty"`
	// Timestamps are its signature time-stamp, or the document time-stamp.
	Timestamps     []TimestampInfo `json:"timestamps,omitempty"`
	Chain          []CertInfo      `json:"chain,omitempty"`
	RevocationData *RevocationInfo `json:"revocation_data,omitempty"`
	Certification  *Certification  `json:"certification,omitempty"`
	// NoteJA and NoteEN say what the revisions after it mean for it (the
	// certification's DocMDP permission).
	NoteJA string `json:"note_ja,omitempty"`
	NoteEN string `json:"note_en,omitempty"`
}

// countSignatures counts the signatures of a PDF that are not document
// time-stamps.
func countSignatures(sigs []cms.PDFSignature) int {
	n := 0
	for _, s := range sigs {
		if !s.DocTimeStamp {
			n++
		}
	}
	return n
}

// revisionOf is the number of the revision of data that ends at end: the
// count of %%EOF markers up to there (each incremental update ends with
// one, PDF 32000-1 §7.5.6).
func revisionOf(data []byte, end int64) int {
	end = min(max(end, 0), int64(len(data)))
	return max(1, bytes.Count(data[:end], []byte("%%EOF")))
}

// entryOf is a judged signature's part of the report.
func entryOf(r *Report, s cms.PDFSignature, data []byte) SignatureReport {
	e := SignatureReport{Kind: KindApproval, Revision: revisionOf(data, s.Covers), Revisions: revisionOf(data, int64(len(data))),
		CoveredBytes: s.Covers, Indication: r.Indication, SubIndication: r.SubIndication, MessageJA: r.MessageJA, MessageEN: r.MessageEN,
		Signer: r.Signer, SigningTime: r.SigningTime, Chain: r.Chain, RevocationData: r.RevocationData, Certification: r.Certification}
	if s.Certification > 0 {
		e.Kind = KindCertification
	}
	for _, t := range r.Timestamps {
		if t.Kind == TimestampSignature {
			e.Timestamps = append(e.Timestamps, t)
		}
	}
	return e
}

// docTimestampEntry is a document time-stamp's part of the report.
func docTimestampEntry(s cms.PDFSignature, data []byte) SignatureReport {
	e := SignatureReport{Kind: KindDocTimestamp, Revision: revisionOf(data, s.Covers), Revisions: revisionOf(data, int64(len(data))),
		CoveredBytes: s.Covers, Indication: TotalPassed,
		MessageJA: "文書タイムスタンプは有効です。", MessageEN: "The document time-stamp is valid."}
	if s.Timestamp != nil {
		e.Timestamps = []TimestampInfo{timestampInfo(TimestampDocument, s.Timestamp)}
	}
	if s.Err != nil || s.Timestamp == nil {
		e.Indication, e.SubIndication = Indeterminate, NoPOE
		e.MessageJA, e.MessageEN = "文書タイムスタンプが正しくありません（改ざんされたか、信頼できない時刻認証局です）。",
			"The document time-stamp is not valid (altered, or its TSA is not trusted)."
	}
	return e
}

// inOrder sorts a PDF's signatures by the revision they sign.
func inOrder(sigs []cms.PDFSignature) []cms.PDFSignature {
	out := slices.Clone(sigs)
	slices.SortStableFunc(out, func(a, b cms.PDFSignature) int { return int(a.Covers - b.Covers) })
	return out
}

// singleEntries lists the one signature of r's PDF (already judged into r)
// and its document time-stamps; nil when the PDF could not be read.
func singleEntries(r *Report, sigs []cms.PDFSignature, data []byte) []SignatureReport {
	var out []SignatureReport
	for _, s := range inOrder(sigs) {
		if s.DocTimeStamp {
			out = append(out, docTimestampEntry(s, data))
		} else {
			out = append(out, entryOf(r, s, data))
		}
		out[len(out)-1].Index = len(out)
	}
	return out
}

// Severity orders indications, worst highest: a document of several
// parts (signatures, a contract's timeline) takes its worst part's.
func (i Indication) Severity() int {
	switch i {
	case TotalPassed:
		return 0
	case Indeterminate:
		return 1
	}
	return 2
}

// validateSeveral validates a PDF with more than one signature. Each
// signature is judged over the revision it signs; the last may be followed
// only by validation data and document time-stamps, like a single one.
// Revisions between two signatures are not compared object by object: a
// signature covers its revision, and the report says which. A
// certification with DocMDP P=1 permits no change but validation data and
// document time-stamps (PDF 32000-1 §12.8.2.2, ETSI EN 319 142-1 §5.4), so
// an approval after it is a change the certifier did not permit: the
// certification is INDETERMINATE/SIG_CONSTRAINTS_FAILURE, as a strict
// validator (Adobe) reports it, while the approval's own signature is
// judged on its merits. The power of attorney the document is delivered
// under (doc.Claimed) is checked for the first signature, the issuer's.
func (p *Policy) validateSeveral(ctx context.Context, doc Document, r *Report, all []cms.PDFSignature) *Report {
	sigs := inOrder(all)
	facts := &pdfFacts{}
	facts.dss, _ = cms.DSS(doc.Data)
	lastSig := -1
	for i, s := range sigs {
		if !s.DocTimeStamp {
			lastSig = i
		}
	}
	certP, certAt := 0, -1
	var entries []SignatureReport
	var first *Report
	for i, s := range sigs {
		if s.DocTimeStamp {
			entries = append(entries, docTimestampEntry(s, doc.Data))
			continue
		}
		ri := &Report{Document: r.Document, Format: r.Format, ValidatedAt: r.ValidatedAt}
		if !s.SigningTime.IsZero() {
			t := s.SigningTime
			ri.ClaimedTime = &t
		}
		ri.Certification = certificationOf(s.Certification)
		if s.Certification > 0 {
			certP, certAt = s.Certification, len(entries)
		}
		// The document time-stamps after this signature are its B-LTA.
		f := &pdfFacts{dss: facts.dss}
		for _, d := range sigs[i+1:] {
			if d.DocTimeStamp && d.Err == nil && d.Timestamp != nil {
				f.docTimestamps = append(f.docTimestamps, d.Timestamp.Time)
				f.timestamps = append(f.timestamps, d.Timestamp)
			}
		}
		err := s.Err
		if err == nil && i == lastSig && !s.OnlyLTVAfter {
			err = errExtended
		}
		d := doc
		if first != nil {
			d.Claimed = nil
		}
		var sig *cms.Signature
		if s.Signature.Signer != nil || err == nil {
			sig = &s.Signature
		}
		p.judge(ctx, d, ri, sig, f, err)
		if first == nil {
			first = ri
		}
		entries = append(entries, entryOf(ri, s, doc.Data))
	}
	if certAt >= 0 {
		for j := certAt + 1; j < len(entries); j++ {
			if entries[j].Kind == KindDocTimestamp {
				continue
			}
			c := &entries[certAt]
			switch certP {
			case 1:
				entries[j].NoteJA = fmt.Sprintf("署名 %d の証明（DocMDP P=1）は変更を一切認めていません（検証情報と文書タイムスタンプの追加のみ可）。この承認署名は証明者が認めていない変更です。", certAt+1)
				entries[j].NoteEN = fmt.Sprintf("Signature %d certifies the document with DocMDP P=1, which permits no changes but validation data and document time-stamps: this approval signature is a change the certifier did not permit.", certAt+1)
				if c.Indication == TotalPassed {
					c.Indication, c.SubIndication = Indeterminate, SigConstraintsFailure
					c.MessageJA = "署名は有効ですが、証明（DocMDP P=1）の後に承認署名が追加されており、証明者が認めた変更の範囲を超えています。"
					c.MessageEN = "The signature is valid, but an approval signature was added after the certification (DocMDP P=1), a change beyond what the certifier permitted."
				}
				c.NoteJA = fmt.Sprintf("署名 %d（承認署名）がこの証明の後に追加されています。", j+1)
				c.NoteEN = fmt.Sprintf("Signature %d (an approval) was added after this certification.", j+1)
			default:
				entries[j].NoteJA = fmt.Sprintf("署名 %d の証明（DocMDP P=%d）は署名の追加を認めています。", certAt+1, certP)
				entries[j].NoteEN = fmt.Sprintf("Signature %d certifies the document with DocMDP P=%d, which permits adding signatures.", certAt+1, certP)
			}
		}
	}
	for i := range entries {
		entries[i].Index = i + 1
	}
	// The document's fields are the first signature's; its indication the
	// worst entry's, and its message names that entry.
	*r = *first
	r.Signatures = entries
	worst := -1
	for i, e := range entries {
		if worst < 0 || e.Indication.Severity() > entries[worst].Indication.Severity() {
			worst = i
		}
	}
	if w := entries[worst]; w.Indication != TotalPassed {
		r.Indication, r.SubIndication = w.Indication, w.SubIndication
		r.MessageJA = fmt.Sprintf("%d 件の署名・タイムスタンプのうち、%d 番目：%s", len(entries), w.Index, w.MessageJA)
		r.MessageEN = fmt.Sprintf("Of %d signatures and time-stamps, number %d: %s", len(entries), w.Index, w.MessageEN)
	} else {
		r.Indication, r.SubIndication = TotalPassed, ""
		r.MessageJA = fmt.Sprintf("%d 件の署名・タイムスタンプはすべて有効です。", len(entries))
		r.MessageEN = fmt.Sprintf("All %d signatures and time-stamps are valid.", len(entries))
	}
	return r
}
