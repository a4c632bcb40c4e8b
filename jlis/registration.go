package jlis

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/wareki"
)

// 本籍地 usage registration (戸籍証明書交付の利用登録): a resident whose 本籍 is
// in another municipality files, once, a registration signed with the
// signing certificate. The 本籍地 compares name, birth date and sex from the
// certificate with its 戸籍: an exact match is approved at once, anything
// else waits for a clerk. The registration is bound to the serial of the
// authentication certificate it was filed with, so after a renewal it must
// be filed again, as in the real system (domain-research.md §2.3).

// Errors of registrations.
var (
	ErrBadSignature = errors.New("jlis: the registration's signature does not verify")
	ErrStale        = errors.New("jlis: the registration document is not the current one")
	// ErrNoKoseki means the 本籍地 has no 戸籍 that could be the holder's.
	ErrNoKoseki = errors.New("jlis: the 本籍地 keeps no family register of this person")
	// ErrNoPending means a clerk decided on a registration that is not
	// pending at that 本籍地: unknown, another 本籍地's, or already decided.
	// It is an ErrInvalid too.
	ErrNoPending = fmt.Errorf("%w: no such pending registration", ErrInvalid)
)

// The states of a registration.
const (
	RegPending  = "pending"
	RegApproved = "approved"
	RegRejected = "rejected"
)

// KosekiMatch asks a 本籍地 municipality which of name, birth date and sex
// differ between the holder and its 戸籍 (nil: an exact match), or
// ErrNoKoseki.
type KosekiMatch func(ctx context.Context, honseki string, h *jpki.Holder) ([]string, error)

// RegistrationDoc is the application the holder signs; the service builds
// its text again from these fields, so nothing else can be slipped in.
type RegistrationDoc struct {
	PlatformID  string
	AuthSerial  string // the authentication certificate the kiosk session was made with
	Honseki     string // municipality code of the 本籍地
	HonsekiName string
	At          time.Time // when it was shown, to the second
}

// Text is the signed document, Japanese first, with English.
func (d RegistrationDoc) Text() string {
	pid := sha256.Sum256([]byte(d.PlatformID))
	at := d.At.In(wareki.JST())
	when, err := wareki.Long(at)
	if err != nil {
		when = at.Format(time.DateOnly)
	}
	return strings.Join([]string{
		"戸籍証明書等のコンビニ交付の利用登録申請 / Registration for family-register certificates at kiosks",
		"本籍地 / Municipality of the family register: " + d.HonsekiName + " (" + d.Honseki + ")",
		"利用者証明用電子証明書のシリアル番号 / Authentication certificate serial: " + d.AuthSerial,
		"申請者（プラットフォームID の指紋） / Applicant (platform ID fingerprint): " + hex.EncodeToString(pid[:8]),
		"申請日時 / Filed at: " + when + " " + at.Format("15:04:05"),
		"本籍地が戸籍と照合し、一致すれば利用登録されます。カードを更新したときは、再度の申請が必要です。",
		"The municipality compares this with its family register. After renewing the card, file again.",
	}, "\n")
}

// Registration is a filed registration.
type Registration struct {
	ID         string    `json:"id"`
	PlatformID string    `json:"-"`
	AuthSerial string    `json:"auth_serial"`
	Honseki    string    `json:"honseki"`
	Status     string    `json:"status"`
	Mismatches []string  `json:"mismatches,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	// Holder is who the signing certificate names, for the 本籍地's clerk:
	// only the name, birth date and sex (what the 戸籍 is compared with)
	// are kept. Never sent as JSON; nil for a registration filed before
	// they were kept.
	Holder *jpki.Holder `json:"-"`
}

// Register checks a signed registration and files it: approved at once on
// an exact match with the 本籍地's 戸籍, else pending for a clerk. Filing
// the same one again returns the filed one. Nothing is stored when a check
// fails.
func (s *Service) Register(ctx context.Context, doc RegistrationDoc, certDER, sig []byte) (*Registration, error) {
	if s.verifier == nil || s.koseki == nil {
		return nil, errors.New("jlis: registrations are not configured (no verifier or 本籍地)")
	}
	now := s.now()
	switch {
	case doc.PlatformID == "" || doc.AuthSerial == "" || doc.Honseki == "":
		return nil, fmt.Errorf("%w: platform ID, certificate serial and 本籍地 are required", ErrInvalid)
	case doc.At.After(now.Add(time.Minute)) || now.Sub(doc.At) > 15*time.Minute:
		return nil, fmt.Errorf("%w: shown at %s", ErrStale, doc.At.Format(time.RFC3339))
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", jpki.ErrUntrustedCert, err)
	}
	if err := s.verifier.Check(ctx, cert, now); err != nil {
		return nil, err
	}
	text := doc.Text()
	if err := cert.CheckSignature(x509.SHA256WithRSA, []byte(text), sig); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	h, err := jpki.SigningHolder(cert)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", jpki.ErrUntrustedCert, err)
	}
	mm, err := s.koseki(ctx, doc.Honseki, h)
	if err != nil {
		return nil, err
	}
	h = &jpki.Holder{Name: h.Name, BirthDate: h.BirthDate, Sex: h.Sex}
	r := &Registration{ID: newID(), PlatformID: doc.PlatformID, AuthSerial: doc.AuthSerial, Honseki: doc.Honseki,
		Status: RegApproved, Mismatches: mm, CreatedAt: now.UTC(), Holder: h}
	if len(mm) > 0 {
		r.Status = RegPending
	}
	res, err := s.db.Write(ctx, qInsertRegistration, r.ID, r.PlatformID, r.AuthSerial, r.Honseki, r.Status,
		strings.Join(mm, ","), jpki.Serial(cert.SerialNumber), sig, text, now.UnixMilli(),
		h.Name, civilDate(h.BirthDate), int(h.Sex))
	if err != nil {
		return nil, fmt.Errorf("jlis: file registration: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return s.registration(ctx, qRegistrationByCert, doc.AuthSerial, doc.Honseki)
	}
	return r, nil
}

// Registered reports whether the holder of an authentication certificate
// may have 戸籍 certificates of honseki issued.
func (s *Service) Registered(ctx context.Context, authSerial, honseki string) (bool, error) {
	r, err := s.registration(ctx, qRegistrationByCert, authSerial, honseki)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return r.Status == RegApproved, nil
}

// Registrations lists a 本籍地's registrations in a state, oldest first.
func (s *Service) Registrations(ctx context.Context, honseki, status string) ([]Registration, error) {
	return s.registrations(ctx, qRegistrations, honseki, status)
}

func (s *Service) registrations(ctx context.Context, q string, args ...any) ([]Registration, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("jlis: read registrations: %w", err)
	}
	defer rows.Close()
	var out []Registration
	for rows.Next() {
		r, err := scanRegistration(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// RegistrationsOf lists the registrations filed with an authentication
// certificate, oldest first.
func (s *Service) RegistrationsOf(ctx context.Context, authSerial string) ([]Registration, error) {
	return s.registrations(ctx, qRegistrationsOfCert, authSerial)
}

// Decide records a 本籍地 clerk's decision on a pending registration.
func (s *Service) Decide(ctx context.Context, honseki, id, clerk string, approve bool) error {
	if strings.TrimSpace(clerk) == "" {
		return fmt.Errorf("%w: the clerk must be named", ErrInvalid)
	}
	status := RegRejected
	if approve {
		status = RegApproved
	}
	res, err := s.db.Write(ctx, qDecideRegistration, status, s.now().UnixMilli(), clerk, id, honseki, RegPending)
	if err != nil {
		return fmt.Errorf("jlis: decide registration: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %s at %s", ErrNoPending, id, honseki)
	}
	return nil
}

func (s *Service) registration(ctx context.Context, q string, args ...any) (*Registration, error) {
	return scanRegistration(s.db.QueryRowContext(ctx, q, args...))
}

type scanner interface{ Scan(...any) error }

func scanRegistration(r scanner) (*Registration, error) {
	var reg Registration
	var mm, name, birth string
	var created int64
	var sex int
	if err := r.Scan(&reg.ID, &reg.PlatformID, &reg.AuthSerial, &reg.Honseki, &reg.Status, &mm, &created, &name, &birth, &sex); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		return nil, fmt.Errorf("jlis: read registration: %w", err)
	}
	if mm != "" {
		reg.Mismatches = strings.Split(mm, ",")
	}
	reg.CreatedAt = time.UnixMilli(created).UTC()
	if name != "" {
		b, err := time.ParseInLocation(time.DateOnly, birth, wareki.JST())
		if err != nil {
			return nil, fmt.Errorf("jlis: read registration %s: holder's birth date: %w", reg.ID, err)
		}
		reg.Holder = &jpki.Holder{Name: name, BirthDate: b, Sex: jpki.Sex(sex)}
	}
	return &reg, nil
}

// civilDate is a birth date as the 戸籍 keeps it: the JST calendar date.
func civilDate(t time.Time) string { return t.In(wareki.JST()).Format(time.DateOnly) }
