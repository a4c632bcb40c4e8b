package demo

import (
	"context"
	"fmt"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/community/watch"
	"github.com/mynaplat/mynaplat/platform"
)

// WatchConfig is what the watch-over part of the demo needs: the health
// centre's service, and the platform and the cards to learn the platform
// IDs of the people watched.
type WatchConfig struct {
	Watch    *watch.Service
	Platform *platform.Platform
	Cards    *card.Store
}

// WatchStaffName is the health centre's staff member of the demo (her card
// is a staff card of demo/staff.go).
const WatchStaffName = "赤松　さち"

// watched are the demo's people watched by 南部町 保健センター: 法勝寺 トメ,
// whose TV is the 中海テレビ box tv-nambu-1 (demo/catv.go), checked by
// 10:00. Her family's address is at example.jp: the demo's mails reach the
// mailbox inside the process, never a real one.
var watched = []struct {
	Name, FamilyMail string
	Deadline         int
}{
	{"法勝寺　トメ", "tome.family@example.jp", 10 * 60},
}

// SeedWatch registers the people watched, once.
func SeedWatch(ctx context.Context, cfg WatchConfig) error {
	done, err := cfg.Watch.HasPeople(ctx)
	if err != nil || done {
		return err
	}
	for _, w := range watched {
		pid, err := holderID(ctx, cfg.Platform, cfg.Cards, w.Name)
		if err != nil {
			return fmt.Errorf("demo: watch: %w", err)
		}
		if err := cfg.Watch.Watch(ctx, "demo", watch.Person{PlatformID: pid, Name: w.Name, FamilyMail: w.FamilyMail, Deadline: w.Deadline}); err != nil {
			return fmt.Errorf("demo: watch %s: %w", w.Name, err)
		}
	}
	return nil
}
