package desk_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/procure/desk"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestNotices: the desk shows the qualification register's notice of a new
// agent once the agent filed an application under the power granted here
// (procurement §3 rule 4), read with a request the desk signs with the
// representative key; the register writes an audit row per read naming the
// representative. Without notices wired in, the desk says they do not
// reach it.
func TestNotices(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	var reg *procure.Service
	var off bool
	e := newEnvWith(t, db, func(ctx context.Context, signed []byte) ([]procure.Notice, error) {
		if off {
			return nil, errors.New("the register does not answer")
		}
		return reg.Notices(ctx, signed)
	})
	var err error
	reg, err = procure.New(ctx, procure.Config{DB: db, Corporations: e.w.Registry, Powers: e.w.Powers, Verify: delegation.VerifyCMS(e.w.TSARoots),
		Now: e.w.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	c := e.browser(t, "ichiro", true)
	c.Step(webtest.Step{Name: "no notices yet", Path: desk.Home, WantContains: []string{`id="notices"`, "お知らせはありません"}})
	c.Step(webtest.Step{Name: "grant", Method: http.MethodPost, Path: "/desk/grant", Form: e.form(procure.MatterQualify), WantStatus: http.StatusSeeOther})
	page := c.Step(webtest.Step{Name: "granted", Path: desk.Home})
	m := powerIDRE.FindStringSubmatch(page.Body)
	if m == nil {
		t.Fatalf("no power ID shown:\n%s", page.Body)
	}
	powerID := m[1]
	agent := e.people["yumi"]
	app := procure.Application{CorporateNumber: company.Number, PowerID: powerID, Kind: procure.KindNew, Founded: "2001-04-01",
		Fields: []procure.FieldItems{{Field: procure.FieldService, Items: []string{"情報処理"}}}, Regions: []string{"関東・甲信越"},
		Financials: procure.FinancialItems{AverageSalesYen: 300_000_000, EquityYen: 100_000_000, CurrentAssetsYen: 80_000_000,
			CurrentLiabilitiesYen: 40_000_000, Years: 20}, TaxDeclared: true}
	body, err := app.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	e.w.Clock.Advance(time.Minute)
	if _, err := reg.Apply(ctx, procure.ApplyRequest{AgentPlatformID: agent.PlatformID, Signed: e.w.SignBytes(agent.Card, agent.SignPIN, body)}); err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"ja", "en"} {
		want := []string{"新しい代理人", "酒井　由美", agent.PlatformID, powerID}
		if lang == "en" {
			want[0] = "New agent"
		}
		// Read twice at one instant of the clock: each read is a new request.
		for range 2 {
			page = c.Step(webtest.Step{Name: "the notice " + lang, Path: desk.Home + "?lang=" + lang, WantContains: want})
			if n := strings.Count(page.Body, `class="notice"`); n != 1 {
				t.Errorf("%d notices shown, want 1", n)
			}
		}
	}
	// One read per page: confirmed, no notices yet, granted, and the four
	// above.
	var reads int
	if err := db.QueryRow(`SELECT COUNT(*) FROM procure_audit WHERE action = 'notices' AND outcome = 'ok' AND actor = $1`,
		"representative:"+company.Representative).Scan(&reads); err != nil || reads != 7 {
		t.Errorf("%d audit rows of reads by the representative, %v; want 7", reads, err)
	}
	off = true
	c.Step(webtest.Step{Name: "the register does not answer", Path: desk.Home, WantContains: []string{`id="notices-failed"`, `id="grant-submit"`}})

	// A desk without notices says so.
	plain := newEnv(t, storetest.SQLite(t)).browser(t, "ichiro", true)
	plain.Step(webtest.Step{Name: "notices off", Path: desk.Home, WantContains: []string{"まだこの端末に届きません"}})
}
