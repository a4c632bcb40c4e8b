package procure

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/store"
)

// ApplyRequest is a signed application as the agent's terminal sends it.
type ApplyRequest struct {
	// AgentPlatformID is the signed-in agent's platform ID (from the
	// platform's assertion of their card login); the power named in the
	// application must be theirs.
	AgentPlatformID string
	// Signed is the application: an enveloping CMS SignedData with a
	// signature time-stamp over the canonical JSON.
	Signed []byte
}

// Filed is a filed application version.
type Filed struct {
	ApplicationID string    `json:"application_id"`
	Version       int       `json:"version"`
	SignedAt      time.Time `json:"signed_at"`
	Ratings       []Rating  `json:"ratings"`
}

// Apply checks a signed application and files it: a new application, or
// the next version of the business's application that an officer sent back
// for correction. The checks, in order: the signature and time-stamp, the
// content, the corporation (corpreg), the power (delegation.Check for
// MatterQualify at the signing time, and the agent is the signed-in
// person), the company name in the power against the registry's name at
// the signing time, the rating, and then, in the transaction, the business's state
// (one open application; a new one only without a valid qualification; a
// renewal only in its window). A refusal is a *Refusal and writes only its
// audit row.
func (s *Service) Apply(ctx context.Context, rq ApplyRequest) (*Filed, error) {
	actor := "agent:" + rq.AgentPlatformID
	f, corp, err := s.apply(ctx, rq)
	if err != nil {
		return nil, s.refused(ctx, actor, "apply", corp, "", err)
	}
	s.logger.InfoContext(ctx, "qualification application filed", "application", f.ApplicationID, "version", f.Version)
	return f, nil
}

func (s *Service) apply(ctx context.Context, rq ApplyRequest) (*Filed, string, error) {
	content, signer, signedAt, err := s.verify(rq.Signed)
	if err != nil {
		return nil, "", refuse(ReasonBadSignature, err.Error())
	}
	app, err := ParseApplication(content)
	if err != nil {
		return nil, "", err
	}
	number := app.CorporateNumber
	corp, err := s.corps.Corporation(ctx, number)
	switch {
	case errors.Is(err, corpreg.ErrUnknownCorporation):
		return nil, number, refuse(ReasonUnknownCorporation, number)
	case err != nil:
		return nil, number, fmt.Errorf("procure: corporation %s: %w", number, err)
	case corp.Status == corpreg.Closed:
		return nil, number, refuse(ReasonCorporationClosed, number)
	}
	rec, err := s.powers.Get(ctx, app.PowerID)
	if errors.Is(err, delegation.ErrNotFound) {
		return nil, number, refuse(Reason(delegation.UnknownPower), app.PowerID)
	} else if err != nil {
		return nil, number, fmt.Errorf("procure: power %s: %w", app.PowerID, err)
	}
	if rec.Power.Agent.PlatformID != rq.AgentPlatformID {
		return nil, number, refuse(ReasonNotSigner, app.PowerID)
	}
	res, err := s.powers.Check(ctx, delegation.Query{Power: rec.CMS, CorporateNumber: number, DocType: MatterQualify, Signer: signer, At: signedAt})
	if err != nil {
		return nil, number, fmt.Errorf("procure: check power %s: %w", app.PowerID, err)
	}
	if !res.OK {
		return nil, number, &Refusal{Reason: Reason(res.Reason), MessageJA: res.MessageJA, MessageEN: res.MessageEN, Detail: app.PowerID}
	}
	// The name in effect when the application was signed (its time-stamp),
	// not now: a change of name registered after the signature does not
	// undo a document that was right when signed (docs/procurement.md §3).
	if name := corp.NameAt(signedAt); rec.Power.Principal.CorporationName != name {
		return nil, number, refuse(ReasonNameMismatch, fmt.Sprintf("power %q, registry %q at %s", rec.Power.Principal.CorporationName, name,
			signedAt.Format(time.RFC3339)))
	}
	var ratings []Rating
	for _, fi := range app.Fields {
		r, err := Rate(fi.Field, app.Financials.Financials(fi.Field))
		if err != nil {
			return nil, number, refuse(ReasonInvalid, err.Error())
		}
		ratings = append(ratings, r)
	}
	representative := ""
	if cur := corp.Current(); cur != nil {
		representative = cur.Name
	}
	now := s.clock()
	filed := &Filed{SignedAt: signedAt, Ratings: ratings}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.db.TxExec(ctx, tx, qUpsertBusiness, number, corp.Name, corp.Address, representative, app.Founded, ms(now)); err != nil {
			return err
		}
		var id, state string
		var version int
		err := s.db.TxQueryRow(ctx, tx, qOpenApplication, number).Scan(&id, &state, &version)
		switch {
		case err == nil && state == string(StateSubmitted):
			return refuse(ReasonAlreadyOpen, id)
		case err == nil:
			// The correction asked for: the next version.
			version++
			if _, err := s.db.TxExec(ctx, tx, qNextVersion, string(app.Kind), version, rq.AgentPlatformID, rec.Power.Agent.Name,
				app.PowerID, ms(now), id); err != nil {
				return err
			}
		case errors.Is(err, sql.ErrNoRows):
			if err := s.mayOpen(ctx, tx, number, app.Kind, now); err != nil {
				return err
			}
			id, version = newID(), 1
			if _, err := s.db.TxExec(ctx, tx, qInsertApplication, id, number, string(app.Kind), string(StateSubmitted), version,
				rq.AgentPlatformID, rec.Power.Agent.Name, app.PowerID, ms(now)); err != nil {
				if store.IsUniqueViolation(err) {
					return refuse(ReasonAlreadyOpen, number)
				}
				return err
			}
		default:
			return err
		}
		if _, err := s.db.TxExec(ctx, tx, qInsertVersion, id, version, content, rq.Signed, ms(signedAt)); err != nil {
			return err
		}
		for _, r := range ratings {
			points, err := json.Marshal(r.Points)
			if err != nil {
				return err
			}
			if _, err := s.db.TxExec(ctx, tx, qInsertRating, id, version, string(r.Field), r.Total, string(r.Grade), string(points)); err != nil {
				return err
			}
		}
		// The representative's notice of a new agent (§3 rule 4), once per
		// agent and corporation.
		if _, err := s.db.TxExec(ctx, tx, qInsertNotice, number, rq.AgentPlatformID, rec.Power.Agent.Name, app.PowerID,
			ms(rec.Power.NotBefore), ms(rec.Power.NotAfter), ms(now)); err != nil {
			return err
		}
		filed.ApplicationID, filed.Version = id, version
		return s.audit(ctx, tx, "agent:"+rq.AgentPlatformID, "apply", number, id, "filed", fmt.Sprintf("version %d, power %s", version, app.PowerID))
	})
	if err != nil {
		return nil, number, err
	}
	return filed, number, nil
}

// mayOpen checks, in tx, that the business may open an application of
// this kind now: a new one only without a valid qualification, a renewal
// only of a valid (or just ended) one, from RenewalWindow before its end.
func (s *Service) mayOpen(ctx context.Context, tx *sql.Tx, number string, kind Kind, now time.Time) error {
	var until int64
	err := s.db.TxQueryRow(ctx, tx, qLatestQualification, number).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		if kind == KindRenewal {
			return refuse(ReasonNotRenewable, number)
		}
		return nil
	} else if err != nil {
		return err
	}
	end := fromMS(until)
	valid := !now.After(end)
	switch {
	case kind == KindNew && valid:
		return refuse(ReasonAlreadyQualified, number)
	case kind == KindRenewal && !valid:
		return refuse(ReasonNotRenewable, number)
	case kind == KindRenewal && now.Before(end.Add(-RenewalWindow)):
		return refuse(ReasonAlreadyQualified, number)
	}
	return nil
}
