package eligibility

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mynaplat/mynaplat/internal/trace"

	"golang.org/x/text/unicode/norm"

	"github.com/mynaplat/mynaplat/store"
)

// This file is the service side of the insurer back office (officeweb.go):
// an insurer's staff see and change only their insurer's records and decide
// only the queued links of those records, and every read of personal data
// and every decision leaves a row in elig_access_log.

// ErrOtherInsurer means a clerk tried to act on a record of another insurer.
var ErrOtherInsurer = errors.New("eligibility: the record belongs to another insurer")

// Staff is a member of an insurer's staff, as the back office knows them:
// the insurer they logged in for and the name they gave, recorded as the
// actor of every access and as the clerk of every decision.
type Staff struct {
	Insurer string
	Name    string
}

// Actions recorded in the access log.
const (
	ActionViewRecord  = "view_record"  // a record's page; subject: insured ID
	ActionViewQueue   = "view_queue"   // one queue item shown; subject: queue item ID
	ActionSearch      = "search"       // a search of the records; subject: the terms
	ActionAddInsured  = "add_insured"  // subject: the new insured ID
	ActionEndCoverage = "end_coverage" // subject: insured ID
	ActionChangeJob   = "change_job"   // subject: "old ID -> new ID"
	ActionApprove     = "approve"      // subject: queue item ID
	ActionReject      = "reject"       // subject: queue item ID
)

// AccessEntry is one row of the access log.
type AccessEntry struct {
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Insurer string    `json:"insurer"`
	Action  string    `json:"action"`
	Subject string    `json:"subject"`
}

// execer is a *sql.Tx or the store: where an access row is written.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (s *Service) logAccess(ctx context.Context, ex execer, st Staff, action, subject string) error {
	if _, err := ex.ExecContext(ctx, qOfficeLog, s.now().UnixMilli(), st.Name, st.Insurer, action, subject, trace.ID(ctx)); err != nil {
		return fmt.Errorf("eligibility: access log: %w", err)
	}
	return nil
}

// LogAccess records an access by a member of staff.
func (s *Service) LogAccess(ctx context.Context, st Staff, action, subject string) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error { return s.logAccess(ctx, tx, st, action, subject) })
}

// AccessLog lists an insurer's access rows, newest first, at most limit.
func (s *Service) AccessLog(ctx context.Context, insurer string, limit int) ([]AccessEntry, error) {
	rows, err := s.db.QueryContext(ctx, qOfficeLogOf, insurer, limit)
	if err != nil {
		return nil, fmt.Errorf("eligibility: read access log: %w", err)
	}
	defer rows.Close()
	var out []AccessEntry
	for rows.Next() {
		var e AccessEntry
		var at int64
		if err := rows.Scan(&at, &e.Actor, &e.Insurer, &e.Action, &e.Subject); err != nil {
			return nil, fmt.Errorf("eligibility: read access log: %w", err)
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// InsurerName is the registered name of an insurer.
func (s *Service) InsurerName(ctx context.Context, number string) (string, error) {
	var name string
	err := s.db.QueryRowContext(ctx, qOfficeInsurerName, number).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%w: insurer %s", ErrNotFound, number)
	}
	if err != nil {
		return "", fmt.Errorf("eligibility: insurer name: %w", err)
	}
	return name, nil
}

// OfficeRecord is an insured record as the insurer's staff see it: whether
// it is linked to a platform ID, never the ID itself.
type OfficeRecord struct {
	Insured
	Linked bool
}

// ViewRecord returns one of the staff's insurer's records and logs the
// view; a record of another insurer is ErrNotFound, as if it did not exist.
// Nothing is shown unless the access row is written.
func (s *Service) ViewRecord(ctx context.Context, st Staff, id string) (*OfficeRecord, error) {
	rec, err := s.recordOf(ctx, st.Insurer, id)
	if err != nil {
		return nil, err
	}
	if err := s.LogAccess(ctx, st, ActionViewRecord, id); err != nil {
		return nil, err
	}
	return rec, nil
}

// recordOf reads an insurer's record without logging, to check ownership
// before a change.
func (s *Service) recordOf(ctx context.Context, insurer, id string) (*OfficeRecord, error) {
	var rec OfficeRecord
	var linked sql.NullString
	err := scanInsured(s.db.QueryRowContext(ctx, qOfficeRecord, id, insurer), &rec.Insured, &linked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: insured %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	rec.Linked = linked.Valid
	return &rec, nil
}

// RecordQuery selects records of one insurer: by 記号 and 番号 (exact) and
// part of the kana name (katakana or hiragana, spaces ignored). Page counts
// from 1.
type RecordQuery struct {
	Symbol, Number, Kana string
	Page                 int
}

// OfficePageSize is the most records a page of search results shows.
const OfficePageSize = 50

// kanaTerm normalises a kana search term the way records are compared:
// NFKC (half-width to full-width), hiragana to katakana, no spaces.
func kanaTerm(s string) string {
	s = norm.NFKC.String(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == ' ' || r == '\u3000' || r == '\t':
			continue
		case r >= 'ぁ' && r <= 'ゖ':
			r += 'ァ' - 'ぁ'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// likeContains is a LIKE pattern (ESCAPE '\') matching s anywhere.
func likeContains(s string) string {
	if s == "" {
		return ""
	}
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// String is the query as the access log records it.
func (q RecordQuery) String() string {
	return fmt.Sprintf("symbol=%q number=%q kana=%q page=%d", q.Symbol, q.Number, q.Kana, q.Page)
}

// SearchRecords lists the staff's insurer's records matching q, at most
// OfficePageSize, ordered by kana; more says whether another page follows.
// The search is logged.
func (s *Service) SearchRecords(ctx context.Context, st Staff, q RecordQuery) (recs []OfficeRecord, more bool, err error) {
	q.Symbol, q.Number, q.Kana = strings.TrimSpace(q.Symbol), strings.TrimSpace(q.Number), kanaTerm(q.Kana)
	if q.Page < 1 {
		q.Page = 1
	}
	if utf8.RuneCountInString(q.Symbol) > 20 || utf8.RuneCountInString(q.Number) > 20 || utf8.RuneCountInString(q.Kana) > 50 {
		return nil, false, fmt.Errorf("%w: search terms too long", ErrInvalid)
	}
	rows, err := s.db.QueryContext(ctx, qOfficeSearch, st.Insurer, q.Symbol, q.Number, likeContains(q.Kana),
		OfficePageSize+1, (q.Page-1)*OfficePageSize)
	if err != nil {
		return nil, false, fmt.Errorf("eligibility: search records: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var rec OfficeRecord
		var linked sql.NullString
		if err := scanInsured(rows, &rec.Insured, &linked); err != nil {
			return nil, false, err
		}
		rec.Linked = linked.Valid
		recs = append(recs, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("eligibility: search records: %w", err)
	}
	if len(recs) > OfficePageSize {
		recs, more = recs[:OfficePageSize], true
	}
	if err := s.LogAccess(ctx, st, ActionSearch, q.String()); err != nil {
		return nil, false, err
	}
	return recs, more, nil
}

// QueueEntry is a queued link as the insurer's clerk sees it: the record,
// and the five attributes of the person's JPKI record the link saw. The
// platform ID is not shown.
type QueueEntry struct {
	ID     string
	Record OfficeRecord
	// Seen is the JPKI side; nil for items queued before snapshots were kept.
	Seen *Person
	// Reasons are why the link was queued (the machine's mismatches, or
	// linked_to_another_person, multiple_candidates).
	Reasons []string
	// Mismatches are the attributes in which Record and Seen differ now.
	Mismatches []string
	QueuedAt   time.Time
}

// Differs reports whether attribute a (name, kana, birth_date, sex,
// address) differs between the two sides.
func (e QueueEntry) Differs(a string) bool { return contains(e.Mismatches, a) }

// ViewQueue lists the links waiting for a clerk whose records are the
// staff's insurer's, oldest first, at most limit, and logs one access row
// per item shown.
func (s *Service) ViewQueue(ctx context.Context, st Staff, limit int) ([]QueueEntry, error) {
	rows, err := s.db.QueryContext(ctx, qOfficeQueue, st.Insurer, limit)
	if err != nil {
		return nil, fmt.Errorf("eligibility: read queue: %w", err)
	}
	var out []QueueEntry
	for rows.Next() {
		var e QueueEntry
		var mm, snap string
		var at int64
		var linked sql.NullString
		var in Insured
		// scanInsured reads the record's columns; the queue's come first.
		err := scanInsured(prefixed{rows, []any{&e.ID, &mm, &snap, &at}}, &in, &linked)
		if err != nil {
			rows.Close()
			return nil, err
		}
		e.Record = OfficeRecord{Insured: in, Linked: linked.Valid}
		e.Reasons = strings.Split(mm, ",")
		e.QueuedAt = time.Unix(at, 0).UTC()
		if snap != "" {
			var p Person
			if err := json.Unmarshal([]byte(snap), &p); err != nil {
				rows.Close()
				return nil, fmt.Errorf("eligibility: read queue snapshot %s: %w", e.ID, err)
			}
			// The civil date, in the same location as the record's.
			if p.BirthDate, err = parseCivil(civil(p.BirthDate)); err != nil {
				rows.Close()
				return nil, err
			}
			e.Seen = &p
			e.Mismatches = mismatches(in.Person, p)
		}
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("eligibility: read queue: %w", err)
	}
	if len(out) > 0 {
		err = s.db.Tx(ctx, func(tx *sql.Tx) error {
			for _, e := range out {
				if err := s.logAccess(ctx, tx, st, ActionViewQueue, e.ID); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// prefixed scans some leading columns into head and passes the rest on.
type prefixed struct {
	r    scanner
	head []any
}

func (p prefixed) Scan(dest ...any) error { return p.r.Scan(append(p.head, dest...)...) }

// DecideFor is Decide for a clerk of one insurer: an item whose record
// belongs to another insurer is refused with ErrOtherInsurer and nothing
// changes. The decision and its access row are one transaction.
func (s *Service) DecideFor(ctx context.Context, insurer, queueID, clerk string, approve bool) error {
	if strings.TrimSpace(clerk) == "" || insurer == "" {
		return fmt.Errorf("%w: the clerk and the insurer must be named", ErrInvalid)
	}
	status, action := "rejected", ActionReject
	if approve {
		status, action = "approved", ActionApprove
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var platformID, insuredID, owner string
		err := tx.QueryRowContext(ctx, qOfficeQueueItem, queueID).Scan(&platformID, &insuredID, &owner)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: queue item %s (or already decided)", ErrNotFound, queueID)
		}
		if err != nil {
			return fmt.Errorf("eligibility: decide: %w", err)
		}
		if owner != insurer {
			s.logger.WarnContext(ctx, "a clerk tried to decide another insurer's queue item", "insurer", insurer, "clerk", clerk, "queue_item", queueID)
			return fmt.Errorf("%w: queue item %s", ErrOtherInsurer, queueID)
		}
		now := s.now().Unix()
		if _, err := tx.ExecContext(ctx, qDecideQueue, status, now, clerk, queueID); err != nil {
			return fmt.Errorf("eligibility: decide: %w", err)
		}
		if approve {
			// A record linked meanwhile (to anyone) is not linked again: an
			// INSERT that fails would abort a PostgreSQL transaction, so
			// look first.
			var linked string
			err := tx.QueryRowContext(ctx, qLinkOf, insuredID).Scan(&linked)
			if err == nil {
				return fmt.Errorf("%w: record %s is already linked", ErrInvalid, insuredID)
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("eligibility: decide: %w", err)
			}
			if _, err := tx.ExecContext(ctx, qInsertLink, insuredID, platformID, now, "clerk:"+clerk); err != nil {
				if store.IsUniqueViolation(err) {
					return fmt.Errorf("%w: record %s is already linked", ErrInvalid, insuredID)
				}
				return fmt.Errorf("eligibility: decide: %w", err)
			}
		}
		return s.logAccess(ctx, tx, Staff{Insurer: insurer, Name: clerk}, action, queueID)
	})
}
