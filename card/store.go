package card

import (
	"bytes"
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
	sam *SAM

	mu    sync.Mutex
	cards map[string]*Card
	// files are what each card's file held when this process last read or
	// wrote it, to notice another process's changes (the CLI at the
	// counter while the server runs).
	files map[string]*diskCopy
}

// diskCopy is the bytes of a card's file as this process last saw them;
// guarded by the card's mu.
type diskCopy struct{ b []byte }

// NewStore opens (creating if needed) the card directory dir. now stamps the
// creation time of new cards; nil means time.Now.
func NewStore(dir string, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("card: store: %w", err)
	}
	sam, err := loadSAM(dir)
	if err != nil {
		return nil, err
	}
	return &Store{dir: dir, now: now, sam: sam, cards: map[string]*Card{}, files: map[string]*diskCopy{}}, nil
}

// SAM is the counter's secure module for the store's cards: what proves
// their management key to them (manage.go). Only the counter gets it.
func (s *Store) SAM() *SAM { return s.sam }

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
	f := &diskCopy{}
	c, err := newCard(st, s.saver(st.ID, f))
	if err != nil {
		return nil, err
	}
	c.mgmtKey = s.sam.cardKey(st.ID)
	if err := c.save(&c.st); err != nil {
		return nil, fmt.Errorf("card: create: %w", err)
	}
	s.cards[st.ID], s.files[st.ID] = c, f
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

// Open returns the card with the given ID, loading it on first use, and
// again when another process changed its file since.
func (s *Store) Open(id string) (*Card, error) {
	if !validID(id) {
		return nil, fmt.Errorf("%w: %q", ErrCardNotFound, id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.cards[id]; ok {
		if err := s.refresh(id, c); err != nil {
			return nil, err
		}
		return c, nil
	}
	b, err := s.read(id)
	if err != nil {
		return nil, err
	}
	st, err := parseState(id, b)
	if err != nil {
		return nil, err
	}
	f := &diskCopy{b: b}
	c, err := newCard(st, s.saver(id, f))
	if err != nil {
		return nil, err
	}
	c.mgmtKey = s.sam.cardKey(id)
	s.cards[id], s.files[id] = c, f
	return c, nil
}

// refresh replaces a loaded card's state with its file's when the file no
// longer holds what this process last read or wrote: another process
// (mynaplat jpki change-address, say) changed the card. The card is reset,
// as a card taken out and put back. Callers hold s.mu.
func (s *Store) refresh(id string, c *Card) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := s.files[id]
	if f == nil || c.save == nil {
		return nil
	}
	b, err := os.ReadFile(s.path(id))
	if err != nil || bytes.Equal(b, f.b) {
		return nil // gone or unreadable: the card in memory stays as it was
	}
	st, err := parseState(id, b)
	if err != nil {
		return err
	}
	keys, err := stateKeys(&st)
	if err != nil {
		return err
	}
	c.st, c.keys, f.b = st, keys, b
	c.clearSession()
	return nil
}

func (s *Store) read(id string) ([]byte, error) {
	b, err := os.ReadFile(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrCardNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("card: load %s: %w", id, err)
	}
	return b, nil
}

func (s *Store) load(id string) (state, error) {
	b, err := s.read(id)
	if err != nil {
		return state{}, err
	}
	return parseState(id, b)
}

func parseState(id string, b []byte) (state, error) {
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
			if err := s.refresh(id, c); err != nil {
				return nil, err
			}
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

func (s *Store) saver(id string, f *diskCopy) func(*state) error {
	return func(st *state) error {
		b, err := json.MarshalIndent(st, "", "  ")
		if err != nil {
			return err
		}
		b = append(b, '\n')
		if err := fileutil.WriteAtomic(filepath.Join(s.dir, id+".json"), b, 0o600); err != nil {
			return err
		}
		f.b = b
		return nil
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
		delete(s.files, id)
	}
	return nil
}
