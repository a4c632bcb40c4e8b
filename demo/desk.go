package demo

import (
	"context"
	"crypto"
	"path/filepath"

	"github.com/mynaplat/mynaplat/internal/fileutil"
	"github.com/mynaplat/mynaplat/internal/layout"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/procure/desk"
	"github.com/mynaplat/mynaplat/terminal"
)

// The company desk of the procurement part (docs/procurement.md §5.1):
// 須坂テック's representative key is installed at the desk (DATA/desk, mode
// 0600: the only copy), the desk has a terminal of its own, and /demo shows
// the agent's platform ID for the grant form.

// DeskTerminal is the representative's own PC with a card reader, where
// the company desk runs.
var DeskTerminal = platform.Terminal{ID: layout.DeskTerminalID, Kind: platform.Mobile, Owner: SuzakaTech.NameJA,
	Name: "代表者のパソコン（カードリーダー）"}

// DeskInfo is what /demo shows about the desk: the agent's platform ID,
// which the representative types into the grant form.
type DeskInfo struct {
	Company, Number, Representative string
	Agent, AgentPlatformID          string
}

// DeskInfoPath is where DeskInfo is kept.
func DeskInfoPath(dataDir string) string { return filepath.Join(dataDir, "demo", "desk.json") }

// LoadDeskInfo reads DeskInfo.
func LoadDeskInfo(dataDir string) (*DeskInfo, error) {
	var i DeskInfo
	if err := fileutil.ReadJSON(DeskInfoPath(dataDir), &i); err != nil {
		return nil, err
	}
	return &i, nil
}

// installDesk installs the company desk for c with its representative key
// and registers the desk's terminal; agentID is the agent's platform ID.
func installDesk(ctx context.Context, cfg ProcureConfig, c Corporation, key crypto.Signer, agentID string) error {
	if err := desk.Setup(layout.DeskDir(cfg.DataDir), c.Number, key); err != nil {
		return err
	}
	tkey, err := cfg.Platform.RegisterTerminal(ctx, DeskTerminal)
	if err != nil {
		return err
	}
	tc := terminal.Config{ID: DeskTerminal.ID, Kind: DeskTerminal.Kind, Owner: DeskTerminal.Owner, Name: DeskTerminal.Name, Key: tkey, Reader: "virtual"}
	if err := terminal.SaveConfig(layout.TerminalsDir(cfg.DataDir), tc); err != nil {
		return err
	}
	return fileutil.WriteJSON(DeskInfoPath(cfg.DataDir), DeskInfo{Company: c.NameJA, Number: c.Number, Representative: c.Representative,
		Agent: ProcureAgent, AgentPlatformID: agentID})
}
