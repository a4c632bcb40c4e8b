package kiosk

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/jlis"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
)

// TestKioskInBrowser is 酒田 一郎 at a store's multi-copy machine in
// chromium, with a screenshot of every screen: he places his card, mistypes
// the PIN once (the tries left are shown), prints a 住民票の写し with the
// default options (the PDF is in the tray and opens), is refused the 戸籍
// at his 住所地, registers with his 本籍地 山形市 with the signing password
// (approved at once), prints the 戸籍全部事項証明書 from 山形市, and
// confirms he took everything: the tray is empty and the machine is back at
// its start.
func TestKioskInBrowser(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t))
	_, sts := w.kioskPages(t, "kiosk-lawson-sakata-1")
	st := sts[0]
	cd := w.card(t, "酒田　一郎")
	base := w.srv.URL + "/kiosk/" + st.ID()

	ctx := browsertest.New(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	contains := func(sel string, wants ...string) {
		t.Helper()
		got := text(sel)
		for _, want := range wants {
			if !strings.Contains(got, want) {
				t.Errorf("%s lacks %q: %q", sel, want, got)
			}
		}
	}
	// shot takes a screenshot and checks that the screen fits the
	// machine's 1024×600 touch screen without scrolling or the site's
	// header.
	shot := func(name string) {
		t.Helper()
		browsertest.Screenshot(t, ctx, name)
		got, err := chromedp.Run(ctx, browsertest.MeasureScreen())
		if err != nil {
			t.Fatalf("%s: measure: %v", name, err)
		}
		for _, p := range got.Problems() {
			t.Errorf("%s: %s", name, p)
		}
	}

	// The machine's start screen → 行政サービス → place the card.
	w0, h0 := terminal.ScreenKiosk.Size()
	do("start", chromedp.EmulateViewport(int64(w0), int64(h0)), chromedp.Navigate(base+"/"), chromedp.WaitVisible(css("#start")))
	shot("01-start")
	do("行政サービス", chromedp.Click(css("#start")), chromedp.WaitVisible(css("#place")))
	shot("02-place-card")
	do("place the card", chromedp.SetValue(css("#card"), cd.Info().ID), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")))
	if got := text("#tries-left"); got != "3" {
		t.Errorf("tries left before: %q", got)
	}
	shot("03-pin")

	// A wrong PIN, then the right one.
	do("wrong PIN", chromedp.SendKeys(css("#pin"), "9999"), chromedp.Click(css("#login")), chromedp.WaitVisible(css(".flash")))
	contains(".flash", "暗証番号が違います", "残り 2 回")
	if got := text("#tries-left"); got != "2" {
		t.Errorf("tries left after a wrong PIN: %q", got)
	}
	shot("04-pin-wrong")
	do("PIN on the pad", browsertest.PinPad(testPIN), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#menu")))
	contains("#menu", "住所地：山形県酒田市", "住民票の写し", "200円", "戸籍全部事項証明書", "350円", "平日 09:00–17:00")
	shot("05-menu")
	// The menu in English, and back.
	do("English", chromedp.Click(css("a.nav.lang")), chromedp.WaitVisible(css(`html[lang="en"]`)), chromedp.WaitVisible(css("#menu")))
	contains("#menu", "Copy of the residence record", "200 yen")
	shot("05-menu-en")
	do("日本語", chromedp.Click(css("a.nav.lang")), chromedp.WaitVisible(css(`html[lang="ja"]`)), chromedp.WaitVisible(css("#menu")))

	// 住民票の写し with the default options.
	do("choose 住民票", chromedp.Click(css(`button[value="062049:juminhyo"]`)), chromedp.WaitVisible(css("#options")))
	defaults, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('#household-self').checked &&
		!document.querySelector('#household-all').checked && !document.querySelector('#opt-honseki').checked &&
		!document.querySelector('#opt-relation').checked && !document.querySelector('#opt-mynumber').checked &&
		document.querySelector('#copies').value === '1'`))
	if err != nil || !defaults {
		t.Errorf("default options: %v %v", defaults, err)
	}
	shot("06-options")
	do("options", chromedp.Click(css("#options-next")), chromedp.WaitVisible(css("#confirm")))
	contains("#summary", "住民票の写し", "山形県酒田市", "本人のみ", "記載しない")
	if got := text("#total"); got != "200" {
		t.Errorf("total %q", got)
	}
	shot("07-fee")
	do("confirm", chromedp.Click(css("#confirm")), chromedp.WaitVisible(css("#reminder")))
	contains("#reminder", "カードと証明書をお取り忘れなく")
	contains("#printed", "住民票の写し", "062049-")
	shot("08-printed")

	// The PDF is in the tray and opens (fetched with the browser's session).
	tray, err := st.Tray()
	if err != nil || len(tray) != 1 {
		t.Fatalf("tray %v %v", tray, err)
	}
	href, err := chromedp.Run(ctx, chromedp.JavascriptAttribute[string](css(".tray-link"), "href"))
	if err != nil || !strings.HasSuffix(href, "/tray/"+tray[0]) {
		t.Fatalf("tray link %q %v", href, err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(`+jsString(href)+`).then(r => r.arrayBuffer().then(b =>
		r.status + '|' + r.headers.get('content-type') + '|' + new TextDecoder().decode(new Uint8Array(b).slice(0, 5))))`, chromedp.EvalAwaitPromise))
	if err != nil || got != "200|application/pdf|%PDF-" {
		t.Errorf("the printed PDF: %q %v", got, err)
	}
	pdf, err := st.InTray(tray[0])
	if err != nil {
		t.Fatal(err)
	}
	sm, _ := jlis.SealMunicipality("062049")
	if err := w.seal.CheckSealed(sm, pdf); err != nil {
		t.Errorf("the tray's PDF: %v", err)
	}

	// 戸籍 from the 住所地: refused, nothing printed.
	do("more", chromedp.Click(css("#more")), chromedp.WaitVisible(css("#menu")))
	do("choose 戸籍 at the 住所地", chromedp.Click(css(`button[value="062049:koseki-zenbu"]`)), chromedp.WaitVisible(css("#options")),
		chromedp.Click(css("#options-next")), chromedp.WaitVisible(css("#confirm")), chromedp.Click(css("#confirm")),
		chromedp.WaitVisible(css(".flash")), chromedp.WaitVisible(css("#menu")))
	contains(".flash", "本籍がこの市区町村にないため", "利用登録")
	contains("#waiting", "排出口")
	shot("09-koseki-refused")
	if tray, _ := st.Tray(); len(tray) != 1 {
		t.Errorf("tray after the refusal: %v", tray)
	}

	// The registration with 山形市.
	do("register", chromedp.Click(css("#register")), chromedp.WaitVisible(css("#municipalities")))
	contains("#municipalities", "山形県山形市", "長野県須坂市")
	shot("10-register")
	do("山形市", chromedp.Click(css(`button[value="062014"]`)), chromedp.WaitVisible(css("#regdoc")))
	contains("#regdoc", "戸籍証明書等のコンビニ交付の利用登録申請", "山形県山形市 (062014)")
	if got := text("#sign-left"); got != "5" {
		t.Errorf("signing password tries: %q", got)
	}
	shot("11-sign")
	do("sign", chromedp.SendKeys(css("#password"), testPassword), chromedp.Click(css("#sign-ok")), chromedp.WaitVisible(css("#reg-status")))
	contains("#reg-status", "登録されました")
	shot("12-registered")

	// The 本籍地's 戸籍 certificates are on the menu now.
	do("menu", chromedp.Click(css("#to-menu")), chromedp.WaitVisible(css("#menu")))
	contains("#menu", "本籍地：山形県山形市", "戸籍の附票の写し")
	contains("#registrations", "山形県山形市", "登録済み")
	shot("13-menu-honseki")
	do("choose 戸籍 at the 本籍地", chromedp.Click(css(`button[value="062014:koseki-zenbu"]`)), chromedp.WaitVisible(css("#options")),
		chromedp.Click(css("#options-next")), chromedp.WaitVisible(css("#confirm")))
	contains("#summary", "戸籍全部事項証明書", "山形県山形市", "本籍地")
	if got := text("#total"); got != "350" {
		t.Errorf("total %q", got)
	}
	shot("14-fee-koseki")
	do("confirm 戸籍", chromedp.Click(css("#confirm")), chromedp.WaitVisible(css("#reminder")))
	contains("#printed", "住民票の写し", "戸籍全部事項証明書", "062014-")
	shot("15-printed-two")
	if tray, _ := st.Tray(); len(tray) != 2 {
		t.Errorf("tray %v", tray)
	}

	// 「受け取りました」: the tray is empty, the card out, the session over.
	do("受け取りました", chromedp.Click(css("#received")), chromedp.WaitVisible(css("#start")), chromedp.WaitVisible(css(".flash")))
	contains(".flash", "ご利用ありがとうございました")
	shot("16-done")
	if tray, _ := st.Tray(); len(tray) != 0 {
		t.Errorf("tray after 受け取りました: %v", tray)
	}
	gone, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch(`+jsString(href)+`).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil || gone != 404 {
		t.Errorf("the PDF after the end: %d %v", gone, err)
	}
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
