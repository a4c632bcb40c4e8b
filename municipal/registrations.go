package municipal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mynaplat/mynaplat/jpki"
)

// The 本籍地's queue of usage registrations (戸籍証明書交付の利用登録,
// domain-research.md §2.3). A resident whose 本籍 is here files, at a kiosk,
// a registration signed with the signing certificate; when the name, birth
// date and sex the certificate states do not all agree with a member of a
// 戸籍 kept here, the registration waits for a clerk of this municipality.
// The registrations are kept by the J-LIS relay (package kiosk, which
// imports this package and implements RegistrationQueue); the back office
// shows each pending one beside the closest 戸籍 member and records the
// clerk's decision. Every view and decision is audited.

// PendingRegistration is a usage registration waiting at its 本籍地 for a
// clerk, with the holder as the signing certificate states them.
type PendingRegistration struct {
	ID        string
	Name      string
	BirthDate time.Time
	Sex       jpki.Sex
	FiledAt   time.Time
}

// RegistrationQueue is the 本籍地's side of the usage registrations.
type RegistrationQueue interface {
	// Pending lists the registrations waiting at 本籍地 code, oldest first.
	Pending(ctx context.Context, code string) ([]PendingRegistration, error)
	// Decide approves or rejects a registration pending at code, in the
	// clerk's name. ErrNotFound: id is not pending there (unknown, another
	// municipality's, or decided already).
	Decide(ctx context.Context, code, id, clerk string, approve bool) error
}

// RegistrationReview is a pending registration beside the 戸籍 member
// closest to its holder.
type RegistrationReview struct {
	PendingRegistration
	// Member is the closest member (PersonID, Name, BirthDate and Sex
	// only); nil when nobody in a 戸籍 kept here could be the holder.
	Member *KosekiMember
	// Diff lists the fields ("name", "birth_date", "sex") in which Member
	// differs from the certificate; all three when there is no Member.
	Diff []string
}

// Differs reports whether field differs between the certificate and the
// 戸籍.
func (r RegistrationReview) Differs(field string) bool { return slices.Contains(r.Diff, field) }

// The audit actions of the registration queue; the person ID is the closest
// 戸籍 member's (empty when there is none), the detail "registration:ID".
const (
	AuditViewRegistration    = "view-registration"
	AuditApproveRegistration = "approve-registration"
	AuditRejectRegistration  = "reject-registration"
)

// CountPendingRegistrations is the number of registrations waiting at code.
// Nothing personal is shown, so nothing is audited.
func (s *Service) CountPendingRegistrations(ctx context.Context, q RegistrationQueue, code string) (int, error) {
	ps, err := q.Pending(ctx, code)
	if err != nil {
		return 0, fmt.Errorf("municipal: pending registrations: %w", err)
	}
	return len(ps), nil
}

// ReviewRegistrations returns the oldest registrations pending at code, at
// most limit of them, each with the closest member of a 戸籍 kept here, and
// the number pending in all. Each one returned is audited under actor as
// AuditViewRegistration: the actor sees the holder and the member.
func (s *Service) ReviewRegistrations(ctx context.Context, q RegistrationQueue, code string, by Actor, limit int) ([]RegistrationReview, int, error) {
	if by.Name == "" {
		return nil, 0, fmt.Errorf("%w: the actor is required", ErrInvalid)
	}
	ps, err := q.Pending(ctx, code)
	if err != nil {
		return nil, 0, fmt.Errorf("municipal: pending registrations: %w", err)
	}
	total := len(ps)
	if len(ps) > limit {
		ps = ps[:limit]
	}
	out := make([]RegistrationReview, 0, len(ps))
	for _, p := range ps {
		r, err := s.review(ctx, code, p)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, r)
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, r := range out {
			if err := s.audit(ctx, tx, code, by, AuditViewRegistration, r.memberID(), "registration:"+r.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

func (s *Service) review(ctx context.Context, code string, p PendingRegistration) (RegistrationReview, error) {
	m, diff, err := s.closestMember(ctx, code, p.Name, p.BirthDate, p.Sex)
	if errors.Is(err, ErrNotFound) {
		return RegistrationReview{PendingRegistration: p, Diff: []string{"name", "birth_date", "sex"}}, nil
	}
	if err != nil {
		return RegistrationReview{}, err
	}
	return RegistrationReview{PendingRegistration: p, Member: m, Diff: diff}, nil
}

func (r RegistrationReview) memberID() string {
	if r.Member == nil {
		return ""
	}
	return r.Member.PersonID
}

// DecideRegistration approves or rejects the registration id pending at
// code in the name of clerk, a back-office staff member as the audit names
// them (staff.Session.Actor), and audits it under clerk with the closest
// member's ID. ErrNotFound: id is not
// pending at code. The decision is made before the audit row is written
// (they live in different services): should the audit fail, the error is
// returned and the decision stands.
func (s *Service) DecideRegistration(ctx context.Context, q RegistrationQueue, code string, clerk Actor, id string, approve bool) error {
	if clerk.Name == "" || id == "" {
		return fmt.Errorf("%w: the clerk and the registration are required", ErrInvalid)
	}
	ps, err := q.Pending(ctx, code)
	if err != nil {
		return fmt.Errorf("municipal: pending registrations: %w", err)
	}
	i := slices.IndexFunc(ps, func(p PendingRegistration) bool { return p.ID == id })
	if i < 0 {
		return fmt.Errorf("%w: no registration %s pending here", ErrNotFound, id)
	}
	r, err := s.review(ctx, code, ps[i])
	if err != nil {
		return err
	}
	if err := q.Decide(ctx, code, id, clerk.Name, approve); err != nil {
		return fmt.Errorf("municipal: decide registration: %w", err)
	}
	action := AuditRejectRegistration
	if approve {
		action = AuditApproveRegistration
	}
	if err := s.audit(ctx, dbWriter{s.db}, code, clerk, action, r.memberID(), "registration:"+id); err != nil {
		return fmt.Errorf("municipal: audit decision on registration %s (the decision stands): %w", id, err)
	}
	return nil
}
