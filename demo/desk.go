package demo

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/internal/fileutil"
	"github.com/mynaplat/mynaplat/internal/keydir"
	"github.com/mynaplat/mynaplat/internal/layout"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/procure/desk"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/terminal"
)

// The company-desk part of the demo world (docs/procurement.md §5.1): a
// company in 須坂市 whose representative is a demo resident with a card,
// the representative key installed at the company desk (DATA/desk, mode
// 0600), the desk's terminal, and the agent-to-be, another demo resident
// who has logged in once so that he has a platform ID to be named by (not
// 須坂 花子 herself, whose first login the walk-throughs count).

// SuzakaSeiki is the demo's 須坂市 company (a made-up 法人番号 with a valid
// check digit).
var SuzakaSeiki = Corporation{"1100001900005", "株式会社須坂精機", "Suzaka Seiki Co., Ltd.", "長野県須坂市大字須坂１２３４番地", "須坂　花子"}

// DeskAgent is the demo resident the representative empowers at the desk.
const DeskAgent = "須坂　健太"

// DeskTerminal is the representative's own PC with a card reader, where
// the company desk runs.
var DeskTerminal = platform.Terminal{ID: layout.DeskTerminalID, Kind: platform.Mobile, Owner: SuzakaSeiki.NameJA,
	Name: "代表者のパソコン（カードリーダー）"}

// DeskInfo is what /demo shows about the desk part: the agent's platform
// ID, which the representative types into the grant form.
type DeskInfo struct {
	Company, Number, Representative string
	Agent, AgentPlatformID          string
}

// DeskInfoPath is where the desk part's info is kept.
func DeskInfoPath(dataDir string) string { return filepath.Join(dataDir, "desk", "demo.json") }

// LoadDeskInfo reads it.
func LoadDeskInfo(dataDir string) (*DeskInfo, error) {
	var i DeskInfo
	if err := fileutil.ReadJSON(DeskInfoPath(dataDir), &i); err != nil {
		return nil, err
	}
	return &i, nil
}

// DeskConfig holds what seeding the desk part needs.
type DeskConfig struct {
	DB       *store.DB
	Platform *platform.Platform
	Cards    *card.Store
	Registry *corpreg.Registry
	// BaseURL and HTTP reach the platform (the agent's first login).
	BaseURL string
	HTTP    *http.Client
	DataDir string
	Now     func() time.Time
}

// SeedDesk seeds the desk part once.
func SeedDesk(ctx context.Context, cfg DeskConfig) (bool, error) {
	ok, release, err := claimPart(ctx, cfg.DB, "desk", cfg.Now)
	if err != nil || !ok {
		return false, err
	}
	done := false
	defer func() { release(done) }()
	if err := seedDesk(ctx, cfg); err != nil {
		return false, fmt.Errorf("demo: company desk: %w", err)
	}
	done = true
	return true, nil
}

func seedDesk(ctx context.Context, cfg DeskConfig) error {
	tkey, err := cfg.Platform.RegisterTerminal(ctx, DeskTerminal)
	if err != nil {
		return err
	}
	tc := terminal.Config{ID: DeskTerminal.ID, Kind: DeskTerminal.Kind, Owner: DeskTerminal.Owner, Name: DeskTerminal.Name, Key: tkey, Reader: "virtual"}
	if err := terminal.SaveConfig(layout.TerminalsDir(cfg.DataDir), tc); err != nil {
		return err
	}
	term, err := terminal.New(tc, cfg.BaseURL, cfg.HTTP)
	if err != nil {
		return err
	}
	c := SuzakaSeiki
	if err := cfg.Registry.RegisterCorporation(ctx, c.Number, c.NameJA, c.Address); err != nil {
		return err
	}
	// The representative key is made at the desk and stays there; the
	// registry certifies its public half.
	key, err := keydir.NewKey(keydir.ECDSA)
	if err != nil {
		return err
	}
	if _, err := cfg.Registry.AppointRepresentative(ctx, c.Number, c.Representative, key.Public()); err != nil {
		return err
	}
	dir := layout.DeskDir(cfg.DataDir)
	if err := desk.Setup(dir, c.Number, key); err != nil {
		return err
	}
	_, agentID, err := loginDemo(ctx, cfg.Cards, term, DeskAgent)
	if err != nil {
		return err
	}
	return fileutil.WriteJSON(DeskInfoPath(cfg.DataDir), DeskInfo{Company: c.NameJA, Number: c.Number, Representative: c.Representative,
		Agent: DeskAgent, AgentPlatformID: agentID})
}
