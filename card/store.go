package card

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

	// issuer is the card issuer of the 券面 APs (surface.go), loaded on
	// first use: making its keys takes a second.
	issuerMu sync.Mutex
	issuer   *Issuer

	mu    sync.Mutex
	cards map[string]*Card
	// files are what each card's file held when this process last read or
	// wrote it, to notice another process's changes (the CLI at the
	// counter while the server runs).
	files map[string]*diskCopy
	// listed are the cards List read but nobody opened, so that a listing
	// reads only the files that changed since the last one.
	listed map[string]listedCard
}

// diskCopy is the bytes of a card's file as this process last saw them and
// the file's identity then; guarded by the card's mu.
type diskCopy struct {
	b  []byte
	fi fs.FileInfo
}

// listedCard is what List showed of a card it read without opening it.
type listedCard struct {
	fi   fs.FileInfo
	info Info
}

// unchanged reports whether the file now described by cur is the one that
// was described by was. Every writer of card files (this package, in any
// process) replaces the whole file by a rename (fileutil.WriteAtomic), so a
// change gives the path a new inode: the new file is created while the old
// one still holds its number. Size and modification time guard against
// inode reuse after two replacements in a row. This is what lets a PIN or a
// listing stat a card's file instead of reading it back.
func unchanged(was, cur fs.FileInfo) bool {
	return was != nil && cur != nil && os.SameFile(was, cur) &&
		was.Size() == cur.Size() && was.ModTime().Equal(cur.ModTime())
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
	sam, err := loadSAM(dir)
	if err != nil {
		return nil, err
	}
	return &Store{dir: dir, now: now, sam: sam, cards: map[string]*Card{}, files: map[string]*diskCopy{},
		listed: map[string]listedCard{}}, nil
}

// SAM is the counter's secure module for the store's cards: what proves
// their management key to them (manage.go). Only the counter gets it.
func (s *Store) SAM() *SAM { return s.sam }

// Issuer returns the card issuer of the store's cards: the keys that sign
// the 券面 APs' records and the J-LIS card-verifiable CAs that certify them.
func (s *Store) Issuer() (*Issuer, error) {
	s.issuerMu.Lock()
	defer s.issuerMu.Unlock()
	if s.issuer == nil {
		is, err := loadIssuer(s.dir)
		if err != nil {
			return nil, err
		}
		s.issuer = is
	}
	return s.issuer, nil
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
	f := &diskCopy{}
	c, err := newCard(st, s.saver(st.ID, f))
	if err != nil {
		return nil, err
	}
	c.mgmtKey = s.sam.cardKey(st.ID)
	c.issuer = s.Issuer
	if err := c.save(&c.st); err != nil {
		return nil, fmt.Errorf("card: create: %w", err)
	}
	s.cards[st.ID], s.files[st.ID] = c, f
	delete(s.listed, st.ID)
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
	if spec.Expiry == "" {
		spec.Expiry = DefaultExpiry(spec.BirthDate, now)
	}
	if _, err := time.Parse("20060102", spec.Expiry); err != nil || len(spec.Expiry) != 8 {
		return state{}, fmt.Errorf("%w: expiry %q is not YYYYMMDD", ErrInvalidSpec, spec.Expiry)
	}
	if spec.SecurityCode == "" {
		var b [2]byte
		if _, err := rand.Read(b[:]); err != nil {
			return state{}, err
		}
		spec.SecurityCode = fmt.Sprintf("%04d", (int(b[0])<<8|int(b[1]))%10000)
	}
	if len(spec.SecurityCode) != 4 || !allOf(spec.SecurityCode, "0123456789") {
		return state{}, fmt.Errorf("%w: security code must be 4 digits", ErrInvalidSpec)
	}
	if _, err := eraYYMMDD(spec.BirthDate); err != nil {
		return state{}, fmt.Errorf("%w: birth date %q: %w", ErrInvalidSpec, spec.BirthDate, err)
	}
	st := state{
		Version:      stateVersion,
		Expiry:       spec.Expiry,
		SecurityCode: spec.SecurityCode,
		Label:        spec.Label,
		Demo:         spec.Demo,
		Created:      now.UTC(),
		AuthPIN:      pinSlot{Value: spec.AuthPIN, TriesLeft: AuthPIN.MaxTries()},
		SignPIN:      pinSlot{Value: spec.SignPIN, TriesLeft: SignPIN.MaxTries()},
		TextPIN:      pinSlot{Value: spec.TextPIN, TriesLeft: TextPIN.MaxTries()},
		MyNumber:     spec.MyNumber,
		Attrs:        attrs,
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
		if err := s.refresh(id, c, nil); err != nil {
			return nil, err
		}
		return c, nil
	}
	b, fi, err := s.read(id)
	if err != nil {
		return nil, err
	}
	st, err := parseState(id, b)
	if err != nil {
		return nil, err
	}
	f := &diskCopy{b: b, fi: fi}
	c, err := newCard(st, s.saver(id, f))
	if err != nil {
		return nil, err
	}
	c.mgmtKey = s.sam.cardKey(id)
	c.issuer = s.Issuer
	s.cards[id], s.files[id] = c, f
	delete(s.listed, id)
	return c, nil
}

// refresh replaces a loaded card's state with its file's when the file no
// longer holds what this process last read or wrote: another process
// (mynaplat jpki change-address, say) changed the card. The card is reset,
// as a card taken out and put back. A file that was not replaced since is
// not read again (see unchanged). cur is the file's FileInfo when the
// caller already has it, else nil. Callers hold s.mu.
func (s *Store) refresh(id string, c *Card, cur fs.FileInfo) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := s.files[id]
	if f == nil || c.save == nil {
		return nil
	}
	if cur == nil {
		var err error
		if cur, err = os.Stat(s.path(id)); err != nil {
			return nil // gone or unreadable: the card in memory stays as it was
		}
	}
	if unchanged(f.fi, cur) {
		return nil
	}
	b, fi, err := s.read(id)
	if err != nil {
		return nil
	}
	if bytes.Equal(b, f.b) {
		f.fi = fi // rewritten with the same content
		return nil
	}
	st, err := parseState(id, b)
	if err != nil {
		return err
	}
	keys, err := stateKeys(&st)
	if err != nil {
		return err
	}
	c.st, c.keys, f.b, f.fi = st, keys, b, fi
	clear(c.files)
	c.clearSession()
	return nil
}

// read reads a card's file with the FileInfo of the very file read (taken
// from the open file, so a replacement after the read cannot pass for it).
func (s *Store) read(id string) ([]byte, fs.FileInfo, error) {
	b, fi, err := readStat(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%w: %s", ErrCardNotFound, id)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("card: load %s: %w", id, err)
	}
	return b, fi, nil
}

func readStat(path string) ([]byte, fs.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, err
	}
	return b, fi, nil
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
	fillSurface(&st)
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
	listed := make(map[string]listedCard, len(s.listed))
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !validID(id) || !e.Type().IsRegular() {
			continue
		}
		cur, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since the directory was read
		}
		if err != nil {
			return nil, fmt.Errorf("card: list: %w", err)
		}
		if c, ok := s.cards[id]; ok {
			if err := s.refresh(id, c, cur); err != nil {
				return nil, err
			}
			out = append(out, c.Info())
			continue
		}
		if l, ok := s.listed[id]; ok && unchanged(l.fi, cur) {
			listed[id] = l
			out = append(out, l.info)
			continue
		}
		b, fi, err := s.read(id)
		if err != nil {
			return nil, err
		}
		st, err := parseState(id, b)
		if err != nil {
			return nil, err
		}
		listed[id] = listedCard{fi: fi, info: st.info()}
		out = append(out, st.info())
	}
	// Cards removed by another process leave the cache with this listing.
	s.listed = listed
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
		fi, err := fileutil.WriteAtomicStat(filepath.Join(s.dir, id+".json"), b, 0o600)
		if err != nil {
			return err
		}
		f.b, f.fi = b, fi
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
	delete(s.listed, id)
	return nil
}
