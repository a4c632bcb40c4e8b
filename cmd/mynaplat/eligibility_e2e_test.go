package main

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/internal/browsertest"
)

// TestEligibilityInBrowser is the 酒田市 pilot as a newcomer sees it in the
// demo: 酒田 一郎 is checked at the hospital's reception and on its mobile
// terminal (also with the network cut), patients without a usable card are
// handled, and he finds the checks on his audit page.
func TestEligibilityInBrowser(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	url := startServer(t, bin, "--demo", "--data", data)
	r := newFlowRun(t, sameURL(bin, data, url))
	ctx := r.ctx
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	ichiro := demoCardID(t, bin, data, "酒田　一郎")
	// fresh opens a station's first screen, taking out a card left on it.
	fresh := func(station string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			if err := chromedp.Do(ctx, chromedp.Navigate(url+"/reception/"+station+"/"), chromedp.WaitReady(css("body"))); err != nil {
				return err
			}
			if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const b = document.querySelector("#remove"); if (b) { b.click(); return true } return false })()`)); err != nil {
				return err
			}
			return chromedp.Do(ctx, chromedp.WaitVisible(css("#place")))
		})
	}
	// check runs the card flow at a station up to the answer.
	check := func(station, cardID, pin string, consent ...string) {
		t.Helper()
		actions := []chromedp.Action[chromedp.Void]{fresh(station),
			chromedp.SetValue(css("#card"), cardID), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")),
			browsertest.PinPad(pin), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#consent-submit"))}
		for _, c := range consent {
			actions = append(actions, chromedp.Click(css("#c-"+c)))
		}
		actions = append(actions, chromedp.Click(css("#consent-submit")), chromedp.WaitVisible(css("#validity")))
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("check at %s: %v", station, err)
		}
	}
	// refused runs the card flow up to the refusal the station shows in
	// place of the PIN pad.
	refused := func(station, holder, pin string) string {
		t.Helper()
		if err := chromedp.Do(ctx, fresh(station),
			chromedp.SetValue(css("#card"), demoCardID(t, bin, data, holder)), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")),
			chromedp.SendKeys(css("#pin"), pin), chromedp.Click(css("#login")), chromedp.WaitVisible(css(".kit-outcome"))); err != nil {
			t.Fatalf("%s at %s: %v", holder, station, err)
		}
		return text(".kit-outcome")
	}

	// Once, at home: 酒田 一郎 links a credit card to his platform ID,
	// consenting with his signing certificate; at the reception he is
	// checked with his consent to the 限度額 and pays with it.
	eligibilityFlow(t, r)

	// Consent refused: the basic answer only.
	check("reception-nihonkai-1", ichiro, "1111")
	if got := text("#limit"); got != "—" {
		t.Errorf("limit category without consent %q", got)
	}

	// Cards that cannot be used: a blocked PIN, a lost (revoked) card, an
	// expired certificate (years ago, past the 3-month grace).
	if err := chromedp.Do(ctx, fresh("reception-nihonkai-1"),
		chromedp.SetValue(css("#card"), demoCardID(t, bin, data, "本間　光")), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#blocked"))); err != nil {
		t.Fatalf("blocked card: %v", err)
	}
	browsertest.Screenshot(t, ctx, "2-blocked")
	if got := refused("reception-nihonkai-1", "鳥海　誠", "3333"); !strings.Contains(got, "失効") {
		t.Errorf("revoked card: %q", got)
	}
	if got := refused("reception-nihonkai-1", "飛島　悟", "4444"); !strings.Contains(got, "有効期限") {
		t.Errorf("expired card: %q", got)
	}

	// 本間 光 is checked by her 資格確認書 instead.
	paper := func(insurer, symbol, number, birth string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(url+"/reception/reception-nihonkai-1/paper"), chromedp.WaitVisible(css("#paper-form")),
			chromedp.SendKeys(css("#insurer"), insurer), chromedp.SendKeys(css("#symbol"), symbol), chromedp.SendKeys(css("#number"), number),
			chromedp.SetValue(css("#birth"), birth), chromedp.Click(css("#paper-submit")), chromedp.WaitVisible(css("#validity"))); err != nil {
			t.Fatalf("paper check: %v", err)
		}
	}
	paper("060046", "酒田", "2222", "1988-12-24")
	if got := text("#validity"); got != "有効" {
		t.Errorf("paper check validity %q", got)
	}
	browsertest.Screenshot(t, ctx, "3-paper")
	paper("060046", "酒田", "2222", "1988-12-25")
	if got := text("#validity"); got != "該当資格なし" {
		t.Errorf("paper check with a wrong birth date %q", got)
	}

	// On the phone-sized mobile terminal.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	check("mobile-nihonkai-1", ichiro, "1111")
	if got := text("#validity"); got != "有効" {
		t.Errorf("mobile validity %q", got)
	}
	browsertest.Screenshot(t, ctx, "4-mobile")

	// The mobile terminal loses its network: it checks the card itself and
	// keeps the check; when the network returns it is confirmed.
	if err := chromedp.Do(ctx, fresh("mobile-nihonkai-1"),
		chromedp.Click(css("#staff summary")), chromedp.Click(css("#cut-network")), chromedp.WaitVisible(css("#network.revoked"))); err != nil {
		t.Fatalf("cut the network: %v", err)
	}
	check("mobile-nihonkai-1", ichiro, "1111")
	if got := text("#provisional"); !strings.Contains(got, "確定") {
		t.Errorf("provisional note %q", got)
	}
	browsertest.Screenshot(t, ctx, "5-mobile-offline")
	// The hospital's back office lists it as provisional: its staff
	// member signs in with her card at the staff terminal.
	clerkCard, clerkPIN := demoStaffCard(t, bin, data, "clinic:0611000019")
	if err := chromedp.Do(ctx, append([]chromedp.Action[chromedp.Void]{chromedp.EmulateViewport(1024, 600)},
		append(staffCardSignIn(url, "/clinic/0611000019/", clerkCard, clerkPIN), chromedp.WaitVisible(css("#provisional")))...)...); err != nil {
		t.Fatalf("back office: %v", err)
	}
	if got := text("#provisional"); !strings.Contains(got, "酒田") {
		t.Errorf("provisional list %q", got)
	}
	browsertest.Screenshot(t, ctx, "5b-back-office-provisional")
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(url+"/reception/mobile-nihonkai-1/"), chromedp.WaitVisible(css("#queued")),
		chromedp.Click(css("#staff summary")), chromedp.Click(css("#restore-network")), chromedp.WaitVisible(css("#network.good")),
		chromedp.WaitVisible(css("div.flash-ok"))); err != nil {
		t.Fatalf("restore the network: %v", err)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#queued").length`)); n != 0 {
		t.Errorf("%d queued after the network returned", n)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1024, 600)); err != nil {
		t.Fatal(err)
	}

	// 酒田 一郎 logs in at home and sees who checked his coverage.
	if err := chromedp.Do(ctx, chromedp.Navigate(url+"/t/kiosk-suzaka-1/"), chromedp.WaitVisible(css("#place")),
		chromedp.SetValue(css("#card"), ichiro), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")),
		chromedp.SendKeys(css("#pin"), "1111"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#platform-id")),
		chromedp.Navigate(url+"/me/audit"), chromedp.WaitVisible(css(".service-history"))); err != nil {
		t.Fatalf("audit page: %v", err)
	}
	got := text(".service-history")
	if strings.Count(got, "日本海総合病院") != 4 || !strings.Contains(got, "オフライン") || !strings.Contains(got, "限度額適用区分") {
		t.Errorf("eligibility history:\n%s", got)
	}
	browsertest.Screenshot(t, ctx, "6-audit")
}
