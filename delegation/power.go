package delegation

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mynaplat/mynaplat/corpreg"
)

// The "type" member of the signed JSON: it keeps a power and a revocation,
// both signed by the same representative, from being taken for each other.
const (
	powerType      = "mynaplat-delegation-power/1"
	revocationType = "mynaplat-delegation-revocation/1"
)

// Limits of a power's content.
const (
	maxContent = 64 << 10
	maxPowers  = 64
	maxText    = 200
)

// idPattern is what a power ID looks like: NewID's 32 hex digits, or any
// other 16 to 64 characters of the URL-safe alphabet.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)

// Principal is the 委任者: the corporation, named with its representative
// who signed the power (for a sub-delegation, the same as the parent's).
type Principal struct {
	CorporateNumber    string `json:"corporate_number"`
	CorporationName    string `json:"corporation_name"`
	RepresentativeName string `json:"representative_name"`
}

// Agent is the 受任者 (代理人): a person identified through the platform.
type Agent struct {
	// PlatformID is the person's platform ID, to which the platform
	// resolves their JPKI signing certificate (Config.SignerPerson).
	PlatformID string `json:"platform_id"`
	Name       string `json:"name"`
}

// Power is a 電子委任状: the content that the representative (or, for a
// sub-delegation, the parent power's agent) signs. Canonical gives its
// one byte form.
type Power struct {
	// ID names the power; the signer chooses it (NewID).
	ID        string    `json:"id"`
	Principal Principal `json:"principal"`
	Agent     Agent     `json:"agent"`
	// Powers are the 委任事項: document types or actions, e.g.
	// "保険料控除証明書". Canonical sorts them and drops duplicates.
	Powers []string `json:"powers"`
	// NotBefore and NotAfter bound the 有効期間, both inclusive; Canonical
	// keeps whole seconds in UTC.
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	// SubDelegation allows the agent to delegate (復代理) within this power.
	SubDelegation bool `json:"sub_delegation"`
	// Parent is the ID of the power this one sub-delegates; empty for a
	// power from the corporation's representative.
	Parent string `json:"parent,omitempty"`
}

// powerJSON is the signed form: the type, then the power's members in the
// order of Power's fields.
type powerJSON struct {
	Type string `json:"type"`
	Power
}

// NewID returns a fresh random power ID (128 bits, hex).
func NewID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// ValidID reports whether id has the form of a power ID (NewID's, or one
// of 16–64 characters of A–Z, a–z, 0–9, _ and -).
func ValidID(id string) bool { return idPattern.MatchString(id) }

func checkText(what, s string) error {
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxText || strings.TrimSpace(s) != s ||
		strings.ContainsFunc(s, unicode.IsControl) {
		return fmt.Errorf("%w: %s must be 1–%d characters without control characters or surrounding spaces", ErrInvalid, what, maxText)
	}
	return nil
}

// normalize puts p into canonical form and checks it.
func (p *Power) normalize() error {
	p.NotBefore = p.NotBefore.UTC().Truncate(time.Second)
	p.NotAfter = p.NotAfter.UTC().Truncate(time.Second)
	p.Powers = slices.Compact(slices.Sorted(slices.Values(p.Powers)))
	return p.validate()
}

func (p *Power) validate() error {
	if !idPattern.MatchString(p.ID) {
		return fmt.Errorf("%w: the power ID must be 16–64 characters of A–Z, a–z, 0–9, _ and -", ErrInvalid)
	}
	if p.Parent != "" && (!idPattern.MatchString(p.Parent) || p.Parent == p.ID) {
		return fmt.Errorf("%w: the parent is not another power's ID", ErrInvalid)
	}
	if err := corpreg.ValidNumber(p.Principal.CorporateNumber); err != nil {
		return fmt.Errorf("%w: principal: %w", ErrInvalid, err)
	}
	for _, e := range []error{
		checkText("the corporation's name", p.Principal.CorporationName),
		checkText("the representative's name", p.Principal.RepresentativeName),
		checkText("the agent's platform ID", p.Agent.PlatformID),
		checkText("the agent's name", p.Agent.Name),
	} {
		if e != nil {
			return e
		}
	}
	if len(p.Powers) == 0 || len(p.Powers) > maxPowers {
		return fmt.Errorf("%w: a power names 1–%d matters", ErrInvalid, maxPowers)
	}
	for _, m := range p.Powers {
		if err := checkText("a delegated matter", m); err != nil {
			return err
		}
	}
	if !p.NotBefore.Before(p.NotAfter) {
		return fmt.Errorf("%w: the period must end after it starts", ErrInvalid)
	}
	return nil
}

// Canonical returns the power's signed form: JSON with a "type" member
// first, the members in a fixed order, times in whole UTC seconds (RFC
// 3339), the matters sorted without duplicates, no insignificant space.
// It normalizes p in place and refuses (ErrInvalid) a power that lacks a
// recorded item.
func (p *Power) Canonical() ([]byte, error) {
	if err := p.normalize(); err != nil {
		return nil, err
	}
	return json.Marshal(powerJSON{Type: powerType, Power: *p})
}

// ParsePower reads a power's signed form. It accepts only the canonical
// form, so one power has exactly one byte string: anything else (unknown
// members, other spacing or order, fractions of seconds, unsorted matters)
// is ErrInvalid.
func ParsePower(b []byte) (*Power, error) {
	var w powerJSON
	if err := decodeStrict(b, &w); err != nil {
		return nil, err
	}
	if w.Type != powerType {
		return nil, fmt.Errorf("%w: not a power of attorney (type %q)", ErrInvalid, w.Type)
	}
	p := w.Power
	if err := p.validate(); err != nil {
		return nil, err
	}
	again, err := p.Canonical()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, b) {
		return nil, fmt.Errorf("%w: the power is not in canonical form", ErrInvalid)
	}
	return &p, nil
}

// decodeStrict decodes exactly one JSON object without unknown members.
func decodeStrict(b []byte, v any) error {
	if len(b) > maxContent {
		return fmt.Errorf("%w: more than %d bytes", ErrInvalid, maxContent)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: data after the object", ErrInvalid)
	}
	return nil
}

// Revocation is the content of a revocation (撤回): signed by the
// corporation's representative (or by the agent who made a sub-delegation)
// and given to Revoke.
type Revocation struct {
	PowerID         string `json:"power_id"`
	CorporateNumber string `json:"corporate_number"`
}

type revocationJSON struct {
	Type string `json:"type"`
	Revocation
}

// Canonical returns the revocation's signed form.
func (r Revocation) Canonical() ([]byte, error) {
	if !idPattern.MatchString(r.PowerID) || corpreg.ValidNumber(r.CorporateNumber) != nil {
		return nil, fmt.Errorf("%w: a revocation names a power ID and a 法人番号", ErrInvalid)
	}
	return json.Marshal(revocationJSON{Type: revocationType, Revocation: r})
}

// ParseRevocation reads a revocation's signed form, canonical only.
func ParseRevocation(b []byte) (*Revocation, error) {
	var w revocationJSON
	if err := decodeStrict(b, &w); err != nil {
		return nil, err
	}
	if w.Type != revocationType {
		return nil, fmt.Errorf("%w: not a revocation (type %q)", ErrInvalid, w.Type)
	}
	again, err := w.Revocation.Canonical()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, b) {
		return nil, fmt.Errorf("%w: the revocation is not in canonical form", ErrInvalid)
	}
	return &w.Revocation, nil
}
