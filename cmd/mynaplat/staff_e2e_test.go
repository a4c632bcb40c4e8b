package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/demo"
	"github.com/mynaplat/mynaplat/internal/browsertest"
)

// demoStaffCard is the card ID and the PIN of the demo staff member of
// office (demo.Staff), in the demo world at data.
func demoStaffCard(t *testing.T, bin, data, office string) (string, string) {
	t.Helper()
	for _, sp := range demo.Staff {
		if sp.Office == office {
			return demoCardID(t, bin, data, sp.Name), sp.AuthPIN
		}
	}
	t.Fatalf("no demo staff at %s", office)
	return "", ""
}

// staffCardSignIn is the chromedp steps of a clerk signing in at an office
// page (base + path) with their own card at the staff terminal: the office
// sends them to the terminal, the card and its PIN go through the kit's
// screens, and the hand-over takes them back to the office.
func staffCardSignIn(base, path, cardID, pin string) []chromedp.Action[chromedp.Void] {
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	return []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(base + path), chromedp.WaitVisible(css("#staff-signin")),
		chromedp.Click(css("#staff-signin")), chromedp.WaitVisible(css("#desk-office")), chromedp.WaitVisible(css("#place")),
		chromedp.SetValue(css("#card"), cardID), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")),
		browsertest.PinPad(pin), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#handoff-go")),
		chromedp.Click(css("#handoff-go")), chromedp.WaitVisible(css("#staff-strip")),
	}
}

// TestStaffSignInWithCard: 酒田市's registry clerk reads their card ID and
// PIN on /demo, signs in to the municipal back office with their card at
// the staff terminal, sees the strip with their name, role and staff
// number, works (an audited view of 酒田 一郎's record names them), and
// signs out; 須坂市's clerk is refused at 酒田市's office with the page that
// says why. Then 一郎 logs in with his card at a terminal and reads on
// /me/audit that 酒田市's registry desk, staff number R-062049-01, viewed
// his record: by staff number, never the clerk's name.
func TestStaffSignInWithCard(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	url := startServer(t, bin, "--demo", "--data", data)
	ctx := browsertest.NewWithin(t, 3*time.Minute)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
			t.Fatalf("%s: %v\non the page:\n%s", what, err, page)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(v)
	}
	do("the demo page", chromedp.Navigate(url+"/demo"), chromedp.WaitVisible(css("#demo-staff-cards")))
	card := func(office string) (string, string) {
		id := text(`.staff-card[data-office="` + office + `"] code.card-id`)
		pin, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('.staff-card[data-office="`+office+`"]').closest("tr").querySelector(".staff-pin").textContent`))
		if err != nil || id == "" || pin == "" {
			t.Fatalf("the card of %s on /demo: %q %q %v", office, id, pin, err)
		}
		return id, pin
	}
	sakataCard, sakataPIN := card("municipal:062049")
	suzakaCard, suzakaPIN := card("municipal:202070")

	do("sign in at 酒田市", staffCardSignIn(url, "/municipal/062049/office/", sakataCard, sakataPIN)...)
	browsertest.Screenshot(t, ctx, "staff-signed-in")
	if got := text("#strip-name"); got != "最上　和也" {
		t.Errorf("strip name %q", got)
	}
	if got := text("#strip-role") + " " + text("#strip-number"); got != "住民記録担当 R-062049-01" {
		t.Errorf("strip role and number %q", got)
	}
	do("open the audit", chromedp.Navigate(url+"/municipal/062049/office/audit"), chromedp.WaitVisible(css("#staff-strip")))
	do("the register", chromedp.Navigate(url+"/municipal/062049/office/"), chromedp.WaitVisible(css(`a[href*="/office/persons/"]`)))
	ichiroRecord, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('a[href*="/office/persons/"]')].find(a => a.textContent.trim() === "酒田　一郎").href`))
	if err != nil || ichiroRecord == "" {
		t.Fatalf("酒田 一郎's record on the register: %q, %v", ichiroRecord, err)
	}
	do("open 酒田 一郎's record", chromedp.Navigate(ichiroRecord), chromedp.WaitVisible(css("#staff-strip")))
	do("the audit names the clerk", chromedp.Navigate(url+"/municipal/062049/office/audit"), chromedp.WaitVisible(css("main table")))
	if got := text("main table tbody"); !strings.Contains(got, "最上　和也") || !strings.Contains(got, "registry-clerk") {
		t.Errorf("the audit rows do not name the clerk:\n%s", got)
	}
	do("sign out", chromedp.Click(css("#staff-logout")), chromedp.WaitVisible(css("#staff-signin")))

	// 須坂市's clerk at 酒田市's office: the card login works, the grant does not.
	steps := staffCardSignIn(url, "/municipal/062049/office/", suzakaCard, suzakaPIN)
	do("須坂市's clerk at 酒田市", append(steps[:len(steps)-1], chromedp.WaitVisible(css("#refusal")))...)
	browsertest.Screenshot(t, ctx, "staff-other-office")
	if code, err := chromedp.Run(ctx, chromedp.AttributeValue(css("#refusal"), "data-code")); err != nil || code.Value != "staff_other_office" {
		t.Errorf("refusal %+v, %v", code, err)
	}
	if got := text("#refusal"); !strings.Contains(got, "ほかの事務所") {
		t.Errorf("refusal text %q", got)
	}

	// 酒田 一郎 reads who looked at his record.
	ichiro := demoCardID(t, bin, data, "酒田　一郎")
	do("一郎 logs in at a terminal", chromedp.Navigate(url+"/t/kiosk-suzaka-1/"), chromedp.WaitVisible(css("#place")),
		chromedp.SetValue(css("#card"), ichiro), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")),
		browsertest.PinPad("1111"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#platform-id")))
	do("his audit page", chromedp.Navigate(url+"/me/audit"), chromedp.WaitVisible(css(".history-staff-number")))
	browsertest.Screenshot(t, ctx, "me-audit-clerk")
	page := text("main")
	if !strings.Contains(page, "酒田市 戸籍住民課 窓口 · 職員番号 R-062049-01") || !strings.Contains(page, "住民記録の閲覧") {
		t.Errorf("/me/audit does not name the registry desk and the clerk's staff number:\n%s", page)
	}
	if strings.Contains(page, "最上") {
		t.Errorf("/me/audit names the clerk:\n%s", page)
	}
}
