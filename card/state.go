package card

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mynaplat/mynaplat/jpkiap"
	"github.com/mynaplat/mynaplat/wareki"
)

// Purpose names one of the card's two key pairs and certificates (see
// package jpkiap, where it is defined so that the JPKI centre can name them
// without importing the card).
type Purpose = jpkiap.Purpose

// The two key pairs.
const (
	Auth = jpkiap.Auth
	Sign = jpkiap.Sign
)

// PIN names one of the card's PINs.
type PIN int

const (
	// AuthPIN is the JPKI 利用者証明用 PIN: 4 digits, 3 tries (EF 0018).
	AuthPIN PIN = iota + 1
	// SignPIN is the JPKI 署名用 password: 6–16 of A–Z and 0–9, 5 tries (EF 001B).
	SignPIN
	// TextPIN is the 券面事項入力補助用 PIN: 4 digits, 3 tries (text AP EF 0011).
	TextPIN
	// TextPINA is the text AP's 照合番号A (EF 0014): the 12-digit My Number.
	TextPINA
	// TextPINB is the text AP's 照合番号B (EF 0015): 14 digits, see PINB.
	TextPINB
	// VisualPINA is the 券面事項確認AP's 照合番号A (EF 0013): the My Number.
	VisualPINA
	// VisualPINB is the 券面事項確認AP's 照合番号B (EF 0012): 14 digits, see PINB.
	VisualPINB
	// VisualBirth is the 券面事項確認AP's birth-date key (EF 0011): the
	// birth date as YYMMDD in the Japanese era year.
	VisualBirth
)

// Derived reports whether the PIN's value is not chosen by the holder but
// printed on the card (照合番号A/B, the birth-date key): the card computes it
// from its own data, and only its tries are stored.
func (p PIN) Derived() bool { return p >= TextPINA && p <= VisualBirth }

// PINs lists every PIN of the card, application by application.
var PINs = []PIN{AuthPIN, SignPIN, TextPIN, TextPINA, TextPINB, VisualPINA, VisualPINB, VisualBirth}

func (p PIN) String() string {
	switch p {
	case AuthPIN:
		return "auth PIN"
	case SignPIN:
		return "signing password"
	case TextPIN:
		return "text PIN"
	case TextPINA:
		return "text 照合番号A"
	case TextPINB:
		return "text 照合番号B"
	case VisualPINA:
		return "visual 照合番号A"
	case VisualPINB:
		return "visual 照合番号B"
	case VisualBirth:
		return "visual birth-date key"
	}
	return fmt.Sprintf("PIN(%d)", int(p))
}

// pinNames are the PINs' names in JSON (Info).
var pinNames = map[PIN]string{AuthPIN: "auth", SignPIN: "sign", TextPIN: "text", TextPINA: "text_a", TextPINB: "text_b",
	VisualPINA: "visual_a", VisualPINB: "visual_b", VisualBirth: "visual_birth"}

// MarshalText names the PIN in JSON: "auth", "sign", "text", "text_a",
// "text_b", "visual_a", "visual_b", "visual_birth".
func (p PIN) MarshalText() ([]byte, error) {
	if n, ok := pinNames[p]; ok {
		return []byte(n), nil
	}
	return nil, fmt.Errorf("card: unknown PIN %d", int(p))
}

// UnmarshalText is the inverse of MarshalText.
func (p *PIN) UnmarshalText(b []byte) error {
	for k, n := range pinNames {
		if n == string(b) {
			*p = k
			return nil
		}
	}
	return fmt.Errorf("card: unknown PIN %q", b)
}

// key names the PIN in the state file's tries map (derived PINs only).
func (p PIN) key() string {
	if !p.Derived() {
		return ""
	}
	return pinNames[p]
}

// MaxTries is the number of wrong tries that blocks the PIN (jpki-card.md §2;
// the text PIN's 3 is the commonly cited value, §12). The public sources do
// not give the count of the printed keys (照合番号A/B, birth date); 10 is
// this emulator's choice (docs/card-emulation.md).
func (p PIN) MaxTries() int {
	switch {
	case p == SignPIN:
		return 5
	case p.Derived():
		return 10
	}
	return 3
}

// Errors of the card, its store and its driver.
var (
	// ErrPINFormat: the PIN does not have the format the card requires.
	ErrPINFormat = errors.New("card: PIN has the wrong format")
	// ErrWrongPIN: the card rejected the PIN. Returned inside a *PINError.
	ErrWrongPIN = errors.New("card: wrong PIN")
	// ErrPINBlocked: no tries left; only the municipal counter can reset it.
	ErrPINBlocked = errors.New("card: PIN blocked")
	// ErrSecurityStatus: the card answered 6982 (PIN not verified).
	ErrSecurityStatus = errors.New("card: security status not satisfied")
	// ErrNotFound: the card answered 6A82 (no such application or file; for a
	// certificate EF, the certificate has not been written).
	ErrNotFound = errors.New("card: file or application not found")
	// ErrCardNotFound: the store has no card with that ID.
	ErrCardNotFound = errors.New("card: no such card")
	// ErrInvalidSpec: Create or a personalisation call got bad input.
	ErrInvalidSpec = errors.New("card: invalid card data")
	// ErrNoKey: the purpose has no key pair yet (call GenerateKey).
	ErrNoKey = errors.New("card: no key pair")
)

// ValidatePIN checks pin against the format of ref (jpki-card.md §2.2): 4 ASCII
// digits for the auth and text PINs; 6–16 characters of A–Z and 0–9 for the
// signing password, which must already be upper-case here.
func ValidatePIN(ref PIN, pin string) error {
	switch ref {
	case AuthPIN, TextPIN:
		if len(pin) != 4 || !allOf(pin, "0123456789") {
			return fmt.Errorf("%w: %s must be 4 digits", ErrPINFormat, ref)
		}
	case SignPIN:
		if len(pin) < 6 || len(pin) > 16 || !allOf(pin, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") {
			return fmt.Errorf("%w: %s must be 6–16 characters of A–Z and 0–9", ErrPINFormat, ref)
		}
	case TextPINA, TextPINB, VisualPINA, VisualPINB, VisualBirth:
		if n := derivedLen(ref); len(pin) != n || !allOf(pin, "0123456789") {
			return fmt.Errorf("%w: %s must be %d digits", ErrPINFormat, ref, n)
		}
	default:
		return fmt.Errorf("%w: unknown PIN %d", ErrPINFormat, int(ref))
	}
	return nil
}

// normalizePIN upper-cases the signing password, as every client does before
// sending it (the card compares bytes).
func normalizePIN(ref PIN, pin string) string {
	if ref == SignPIN {
		return strings.ToUpper(pin)
	}
	return pin
}

// derivedLen is the length of a printed key: 12 digits for 照合番号A (the
// My Number), 14 for 照合番号B, 6 for the birth date.
func derivedLen(ref PIN) int {
	switch ref {
	case TextPINA, VisualPINA:
		return 12
	case TextPINB, VisualPINB:
		return 14
	}
	return 6
}

func allOf(s, set string) bool {
	for _, r := range s {
		if !strings.ContainsRune(set, r) {
			return false
		}
	}
	return true
}

// Attributes are the 基本4情報 of the text AP's EF 0002.
type Attributes struct {
	// Name is surname + U+3000 + given name.
	Name string `json:"name"`
	// Address is the address from the prefecture on.
	Address string `json:"address"`
	// BirthDate is YYYYMMDD.
	BirthDate string `json:"birth_date"`
	// Sex is "1" male, "2" female, "9" not applicable (ISO 5218 digits).
	Sex string `json:"sex"`
}

// maxAttr bounds the name and the address so EF 0002 stays far inside the
// 15-bit READ BINARY offset range; 200 characters is the address limit of the
// certificate profile (jpki-card.md §8.2).
const maxAttr = 200

func validateAttributes(a Attributes) error {
	if a.Name == "" || !utf8.ValidString(a.Name) || utf8.RuneCountInString(a.Name) > maxAttr {
		return fmt.Errorf("%w: name must be 1–%d characters of valid UTF-8", ErrInvalidSpec, maxAttr)
	}
	if !utf8.ValidString(a.Address) || utf8.RuneCountInString(a.Address) > maxAttr {
		return fmt.Errorf("%w: address must be at most %d characters of valid UTF-8", ErrInvalidSpec, maxAttr)
	}
	if _, err := time.Parse("20060102", a.BirthDate); err != nil || len(a.BirthDate) != 8 {
		return fmt.Errorf("%w: birth date %q is not YYYYMMDD", ErrInvalidSpec, a.BirthDate)
	}
	switch a.Sex {
	case "1", "2", "9":
	default:
		return fmt.Errorf("%w: sex %q must be 1, 2 or 9", ErrInvalidSpec, a.Sex)
	}
	return nil
}

// Spec describes a card to create. PINs are checked with ValidatePIN; the
// signing password is upper-cased first. SignPIN may be empty for a card that
// will carry no signing certificate (holders under 15): its password is then
// unset, which the card reports as blocked until ResetPIN sets one.
type Spec struct {
	Label                     string
	Demo                      bool
	AuthPIN, SignPIN, TextPIN string
	// MyNumber is the 12-digit 個人番号. Only the format is checked, not the
	// check digit, so test data can use any digits.
	MyNumber  string
	Name      string
	Address   string
	BirthDate string // YYYYMMDD
	Sex       string // "1", "2" or "9"
	// Expiry is the card's expiry printed on its face, YYYYMMDD; empty means
	// the rule for a new card (DefaultExpiry).
	Expiry string
	// SecurityCode is the 4-digit セキュリティコード printed on the face;
	// empty means a random one.
	SecurityCode string
}

// DemoPINs are the PINs of a demo card, shown so anyone can try it.
type DemoPINs struct {
	Auth string `json:"auth"`
	Sign string `json:"sign,omitempty"`
	Text string `json:"text"`
	// PINB is 照合番号B (birth date, expiry year, security code: all on the
	// card's face). 照合番号A is the My Number, which is never shown.
	PINB string `json:"pin_b"`
}

// Info is what may be shown about a card without talking to it. It never
// contains keys or the My Number, and contains PINs only for demo cards.
type Info struct {
	ID            string    `json:"id"`
	Label         string    `json:"label"`
	Demo          bool      `json:"demo"`
	Created       time.Time `json:"created"`
	Holder        string    `json:"holder"`
	AuthTriesLeft int       `json:"auth_tries_left"`
	SignTriesLeft int       `json:"sign_tries_left"` // 0 also when no password is set
	TextTriesLeft int       `json:"text_tries_left"`
	// Tries are the tries left of every PIN, PINs order.
	Tries []PINTries `json:"tries"`
	// Expiry is the card's expiry (YYYYMMDD), printed on its face.
	Expiry      string    `json:"expiry"`
	HasAuthKey  bool      `json:"has_auth_key"`
	HasSignKey  bool      `json:"has_sign_key"`
	HasAuthCert bool      `json:"has_auth_cert"`
	HasSignCert bool      `json:"has_sign_cert"`
	DemoPINs    *DemoPINs `json:"demo_pins,omitempty"`
}

// state is the card's persistent memory, stored as JSON. Byte slices are
// DER (keys PKCS#8) and appear base64 in the file.
type state struct {
	Version  int        `json:"version"`
	ID       string     `json:"id"`
	Label    string     `json:"label"`
	Demo     bool       `json:"demo"`
	Created  time.Time  `json:"created"`
	Auth     keySlot    `json:"auth"`
	Sign     keySlot    `json:"sign"`
	AuthPIN  pinSlot    `json:"auth_pin"`
	SignPIN  pinSlot    `json:"sign_pin"`
	TextPIN  pinSlot    `json:"text_pin"`
	MyNumber string     `json:"my_number"`
	Attrs    Attributes `json:"attributes"`
	// Expiry (YYYYMMDD) and SecurityCode are printed on the card's face;
	// cards made before they existed get them from fillSurface.
	Expiry       string `json:"expiry,omitempty"`
	SecurityCode string `json:"security_code,omitempty"`
	// Tries are the tries left of the printed keys (PIN.Derived), by
	// PIN.key; a key not in the map has all its tries.
	Tries map[string]int `json:"tries,omitempty"`
}

// PINTries is one PIN's tries left.
type PINTries struct {
	PIN       PIN `json:"pin"`
	TriesLeft int `json:"tries_left"`
}

const stateVersion = 1

type keySlot struct {
	Key    []byte `json:"key,omitempty"` // PKCS#8
	Cert   []byte `json:"cert,omitempty"`
	CACert []byte `json:"ca_cert,omitempty"`
}

// pinSlot holds the PIN reference data. It is kept in clear because the
// emulator must show demo PINs; the state file is mode 0600.
type pinSlot struct {
	Value     string `json:"value"`
	TriesLeft int    `json:"tries_left"`
}

func (s *state) key(p Purpose) *keySlot {
	if p == Sign {
		return &s.Sign
	}
	return &s.Auth
}

func (s *state) pin(ref PIN) *pinSlot {
	switch ref {
	case SignPIN:
		return &s.SignPIN
	case TextPIN:
		return &s.TextPIN
	}
	return &s.AuthPIN
}

// slot returns ref's reference data and tries: for a printed key (照合番号A/B,
// the birth date) the value is computed from the card's data.
func (s *state) slot(ref PIN) pinSlot {
	if !ref.Derived() {
		return *s.pin(ref)
	}
	return pinSlot{Value: s.derivedValue(ref), TriesLeft: s.triesLeft(ref)}
}

// triesLeft is ref's tries left; 0 for a signing password never set.
func (s *state) triesLeft(ref PIN) int {
	if !ref.Derived() {
		if p := s.pin(ref); p.Value != "" {
			return p.TriesLeft
		}
		return 0
	}
	if n, ok := s.Tries[ref.key()]; ok {
		return n
	}
	return ref.MaxTries()
}

// setTries records ref's tries left. The map is copied, so that a commit
// that fails leaves the card's own state as it was.
func (s *state) setTries(ref PIN, n int) {
	if !ref.Derived() {
		s.pin(ref).TriesLeft = n
		return
	}
	m := make(map[string]int, len(s.Tries)+1)
	for k, v := range s.Tries {
		m[k] = v
	}
	if n == ref.MaxTries() {
		delete(m, ref.key())
	} else {
		m[ref.key()] = n
	}
	s.Tries = m
}

// derivedValue computes a printed key from the card's data: the My Number
// (照合番号A); the birth date as era YYMMDD, the expiry's Gregorian year and
// the security code (照合番号B, 14 digits: SOL data.rs verification_code_b,
// AOKI constants.ts); the era YYMMDD alone (birth-date key). "" if the data
// cannot give one.
func (s *state) derivedValue(ref PIN) string {
	switch ref {
	case TextPINA, VisualPINA:
		return s.MyNumber
	}
	birth, err := eraYYMMDD(s.Attrs.BirthDate)
	if err != nil {
		return ""
	}
	if ref == VisualBirth {
		return birth
	}
	if len(s.Expiry) != 8 || len(s.SecurityCode) != 4 {
		return ""
	}
	return birth + s.Expiry[:4] + s.SecurityCode
}

// eraYYMMDD is a YYYYMMDD birth date as YYMMDD with the year of its
// Japanese era (1980-02-17 → 550217, 昭和55).
func eraYYMMDD(yyyymmdd string) (string, error) {
	t, err := time.ParseInLocation("20060102", yyyymmdd, wareki.JST())
	if err != nil {
		return "", err
	}
	_, y, err := wareki.Of(t)
	if err != nil {
		return "", err
	}
	if y > 99 {
		return "", fmt.Errorf("card: era year %d has more than two digits", y)
	}
	return fmt.Sprintf("%02d%s", y, yyyymmdd[4:]), nil
}

// usable reports whether the PIN can be presented: it is set and not blocked.
func (p pinSlot) usable() bool { return p.Value != "" && p.TriesLeft > 0 }

func (s *state) validate() error {
	if s.Version != stateVersion {
		return fmt.Errorf("card: state version %d, want %d", s.Version, stateVersion)
	}
	if !validID(s.ID) {
		return fmt.Errorf("card: bad card ID %q", s.ID)
	}
	for _, p := range []Purpose{Auth, Sign} {
		k := s.key(p)
		if k.Key != nil {
			if _, err := parseKey(k.Key); err != nil {
				return fmt.Errorf("card: %s key: %w", p, err)
			}
		}
	}
	return nil
}

func parseKey(der []byte) (*rsa.PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok || rk.N.BitLen() != 2048 {
		return nil, errors.New("not an RSA-2048 key")
	}
	return rk, nil
}

func (s *state) info() Info {
	in := Info{
		ID:            s.ID,
		Label:         s.Label,
		Demo:          s.Demo,
		Created:       s.Created,
		Holder:        s.Attrs.Name,
		AuthTriesLeft: s.AuthPIN.TriesLeft,
		SignTriesLeft: s.SignPIN.TriesLeft,
		TextTriesLeft: s.TextPIN.TriesLeft,
		HasAuthKey:    s.Auth.Key != nil,
		HasSignKey:    s.Sign.Key != nil,
		HasAuthCert:   s.Auth.Cert != nil,
		HasSignCert:   s.Sign.Cert != nil,
	}
	if s.SignPIN.Value == "" {
		in.SignTriesLeft = 0
	}
	for _, p := range PINs {
		in.Tries = append(in.Tries, PINTries{PIN: p, TriesLeft: s.triesLeft(p)})
	}
	in.Expiry = s.Expiry
	if s.Demo {
		in.DemoPINs = &DemoPINs{Auth: s.AuthPIN.Value, Sign: s.SignPIN.Value, Text: s.TextPIN.Value, PINB: s.derivedValue(VisualPINB)}
	}
	return in
}

func validID(id string) bool {
	return len(id) == 16 && allOf(id, "0123456789abcdef")
}

// DefaultExpiry is the expiry of a card issued at issued to someone born on
// birth (YYYYMMDD): the holder's 10th birthday after issuance, or the 5th
// for someone under 18 at issuance (the card's validity rule since 2022; the
// emulator does not model the older under-20 rule).
func DefaultExpiry(birth string, issued time.Time) string {
	b, err := time.ParseInLocation("20060102", birth, wareki.JST())
	if err != nil {
		return issued.In(wareki.JST()).AddDate(10, 0, 0).Format("20060102")
	}
	issued = issued.In(wareki.JST())
	n := 10
	if issued.Before(b.AddDate(18, 0, 0)) {
		n = 5
	}
	// The birthday in year y; a 29 February birthday falls on 28 February
	// in other years.
	birthday := func(y int) time.Time {
		d := time.Date(y, b.Month(), b.Day(), 0, 0, 0, 0, wareki.JST())
		if d.Month() != b.Month() {
			d = time.Date(y, b.Month()+1, 0, 0, 0, 0, 0, wareki.JST())
		}
		return d
	}
	// The first birthday after issuance, then n-1 more.
	y := issued.Year()
	if !birthday(y).After(issued) {
		y++
	}
	return birthday(y + n - 1).Format("20060102")
}

// fillSurface gives a card made before the 券面事項確認AP existed its printed
// expiry and security code, both derived from the card's ID and creation
// time so that every load computes the same ones until a change of state
// writes them.
func fillSurface(s *state) {
	if s.Expiry == "" {
		s.Expiry = DefaultExpiry(s.Attrs.BirthDate, s.Created)
	}
	if s.SecurityCode == "" {
		h := sha256.Sum256([]byte("mynaplat security code\x00" + s.ID + "\x00" + s.Created.UTC().Format(time.RFC3339Nano)))
		s.SecurityCode = fmt.Sprintf("%04d", (int(h[0])<<8|int(h[1]))%10000)
	}
}
