package eligibility

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/store"
)

// LinkResult says what linking a platform ID did.
type LinkResult struct {
	// Linked are the records now linked (all five attributes agree).
	Linked []string `json:"linked"`
	// Queued are the records sent to a clerk: some attributes agree, some
	// do not, or the match is ambiguous.
	Queued []QueueItem `json:"queued"`
}

// QueueItem is a link a clerk must decide.
type QueueItem struct {
	ID         string   `json:"id"`
	PlatformID string   `json:"platform_id"`
	InsuredID  string   `json:"insured_id"`
	Mismatches []string `json:"mismatches"`
	Status     string   `json:"status"`
}

// Link links a person's insured records to their platform ID. person must
// come from the JPKI record of the certificate the platform authenticated —
// never from anything typed in. A record is linked only when all five
// attributes agree and nothing is ambiguous; a record of the same birth date
// with the same name or kana but another difference, a record linked to
// someone else, or two overlapping coverages that both agree, go to the
// clerk's queue.
func (s *Service) Link(ctx context.Context, platformID string, person Person) (*LinkResult, error) {
	if platformID == "" || person.BirthDate.IsZero() {
		return nil, fmt.Errorf("%w: platform ID and birth date are required", ErrInvalid)
	}
	res := &LinkResult{Linked: []string{}, Queued: []QueueItem{}}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res.Linked, res.Queued = res.Linked[:0], res.Queued[:0]
		cands, err := s.candidates(ctx, tx, civil(person.BirthDate))
		if err != nil {
			return err
		}
		type full struct {
			c      candidate
			linked bool // already linked to this platform ID
		}
		var fulls []full
		for _, c := range cands {
			mm := mismatches(c.Person, person)
			switch {
			case c.linkedTo != "" && c.linkedTo != platformID:
				if len(mm) == 0 {
					// Someone else holds a record that agrees in all five:
					// two people cannot be told apart by the machine.
					if err := s.enqueue(ctx, tx, platformID, c.ID, []string{"linked_to_another_person"}, person, res); err != nil {
						return err
					}
				}
			case len(mm) == 0:
				fulls = append(fulls, full{c, c.linkedTo == platformID})
			case !contains(mm, "name") || !contains(mm, "kana"):
				// Same birth date and the same name or kana, but not all
				// five: perhaps a married name, a move, a typo — or another
				// person. A clerk decides.
				if c.linkedTo == "" {
					if err := s.enqueue(ctx, tx, platformID, c.ID, mm, person, res); err != nil {
						return err
					}
				}
			}
		}
		// Two coverages that overlap in time and both agree in all five
		// cannot both be this person's (複数該当): a clerk decides.
		ambiguous := map[string]bool{}
		for i := range fulls {
			for j := i + 1; j < len(fulls); j++ {
				if overlap(fulls[i].c.Insured, fulls[j].c.Insured) && !sameCard(fulls[i].c.Insured, fulls[j].c.Insured) {
					ambiguous[fulls[i].c.ID], ambiguous[fulls[j].c.ID] = true, true
				}
			}
		}
		now := s.now().Unix()
		for _, f := range fulls {
			switch {
			case f.linked:
				res.Linked = append(res.Linked, f.c.ID)
			case ambiguous[f.c.ID]:
				if err := s.enqueue(ctx, tx, platformID, f.c.ID, []string{"multiple_candidates"}, person, res); err != nil {
					return err
				}
			default:
				if _, err := tx.ExecContext(ctx, qInsertLink, f.c.ID, platformID, now, "five-attributes"); err != nil {
					return fmt.Errorf("eligibility: link: %w", err)
				}
				res.Linked = append(res.Linked, f.c.ID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func overlap(a, b Insured) bool {
	aEnd, bEnd := a.LostOn, b.LostOn
	far := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	if aEnd.IsZero() {
		aEnd = far
	}
	if bEnd.IsZero() {
		bEnd = far
	}
	return a.AcquiredOn.Before(bEnd) && b.AcquiredOn.Before(aEnd)
}

func sameCard(a, b Insured) bool {
	return a.Insurer == b.Insurer && a.Symbol == b.Symbol && a.Number == b.Number && a.Branch == b.Branch
}

// candidate is an insured record with its current link.
type candidate struct {
	Insured
	linkedTo string
}

func (s *Service) candidates(ctx context.Context, tx *sql.Tx, birth string) ([]candidate, error) {
	rows, err := tx.QueryContext(ctx, qCandidates, birth)
	if err != nil {
		return nil, fmt.Errorf("eligibility: candidates: %w", err)
	}
	defer rows.Close()
	var out []candidate
	for rows.Next() {
		var c candidate
		var linked sql.NullString
		if err := scanInsured(rows, &c.Insured, &linked); err != nil {
			return nil, err
		}
		c.linkedTo = linked.String
		out = append(out, c)
	}
	return out, rows.Err()
}

// enqueue sends a link to the clerk's queue with a snapshot of the five
// attributes the link saw (seen), which the clerk compares with the record.
func (s *Service) enqueue(ctx context.Context, tx *sql.Tx, platformID, insuredID string, mm []string, seen Person, res *LinkResult) error {
	q := QueueItem{ID: newID(), PlatformID: platformID, InsuredID: insuredID, Mismatches: mm, Status: "pending"}
	snap, err := json.Marshal(seen)
	if err != nil {
		return fmt.Errorf("eligibility: queue for a clerk: %w", err)
	}
	r, err := tx.ExecContext(ctx, qInsertQueue, q.ID, platformID, insuredID, strings.Join(mm, ","), "pending", s.now().Unix(), string(snap))
	if err != nil {
		return fmt.Errorf("eligibility: queue for a clerk: %w", err)
	}
	if n, _ := r.RowsAffected(); n > 0 {
		res.Queued = append(res.Queued, q)
	}
	return nil
}

// Queue lists the links waiting for a clerk.
func (s *Service) Queue(ctx context.Context) ([]QueueItem, error) {
	rows, err := s.db.QueryContext(ctx, qPendingQueue)
	if err != nil {
		return nil, fmt.Errorf("eligibility: read queue: %w", err)
	}
	defer rows.Close()
	var out []QueueItem
	for rows.Next() {
		var q QueueItem
		var mm string
		if err := rows.Scan(&q.ID, &q.PlatformID, &q.InsuredID, &mm, &q.Status); err != nil {
			return nil, err
		}
		q.Mismatches = strings.Split(mm, ",")
		out = append(out, q)
	}
	return out, rows.Err()
}

// Decide records a clerk's decision on a queued link; approval links.
func (s *Service) Decide(ctx context.Context, queueID, clerk string, approve bool) error {
	if strings.TrimSpace(clerk) == "" {
		return fmt.Errorf("%w: the clerk must be named", ErrInvalid)
	}
	status := "rejected"
	if approve {
		status = "approved"
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var platformID, insuredID string
		err := tx.QueryRowContext(ctx, qQueueItem, queueID).Scan(&platformID, &insuredID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: queue item %s (or already decided)", ErrNotFound, queueID)
		}
		if err != nil {
			return err
		}
		now := s.now().Unix()
		if _, err := tx.ExecContext(ctx, qDecideQueue, status, now, clerk, queueID); err != nil {
			return err
		}
		if approve {
			if _, err := tx.ExecContext(ctx, qInsertLink, insuredID, platformID, now, "clerk:"+clerk); err != nil {
				if store.IsUniqueViolation(err) {
					return fmt.Errorf("%w: record %s is already linked", ErrInvalid, insuredID)
				}
				return err
			}
		}
		return nil
	})
}

// Validity is the answer of an eligibility check, with the real system's
// five values.
type Validity string

// The five values of オンライン資格確認.
const (
	Valid         Validity = "有効"
	Invalid       Validity = "無効"
	InvalidNewer  Validity = "無効（新しい資格あり）"
	NoCoverage    Validity = "該当資格なし"
	MultipleMatch Validity = "複数該当"
)

// Answer is what a reception learns.
type Answer struct {
	Validity Validity  `json:"validity"`
	On       time.Time `json:"on"`
	// Coverage is the valid record (有効), else the newest linked one.
	Coverage *Insured `json:"coverage,omitempty"`
}

// Check answers whether the holder of platformID is covered on day on.
func (s *Service) Check(ctx context.Context, platformID string, on time.Time) (*Answer, error) {
	rows, err := s.db.QueryPrepared(ctx, qLinkedTo, platformID)
	if err != nil {
		return nil, fmt.Errorf("eligibility: check: %w", err)
	}
	linked, err := readInsured(rows)
	if err != nil {
		return nil, err
	}
	ans := answerFor(linked, on)
	if ans.Validity == Invalid {
		var pending int
		if err := s.db.QueryRowPrepared(ctx, qPendingFor, platformID).Scan(&pending); err != nil {
			return nil, err
		}
		if pending > 0 {
			// Coverage ended, and a newer record waits for a clerk.
			ans.Validity = InvalidNewer
		}
	}
	return ans, nil
}

// answerFor is the answer of a person's records (newest first) for day on:
// 該当資格なし without records, 有効 with one covering the day, 複数該当 with
// more, else 無効 with the newest (callers tell 無効（新しい資格あり）apart).
func answerFor(records []Insured, on time.Time) *Answer {
	ans := &Answer{On: on}
	active := covering(records, on)
	switch {
	case len(records) == 0:
		ans.Validity = NoCoverage
	case len(active) == 1:
		ans.Validity, ans.Coverage = Valid, &active[0]
	case len(active) > 1:
		ans.Validity = MultipleMatch
	default:
		ans.Validity, ans.Coverage = Invalid, &records[0]
	}
	return ans
}

// readInsured reads and closes rows of insuredCols and a link.
func readInsured(rows *sql.Rows) ([]Insured, error) {
	defer rows.Close()
	var out []Insured
	for rows.Next() {
		var in Insured
		var linked sql.NullString
		if err := scanInsured(rows, &in, &linked); err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

type scanner interface{ Scan(...any) error }

func scanInsured(r scanner, in *Insured, linked *sql.NullString) error {
	var birth, acquired string
	var lost sql.NullString
	var elderly sql.NullInt64
	err := r.Scan(&in.ID, &in.Insurer, &in.Symbol, &in.Number, &in.Branch, &in.Relation, &in.Name, &in.Kana, &birth, &in.Sex,
		&in.Address, &in.CopayPercent, &elderly, &in.LimitCategory, &in.SpecificDisease, &acquired, &lost, linked)
	if err != nil {
		return fmt.Errorf("eligibility: read insured: %w", err)
	}
	in.ElderlyPercent = int(elderly.Int64)
	if in.BirthDate, err = parseCivil(birth); err != nil {
		return err
	}
	if in.AcquiredOn, err = parseCivil(acquired); err != nil {
		return err
	}
	if lost.Valid {
		if in.LostOn, err = parseCivil(lost.String); err != nil {
			return err
		}
	}
	return nil
}
