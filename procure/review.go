package procure

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mynaplat/mynaplat/delegation"
)

// State is where an application is in its review.
type State string

// The states of an application.
const (
	StateSubmitted  State = "submitted"  // waiting for an officer
	StateCorrection State = "correction" // sent back: the agent signs a new version
	StateGranted    State = "granted"
	StateRefused    State = "refused"
)

// Open reports whether the application is under review.
func (s State) Open() bool { return s == StateSubmitted || s == StateCorrection }

// ApplicationSummary is an application in a list.
type ApplicationSummary struct {
	ID              string    `json:"id"`
	CorporateNumber string    `json:"corporate_number"`
	Name            string    `json:"name"`
	Kind            Kind      `json:"kind"`
	State           State     `json:"state"`
	Version         int       `json:"version"`
	AgentName       string    `json:"agent_name"`
	UpdatedAt       time.Time `json:"updated_at"`
	// The officer's decision or request: the reason code (a RefusalCode
	// for a refusal) and the texts.
	ReasonCode string `json:"reason_code,omitempty"`
	NoteJA     string `json:"note_ja,omitempty"`
	NoteEN     string `json:"note_en,omitempty"`
}

// ApplicationDetail is an application with its latest version.
type ApplicationDetail struct {
	ApplicationSummary
	AgentPlatformID string       `json:"agent_platform_id"`
	PowerID         string       `json:"power_id"`
	Application     *Application `json:"application"`
	SignedAt        time.Time    `json:"signed_at"`
	CMS             []byte       `json:"cms"`
	Ratings         []Rating     `json:"ratings"`
	Address         string       `json:"address"`
	Representative  string       `json:"representative"`
}

func scanSummary(sc interface{ Scan(...any) error }) (ApplicationSummary, error) {
	var a ApplicationSummary
	var updated int64
	err := sc.Scan(&a.ID, &a.CorporateNumber, &a.Name, &a.Kind, &a.State, &a.Version, &a.AgentName, &updated, &a.ReasonCode, &a.NoteJA, &a.NoteEN)
	a.UpdatedAt = fromMS(updated)
	return a, err
}

func (s *Service) summaries(ctx context.Context, query string, arg any) ([]ApplicationSummary, error) {
	rows, err := s.db.QueryContext(ctx, query, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ApplicationSummary
	for rows.Next() {
		a, err := scanSummary(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Applications lists the applications in a state, newest change first,
// for the officers' list (a list shows no application's content, so it
// is not audited; Application is).
func (s *Service) Applications(ctx context.Context, state State) ([]ApplicationSummary, error) {
	return s.summaries(ctx, qApplicationsByState, string(state))
}

// AgentApplications lists the applications an agent filed or corrected
// last, for the agent's own page.
func (s *Service) AgentApplications(ctx context.Context, platformID string) ([]ApplicationSummary, error) {
	return s.summaries(ctx, qApplicationsByAgent, platformID)
}

// Application reads an application with its latest version for actor (an
// officer, "office:name"), and writes the audit row of the read.
func (s *Service) Application(ctx context.Context, actor, id string) (*ApplicationDetail, error) {
	d, err := s.detail(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.audit(ctx, nil, actor, "read", d.CorporateNumber, id, "ok", fmt.Sprintf("version %d", d.Version)); err != nil {
		return nil, err
	}
	return d, nil
}

// AgentApplication is Application for the agent who filed it last: the
// read of one's own filing is not audited, another agent's is not shown.
func (s *Service) AgentApplication(ctx context.Context, platformID, id string) (*ApplicationDetail, error) {
	d, err := s.detail(ctx, id)
	if err != nil {
		return nil, err
	}
	if d.AgentPlatformID != platformID {
		return nil, fmt.Errorf("%w: application %s", ErrNotFound, id)
	}
	return d, nil
}

func (s *Service) detail(ctx context.Context, id string) (*ApplicationDetail, error) {
	row := s.db.QueryRowContext(ctx, qApplication, id)
	var d ApplicationDetail
	var updated, signed int64
	var content []byte
	err := row.Scan(&d.ID, &d.CorporateNumber, &d.Name, &d.Kind, &d.State, &d.Version, &d.AgentName, &updated, &d.ReasonCode, &d.NoteJA, &d.NoteEN,
		&d.AgentPlatformID, &d.PowerID, &d.Address, &d.Representative, &content, &d.CMS, &signed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: application %s", ErrNotFound, id)
	} else if err != nil {
		return nil, err
	}
	d.UpdatedAt, d.SignedAt = fromMS(updated), fromMS(signed)
	if d.Application, err = ParseApplication(content); err != nil {
		return nil, fmt.Errorf("procure: stored application %s: %w", id, err)
	}
	if d.Ratings, err = s.ratings(ctx, id, d.Version); err != nil {
		return nil, err
	}
	return &d, nil
}

func (s *Service) ratings(ctx context.Context, id string, version int) ([]Rating, error) {
	rows, err := s.db.QueryContext(ctx, qRatings, id, version)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Rating
	for rows.Next() {
		var r Rating
		var points string
		if err := rows.Scan(&r.Field, &r.Total, &r.Grade, &points); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(points), &r.Points); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Rating) int { return slices.Index(Fields(), a.Field) - slices.Index(Fields(), b.Field) })
	return out, rows.Err()
}

// checkNote accepts an officer's text: up to 1,000 characters.
func checkNote(s string) bool {
	return utf8.ValidString(s) && utf8.RuneCountInString(s) <= 1000
}

// decide changes an open application's state in one transaction, after
// checking it is in one of from; a refusal writes only its audit row.
func (s *Service) decide(ctx context.Context, actor, action, id string, from []State, fn func(tx *sql.Tx, corp string) error) error {
	corp := ""
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var state State
		err := s.db.TxQueryRow(ctx, tx, qApplicationState, id).Scan(&corp, &state)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: application %s", ErrNotFound, id)
		} else if err != nil {
			return err
		}
		if !slices.Contains(from, state) {
			return refuse(ReasonNotOpen, string(state))
		}
		if err := fn(tx, corp); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, action, corp, id, "ok", "")
	})
	if err != nil {
		return s.refused(ctx, actor, action, corp, id, err)
	}
	return nil
}

// AskCorrection sends a submitted application back to the agent with what
// to correct (補正), in Japanese and English.
func (s *Service) AskCorrection(ctx context.Context, actor, id, noteJA, noteEN string) error {
	noteJA, noteEN = strings.TrimSpace(noteJA), strings.TrimSpace(noteEN)
	return s.decide(ctx, actor, "correction", id, []State{StateSubmitted}, func(tx *sql.Tx, _ string) error {
		if noteJA == "" || noteEN == "" || !checkNote(noteJA) || !checkNote(noteEN) {
			return refuse(ReasonBadDecision, "a correction needs its text in Japanese and English")
		}
		_, err := s.db.TxExec(ctx, tx, qDecide, string(StateCorrection), actor, "", noteJA, noteEN, ms(s.clock()), id)
		return err
	})
}

// Refuse refuses a submitted application with a reason from the list and
// an optional note (required for RefuseOther).
func (s *Service) Refuse(ctx context.Context, actor, id string, code RefusalCode, note string) error {
	note = strings.TrimSpace(note)
	return s.decide(ctx, actor, "refuse", id, []State{StateSubmitted}, func(tx *sql.Tx, _ string) error {
		ja, en := code.Messages()
		if ja == "" || (code == RefuseOther && note == "") || !checkNote(note) {
			return refuse(ReasonBadDecision, "refusal code "+string(code))
		}
		if note != "" {
			ja, en = ja+" "+note, en+" "+note
		}
		_, err := s.db.TxExec(ctx, tx, qDecide, string(StateRefused), actor, string(code), ja, en, ms(s.clock()), id)
		return err
	})
}

// Grant grants a submitted application for [from, until] (whole days are
// the caller's choice), with the grades of its latest version. A renewal's
// grant supersedes the business's current qualification. It returns the
// qualification's ID.
func (s *Service) Grant(ctx context.Context, actor, id string, from, until time.Time) (string, error) {
	from, until = from.UTC().Truncate(time.Second), until.UTC().Truncate(time.Second)
	qid := newID()
	err := s.decide(ctx, actor, "grant", id, []State{StateSubmitted}, func(tx *sql.Tx, corp string) error {
		now := s.clock()
		if !from.Before(until) || until.Before(now) {
			return refuse(ReasonBadPeriod, from.String()+"–"+until.String())
		}
		var version int
		var content []byte
		if err := s.db.TxQueryRow(ctx, tx, qLatestContent, id).Scan(&version, &content); err != nil {
			return err
		}
		app, err := ParseApplication(content)
		if err != nil {
			return err
		}
		regions, err := json.Marshal(app.Regions)
		if err != nil {
			return err
		}
		if _, err := s.db.TxExec(ctx, tx, qSupersede, ms(now), corp); err != nil {
			return err
		}
		if _, err := s.db.TxExec(ctx, tx, qInsertQualification, qid, corp, id, string(regions), ms(from), ms(until), ms(now), actor); err != nil {
			return err
		}
		ratings := map[Field]Rating{}
		rows, err := tx.QueryContext(ctx, qRatings, id, version)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r Rating
			var points string
			if err := rows.Scan(&r.Field, &r.Total, &r.Grade, &points); err != nil {
				rows.Close()
				return err
			}
			ratings[r.Field] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, f := range app.Fields {
			items, err := json.Marshal(f.Items)
			if err != nil {
				return err
			}
			r := ratings[f.Field]
			if _, err := s.db.TxExec(ctx, tx, qInsertQualificationField, qid, string(f.Field), string(r.Grade), r.Total, string(items)); err != nil {
				return err
			}
		}
		if _, err := s.db.TxExec(ctx, tx, qAssignCode, corp); err != nil {
			return err
		}
		_, err = s.db.TxExec(ctx, tx, qDecide, string(StateGranted), actor, "", "", "", ms(now), id)
		return err
	})
	if err != nil {
		return "", err
	}
	return qid, nil
}

// PowersOutlasting are the powers of attorney the register has seen for
// the corporation (those its applications were signed under) that are
// active and end after until: a grant until then leaves them unusable for
// bids and contracts past it (docs/procurement.md §3.1), which the grant
// page warns about.
func (s *Service) PowersOutlasting(ctx context.Context, corp string, until time.Time) ([]delegation.Power, error) {
	rows, err := s.db.QueryContext(ctx, qPowersSeen, corp)
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []delegation.Power
	for _, id := range ids {
		rec, err := s.powers.Get(ctx, id)
		if errors.Is(err, delegation.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		if rec.Status == delegation.StatusActive && rec.Power.NotAfter.After(until) {
			out = append(out, rec.Power)
		}
	}
	return out, nil
}
