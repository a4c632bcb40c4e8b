package body

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/mynaplat/mynaplat/sealedbid"
)

// MinPassphrase is the shortest opening passphrase, in characters. Each
// guess costs an Argon2id derivation (sealedbid.DefaultKDF), but the
// sealed rows may be copied and attacked offline for as long as a tender
// runs.
const MinPassphrase = 12

// An officer's personal opening key (docs/procurement.md §5.4).
//
// sealedbid.NewOpening seals each share under its officer's passphrase,
// so every officer would have to type theirs when the tender is made.
// Instead each officer makes a personal opening key once, on their own
// signed-in page: an RSA key and certificate from sealedbid.NewOpening
// with k = n = 2, both halves sealed under the one passphrase they type
// (sealedbid needs k ≥ 2; two halves under one passphrase are one secret
// with two Argon2id derivations). A tender's shares are then sealed under
// fresh random passphrases, and each random passphrase is sealed to its
// officer's personal certificate (sealedbid.Seal). At the opening the
// officer's passphrase opens their personal key, which opens their random
// passphrase, which opens their share. No passphrase is stored or logged;
// one officer's passphrase opens one share.

func halves(officer string) (a, b string) { return officer + "#1", officer + "#2" }

// Officer is an officer with a personal opening key at a body.
type Officer struct {
	ID   string // platform ID
	Name string
}

// Enroll makes the officer's personal opening key under passphrase
// (typed twice: confirm). An officer enrolls once.
func (s *Service) Enroll(ctx context.Context, body, officer, name string, passphrase, confirm []byte) error {
	h, err := s.body(body)
	if err != nil {
		return err
	}
	actor := "staff:" + officer
	if err := s.checkPassphrase(passphrase, confirm); err != nil {
		return s.refused(ctx, body, actor, "enroll", "", err)
	}
	if ok, err := s.enrolled(ctx, body, officer); err != nil {
		return err
	} else if ok {
		return s.refused(ctx, body, actor, "enroll", "", refuse(ReasonEnrolled, ""))
	}
	a, b := halves(officer)
	pub, err := sealedbid.NewOpening(rand.Reader, "opening officer "+h.ID+" "+officer, 2,
		[]sealedbid.Officer{{ID: a, Passphrase: passphrase}, {ID: b, Passphrase: passphrase}})
	if err != nil {
		return fmt.Errorf("body: personal opening key: %w", err)
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.db.TxExec(ctx, tx, qInsertOfficerKey, body, officer, name, pub.Certificate,
			pub.Shares[0].Marshal(), pub.Shares[1].Marshal(), ms(s.now())); err != nil {
			return err
		}
		return s.audit(ctx, tx, body, actor, "enroll", "", "ok", name)
	})
}

func (s *Service) checkPassphrase(passphrase, confirm []byte) error {
	if utf8.RuneCount(passphrase) < MinPassphrase || !utf8.Valid(passphrase) {
		return refuse(ReasonWeakPass, "")
	}
	if string(passphrase) != string(confirm) {
		return refuse(ReasonPassMismatch, "")
	}
	return nil
}

func (s *Service) enrolled(ctx context.Context, body, officer string) (bool, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, qOfficerEnrolled, body, officer).Scan(&n); err != nil {
		return false, err
	}
	return n > 0, nil
}

// Enrolled reports whether the officer has a personal opening key.
func (s *Service) Enrolled(ctx context.Context, body, officer string) (bool, error) {
	if _, err := s.body(body); err != nil {
		return false, err
	}
	return s.enrolled(ctx, body, officer)
}

// Officers are the body's officers with a personal opening key: those a
// tender may name.
func (s *Service) Officers(ctx context.Context, body string) ([]Officer, error) {
	rows, err := s.db.QueryContext(ctx, qOfficers, body)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Officer
	for rows.Next() {
		var o Officer
		if err := rows.Scan(&o.ID, &o.Name); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// officerKey is an officer's personal opening key as stored.
type officerKey struct {
	cert   []byte
	shares []sealedbid.SealedShare
}

func (s *Service) officerKey(ctx context.Context, q queryRower, body, officer string) (*officerKey, error) {
	var k officerKey
	var a, b []byte
	err := q.QueryRowContext(ctx, qOfficerKey, body, officer).Scan(&k.cert, &a, &b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, refuse(ReasonNotEnrolled, officer)
	}
	if err != nil {
		return nil, err
	}
	for _, raw := range [][]byte{a, b} {
		sh, err := sealedbid.ParseSealedShare(raw)
		if err != nil {
			return nil, err
		}
		k.shares = append(k.shares, *sh)
	}
	return &k, nil
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// SharePassphrase is what the opening (slice 5) needs of one officer: the
// passphrase of the officer's share of the tender, which the officer's own
// opening passphrase unlocks (through their personal key). The result
// goes to sealedbid.Open and is not kept.
func (s *Service) SharePassphrase(ctx context.Context, body, tender, officer string, passphrase []byte) ([]byte, error) {
	if _, err := s.body(body); err != nil {
		return nil, err
	}
	k, err := s.officerKey(ctx, s.db, body, officer)
	if err != nil {
		return nil, err
	}
	var sealed []byte
	err = s.db.QueryRowContext(ctx, qTenderOfficerPass, body, tender, officer).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: officer %s holds no share of tender %s", ErrNotFound, officer, tender)
	}
	if err != nil {
		return nil, err
	}
	a, b := halves(officer)
	op, err := sealedbid.Open(k.cert, k.shares, map[string][]byte{a: passphrase, b: passphrase})
	if err != nil {
		if errors.Is(err, sealedbid.ErrWrongPassphrase) {
			return nil, refuse(ReasonWrongPass, officer)
		}
		return nil, err
	}
	defer op.Close()
	return op.Decrypt(sealed)
}
