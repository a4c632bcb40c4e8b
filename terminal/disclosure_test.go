package terminal_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestDisclosureInTheHolderAudit: what the OpenID Connect provider gave an
// outside service is on the holder's /me/audit, in Japanese and English,
// at the provider rather than at a place.
func TestDisclosureInTheHolderAudit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		hw := newHolderWorld(t, db)
		const base = "/t/kiosk-suzaka-9/"
		c := webtest.New(t, hw.srv.URL)
		c.Run([]webtest.Step{
			{Name: "the terminal", Path: base},
			{Name: "place the card", Path: base + "place", Form: url.Values{"card": {hw.cd.ID()}}, WantStatus: http.StatusSeeOther},
			{Name: "log in", Path: base + "login", Form: url.Values{"pin": {"1234"}}, WantStatus: http.StatusSeeOther, WantLocation: base + "result"},
		})
		var person string
		if err := db.QueryRowContext(ctx, `SELECT person_id FROM platform_audit WHERE action = 'authenticate'`).Scan(&person); err != nil {
			t.Fatal(err)
		}
		if err := hw.plat.Disclose(ctx, "oidc", person, platform.Disclosure{Recipient: "須坂市ウェブサイト (RP00000001)",
			Items: []string{platform.ItemBirthdate, platform.ItemName}}); err != nil {
			t.Fatal(err)
		}
		c.Run([]webtest.Step{
			{Name: "the audit in Japanese", Path: "/me/audit", WantContains: []string{
				`<span class="disclosure">須坂市ウェブサイト (RP00000001)に 氏名・生年月日 を提供</span>`, "デジタル認証アプリ（mynaplat）"}},
			{Name: "to English", Path: "/lang?" + url.Values{"to": {"en"}, "back": {"/me/audit"}}.Encode(), WantStatus: http.StatusSeeOther},
			{Name: "the audit in English", Path: "/me/audit", WantContains: []string{
				`<span class="disclosure">Gave name, date of birth to 須坂市ウェブサイト (RP00000001)</span>`, "Digital authentication app (mynaplat)"}},
		})
	})
}
