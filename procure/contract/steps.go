package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/cms"
)

// Kind is what a step records.
type Kind string

// The elements of a timeline, in their order. KindContract is the PDF.
const (
	KindContract   Kind = "contract"
	KindInspection Kind = "inspection" // 検査: the officer
	KindAcceptance Kind = "acceptance" // 受領: the agent
	KindInvoice    Kind = "invoice"    // 請求: the agent
)

// stepOrder is the order of the steps after the contract.
var stepOrder = []Kind{KindInspection, KindAcceptance, KindInvoice}

// Party is who makes a step.
func (k Kind) Party() Party {
	if k == KindInspection {
		return Officer
	}
	return Agent
}

// Label is the step's name on the pages, in Japanese and English.
func (k Kind) Label() (ja, en string) {
	switch k {
	case KindContract:
		return "契約", "Contract"
	case KindInspection:
		return "検査", "Inspection"
	case KindAcceptance:
		return "受領", "Acceptance"
	case KindInvoice:
		return "請求", "Invoice"
	}
	return string(k), string(k)
}

// Inspection results.
const (
	Passed = "合格"
	Failed = "不合格"
)

// stepType is the "type" member of a step's signed form: a signed step
// cannot be read as another signed object of the project.
const stepType = "mynaplat-procure-contract-step"

// maxStep bounds a step's signed JSON.
const maxStep = 16 << 10

// Step is what one step after the contract states. Which fields it has
// depends on its kind: Result for an inspection, AcceptedDate for an
// acceptance, AmountYen and Bank for an invoice.
type Step struct {
	Kind       Kind   `json:"kind"`
	ContractID string `json:"contract_id"`
	// Previous is the hex SHA-256 of the element before: the final
	// contract PDF for the inspection, the signed step before otherwise.
	Previous string `json:"previous"`
	// Result is the inspection's result: Passed or Failed.
	Result string `json:"result,omitempty"`
	// AcceptedDate is the day the goods were accepted (YYYY-MM-DD).
	AcceptedDate string `json:"accepted_date,omitempty"`
	// AmountYen and Bank are the invoice's amount (tax included) and where
	// to pay it (plain text; the demo's bank details are made up).
	AmountYen int64  `json:"amount_yen,omitempty"`
	Bank      string `json:"bank,omitempty"`
	// Note is free text (what the inspection found).
	Note string `json:"note,omitempty"`
	// Time is when the signer says it made the step; the signature
	// time-stamp is the proof.
	Time time.Time `json:"time"`
}

type stepJSON struct {
	Type string `json:"type"`
	Step
}

// Validate refuses a step whose statement does not fit its kind.
func (s *Step) Validate() error {
	bad := func(what string) error { return fmt.Errorf("%w: %s: %s", ErrInvalid, s.Kind, what) }
	if s.ContractID == "" || len(s.Previous) != 64 || strings.Trim(s.Previous, "0123456789abcdef") != "" || s.Time.IsZero() {
		return bad("the contract ID, the previous hash (hex SHA-256) and the time are needed")
	}
	switch s.Kind {
	case KindInspection:
		if s.Result != Passed && s.Result != Failed || s.AcceptedDate != "" || s.AmountYen != 0 || s.Bank != "" {
			return bad("an inspection states its result (合格 or 不合格) only")
		}
	case KindAcceptance:
		if _, err := time.Parse(time.DateOnly, s.AcceptedDate); err != nil || s.Result != "" || s.AmountYen != 0 || s.Bank != "" {
			return bad("an acceptance states the accepted date (YYYY-MM-DD) only")
		}
	case KindInvoice:
		if s.AmountYen <= 0 || strings.TrimSpace(s.Bank) == "" || s.Result != "" || s.AcceptedDate != "" {
			return bad("an invoice states its amount and the bank details")
		}
	default:
		return fmt.Errorf("%w: unknown kind %q", ErrInvalid, s.Kind)
	}
	return nil
}

// Canonical is the step's signed form: JSON with the "type" member first,
// the members in a fixed order, the time in UTC to the second, no
// insignificant space. One step has one byte string.
func (s *Step) Canonical() ([]byte, error) {
	s.Time = s.Time.UTC().Truncate(time.Second)
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(stepJSON{Type: stepType, Step: *s})
}

// ParseStep reads a step's signed form; only the canonical form is
// accepted.
func ParseStep(b []byte) (*Step, error) {
	if len(b) > maxStep {
		return nil, fmt.Errorf("%w: too long", ErrBadStep)
	}
	var w stepJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil || dec.More() || w.Type != stepType {
		return nil, fmt.Errorf("%w: not a contract step", ErrBadStep)
	}
	s := w.Step
	c, err := s.Canonical()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadStep, err)
	}
	if !bytes.Equal(c, b) {
		return nil, fmt.Errorf("%w: not in canonical form", ErrBadStep)
	}
	return &s, nil
}

// SignStep has the party's card sign the step: a CMS SignedData that
// envelops the canonical JSON, with a signature time-stamp.
func SignStep(ctx context.Context, s Step, o SignOptions) ([]byte, error) {
	if o.Stamper == nil {
		return nil, fmt.Errorf("contract: sign step: a time-stamp authority is needed")
	}
	body, err := s.Canonical()
	if err != nil {
		return nil, err
	}
	der, err := cms.Sign(ctx, body, cms.SignOptions{Signer: o.Signer, Cert: o.Cert, Stamper: o.Stamper})
	if err != nil {
		return nil, fmt.Errorf("contract: sign step: %w", err)
	}
	return der, nil
}
