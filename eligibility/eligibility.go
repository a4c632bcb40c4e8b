package eligibility

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/mynaplat/mynaplat/cardco"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/wareki"
)

//go:embed migrations
var migrations embed.FS

// Errors of the eligibility service.
var (
	ErrInvalid  = errors.New("eligibility: invalid request")
	ErrNotFound = errors.New("eligibility: not found")
)

// Service keeps insurers, insured persons and their links to platform IDs.
type Service struct {
	db         *store.DB
	now        func() time.Time
	logger     *slog.Logger
	keys       func(context.Context) (platform.JWKS, error)
	issuer     string
	attributes func(ctx context.Context, platformID string) (*jpki.HolderAttributes, error)
	// facilityKeys (key hash → code) and terminalFacilities (terminal →
	// facility) remember lookups that never change once made.
	facilityKeys, terminalFacilities sync.Map
	cardco                           *cardco.Client // payment with the card (pay.go); nil when not offered
	pay                              PaymentConfig
}

// Config holds what the service needs.
type Config struct {
	DB     *store.DB
	Now    func() time.Time
	Logger *slog.Logger
	// Keys are the platform's assertion keys (its JWKS) and Issuer its name
	// in assertions: the facility API accepts a card holder only on a
	// platform assertion.
	Keys   func(context.Context) (platform.JWKS, error)
	Issuer string
	// Attributes are the JPKI attributes of a platform ID's holder, from the
	// platform, for the five-attribute link.
	Attributes func(ctx context.Context, platformID string) (*jpki.HolderAttributes, error)
	// CardCo is the platform's merchant client at the card company, for
	// payment with the card (pay.go); nil when payment is not offered.
	CardCo *cardco.Client
	// Payment is what linking a card-company token needs (pay.go).
	Payment PaymentConfig
}

// Open migrates the service's tables.
func Open(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	mfs, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if err := cfg.DB.Migrate(ctx, "eligibility", mfs); err != nil {
		return nil, err
	}
	return &Service{db: cfg.DB, now: cfg.Now, logger: cfg.Logger, keys: cfg.Keys, issuer: cfg.Issuer, attributes: cfg.Attributes,
		cardco: cfg.CardCo, pay: cfg.Payment}, nil
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

var (
	insurerNumber = regexp.MustCompile(`^[0-9]{6}([0-9]{2})?$`) // 6 digits (国保) or 8
	branchPattern = regexp.MustCompile(`^[0-9]{2}$`)
)

// AddInsurer registers an insurer and returns its API key (shown once).
func (s *Service) AddInsurer(ctx context.Context, number, name string) (string, error) {
	if !insurerNumber.MatchString(number) || strings.TrimSpace(name) == "" {
		return "", fmt.Errorf("%w: insurer number must be 6 or 8 digits and the name not empty", ErrInvalid)
	}
	b := make([]byte, 24)
	rand.Read(b)
	key := "insurer_" + base64.RawURLEncoding.EncodeToString(b)
	_, err := s.db.Write(ctx, qInsertInsurer, number, name, hashKey(key), s.now().Unix())
	if store.IsUniqueViolation(err) {
		return "", fmt.Errorf("%w: insurer %s exists", ErrInvalid, number)
	}
	if err != nil {
		return "", fmt.Errorf("eligibility: add insurer: %w", err)
	}
	return key, nil
}

func hashKey(k string) string {
	s := sha256.Sum256([]byte(k))
	return hex.EncodeToString(s[:])
}

// InsurerByKey returns the insurer number an API key belongs to.
func (s *Service) InsurerByKey(ctx context.Context, key string) (string, error) {
	var number string
	err := s.db.QueryRowContext(ctx, qInsurerByKey, hashKey(key)).Scan(&number)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%w: insurer key", ErrNotFound)
	}
	return number, err
}

// Person is who a record or a JPKI record says someone is: the five
// attributes the link rests on.
type Person struct {
	Name      string    `json:"name"`       // 氏名 (kanji)
	Kana      string    `json:"kana"`       // フリガナ
	BirthDate time.Time `json:"birth_date"` // civil date
	Sex       int       `json:"sex"`        // 1 male, 2 female, 3 unknown
	Address   string    `json:"address"`
}

// Insured is one insured record: a person's coverage under one insurer for
// one period.
type Insured struct {
	ID       string `json:"id"`
	Insurer  string `json:"insurer"`  // 保険者番号
	Symbol   string `json:"symbol"`   // 記号
	Number   string `json:"number"`   // 番号
	Branch   string `json:"branch"`   // 枝番, 2 digits
	Relation string `json:"relation"` // "self" (本人) or "family" (家族)
	Person
	CopayPercent    int       `json:"copay_percent"`    // 負担割合: 10, 20 or 30
	ElderlyPercent  int       `json:"elderly_percent"`  // 高齢受給者証の負担割合, 0 if none
	LimitCategory   string    `json:"limit_category"`   // 限度額適用区分, "" if none
	SpecificDisease string    `json:"specific_disease"` // 特定疾病, "" if none
	AcquiredOn      time.Time `json:"acquired_on"`      // 資格取得日
	LostOn          time.Time `json:"lost_on,omitzero"` // 資格喪失日, zero while covered
}

const dateFormat = time.DateOnly

func civil(t time.Time) string { return t.In(wareki.JST()).Format(dateFormat) }

func parseCivil(s string) (time.Time, error) {
	return time.ParseInLocation(dateFormat, s, wareki.JST())
}

func (in *Insured) validate() error {
	var p []string
	if !insurerNumber.MatchString(in.Insurer) {
		p = append(p, "insurer number")
	}
	if in.Symbol == "" && in.Number == "" || len(in.Number) > 20 || len(in.Symbol) > 20 {
		p = append(p, "symbol/number")
	}
	if !branchPattern.MatchString(in.Branch) {
		p = append(p, "branch (2 digits)")
	}
	if in.Relation != "self" && in.Relation != "family" {
		p = append(p, "relation (self or family)")
	}
	if strings.TrimSpace(in.Name) == "" || strings.TrimSpace(in.Kana) == "" || in.BirthDate.IsZero() || strings.TrimSpace(in.Address) == "" {
		p = append(p, "name, kana, birth date and address are all required")
	}
	if in.Sex < 1 || in.Sex > 3 {
		p = append(p, "sex")
	}
	if in.CopayPercent != 10 && in.CopayPercent != 20 && in.CopayPercent != 30 {
		p = append(p, "copay percent (10, 20 or 30)")
	}
	if in.AcquiredOn.IsZero() || (!in.LostOn.IsZero() && in.LostOn.Before(in.AcquiredOn)) {
		p = append(p, "acquired/lost dates")
	}
	if len(p) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(p, "; "))
	}
	return nil
}

// AddInsured records a coverage.
func (s *Service) AddInsured(ctx context.Context, in Insured) (*Insured, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	in.ID = newID()
	now := s.now().Unix()
	var lost any
	if !in.LostOn.IsZero() {
		lost = civil(in.LostOn)
	}
	var elderly any
	if in.ElderlyPercent > 0 {
		elderly = in.ElderlyPercent
	}
	_, err := s.db.Write(ctx, qInsertInsured, in.ID, in.Insurer, in.Symbol, in.Number, in.Branch, in.Relation,
		in.Name, in.Kana, civil(in.BirthDate), in.Sex, in.Address, in.CopayPercent, elderly, in.LimitCategory,
		in.SpecificDisease, civil(in.AcquiredOn), lost, now)
	if store.IsUniqueViolation(err) {
		return nil, fmt.Errorf("%w: this coverage is already recorded", ErrInvalid)
	}
	if err != nil {
		return nil, fmt.Errorf("eligibility: add insured: %w", err)
	}
	return &in, nil
}

// EndCoverage records the day after the last covered day (資格喪失日).
func (s *Service) EndCoverage(ctx context.Context, insuredID string, lostOn time.Time) error {
	res, err := s.db.Write(ctx, qEndCoverage, civil(lostOn), s.now().Unix(), insuredID)
	if err != nil {
		return fmt.Errorf("eligibility: end coverage: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: insured %s (or already ended)", ErrNotFound, insuredID)
	}
	return nil
}

// ChangeJob ends a coverage and starts the new one in one transaction: a job
// change (転職) moves a person from one insurer to another on one day.
func (s *Service) ChangeJob(ctx context.Context, oldID string, next Insured) (*Insured, error) {
	if err := next.validate(); err != nil {
		return nil, err
	}
	next.ID = newID()
	now := s.now().Unix()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, qEndCoverage, civil(next.AcquiredOn), now, oldID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: insured %s (or already ended)", ErrNotFound, oldID)
		}
		var elderly any
		if next.ElderlyPercent > 0 {
			elderly = next.ElderlyPercent
		}
		_, err = tx.ExecContext(ctx, qInsertInsured, next.ID, next.Insurer, next.Symbol, next.Number, next.Branch, next.Relation,
			next.Name, next.Kana, civil(next.BirthDate), next.Sex, next.Address, next.CopayPercent, elderly, next.LimitCategory,
			next.SpecificDisease, civil(next.AcquiredOn), nil, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("eligibility: change job: %w", err)
	}
	return &next, nil
}

// normalize makes two spellings of one value compare equal: NFKC (full-width
// digits and letters, half-width kana), no spaces of either width, one kind
// of hyphen. It does not touch 旧字体 or 外字: a different character is a
// mismatch, and a clerk decides.
func normalize(s string) string {
	s = norm.NFKC.String(s)
	var b strings.Builder
	for _, r := range s {
		switch r {
		case ' ', '\u3000', '\t':
			continue
		case '‐', '‑', '‒', '–', '—', '−', '－':
			r = '-'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mismatches lists which of the five attributes differ.
func mismatches(a, b Person) []string {
	var out []string
	if normalize(a.Name) != normalize(b.Name) {
		out = append(out, "name")
	}
	if normalize(a.Kana) != normalize(b.Kana) {
		out = append(out, "kana")
	}
	if civil(a.BirthDate) != civil(b.BirthDate) {
		out = append(out, "birth_date")
	}
	if a.Sex != b.Sex {
		out = append(out, "sex")
	}
	if normalize(a.Address) != normalize(b.Address) {
		out = append(out, "address")
	}
	return out
}
