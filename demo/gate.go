package demo

import (
	"context"
	"fmt"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/community/gate"
	"github.com/mynaplat/mynaplat/platform"
)

// GateConfig is what the children's check-in part of the demo needs: the
// bodies' services, and the platform and the cards to learn the platform
// IDs of the child and the guardian.
type GateConfig struct {
	Gates    []*gate.Service
	Platform *platform.Platform
	Cards    *card.Store
}

// The demo's school and library staff (their cards are staff cards of
// demo/staff.go).
const (
	GateTeacherName   = "手間山　洋子"
	GateLibrarianName = "緑水　湖太郎"
)

// gateChildren are the demo's children registered at 南部町立 南部小学校 and
// 南部町立図書館: 南部 翔 (a Child card, no PIN needed at a gate) and his
// guardian at the same address, 法勝寺 トメ, whose TV is tv-nambu-1 (the
// demo has no parent of his in 南部町 with a TV; his grandmother is the
// guardian the bodies know). The address is at example.jp: the demo's mails
// reach the mailbox inside the process, never a real one.
var gateChildren = []struct {
	Child, Guardian, Mail string
}{
	{"南部　翔", "法勝寺　トメ", "sho.family@example.jp"},
}

// SeedGate registers the children and their guardians at every body, once
// per body.
func SeedGate(ctx context.Context, cfg GateConfig) error {
	for _, g := range cfg.Gates {
		done, err := g.HasChildren(ctx)
		if err != nil {
			return err
		}
		if done {
			continue
		}
		for _, c := range gateChildren {
			child, err := holderID(ctx, cfg.Platform, cfg.Cards, c.Child)
			if err != nil {
				return fmt.Errorf("demo: gate: %w", err)
			}
			guardian, err := holderID(ctx, cfg.Platform, cfg.Cards, c.Guardian)
			if err != nil {
				return fmt.Errorf("demo: gate: %w", err)
			}
			if err := g.RegisterChild(ctx, "demo", child, c.Child); err != nil {
				return fmt.Errorf("demo: gate: %s at %s: %w", c.Child, g.Body().ID, err)
			}
			if err := g.LinkParent(ctx, "demo", child, guardian, c.Mail); err != nil {
				return fmt.Errorf("demo: gate: %s's guardian at %s: %w", c.Child, g.Body().ID, err)
			}
		}
	}
	return nil
}
