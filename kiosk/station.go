package kiosk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/internal/fileutil"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/jlis"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/terminal"
)

// A station is the kiosk side of コンビニ交付: a store's multi-copy machine
// (マルチコピー機) with a card reader. It has two credentials — its platform
// terminal key, with which it has a card answer the platform's challenge,
// and its relay key, with which it talks to the J-LIS relay — and an output
// tray on its own disk where printed certificates wait to be taken.
//
// The kiosk's ID at the relay is its platform terminal ID: the relay accepts
// only assertions made at the kiosk that presents them.

// StationConfig is a kiosk's configuration, kept in <dir>/<id>.json (mode
// 0600) on the machine the kiosk runs on.
type StationConfig struct {
	// Terminal is the platform terminal (kind kiosk) with its key; its ID is
	// also the kiosk's ID at the relay.
	Terminal terminal.Config `json:"terminal"`
	// Store is the name of the store the machine stands in.
	Store string `json:"store"`
	// RelayKey is the key the relay issued to this kiosk (Service.AddKiosk).
	RelayKey string `json:"relay_key"`
}

// stationID is what a kiosk ID may be: it names files and URL segments.
var stationID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

func (c StationConfig) validate() error {
	switch {
	case !stationID.MatchString(c.Terminal.ID):
		return fmt.Errorf("%w: kiosk ID %q (letters, digits, - and _, up to 64)", jlis.ErrInvalid, c.Terminal.ID)
	case c.Terminal.Kind != platform.Kiosk:
		return fmt.Errorf("%w: kiosk %s: the platform terminal must be of kind kiosk, not %q", jlis.ErrInvalid, c.Terminal.ID, c.Terminal.Kind)
	case c.RelayKey == "":
		return fmt.Errorf("%w: kiosk %s has no relay key", jlis.ErrInvalid, c.Terminal.ID)
	}
	return nil
}

// SaveStationConfig writes a kiosk's configuration file.
func SaveStationConfig(dir string, c StationConfig) error {
	if err := c.validate(); err != nil {
		return err
	}
	return fileutil.WriteJSON(filepath.Join(dir, c.Terminal.ID+".json"), c)
}

// LoadStationConfigs reads every kiosk configuration in dir, sorted by ID
// (the file names). A missing dir has none.
func LoadStationConfigs(dir string) ([]StationConfig, error) {
	cs, err := fileutil.ReadJSONDir[StationConfig](dir)
	if err != nil {
		return nil, fmt.Errorf("kiosk: %w", err)
	}
	for _, c := range cs {
		if err := c.validate(); err != nil {
			return nil, fmt.Errorf("kiosk: configuration of %s: %w", c.Terminal.ID, err)
		}
	}
	return cs, nil
}

// StationOptions hold what a kiosk needs besides its configuration.
type StationOptions struct {
	// PlatformURL and RelayURL are where the platform and the relay answer;
	// HTTP reaches them (httpapi.NewHTTPClient when nil).
	PlatformURL, RelayURL string
	HTTP                  *http.Client
	// Dir keeps the kiosks' files: this one's output tray is
	// <Dir>/<kiosk ID>/tray.
	Dir string
	// Now is the clock of the platform client (time.Now when nil).
	Now func() time.Time
	// Reader is the card reader; nil means the virtual reader of the pages'
	// card store (the demo's card slot).
	Reader terminal.Reader
	Logger *slog.Logger
}

// Station is one kiosk at run time.
type Station struct {
	cfg    StationConfig
	term   *terminal.Terminal
	relay  *jlis.Client
	reader terminal.Reader
	tray   string
	now    func() time.Time
	logger *slog.Logger
}

// NewStation opens a kiosk and its output tray.
func NewStation(cfg StationConfig, o StationOptions) (*Station, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if o.Dir == "" {
		return nil, fmt.Errorf("%w: kiosk %s needs a directory for its output tray", jlis.ErrInvalid, cfg.Terminal.ID)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	hc := o.HTTP
	if hc == nil {
		hc = httpapi.NewHTTPClient(httpapi.DefaultTimeout)
	}
	term, err := terminal.New(cfg.Terminal, o.PlatformURL, hc)
	if err != nil {
		return nil, err
	}
	term.Client().Now = o.Now
	st := &Station{cfg: cfg, term: term, relay: &jlis.Client{BaseURL: o.RelayURL, Key: cfg.RelayKey, HTTP: hc}, reader: o.Reader,
		tray: filepath.Join(o.Dir, cfg.Terminal.ID, "tray"), now: o.Now, logger: o.Logger}
	if err := os.MkdirAll(st.tray, 0o700); err != nil {
		return nil, fmt.Errorf("kiosk %s: output tray: %w", cfg.Terminal.ID, err)
	}
	return st, nil
}

// ID is the kiosk's ID (at the platform and at the relay).
func (st *Station) ID() string { return st.cfg.Terminal.ID }

// Config is the kiosk's configuration.
func (st *Station) Config() StationConfig { return st.cfg }

// Relay is the kiosk's relay client.
func (st *Station) Relay() *jlis.Client { return st.relay }

// Login reads the card with its PIN and has the platform check it.
func (st *Station) Login(ctx context.Context, tr card.Transport, pin string) (*platform.AuthResponse, error) {
	return st.term.Login(ctx, tr, pin)
}

// Print takes the PDF of a rendered job from the relay and puts it in the
// output tray. A job the relay already handed out (a retried print) is
// ErrAlreadyPrinted: its PDF is in the tray if the first print got there.
func (st *Station) Print(ctx context.Context, assertion, jobID string) (*jlis.Job, error) {
	if !validJobID(jobID) {
		return nil, fmt.Errorf("%w: job ID %q", jlis.ErrInvalid, jobID)
	}
	j, err := st.relay.Print(ctx, assertion, jobID)
	if err != nil {
		return nil, err
	}
	if err := fileutil.WriteAtomic(st.trayPath(jobID), j.PDF, 0o600); err != nil {
		// Printed and charged at the relay, but lost here: an operator must
		// see this.
		st.logger.ErrorContext(ctx, "kiosk: output tray", "kiosk", st.ID(), "job", jobID, "err", err)
		return nil, fmt.Errorf("kiosk: output tray: %w", err)
	}
	return j, nil
}

func (st *Station) trayPath(jobID string) string { return filepath.Join(st.tray, jobID+".pdf") }

// validJobID: job IDs are the relay's 32 hex digits; anything else never
// names a file.
func validJobID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// InTray reads a printed certificate waiting in the tray.
func (st *Station) InTray(jobID string) ([]byte, error) {
	if !validJobID(jobID) {
		return nil, os.ErrNotExist
	}
	return os.ReadFile(st.trayPath(jobID))
}

// TakeFromTray removes printed certificates from the tray (the person took
// them). A job not in the tray is no error.
func (st *Station) TakeFromTray(jobIDs ...string) error {
	var errs []error
	for _, id := range jobIDs {
		if !validJobID(id) {
			continue
		}
		if err := os.Remove(st.trayPath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Tray lists the job IDs whose certificates wait in the tray.
func (st *Station) Tray() ([]string, error) {
	files, err := filepath.Glob(filepath.Join(st.tray, "*.pdf"))
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(files))
	for _, f := range files {
		out = append(out, filepath.Base(f[:len(f)-len(".pdf")]))
	}
	sort.Strings(out)
	return out, nil
}

// SignStatus reads the tries left of the card's signing password, without
// using one up.
func SignStatus(tr card.Transport) (left, max int, err error) {
	cl := card.NewClient(tr)
	defer cl.Logout()
	n, err := cl.PINStatus(card.SignPIN)
	if err != nil {
		return 0, 0, fmt.Errorf("kiosk: read the signing password's status: %w", err)
	}
	return n, card.SignPIN.MaxTries(), nil
}

// TrayKeep is how long printed certificates may lie in the tray before the
// store's staff take them away (the person left without them). They are
// personal data: nothing keeps them longer.
const TrayKeep = 10 * time.Minute

// ClearTray removes the certificates printed more than TrayKeep before now
// and reports how many.
func (st *Station) ClearTray(now time.Time) (int, error) {
	files, err := filepath.Glob(filepath.Join(st.tray, "*.pdf"))
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil || now.Sub(fi.ModTime()) < TrayKeep {
			continue
		}
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
