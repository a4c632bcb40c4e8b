package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/terminal"
)

// TestTerminalScreensFitBrowser opens every kind of terminal of the demo at
// its screen's size — the /t/ TV (1280×720, driven by the remote's keys),
// the school gate and the shelter (1024×600 touch), the tablet and the
// post box's phone (390×844), the store's multi-copy machine (1024×600),
// the hospital's reception (1024×768) and its mobile terminal, and the
// phone payment page — and checks at every step of the card flow, the PIN
// pad and its cancel button included, that the page does not scroll and
// that the site's header is not there (a person cannot walk out of the
// flow). On the way: a wrong PIN shows the tries left, the last try warns
// before it is used, and a blocked card sends the person to the counter.
func TestTerminalScreensFitBrowser(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	url := startServer(t, bin, "--demo", "--data", data)
	card := func(holder string) string { return demoCardID(t, bin, data, holder) }
	ichiro := card("酒田　一郎")
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	screen := func(s terminal.Screen) chromedp.Action[chromedp.Void] {
		w, h := s.Size()
		return chromedp.EmulateViewport(int64(w), int64(h))
	}
	// in runs one kind of terminal in a browser of its own (a browser
	// session is bounded in time).
	type helpers struct {
		do       func(what string, actions ...chromedp.Action[chromedp.Void])
		text     func(sel string) string
		contains func(sel string, wants ...string)
		fits     func(name string)
	}
	in := func(name string, f func(t *testing.T, h helpers)) {
		t.Run(name, func(t *testing.T) {
			ctx := browsertest.New(t)
			var h helpers
			h.do = func(what string, actions ...chromedp.Action[chromedp.Void]) {
				t.Helper()
				if err := chromedp.Do(ctx, actions...); err != nil {
					browsertest.Screenshot(t, ctx, "failed")
					page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
					t.Fatalf("%s: %v\non the page:\n%s", what, err, page)
				}
			}
			h.text = func(sel string) string {
				t.Helper()
				s, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
				if err != nil {
					t.Fatalf("read %s: %v", sel, err)
				}
				return s
			}
			h.contains = func(sel string, wants ...string) {
				t.Helper()
				got := h.text(sel)
				for _, w := range wants {
					if !strings.Contains(got, w) {
						t.Errorf("%s lacks %q: %q", sel, w, got)
					}
				}
			}
			// fits fails unless the page fits its screen and has no site
			// header.
			h.fits = func(name string) {
				t.Helper()
				got, err := chromedp.Run(ctx, browsertest.MeasureScreen())
				if err != nil {
					t.Fatalf("%s: measure: %v", name, err)
				}
				browsertest.Screenshot(t, ctx, name)
				for _, p := range got.Problems() {
					t.Errorf("%s: %s", name, p)
				}
			}
			f(t, h)
		})
	}

	// The /t/ terminals: place the card, a wrong PIN (tries left), another
	// (the last try's warning), then the right one.
	for _, tc := range []struct {
		id, holder, pin string
		screen          terminal.Screen
	}{
		{"tv-suzaka-1", "須坂　健太", "2345", terminal.ScreenTV},
		{"school-nambu-1", "南部　翔", "6789", terminal.ScreenKiosk},
		{"mobile-maebashi-1", "前橋　美咲", "1357", terminal.ScreenPhone},
	} {
		in(tc.id, func(t *testing.T, h helpers) {
			do, text, contains, fits := h.do, h.text, h.contains, h.fits
			name := func(step string) string { return tc.id + "-" + step }
			do(tc.id, screen(tc.screen), chromedp.Navigate(url+"/t/"+tc.id+"/"), chromedp.WaitVisible(css("#place")))
			fits(name("1-place"))
			do(tc.id+" place", chromedp.SetValue(css("#card"), card(tc.holder)), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")))
			fits(name("2-pin"))
			do(tc.id+" wrong PIN", chromedp.SendKeys(css("#pin"), "0000"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("div.flash-error")))
			contains("div.flash-error", "暗証番号が違います。残り 2 回です。")
			contains("#tries-left", "2")
			fits(name("3-wrong"))
			do(tc.id+" second wrong PIN", chromedp.SendKeys(css("#pin"), "0000"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#last-try")))
			contains("#last-try", "あと1回間違えるとロックされます")
			fits(name("4-last-try"))
			if tc.screen == terminal.ScreenTV {
				// The remote: the number keys type the PIN wherever the focus
				// is, an arrow key moves it to the confirm button, Enter.
				do("TV remote", chromedp.Focus(css("#remove")), chromedp.KeyEvent(tc.pin), chromedp.Focus(css("#login")), chromedp.KeyEvent("\r"),
					chromedp.WaitVisible(css("#platform-id")))
			} else {
				do(tc.id+" right PIN", browsertest.PinPad(tc.pin), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#platform-id")))
			}
			contains("#result", "本人確認ができました")
			if page := text("main"); strings.Contains(page, "PASSED") || strings.Contains(page, "UTC") {
				t.Errorf("%s: the Japanese result shows raw English: %q", tc.id, page)
			}
			fits(name("5-result"))
			do(tc.id+" remove", chromedp.Click(css("#remove")), chromedp.WaitVisible(css("#place")))
		})
	}

	// A blocked card: what to do, and nothing to type.
	in("blocked", func(t *testing.T, h helpers) {
		do, contains, fits := h.do, h.contains, h.fits
		do("blocked", screen(terminal.ScreenKiosk), chromedp.Navigate(url+"/t/shelter-minami-1/"), chromedp.WaitVisible(css("#place")),
			chromedp.SetValue(css("#card"), card("本間　光")), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#blocked")))
		contains("#blocked", "ロックされています", "市区町村の窓口で暗証番号の初期化・再設定")
		fits("shelter-blocked")
		do("blocked: remove", chromedp.Click(css("#remove")), chromedp.WaitVisible(css("#place")))
	})

	// The store's multi-copy machine, up to the fee (TestKioskInBrowser
	// measures every screen through printing and registration).
	in("kiosk", func(t *testing.T, h helpers) {
		do, fits := h.do, h.fits
		k := url + "/kiosk/kiosk-konbini-sakata-1/"
		do("kiosk", screen(terminal.ScreenKiosk), chromedp.Navigate(k), chromedp.WaitVisible(css("#start")))
		fits("kiosk-1-start")
		do("kiosk: start", chromedp.Click(css("#start")), chromedp.WaitVisible(css("#place")))
		fits("kiosk-2-place")
		do("kiosk: place", chromedp.SetValue(css("#card"), ichiro), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")))
		fits("kiosk-3-pin")
		do("kiosk: PIN", browsertest.PinPad("1111"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#menu")))
		fits("kiosk-4-menu")
		do("kiosk: English", chromedp.Click(css("a.nav.lang")), chromedp.WaitVisible(css(`html[lang="en"]`)), chromedp.WaitVisible(css("#menu")))
		fits("kiosk-5-menu-en")
		do("kiosk: 日本語", chromedp.Click(css("a.nav.lang")), chromedp.WaitVisible(css(`html[lang="ja"]`)), chromedp.WaitVisible(css("#menu")))
		do("kiosk: 住民票", chromedp.Click(css(`button[value$=":juminhyo"]`)), chromedp.WaitVisible(css("#options")))
		fits("kiosk-6-options")
		do("kiosk: options", chromedp.Click(css("#options-next")), chromedp.WaitVisible(css("#confirm")))
		fits("kiosk-7-fee")
		do("kiosk: cancel", chromedp.Click(css("#cancel")), chromedp.WaitVisible(css("#start")))
	})

	// The hospital's reception and its mobile terminal, up to the answer.
	for _, st := range []struct {
		id     string
		screen terminal.Screen
	}{{"reception-nihonkai-1", terminal.ScreenDesk}, {"mobile-nihonkai-1", terminal.ScreenPhone}} {
		in(st.id, func(t *testing.T, h helpers) {
			do, fits := h.do, h.fits
			do(st.id, screen(st.screen), chromedp.Navigate(url+"/reception/"+st.id+"/"), chromedp.WaitVisible(css("#place")))
			fits(st.id + "-1-place")
			do(st.id+" place", chromedp.SetValue(css("#card"), ichiro), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")))
			fits(st.id + "-2-pin")
			do(st.id+" PIN", browsertest.PinPad("1111"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#consent-submit")))
			fits(st.id + "-3-consent")
			do(st.id+" consent", chromedp.Click(css("#consent-submit")), chromedp.WaitVisible(css("#validity")))
			fits(st.id + "-4-result")
			do(st.id+" English", chromedp.Click(css("a.nav.lang")), chromedp.WaitVisible(css(`html[lang="en"]`)), chromedp.WaitVisible(css("#validity")))
			fits(st.id + "-5-result-en")
			do(st.id+" 日本語", chromedp.Click(css("a.nav.lang")), chromedp.WaitVisible(css(`html[lang="ja"]`)), chromedp.WaitVisible(css("#validity")))
			do(st.id+" done", chromedp.Click(css("#done")), chromedp.WaitVisible(css("#place")))
		})
	}

	// The payment page on a phone, up to the signing step.
	in("pay", func(t *testing.T, h helpers) {
		do, text, contains, fits := h.do, h.text, h.contains, h.fits
		do("demo keys", screen(terminal.ScreenDesk), chromedp.Navigate(url+"/demo"), chromedp.WaitVisible(css(".test-pan")))
		pan := text(".test-pan")
		do("pay", screen(terminal.ScreenPhone), chromedp.Navigate(url+"/pay/"), chromedp.WaitVisible(css("#place")))
		fits("pay-1-place")
		do("pay: place", chromedp.SetValue(css("#card"), ichiro), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")))
		fits("pay-2-pin")
		do("pay: PIN", browsertest.PinPad("1111"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#pan")))
		fits("pay-3-enrol")
		do("pay: enrol", chromedp.SendKeys(css("#pan"), pan), chromedp.SendKeys(css("#holder"), "SAKATA ICHIRO"), chromedp.SendKeys(css("#expiry"), "12/30"),
			chromedp.Click(css("#enrol")), chromedp.WaitVisible(css("#password")))
		fits("pay-4-sign")
		do("pay: wrong password", chromedp.SendKeys(css("#password"), "WRONG1975"), chromedp.Click(css("#sign-ok")), chromedp.WaitVisible(css("div.flash-error")))
		contains("div.flash-error", "署名用電子証明書の暗証番号が違います。残り 4 回です。")
		contains("#sign-left", "4")
		fits("pay-5-sign-wrong")
		do("pay: remove", chromedp.Click(css("#remove")), chromedp.WaitVisible(css("#place")))
	})
}
