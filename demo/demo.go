// Package demo seeds the reproducible demo world once: residents of the
// towns of the 2015 pilots (須坂市, 南砺市, 南部町, 美波町, 前橋市, 酒田市) with
// emulated cards issued at the counter, the terminals of the pilots registered
// with the platform, and the awkward cases a real deployment meets — a child
// without a signing certificate, a person whose 本籍 is in another town, a
// blocked PIN, a card reported lost, an expired certificate. It also serves
// the /demo page that lists the cards with their PINs.
package demo

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/demo/people"
	"github.com/mynaplat/mynaplat/internal/layout"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/wareki"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed migrations templates
var files embed.FS

// version numbers the demo world; a new version would seed again.
const version = 1

// Terminals are the terminals of the pilots.
var Terminals = []platform.Terminal{
	{ID: "kiosk-suzaka-1", Kind: platform.Kiosk, Owner: "須坂市", Name: "須坂市役所 1階 キオスク端末"},
	{ID: "tv-suzaka-1", Kind: platform.TV, Owner: "須高ケーブルテレビ", Name: "須高ケーブル STB（居間のテレビ）"},
	{ID: "tv-nanto-1", Kind: platform.TV, Owner: "となみ衛星通信テレビ", Name: "となみケーブル STB"},
	{ID: "tv-nambu-1", Kind: platform.TV, Owner: "中海テレビ放送", Name: "南部町 見守りSTB"},
	{ID: "tv-minami-1", Kind: platform.TV, Owner: "ケーブルテレビ美波", Name: "ケーブルテレビ美波 STB"},
	{ID: "school-nambu-1", Kind: platform.School, Owner: "南部町", Name: "南部町立 南部小学校 玄関リーダー"},
	{ID: "library-nambu-1", Kind: platform.School, Owner: "南部町", Name: "南部町立図書館 入口リーダー"},
	{ID: "shelter-minami-1", Kind: platform.Shelter, Owner: "美波町", Name: "美波町 避難所（日和佐小学校）"},
	{ID: "mobile-maebashi-1", Kind: platform.Mobile, Owner: "前橋市医師会", Name: "前橋市 母子手帳タブレット"},
}

// BenchTerminal is registered for `mynaplat bench auth`; its configuration
// goes to <data>/bench so the pages do not list it.
var BenchTerminal = platform.Terminal{ID: "bench-1", Kind: platform.Mobile, Owner: "mynaplat bench", Name: "負荷試験用端末"}

// OIDCTerminal is the OpenID provider's terminal (issue 17): its card page
// on the person's own phone or PC. Its configuration goes to
// layout.OIDCTerminalDir, where the oidc role reads it.
var OIDCTerminal = platform.Terminal{ID: "oidc-app-1", Kind: platform.App, Owner: "デジタル認証アプリ（mynaplat）", Name: "デジタル認証アプリ（mynaplat）"}

// Config holds what seeding needs.
type Config struct {
	DB       *store.DB
	Centre   *jpki.Centre
	Cards    *card.Store
	Platform *platform.Platform
	// Staff is the staff directory, for the demo staff's grants (none
	// seeded when nil: the staff terminals only).
	Staff *staff.Directory
	// DataDir is the data directory (terminal configurations go under it).
	DataDir string
	// JPKIDir and BaseURL are the centre's, to issue the expired case with a
	// clock set in the past.
	JPKIDir, BaseURL string
	Now              func() time.Time
	Logger           *slog.Logger
}

func subMigrations() (fs.FS, error) { return fs.Sub(files, "migrations") }

// Seed creates the demo world unless it exists. It reports whether it seeded.
func Seed(ctx context.Context, cfg Config) (bool, error) {
	mfs, err := subMigrations()
	if err != nil {
		return false, err
	}
	if err := cfg.DB.Migrate(ctx, "demo", mfs); err != nil {
		return false, err
	}
	// Claim the seeding first, so two instances started with --demo on one
	// database seed once; a failed seeding gives the claim back.
	_, err = cfg.DB.Write(ctx, `INSERT INTO demo_world (version, seeded_at) VALUES ($1, $2)`, version, cfg.Now().Unix())
	if store.IsUniqueViolation(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("demo: claim seeding: %w", err)
	}
	seeded := false
	defer func() {
		if !seeded {
			cfg.DB.Write(context.WithoutCancel(ctx), `DELETE FROM demo_world WHERE version = $1`, version)
		}
	}()
	for _, r := range people.Residents {
		if err := seedResident(ctx, cfg, r); err != nil {
			return false, fmt.Errorf("demo: %s: %w", r.Name, err)
		}
	}
	for _, t := range Terminals {
		if err := seedTerminal(ctx, cfg, t, layout.TerminalsDir(cfg.DataDir)); err != nil {
			return false, err
		}
	}
	if err := seedStaff(ctx, cfg); err != nil {
		return false, err
	}
	if err := seedTerminal(ctx, cfg, BenchTerminal, filepath.Join(cfg.DataDir, "bench")); err != nil {
		return false, err
	}
	if err := seedTerminal(ctx, cfg, OIDCTerminal, layout.OIDCTerminalDir(cfg.DataDir)); err != nil {
		return false, err
	}
	seeded = true
	cfg.Logger.Info("demo world seeded", "residents", len(people.Residents), "terminals", len(Terminals))
	return true, nil
}

func seedTerminal(ctx context.Context, cfg Config, t platform.Terminal, dir string) error {
	key, err := cfg.Platform.RegisterTerminal(ctx, t)
	if err != nil {
		return fmt.Errorf("demo: terminal %s: %w", t.ID, err)
	}
	return terminal.SaveConfig(dir, terminal.Config{ID: t.ID, Kind: t.Kind, Owner: t.Owner, Name: t.Name, Key: key, Reader: "virtual"})
}

func seedResident(ctx context.Context, cfg Config, r people.Resident) error {
	_, err := seedCard(ctx, cfg, r)
	return err
}

// seedCard makes the card of r, issued by the centre, in r's case.
func seedCard(ctx context.Context, cfg Config, r people.Resident) (*card.Card, error) {
	sex := map[jpki.Sex]string{jpki.Male: "1", jpki.Female: "2", jpki.Unknown: "9"}[r.Sex]
	cd, err := cfg.Cards.Create(card.Spec{Label: r.RoleJA, Demo: true, AuthPIN: r.AuthPIN, SignPIN: r.SignPIN, TextPIN: r.AuthPIN,
		MyNumber: r.MyNumber(), Name: r.Name, Address: r.Address, BirthDate: r.BirthDate().Format("20060102"), Sex: sex})
	if err != nil {
		return nil, err
	}
	res := r.JPKI()
	centre := cfg.Centre
	if r.Case == people.ExpiredCert {
		// Issued in 2019: valid to the fifth birthday after, in 2024.
		past := time.Date(2019, 6, 3, 10, 0, 0, 0, wareki.JST())
		if centre, err = jpki.Open(ctx, jpki.Config{DB: cfg.DB, Dir: cfg.JPKIDir, BaseURL: cfg.BaseURL,
			Now: func() time.Time { return past }, Logger: cfg.Logger}); err != nil {
			return nil, err
		}
	}
	if _, err := centre.IssueCard(ctx, res, cd); err != nil {
		return nil, err
	}
	switch r.Case {
	case people.BlockedPIN:
		cl := card.NewClient(cd)
		wrong := "0000"
		if r.AuthPIN == wrong {
			wrong = "9999"
		}
		for range card.AuthPIN.MaxTries() {
			cl.VerifyPIN(card.AuthPIN, wrong) // each wrong try answers 63Cx; the last blocks it
		}
		cl.Logout()
	case people.Revoked:
		if _, err := cfg.Centre.ReportLoss(ctx, cd.ID()); err != nil {
			return nil, err
		}
	}
	return cd, nil
}

// Pages serves /demo: the demo cards with their PINs and stories.
type Pages struct {
	pages   *web.Pages
	cards   *card.Store
	dataDir string
}

// NewPages parses the demo page.
func NewPages(site *web.Site, cards *card.Store, dataDir string) (*Pages, error) {
	sub, err := fs.Sub(files, "templates")
	if err != nil {
		return nil, err
	}
	pages, err := site.Parse(sub, "*.html")
	if err != nil {
		return nil, err
	}
	return &Pages{pages: pages, cards: cards, dataDir: dataDir}, nil
}

// Routes registers GET /demo.
func (p *Pages) Routes(mux *http.ServeMux) { mux.HandleFunc("GET /demo", p.serve) }

type pageData struct {
	Cards       []row
	Staff       []staffRow
	Places      []placeRow
	Keys        *Keys
	PostboxKeys *PostboxKeys
	Desk        *DeskInfo
}

type row struct {
	card.Info
	Resident *people.Resident
	Town     string
	// Uses are the home page sections the card is used in.
	Uses []Use
}

func (p *Pages) serve(w http.ResponseWriter, r *http.Request) {
	infos, err := p.cards.List()
	if err != nil {
		http.Error(w, "cards unavailable", http.StatusServiceUnavailable)
		return
	}
	byName := map[string]*people.Resident{}
	for i := range people.Residents {
		byName[people.Residents[i].Name] = &people.Residents[i]
	}
	uses := Uses()
	var rows []row
	staffCards := map[string]card.Info{}
	for _, in := range infos {
		if !in.Demo {
			continue
		}
		if isStaff(in.Holder) {
			staffCards[in.Holder] = in
			continue
		}
		rw := row{Info: in, Resident: byName[in.Holder], Uses: uses[in.Holder]}
		if rw.Resident != nil {
			if m, err := jpki.LookupMunicipality(rw.Resident.Municipality); err == nil {
				rw.Town = m.Prefecture + m.Name
			}
		}
		rows = append(rows, rw)
	}
	d := pageData{Cards: rows, Staff: staffRows(staffCards)}
	if len(rows) > 0 {
		d.Places = placeRows()
	}
	if k, err := LoadKeys(p.dataDir); err == nil {
		d.Keys = k
	}
	if pk, err := LoadPostboxKeys(p.dataDir); err == nil {
		d.PostboxKeys = pk
	}
	if di, err := LoadDeskInfo(p.dataDir); err == nil {
		d.Desk = di
	}
	p.pages.Render(w, r, http.StatusOK, "demo", d)
}

// TownName is the prefecture and municipality of a code, for pages.
func TownName(code string) string {
	m, err := jpki.LookupMunicipality(code)
	if err != nil {
		return code
	}
	return strings.TrimSpace(m.Prefecture + m.Name)
}
