package delegation

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Reason is why Check refuses a power, as a machine code.
type Reason string

// The reasons of Check, in the order it tests them.
const (
	// Forged: the power's CMS does not verify or does not hold a power in
	// canonical form, or differs from the registered one of its ID.
	Forged Reason = "forged"
	// UnknownCorporation: the principal is not in the corporate registry.
	UnknownCorporation Reason = "unknown_corporation"
	// CorporationClosed: the principal was closed by the time asked about.
	CorporationClosed Reason = "corporation_closed"
	// NotRepresentative: the power (or the root of its chain) was not
	// signed by the corporation's representative in office at its signing
	// time, or names another representative than the signer.
	NotRepresentative Reason = "not_representative"
	// SubDelegationNotAllowed: a sub-delegation whose parent does not allow
	// it, that exceeds its parent, or that its parent's agent did not sign.
	SubDelegationNotAllowed Reason = "sub_delegation_not_allowed"
	// UnknownPower: the power, or a parent, is not registered.
	UnknownPower Reason = "unknown_power"
	// Revoked: the power or a parent was revoked at or before the time
	// asked about.
	Revoked Reason = "revoked"
	// NotYetValid and Expired: the time asked about is outside the period
	// of the power or of a parent.
	NotYetValid Reason = "not_yet_valid"
	Expired     Reason = "expired"
	// OutOfScope: the document type is not among the power's matters, or
	// the power is another corporation's.
	OutOfScope Reason = "out_of_scope"
	// NotAgent: the document's signer is not the power's agent.
	NotAgent Reason = "not_agent"
)

// Messages returns what to tell a person about the reason, in Japanese and
// English; for "" (no reason) the message of a valid power.
func (r Reason) Messages() (ja, en string) {
	switch r {
	case "":
		return "委任状は有効です。書類の署名者は、この書類について法人を代理する権限を持っています。",
			"The power of attorney is valid: the document's signer may act for the corporation on this document."
	case Forged:
		return "委任状の電子署名を検証できません。改ざんされたか、委任状として正しい形式ではありません。",
			"The power of attorney's signature does not verify: it was altered, or it is not a power of attorney in the expected form."
	case UnknownCorporation:
		return "委任者の法人は、法人の登記にありません。",
			"The principal corporation is not in the corporate register."
	case CorporationClosed:
		return "委任者の法人は閉鎖されています。",
			"The principal corporation has been closed."
	case NotRepresentative:
		return "委任状は、署名の時点のその法人の代表者によって署名されていません。",
			"The power of attorney was not signed by the corporation's representative in office when it was signed."
	case SubDelegationNotAllowed:
		return "この復代理（再委任）は認められていないか、元の委任の範囲を超えています。",
			"This sub-delegation is not allowed by the original power of attorney, or goes beyond it."
	case UnknownPower:
		return "この委任状（またはその元の委任状）は登録されていません。",
			"This power of attorney (or the one it derives from) has not been registered."
	case Revoked:
		return "委任状は、書類の署名より前に撤回されています。",
			"The power of attorney was revoked before the document was signed."
	case NotYetValid:
		return "書類の署名の時点では、委任状の有効期間はまだ始まっていません。",
			"When the document was signed, the power of attorney's period had not begun."
	case Expired:
		return "書類の署名の時点で、委任状の有効期間は終わっています。",
			"When the document was signed, the power of attorney's period had ended."
	case OutOfScope:
		return "この書類は、この法人の委任状の委任事項に含まれていません。",
			"This document is not among the matters this corporation's power of attorney delegates."
	case NotAgent:
		return "書類の署名者は、委任状の受任者（代理人）ではありません。",
			"The document's signer is not the agent named in the power of attorney."
	}
	return "委任状を確認できません。", "The power of attorney cannot be checked."
}

// sentinel is the error of Register and Revoke for the reason.
func (r Reason) sentinel() error {
	switch r {
	case Forged:
		return ErrForged
	case UnknownCorporation:
		return ErrUnknownCorporation
	case CorporationClosed:
		return ErrClosed
	case NotRepresentative:
		return ErrNotRepresentative
	case SubDelegationNotAllowed:
		return ErrSubDelegation
	case UnknownPower:
		return ErrNotFound
	case Revoked:
		return ErrRevoked
	}
	return ErrInvalid
}

// ReasonOf gives the Reason an error of Register or Revoke stands for, or
// "" when it stands for none (ErrInvalid, ErrDuplicate, failures).
func ReasonOf(err error) Reason {
	for _, r := range []Reason{Forged, UnknownCorporation, CorporationClosed, NotRepresentative,
		SubDelegationNotAllowed, UnknownPower, Revoked} {
		if errors.Is(err, r.sentinel()) {
			return r
		}
	}
	return ""
}

// refusal is a Reason with what exactly failed, for logs and errors.
type refusal struct {
	reason Reason
	detail string
}

func refuse(r Reason, format string, args ...any) refusal {
	return refusal{reason: r, detail: fmt.Sprintf(format, args...)}
}

func (r refusal) err() error { return fmt.Errorf("%w: %s", r.reason.sentinel(), r.detail) }

// Query asks whether a document signed by Signer at At is covered by a
// power of attorney.
type Query struct {
	// Power is the signed power as presented with the document; the chain
	// of its parents is read from the register by ID.
	Power []byte
	// CorporateNumber is the corporation the document is signed for.
	CorporateNumber string
	// DocType is the document's type, to find among the power's matters.
	DocType string
	// Signer is the document's JPKI signing certificate.
	Signer *x509.Certificate
	// At is the document's trusted (time-stamped) signing time.
	At time.Time
}

// Result is Check's answer. Power is the power presented, when it could be
// read.
type Result struct {
	OK        bool   `json:"ok"`
	Reason    Reason `json:"reason,omitempty"`
	MessageJA string `json:"message_ja"`
	MessageEN string `json:"message_en"`
	Power     *Power `json:"power,omitempty"`
}

func result(r Reason, p *Power) Result {
	ja, en := r.Messages()
	return Result{OK: r == "", Reason: r, MessageJA: ja, MessageEN: en, Power: p}
}

// Check answers a Query: whether the power, registered and checked with
// its chain of parents, let the document's signer sign this document for
// the corporation at At. A refusal is a Result with its Reason; the error
// is for failures only (the database or the registry unreachable, or a
// Query without At).
func (s *Service) Check(ctx context.Context, q Query) (Result, error) {
	if q.At.IsZero() {
		return Result{}, fmt.Errorf("%w: the query has no signing time", ErrInvalid)
	}
	sg, err := s.open(q.Power)
	if err != nil {
		s.logger.DebugContext(ctx, "delegation: check refused", "reason", Forged, "err", err)
		return result(Forged, nil), nil
	}
	p := sg.power
	refused := func(ref refusal) (Result, error) {
		s.logger.DebugContext(ctx, "delegation: check refused", "power", p.ID, "reason", ref.reason, "detail", ref.detail)
		return result(ref.reason, p), nil
	}
	chain, ref, err := s.authority(ctx, sg, q.At)
	if err != nil {
		return Result{}, err
	}
	if ref.reason != "" {
		return refused(ref)
	}
	st, err := s.record(ctx, p.ID)
	if errors.Is(err, ErrNotFound) {
		return refused(refuse(UnknownPower, "power %s is not registered", p.ID))
	}
	if err != nil {
		return Result{}, err
	}
	if !bytes.Equal(st.cms, q.Power) {
		return refused(refuse(Forged, "power %s differs from the one registered under its ID", p.ID))
	}
	chain[0].st = st
	for _, l := range chain {
		if !l.st.revokedAt.IsZero() && !q.At.Before(l.st.revokedAt) {
			return refused(refuse(Revoked, "power %s was revoked at %s", l.sg.power.ID, l.st.revokedAt.Format(time.RFC3339)))
		}
	}
	for _, l := range chain {
		switch lp := l.sg.power; {
		case q.At.Before(lp.NotBefore):
			return refused(refuse(NotYetValid, "power %s starts at %s", lp.ID, lp.NotBefore.Format(time.RFC3339)))
		case q.At.After(lp.NotAfter):
			return refused(refuse(Expired, "power %s ended at %s", lp.ID, lp.NotAfter.Format(time.RFC3339)))
		}
	}
	if q.CorporateNumber != p.Principal.CorporateNumber {
		return refused(refuse(OutOfScope, "power %s is of corporation %s, not %s", p.ID, p.Principal.CorporateNumber, q.CorporateNumber))
	}
	if _, ok := slices.BinarySearch(p.Powers, q.DocType); !ok {
		return refused(refuse(OutOfScope, "power %s does not delegate %q", p.ID, q.DocType))
	}
	if q.Signer == nil {
		return refused(refuse(NotAgent, "the document has no signer"))
	}
	id, err := s.signerPerson(ctx, q.Signer)
	switch {
	case errors.Is(err, ErrUnknownSigner):
		return refused(refuse(NotAgent, "the document's signer is no person of the platform"))
	case err != nil:
		return Result{}, fmt.Errorf("delegation: resolve the document's signer: %w", err)
	case id != p.Agent.PlatformID:
		return refused(refuse(NotAgent, "the document's signer is not the agent of power %s", p.ID))
	}
	return result("", p), nil
}
