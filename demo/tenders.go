package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/procure/body"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/wareki"
)

// The bidding part of the demo world (docs/procurement.md §5.4–§5.6): at
// each procuring body its two contracting officers have set their opening
// passphrases, and the first has published a tender naming both (2 of 2)
// with a deadline a few days ahead, so that the procurement demo's agent
// (ProcureAgent) can bid at once.

// OpeningPassphrases are the demo officers' opening passphrases, by name
// (shown on /demo with their cards: a demo has no secrets).
var OpeningPassphrases = map[string]string{
	"利根　正樹":  "利根川の源流は大水上山にある",
	"榛名　久美子": "榛名湖に映る榛名富士を見る朝",
	"臥竜山　拓海": "臥竜公園の桜は百選に選ばれた",
	"米子　千尋":  "米子大瀑布の不動滝と権現滝",
}

// DemoTenders are the tenders the demo publishes, by body ID.
var DemoTenders = map[string]body.TenderRequest{
	"kanto":  {Title: "庁舎用コピー用紙の購入（単価契約）", Item: "事務用品", Field: procure.FieldSale, EstimateYen: 4_500_000, K: 2},
	"suzaka": {Title: "市役所窓口用の文房具の購入", Item: "事務用品", Field: procure.FieldSale, EstimateYen: 1_800_000, K: 2},
}

// TendersConfig holds what seeding the tenders needs.
type TendersConfig struct {
	DB     *store.DB
	Staff  *staff.Directory
	Bodies *body.Service
	Now    func() time.Time
}

// SeedTenders enrolls the demo officers of each body and publishes its
// demo tender, once. The deadline is 17:00 JST three days ahead.
func SeedTenders(ctx context.Context, cfg TendersConfig) (bool, error) {
	ok, release, err := claimPart(ctx, cfg.DB, "tenders", cfg.Now)
	if err != nil || !ok {
		return false, err
	}
	done := false
	defer func() { release(done) }()
	if err := seedTenders(ctx, cfg); err != nil {
		return false, fmt.Errorf("demo: tenders: %w", err)
	}
	done = true
	return true, nil
}

func seedTenders(ctx context.Context, cfg TendersConfig) error {
	day := cfg.Now().In(wareki.JST()).AddDate(0, 0, 3)
	deadline := time.Date(day.Year(), day.Month(), day.Day(), 17, 0, 0, 0, wareki.JST())
	for _, id := range []string{"kanto", "suzaka"} {
		grants, err := cfg.Staff.List(ctx, body.OfficeID(id))
		if err != nil {
			return err
		}
		var officers []string
		for _, g := range grants {
			pass, ok := OpeningPassphrases[g.Name]
			if g.Role != staff.TenderOfficer || !ok {
				continue
			}
			if err := cfg.Bodies.Enroll(ctx, id, g.PlatformID, g.Name, []byte(pass), []byte(pass)); err != nil {
				return fmt.Errorf("%s: enroll %s: %w", id, g.Name, err)
			}
			officers = append(officers, g.PlatformID)
		}
		if len(officers) < 2 {
			return fmt.Errorf("%s: %d demo officers, want 2", id, len(officers))
		}
		rq := DemoTenders[id]
		rq.Deadline, rq.Officers = deadline, officers
		if _, err := cfg.Bodies.Publish(ctx, id, officers[0], rq); err != nil {
			return fmt.Errorf("%s: publish: %w", id, err)
		}
	}
	return nil
}
