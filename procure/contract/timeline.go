package contract

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/verify"
)

// Timeline is a contract's history: the final (B-LTA) contract PDF, then
// the signed steps in order, and the OCSP answers that let the steps'
// signers be checked later without the responder (the steps' counterpart
// of the PDF's DSS; each answer is signed by the JPKI CA, so it needs no
// further protection).
type Timeline struct {
	PDF   []byte
	Steps [][]byte
	OCSPs [][]byte
}

// Previous is the hex SHA-256 the next step names: that of the last
// element.
func (t *Timeline) Previous() string {
	if len(t.Steps) == 0 {
		return Hash(t.PDF)
	}
	return Hash(t.Steps[len(t.Steps)-1])
}

// Next is the kind of the next step; "" when the timeline is complete.
func (t *Timeline) Next() Kind {
	if len(t.Steps) >= len(stepOrder) {
		return ""
	}
	return stepOrder[len(t.Steps)]
}

// Append adds a signed step after checking that it is the next one: its
// kind, the hash it names, its contract, and that an acceptance follows a
// passed inspection. Its signature is checked by Verify, with the policy.
// A refused step leaves t unchanged.
func (t *Timeline) Append(signed []byte) error {
	sig, err := cms.Verify(signed, nil, nil)
	if err != nil && !errors.Is(err, cms.ErrTimestamp) {
		return fmt.Errorf("%w: %w", ErrBadStep, err)
	}
	s, err := ParseStep(sig.Content)
	if err != nil {
		return err
	}
	if err := t.follows(s); err != nil {
		return err
	}
	t.Steps = append(t.Steps, signed)
	return nil
}

// follows checks that s may come next in t.
func (t *Timeline) follows(s *Step) error {
	if s.Previous != t.Previous() {
		return fmt.Errorf("%w: the step names %.12s…, the element before is %.12s…", ErrBrokenChain, s.Previous, t.Previous())
	}
	if s.Kind != t.Next() {
		return fmt.Errorf("%w: a %s where a %q step comes", ErrOutOfOrder, s.Kind, t.Next())
	}
	if id := IDOf(t.PDF); s.ContractID != id {
		return fmt.Errorf("%w: the step is of contract %q, the PDF is %q", ErrBrokenChain, s.ContractID, id)
	}
	if len(t.Steps) > 0 {
		first, err := stepOf(t.Steps[0])
		if err != nil {
			return err
		}
		if s.Kind == KindAcceptance && first.Result != Passed {
			return fmt.Errorf("%w: acceptance after a failed inspection", ErrOutOfOrder)
		}
	}
	return nil
}

// next is the kind of step that follows an element of kind k; "" after
// the invoice.
func next(k Kind) Kind {
	if k == KindContract {
		return stepOrder[0]
	}
	if i := slices.Index(stepOrder, k); i >= 0 && i+1 < len(stepOrder) {
		return stepOrder[i+1]
	}
	return ""
}

// stepOf reads the step a signed step carries, without checking the
// signature.
func stepOf(signed []byte) (*Step, error) {
	sig, err := cms.Verify(signed, nil, nil)
	if err != nil && !errors.Is(err, cms.ErrTimestamp) {
		return nil, fmt.Errorf("%w: %w", ErrBadStep, err)
	}
	return ParseStep(sig.Content)
}

// AddValidationData keeps, for each step's signer, an OCSP answer produced
// after the step's time-stamp (asking the responder only when no kept
// answer serves), so that Verify needs no network later. The body calls it
// after each step; it changes no signed element.
func (t *Timeline) AddValidationData(ctx context.Context, p *verify.Policy) error {
	for _, signed := range slices.Backward(t.Steps) {
		sig, err := cms.Verify(signed, nil, p.TSARoots)
		if err != nil {
			return fmt.Errorf("contract: validation data: %w", err)
		}
		if sig.Timestamp == nil {
			return fmt.Errorf("contract: validation data: %w: a step has no time-stamp", ErrBadStep)
		}
		if _, err := p.Signing.ArchivedRevocation(sig.Signer, t.OCSPs, sig.Timestamp.Time); err == nil {
			continue
		}
		answer, err := p.Signing.OCSPResponse(ctx, sig.Signer, sig.Timestamp.Time)
		if err != nil {
			return fmt.Errorf("contract: validation data: %w", err)
		}
		t.OCSPs = append(t.OCSPs, answer)
	}
	return nil
}

// Parties say who may act; at is the signature's time-stamp. Each func is optional: nil means the identity
// check alone — an inspection is signed with the certificate that signed
// the contract as the officer, an acceptance and an invoice with the
// agent's. A func set replaces that check for its party: the body asks
// whether a certificate is one of its officers, or whether the agent's
// power of attorney covers 契約 (for the contract) and 請求 (for the steps).
type Parties struct {
	Officer func(ctx context.Context, kind Kind, cert *x509.Certificate, at time.Time) error
	Agent   func(ctx context.Context, kind Kind, cert *x509.Certificate, at time.Time) error
}

// Element is the report on one element of a timeline.
type Element struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	Kind  Kind   `json:"kind"`
	// SHA256 is the element's hash; Previous the hash it names (a step).
	SHA256        string               `json:"sha256"`
	Previous      string               `json:"previous,omitempty"`
	Indication    verify.Indication    `json:"indication"`
	SubIndication verify.SubIndication `json:"sub_indication,omitempty"`
	// Reason is this package's reason when a timeline check failed.
	Reason    Reason `json:"reason,omitempty"`
	MessageJA string `json:"message_ja"`
	MessageEN string `json:"message_en"`
	// Step is what a step states.
	Step *Step `json:"step,omitempty"`
	// Report is the signature validation of the element.
	Report *verify.Report `json:"report,omitempty"`
}

// Report is the validation of a whole timeline.
type Report struct {
	Document      string               `json:"document"`
	Format        string               `json:"format"`
	ContractID    string               `json:"contract_id,omitempty"`
	Indication    verify.Indication    `json:"indication"`
	SubIndication verify.SubIndication `json:"sub_indication,omitempty"`
	Reason        Reason               `json:"reason,omitempty"`
	MessageJA     string               `json:"message_ja"`
	MessageEN     string               `json:"message_en"`
	// Complete says the timeline reaches the invoice.
	Complete    bool      `json:"complete"`
	Elements    []Element `json:"elements"`
	ValidatedAt time.Time `json:"validated_at"`
}

// FormatTimeline is Report.Format for a timeline.
const FormatTimeline = "contract-timeline"

// Passed reports whether the timeline is TOTAL_PASSED.
func (r *Report) Passed() bool { return r.Indication == verify.TotalPassed }

// subOf is the indication a timeline reason gives an element.
var subOf = map[Reason]struct {
	ind verify.Indication
	sub verify.SubIndication
}{
	ErrBadStep:     {verify.TotalFailed, verify.FormatFailure},
	ErrBrokenChain: {verify.TotalFailed, verify.HashFailure},
	ErrOutOfOrder:  {verify.Indeterminate, verify.SigConstraintsFailure},
	ErrWrongParty:  {verify.Indeterminate, verify.SigConstraintsFailure},
	ErrNotSigned:   {verify.Indeterminate, verify.SigConstraintsFailure},
	ErrIncomplete:  {verify.Indeterminate, verify.SigConstraintsFailure},
}

// fail marks e as failing a timeline check with err (which wraps a Reason),
// unless its signature failed already.
func (e *Element) fail(err error) {
	if e.Indication != verify.TotalPassed && e.Reason == "" && e.Report != nil && !e.Report.Passed() {
		return
	}
	var reason Reason
	if !errors.As(err, &reason) {
		reason = ErrBadStep
	}
	ja, en := reason.Messages()
	s := subOf[reason]
	e.Indication, e.SubIndication, e.Reason, e.MessageJA, e.MessageEN = s.ind, s.sub, reason, ja, en
}

// Verify validates the timeline: the contract PDF (both signatures, as
// verify validates a PDF), every step's signature and time-stamp, that
// each step names the hash of the element before it and the contract the
// PDF is (IDOf), that the steps come in order (inspection, acceptance,
// invoice) with time-stamps that do not go back, and that each is signed
// by its party. It always returns a report: one entry per element, and the
// worst of them as the overall indication; a timeline that ends before the
// invoice is INDETERMINATE (ErrIncomplete) when nothing else fails.
func (t *Timeline) Verify(ctx context.Context, p *verify.Policy, parties Parties) *Report {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	r := &Report{Format: FormatTimeline, ValidatedAt: now(), Complete: len(t.Steps) == len(stepOrder), ContractID: IDOf(t.PDF)}
	contract := Element{Index: 1, Name: "contract.pdf", Kind: KindContract, SHA256: Hash(t.PDF)}
	contract.Report = p.Validate(ctx, verify.Document{Name: "contract.pdf", Format: verify.FormatPAdES, Data: t.PDF})
	contract.take()
	// The two signers of the contract, and the time the contract was
	// complete: its last signature time-stamp.
	var agent, officer *x509.Certificate
	var last time.Time
	// A signer is taken even from a signature that failed (the contract's
	// entry says so), to judge who signs the steps after it.
	all, _ := cms.VerifyPDF(t.PDF, p.TSARoots)
	var sigs []cms.PDFSignature
	for _, s := range all {
		if !s.DocTimeStamp && s.Signer != nil {
			sigs = append(sigs, s)
		}
	}
	if len(sigs) == 2 {
		slices.SortStableFunc(sigs, func(a, b cms.PDFSignature) int { return int(a.Covers - b.Covers) })
		agent, officer = sigs[0].Signer, sigs[1].Signer
		for _, s := range sigs {
			if s.Timestamp != nil && s.Timestamp.Time.After(last) {
				last = s.Timestamp.Time
			}
		}
		if agent.Equal(officer) {
			contract.fail(fmt.Errorf("%w: one certificate signed as both parties", ErrWrongParty))
		} else if err := parties.check(ctx, KindContract, Agent, agent, agent, stampTime(sigs[0])); err != nil {
			contract.fail(err)
		} else if err := parties.check(ctx, KindContract, Officer, officer, officer, stampTime(sigs[1])); err != nil {
			contract.fail(err)
		}
	} else {
		contract.fail(ErrNotSigned)
	}
	r.Elements = append(r.Elements, contract)

	// Each step is checked against the element before it, so that one
	// element changed or removed is reported once, where it breaks the
	// chain, and not again in every step after it.
	prev, prevKind := contract.SHA256, KindContract
	var inspection *Step
	for i, signed := range t.Steps {
		e := Element{Index: i + 2, Name: fmt.Sprintf("steps/%d.p7m", i+1), SHA256: Hash(signed)}
		e.Report = p.Validate(ctx, verify.Document{Name: e.Name, Format: verify.FormatCMS, Data: signed, OCSPs: t.OCSPs})
		e.take()
		s, err := ParseStep(e.Report.Signed)
		if e.Report.Signed == nil || err != nil {
			if e.Report.Signed != nil || e.Report.Passed() {
				e.fail(ErrBadStep)
			}
			// What a step whose signature failed claims to be, for the
			// report only: nothing is checked against it.
			if sig, _ := cms.Verify(signed, nil, nil); sig != nil {
				if s, err := ParseStep(sig.Content); err == nil {
					e.Kind = s.Kind
				}
			}
			r.Elements = append(r.Elements, e)
			prev, prevKind = e.SHA256, ""
			continue
		}
		e.Step, e.Kind, e.Previous = s, s.Kind, s.Previous
		if s.Kind == KindInspection && inspection == nil {
			inspection = s
		}
		var when time.Time
		if e.Report.SigningTime != nil {
			when = *e.Report.SigningTime
		}
		switch {
		case s.Previous != prev:
			e.fail(fmt.Errorf("%w: names %.12s…, the element before is %.12s…", ErrBrokenChain, s.Previous, prev))
		case s.ContractID != r.ContractID:
			e.fail(fmt.Errorf("%w: the step is of contract %q, the PDF is %q", ErrBrokenChain, s.ContractID, r.ContractID))
		case prevKind != "" && s.Kind != next(prevKind):
			e.fail(ErrOutOfOrder)
		case s.Kind == KindAcceptance && (inspection == nil || inspection.Result != Passed):
			e.fail(ErrOutOfOrder)
		case !when.IsZero() && when.Before(last):
			e.fail(ErrOutOfOrder)
		default:
			want := agent
			if s.Kind.Party() == Officer {
				want = officer
			}
			if err := parties.check(ctx, s.Kind, s.Kind.Party(), want, e.Report.SignerCert, when); err != nil {
				e.fail(err)
			}
		}
		if !when.IsZero() {
			last = when
		}
		prev, prevKind = e.SHA256, s.Kind
		r.Elements = append(r.Elements, e)
	}
	r.summarize()
	return r
}

// stampTime is a signature's time-stamp time, or the zero time.
func stampTime(s cms.PDFSignature) time.Time {
	if s.Timestamp == nil {
		return time.Time{}
	}
	return s.Timestamp.Time
}

// take copies the element's signature report into its indication.
func (e *Element) take() {
	e.Indication, e.SubIndication = e.Report.Indication, e.Report.SubIndication
	e.MessageJA, e.MessageEN = e.Report.MessageJA, e.Report.MessageEN
}

// check says whether cert may act as party in a step of kind: the
// party's func when set, else whether cert is want (the contract's
// signer for that party).
func (ps Parties) check(ctx context.Context, kind Kind, party Party, want, cert *x509.Certificate, at time.Time) error {
	if cert == nil {
		return fmt.Errorf("%w: no signer", ErrWrongParty)
	}
	fn := ps.Agent
	if party == Officer {
		fn = ps.Officer
	}
	if fn != nil {
		if err := fn(ctx, kind, cert, at); err != nil {
			return fmt.Errorf("%w: %w", ErrWrongParty, err)
		}
		return nil
	}
	if want == nil || !want.Equal(cert) {
		return fmt.Errorf("%w: %s is not signed by the contract's %s", ErrWrongParty, kind, party)
	}
	return nil
}

// summarize sets the overall indication: the worst element's, naming it;
// TOTAL_PASSED only when every element passed and the timeline is
// complete.
func (r *Report) summarize() {
	worst := -1
	for i, e := range r.Elements {
		if worst < 0 || e.Indication.Severity() > r.Elements[worst].Indication.Severity() {
			worst = i
		}
	}
	if w := r.Elements[worst]; w.Indication != verify.TotalPassed {
		r.Indication, r.SubIndication, r.Reason = w.Indication, w.SubIndication, w.Reason
		r.MessageJA = fmt.Sprintf("%d 件の記録のうち、%d 番目（%s）：%s", len(r.Elements), w.Index, w.Name, w.MessageJA)
		r.MessageEN = fmt.Sprintf("Of %d elements, number %d (%s): %s", len(r.Elements), w.Index, w.Name, w.MessageEN)
		return
	}
	if !r.Complete {
		r.Indication, r.SubIndication, r.Reason = subOf[ErrIncomplete].ind, subOf[ErrIncomplete].sub, ErrIncomplete
		r.MessageJA = fmt.Sprintf("%d 件の記録はすべて有効ですが、手続の記録が請求まで揃っていません。", len(r.Elements))
		r.MessageEN = fmt.Sprintf("All %d elements are valid, but the timeline ends before the invoice.", len(r.Elements))
		return
	}
	r.Indication, r.SubIndication = verify.TotalPassed, ""
	r.MessageJA = fmt.Sprintf("契約書と %d 件の手続の記録はすべて有効で、順序どおりにつながっています。", len(r.Elements)-1)
	r.MessageEN = fmt.Sprintf("The contract and its %d steps are all valid and chained in order.", len(r.Elements)-1)
}
