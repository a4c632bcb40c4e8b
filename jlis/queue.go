package jlis

import (
	"context"
	"errors"
	"fmt"

	"github.com/mynaplat/mynaplat/municipal"
)

// Queue is the 本籍地's side of the usage registrations, for the municipal
// back office (municipal.Pages.SetRegistrations): the pending ones with the
// holder as the signing certificate states them, and the clerk's decision.
func (s *Service) Queue() municipal.RegistrationQueue { return registrationQueue{s} }

type registrationQueue struct{ s *Service }

var _ municipal.RegistrationQueue = registrationQueue{}

// Pending lists the registrations pending at 本籍地 code, oldest first. A
// registration filed before the holder was kept shows an empty name (the
// clerk sees nothing matches, and may reject it so that it is filed again).
func (q registrationQueue) Pending(ctx context.Context, code string) ([]municipal.PendingRegistration, error) {
	rs, err := q.s.Registrations(ctx, code, RegPending)
	if err != nil {
		return nil, err
	}
	out := make([]municipal.PendingRegistration, 0, len(rs))
	for _, r := range rs {
		p := municipal.PendingRegistration{ID: r.ID, FiledAt: r.CreatedAt}
		if r.Holder != nil {
			p.Name, p.BirthDate, p.Sex = r.Holder.Name, r.Holder.BirthDate, r.Holder.Sex
		}
		out = append(out, p)
	}
	return out, nil
}

// Decide records the clerk's decision; a registration not pending at code
// is municipal.ErrNotFound, a missing clerk municipal.ErrInvalid.
func (q registrationQueue) Decide(ctx context.Context, code, id, clerk string, approve bool) error {
	err := q.s.Decide(ctx, code, id, clerk, approve)
	switch {
	case errors.Is(err, ErrNoPending):
		return fmt.Errorf("%w: %w", municipal.ErrNotFound, err)
	case errors.Is(err, ErrInvalid):
		return fmt.Errorf("%w: %w", municipal.ErrInvalid, err)
	}
	return err
}
