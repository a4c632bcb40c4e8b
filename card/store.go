package card

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mynaplat/mynaplat/internal/fileutil"
)

// Store keeps the emulated cards of one installation, one JSON file per card
// in a directory (the server uses <data>/cards). Every change of persistent
// state is on disk before the card answers the command that caused it.
// A Store is safe for concurrent use and hands out one shared *Card per ID.
type Store struct {
	dir string
	now func() time.Time

	mu    sync.Mutex
	cards map[string]*Card
}

// NewStore opens (creating if needed) the card directory dir. now stamps the
// creation time of new cards; nil means time.Now.
func NewStore(dir string, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("card: store: %w", err)
	}
	return &Store{dir: dir, now: now, cards: map[string]*Card{}}, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(id string) string { return filepath.Join(s.dir, id+".json") }

// Create makes a new, unpersonalised card: PINs and text-AP data set, no key
// pairs or certificates yet (GenerateKey and WriteCertificate add them, as the
// counter does when it issues certificates).
func (s *Store) Create(spec Spec) (*Card, error) {
	st, err := newState(spec, s.now())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		id, err := newID()
		if err != nil {
			return nil, err
		}
		_, err = os.Stat(s.path(id))
		if errors.Is(err, fs.ErrNotExist) {
			st.ID = id
			break
		}
		if err != nil {
			return nil, fmt.Errorf("card: create: %w", err)
		}
	}
	c, err := newCard(st, s.saver(st.ID))
	if err != nil {
		return nil, err
	}
	if err := c.save(&c.st); err != nil {
		return nil, fmt.Errorf("card: create: %w", err)
	}
	s.cards[st.ID] = c
	return c, nil
}

func newState(spec Spec, now time.Time) (state, error) {
	spec.SignPIN = normalizePIN(SignPIN, spec.SignPIN)
	if err := ValidatePIN(AuthPIN, spec.AuthPIN); err != nil {
		return state{}, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	if spec.SignPIN != "" {
		if err := ValidatePIN(SignPIN, spec.SignPIN); err != nil {
			return state{}, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
		}
	}
	if err := ValidatePIN(TextPIN, spec.TextPIN); err != nil {
		return state{}, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	if len(spec.MyNumber) != 12 || !allOf(spec.MyNumber, "0123456789") {
		return state{}, fmt.Errorf("%w: My Number must be 12 digits", ErrInvalidSpec)
	}
	attrs := Attributes{Name: spec.Name, Address: spec.Address, BirthDate: spec.BirthDate, Sex: spec.Sex}
	if err := validateAttributes(attrs); err != nil {
		return state{}, err
	}
	st := state{
		Version:  stateVersion,
		Label:    spec.Label,
		Demo:     spec.Demo,
		Created:  now.UTC(),
		AuthPIN:  pinSlot{Value: spec.AuthPIN, TriesLeft: AuthPIN.MaxTries()},
		SignPIN:  pinSlot{Value: spec.SignPIN, TriesLeft: SignPIN.MaxTries()},
		TextPIN:  pinSlot{Value: spec.TextPIN, TriesLeft: TextPIN.MaxTries()},
		MyNumber: spec.MyNumber,
		Attrs:    attrs,
	}
	return st, nil
}

func newID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("card: new ID: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// Open returns the card with the given ID, loading it on first use.
func (s *Store) Open(id string) (*Card, error) {
	if !validID(id) {
		return nil, fmt.Errorf("%w: %q", ErrCardNotFound, id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.cards[id]; ok {
		return c, nil
	}
	st, err := s.load(id)
	if err != nil {
		return nil, err
	}
	c, err := newCard(st, s.saver(id))
	if err != nil {
		return nil, err
	}
	s.cards[id] = c
	return c, nil
}

func (s *Store) load(id string) (state, error) {
	b, err := os.ReadFile(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return state{}, fmt.Errorf("%w: %s", ErrCardNotFound, id)
	}
	if err != nil {
		return state{}, fmt.Errorf("card: load %s: %w", id, err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return state{}, fmt.Errorf("card: load %s: %w", id, err)
	}
	if err := st.validate(); err != nil {
		return state{}, fmt.Errorf("card: load %s: %w", id, err)
	}
	if st.ID != id {
		return state{}, fmt.Errorf("card: load %s: file holds card %s", id, st.ID)
	}
	return st, nil
}

// List returns every card of the store, oldest first (ties by ID).
func (s *Store) List() ([]Info, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("card: list: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Info
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !validID(id) || !e.Type().IsRegular() {
			continue
		}
		if c, ok := s.cards[id]; ok {
			out = append(out, c.Info())
			continue
		}
		st, err := s.load(id)
		if err != nil {
			return nil, err
		}
		out = append(out, st.info())
	}
	slices.SortFunc(out, func(a, b Info) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

func (s *Store) saver(id string) func(*state) error {
	return func(st *state) error {
		b, err := json.MarshalIndent(st, "", "  ")
		if err != nil {
			return err
		}
		return fileutil.WriteAtomic(filepath.Join(s.dir, id+".json"), append(b, '\n'), 0o600)
	}
}

// Remove deletes a card from the store, e.g. one whose issuance failed.
// A *Card already handed out keeps working in memory but is no longer saved.
func (s *Store) Remove(id string) error {
	if !validID(id) {
		return fmt.Errorf("%w: %q", ErrCardNotFound, id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	err := os.Remove(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrCardNotFound, id)
	}
	if err != nil {
		return fmt.Errorf("card: remove %s: %w", id, err)
	}
	if c, ok := s.cards[id]; ok {
		c.mu.Lock()
		c.save = nil
		c.mu.Unlock()
		delete(s.cards, id)
	}
	return nil
}
