package contract

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/digitorus/pdf"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/verify"
	"github.com/mynaplat/mynaplat/wareki"
)

// Terms are what a contract says. The body fills them from the tender and
// the winning bid.
type Terms struct {
	// ID is the contract's number, unique at the body.
	ID string
	// Body is the procuring body (the 発注者), e.g. 須坂市.
	Body string
	// TenderID and Item are the tender's number and its 件名.
	TenderID, Item string
	// Winner and CorporateNumber are the winner's 商号 and 13-digit 法人番号;
	// Agent is the name of the agent who signs for it.
	Winner, CorporateNumber, Agent string
	// PriceYen is the contract price including consumption tax.
	PriceYen int64
	// DeliveryDate and DeliveryPlace are the 納入期限 and 納入場所.
	DeliveryDate  time.Time
	DeliveryPlace string
	// PaymentTerms is the 支払条件 (e.g. 検査合格後、適法な請求書を受理した日から30日以内).
	PaymentTerms string
	// Date is the contract's date (the day the body generates it).
	Date time.Time
}

// Clauses are the 契約条項: a short fixed text, the same in every contract
// (a real body's clauses are pages long; the demo keeps the points that the
// steps after the contract follow).
var clauses = []municipal.Row{
	{Label: "第1条", Value: "受注者は、上記の物品を納入期限までに納入場所へ納入する。"},
	{Label: "第2条", Value: "発注者は、納入後10日以内に検査を行い、その結果を通知する。"},
	{Label: "第3条", Value: "受注者は、検査合格後に物品の受領を確認し、代金を請求する。"},
	{Label: "第4条", Value: "発注者は、適法な請求を受けた日から30日以内に支払う。"},
	{Label: "第5条", Value: "この契約に定めのない事項は、双方が協議して定める。"},
}

// Validate refuses terms with an empty or wrong entry.
func (t *Terms) Validate() error {
	for _, s := range []string{t.ID, t.Body, t.TenderID, t.Item, t.Winner, t.Agent, t.DeliveryPlace, t.PaymentTerms} {
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("%w: an entry is empty", ErrInvalid)
		}
	}
	if len(t.CorporateNumber) != 13 || strings.Trim(t.CorporateNumber, "0123456789") != "" {
		return fmt.Errorf("%w: the corporate number is not 13 digits", ErrInvalid)
	}
	if t.PriceYen <= 0 {
		return fmt.Errorf("%w: the price is not positive", ErrInvalid)
	}
	if t.DeliveryDate.IsZero() || t.Date.IsZero() || t.DeliveryDate.Before(t.Date) {
		return fmt.Errorf("%w: the delivery date is before the contract's date", ErrInvalid)
	}
	return nil
}

// document is the contract laid out as a municipal.Document: the layout and
// the embedded BIZ UD fonts of the certificates, one piece of code for
// every PDF the project generates.
func (t *Terms) document() (*municipal.Document, error) {
	due, err := wareki.Long(t.DeliveryDate)
	if err != nil {
		return nil, fmt.Errorf("%w: delivery date: %w", ErrInvalid, err)
	}
	return &municipal.Document{Title: title, Number: t.ID, NumberLabel: "契約番号", Issued: t.Date,
		Signatory: "発注者　" + t.Body,
		Sections: []municipal.Section{{Rows: []municipal.Row{
			{Label: "発注者", Value: t.Body},
			{Label: "調達案件番号", Value: t.TenderID},
			{Label: "件名", Value: t.Item},
			{Label: "受注者（商号）", Value: t.Winner},
			{Label: "法人番号", Value: t.CorporateNumber},
			{Label: "受注者代理人", Value: t.Agent},
			{Label: "契約金額（税込）", Value: municipal.Yen(t.PriceYen)},
			{Label: "納入期限", Value: due},
			{Label: "納入場所", Value: t.DeliveryPlace},
			{Label: "支払条件", Value: t.PaymentTerms},
		}}, {Heading: "契約条項", Rows: clauses}},
		Attestation: "この契約の証として、受注者代理人及び発注者が電子署名する。"}, nil
}

// Render makes the unsigned contract PDF. The same terms give the same
// bytes (the renderer writes no creation time and no random file ID), so a
// contract can be made again and compared by its hash.
func Render(r *municipal.Renderer, t Terms) ([]byte, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	d, err := t.document()
	if err != nil {
		return nil, err
	}
	if err := r.Fit(d); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	b, _, err := r.Render(d, municipal.Decorations{})
	if err != nil {
		return nil, fmt.Errorf("contract: render: %w", err)
	}
	return b, nil
}

// Party is who signs: the winner's agent or the body's officer.
type Party string

// The two parties.
const (
	Agent   Party = "agent"
	Officer Party = "officer"
)

// SignOptions are one party's signature on the contract: the card's
// signing key and certificate (the terminal kit's session in the real
// flow), the TSA for the signature time-stamp, and the signer's claimed
// time.
type SignOptions struct {
	Signer  crypto.Signer
	Cert    *x509.Certificate
	Stamper cms.Stamper
	When    time.Time
}

// Sign adds party's PAdES signature to the contract: the agent signs the
// unsigned PDF, the officer the PDF the agent signed (ErrSignOrder
// otherwise). Both are approval signatures, not certifications: a
// certification with DocMDP P=1 forbids the second signature (the
// validator reports SIG_CONSTRAINTS_FAILURE), and neither party alone
// fixes the document for the other (docs/pades.md). Each carries a
// signature time-stamp (B-T); LongTerm makes the result B-LTA.
func Sign(ctx context.Context, pdf []byte, party Party, o SignOptions) ([]byte, error) {
	if o.Stamper == nil {
		return nil, errors.New("contract: sign: a time-stamp authority is needed (PAdES B-T)")
	}
	sigs, err := signatures(pdf)
	if err != nil {
		return nil, err
	}
	want := map[Party]int{Agent: 0, Officer: 1}
	n, ok := want[party]
	if !ok || len(sigs) != n {
		return nil, fmt.Errorf("%w: %s signs a PDF with %d signatures", ErrSignOrder, party, len(sigs))
	}
	// Two parties: the officer cannot be the agent who signed first.
	if n == 1 && sigs[0].Signer != nil && sigs[0].Signer.Equal(o.Cert) {
		return nil, fmt.Errorf("%w: the officer's certificate signed the contract as the agent", ErrWrongParty)
	}
	return cms.SignPDF(ctx, pdf, cms.PDFOptions{SignOptions: cms.SignOptions{Signer: o.Signer, Cert: o.Cert, Stamper: o.Stamper},
		Name: "Contract " + string(party), Reason: "Contract signed by the " + string(party), When: o.When})
}

// signatures returns the PDF's signatures (not document time-stamps) in
// the order they were added; every one must verify.
func signatures(pdf []byte) ([]cms.PDFSignature, error) {
	// The error of the whole is one of the signatures' (below), or that
	// there is none.
	all, err := cms.VerifyPDF(pdf, nil)
	if len(all) == 0 && err != nil && !errors.Is(err, cms.ErrNoSignature) {
		return nil, fmt.Errorf("%w: %w", ErrNotSigned, err)
	}
	var out []cms.PDFSignature
	for _, s := range all {
		if s.DocTimeStamp {
			continue
		}
		// The time-stamps are checked by the validator, with the policy's
		// TSA roots; here only the signature itself.
		if s.Err != nil && !errors.Is(s.Err, cms.ErrTimestamp) {
			return nil, fmt.Errorf("%w: %w", ErrNotSigned, s.Err)
		}
		out = append(out, s)
	}
	return out, nil
}

// LongTerm makes the contract the two parties signed PAdES B-LTA: a DSS
// with both signers' chains and OCSP answers and the time-stamps' chains,
// then a document time-stamp (verify.Policy.Extend). A failure (no OCSP
// answer, no time-stamp) leaves the contract as it was.
func LongTerm(ctx context.Context, pdf []byte, p *verify.Policy, st cms.Stamper) ([]byte, error) {
	sigs, err := signatures(pdf)
	if err != nil {
		return nil, err
	}
	if len(sigs) != 2 {
		return nil, fmt.Errorf("%w: %d signatures", ErrNotSigned, len(sigs))
	}
	return p.Extend(ctx, pdf, st)
}

// title is the contract's title; the PDF's document information says it
// with the contract's ID after it (municipal.Renderer writes "Title
// Number"), inside the bytes both parties sign.
const title = "物品売買契約書"

// IDOf reads the contract's ID from its PDF: the number its document
// information names after the title; "" when it names none.
func IDOf(file []byte) (id string) {
	// The PDF reader panics on some malformed input.
	defer func() {
		if recover() != nil {
			id = ""
		}
	}()
	rdr, err := pdf.NewReader(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		return ""
	}
	id, ok := strings.CutPrefix(rdr.Trailer().Key("Info").Key("Title").Text(), title+" ")
	if !ok {
		return ""
	}
	return id
}

// Hash is the hex SHA-256 of an element: what the step after it names.
func Hash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
