package demo

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/internal/fileutil"
	"github.com/mynaplat/mynaplat/internal/layout"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/terminal"
)

// The procurement part of the demo world (docs/procurement.md): a 須坂市
// company whose representative, 須坂 花子, has empowered 須坂 健太 as its
// agent (代理人) for the four procurement matters, and the company's PC
// with a card reader where he logs in to apply for the unified
// qualification. The register's officer is demo staff (Staff).

// ProcureTerminal is the company's computer with a card reader, where its
// agent logs in to file procurement applications.
var ProcureTerminal = platform.Terminal{ID: layout.ProcureTerminalID, Kind: platform.Mobile, Owner: "政府調達",
	Name: "会社のパソコン（カードリーダー）"}

// SuzakaTech is the 須坂市 company of the procurement demo. Its 法人番号 is
// made up (with a valid check digit).
var SuzakaTech = Corporation{"1100001900005", "株式会社須坂テック", "Suzaka Tech Co., Ltd.", "長野県須坂市大字須坂１５００番地", "須坂　花子"}

// ProcureAgent is the company's agent.
const ProcureAgent = "須坂　健太"

// ProcureDemo is what the procurement part seeded, for the agent's form and
// the guide: the company and the agent's power of attorney.
type ProcureDemo struct {
	CorporateNumber string `json:"corporate_number"`
	PowerID         string `json:"power_id"`
}

// ProcureDemoPath is where ProcureDemo is kept.
func ProcureDemoPath(dataDir string) string { return filepath.Join(dataDir, "demo", "procure.json") }

// LoadProcureDemo reads ProcureDemo.
func LoadProcureDemo(dataDir string) (*ProcureDemo, error) {
	var d ProcureDemo
	if err := fileutil.ReadJSON(ProcureDemoPath(dataDir), &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// ProcureConfig holds what seeding the procurement part needs.
type ProcureConfig struct {
	DB       *store.DB
	Platform *platform.Platform
	Cards    *card.Store
	Registry *corpreg.Registry
	Powers   *delegation.Service
	Stamper  cms.Stamper
	// BaseURL and HTTP reach the platform over its API.
	BaseURL string
	HTTP    *http.Client
	DataDir string
	Now     func() time.Time
}

// SeedProcure seeds the procurement part once.
func SeedProcure(ctx context.Context, cfg ProcureConfig) (bool, error) {
	ok, release, err := claimPart(ctx, cfg.DB, "procure", cfg.Now)
	if err != nil || !ok {
		return false, err
	}
	done := false
	defer func() { release(done) }()
	if err := seedProcure(ctx, cfg); err != nil {
		return false, fmt.Errorf("demo: procurement: %w", err)
	}
	done = true
	return true, nil
}

func seedProcure(ctx context.Context, cfg ProcureConfig) error {
	now := cfg.Now()
	tkey, err := cfg.Platform.RegisterTerminal(ctx, ProcureTerminal)
	if err != nil {
		return err
	}
	tc := terminal.Config{ID: ProcureTerminal.ID, Kind: ProcureTerminal.Kind, Owner: ProcureTerminal.Owner, Name: ProcureTerminal.Name, Key: tkey, Reader: "virtual"}
	if err := terminal.SaveConfig(layout.TerminalsDir(cfg.DataDir), tc); err != nil {
		return err
	}
	term, err := terminal.New(tc, cfg.BaseURL, cfg.HTTP)
	if err != nil {
		return err
	}
	// The company and its representative, whose key stays with her: it is
	// made here and installed at the company desk (installDesk, a file of
	// mode 0600 in DATA/desk).
	c := SuzakaTech
	if err := cfg.Registry.RegisterCorporation(ctx, c.Number, c.NameJA, c.Address); err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	cert, err := cfg.Registry.AppointRepresentative(ctx, c.Number, c.Representative, key.Public())
	if err != nil {
		return err
	}
	// The agent logs in once, so that the platform knows him; the power
	// names his platform ID.
	_, agentID, err := loginDemo(ctx, cfg.Cards, term, ProcureAgent)
	if err != nil {
		return err
	}
	id, err := delegation.NewID()
	if err != nil {
		return err
	}
	power := delegation.Power{ID: id, Principal: delegation.Principal{CorporateNumber: c.Number, CorporationName: c.NameJA,
		RepresentativeName: c.Representative}, Agent: delegation.Agent{PlatformID: agentID, Name: ProcureAgent},
		Powers: procure.Matters, NotBefore: now.Add(-time.Hour).Truncate(time.Second), NotAfter: now.AddDate(1, 0, 0).Truncate(time.Second)}
	signed, err := power.Sign(ctx, key, cert, cfg.Stamper)
	if err != nil {
		return err
	}
	if _, err := cfg.Powers.Register(ctx, signed); err != nil {
		return err
	}
	if err := installDesk(ctx, cfg, c, key, agentID); err != nil {
		return err
	}
	return fileutil.WriteJSON(ProcureDemoPath(cfg.DataDir), ProcureDemo{CorporateNumber: c.Number, PowerID: id})
}
