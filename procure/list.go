package procure

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Qualification is a granted qualification as the register publishes it:
// the open-data fields of the 全省庁統一資格 list (docs/procurement.md §8)
// and the grade per field, which the procuring bodies read.
type Qualification struct {
	ID string `json:"id"`
	// Code is the 業者コード, ten digits, given at the business's first
	// grant.
	Code            string    `json:"code"`
	CorporateNumber string    `json:"corporate_number"`
	Name            string    `json:"name"`
	Address         string    `json:"address"`
	Representative  string    `json:"representative"`
	Founded         string    `json:"founded"`
	Regions         []string  `json:"regions"`
	Fields          []Graded  `json:"fields"`
	ValidFrom       time.Time `json:"valid_from"`
	ValidUntil      time.Time `json:"valid_until"`
	GrantedAt       time.Time `json:"granted_at"`
}

// Graded is a field of a qualification: its grade, score and items.
type Graded struct {
	Field Field    `json:"field"`
	Grade Grade    `json:"grade"`
	Total int      `json:"total"`
	Items []string `json:"items"`
}

// Grade is the qualification's grade in field f, "" when it has none.
func (q *Qualification) Grade(f Field) Grade {
	for _, g := range q.Fields {
		if g.Field == f {
			return g.Grade
		}
	}
	return ""
}

func code(seq sql.NullInt64) string {
	if !seq.Valid {
		return ""
	}
	return fmt.Sprintf("%010d", seq.Int64)
}

func (s *Service) scanQualification(ctx context.Context, sc interface{ Scan(...any) error }) (*Qualification, error) {
	var q Qualification
	var seq sql.NullInt64
	var regions string
	var from, until, granted int64
	if err := sc.Scan(&q.ID, &q.CorporateNumber, &seq, &q.Name, &q.Address, &q.Representative, &q.Founded, &regions,
		&from, &until, &granted); err != nil {
		return nil, err
	}
	q.Code, q.ValidFrom, q.ValidUntil, q.GrantedAt = code(seq), fromMS(from), fromMS(until), fromMS(granted)
	if err := json.Unmarshal([]byte(regions), &q.Regions); err != nil {
		return nil, err
	}
	return &q, nil
}

func (s *Service) fields(ctx context.Context, q *Qualification) error {
	rows, err := s.db.QueryContext(ctx, qQualificationFields, q.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var g Graded
		var items string
		if err := rows.Scan(&g.Field, &g.Grade, &g.Total, &items); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(items), &g.Items); err != nil {
			return err
		}
		q.Fields = append(q.Fields, g)
	}
	slices.SortFunc(q.Fields, func(a, b Graded) int { return slices.Index(Fields(), a.Field) - slices.Index(Fields(), b.Field) })
	return rows.Err()
}

// QualificationAt is the business's qualification valid at at (the latest
// granted, when a renewal overlaps the one before), or ErrNotFound.
func (s *Service) QualificationAt(ctx context.Context, number string, at time.Time) (*Qualification, error) {
	q, err := s.scanQualification(ctx, s.db.QueryRowContext(ctx, qQualificationAt, number, ms(at)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: no qualification of %s at %s", ErrNotFound, number, at.Format(time.RFC3339))
	} else if err != nil {
		return nil, err
	}
	if err := s.fields(ctx, q); err != nil {
		return nil, err
	}
	return q, nil
}

// Qualification is QualificationAt now.
func (s *Service) Qualification(ctx context.Context, number string) (*Qualification, error) {
	return s.QualificationAt(ctx, number, s.clock())
}

// MaxPage is the most entries List returns at once.
const MaxPage = 1000

// List is the public list: the qualifications valid now, by 業者コード,
// limit (at most MaxPage) from offset.
func (s *Service) List(ctx context.Context, limit, offset int) ([]*Qualification, error) {
	if limit <= 0 || limit > MaxPage {
		limit = MaxPage
	}
	rows, err := s.db.QueryContext(ctx, qListAt, ms(s.clock()), limit, max(offset, 0))
	if err != nil {
		return nil, err
	}
	var out []*Qualification
	for rows.Next() {
		q, err := s.scanQualification(ctx, rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, q)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, q := range out {
		if err := s.fields(ctx, q); err != nil {
			return nil, err
		}
	}
	return out, nil
}
