package main

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/mynaplat/mynaplat/demo"
)

// TestNewcomerWalkInBrowser is issue 20's "done when": a newcomer plays
// every TV pilot from the home page, on the TV pages with the keyboard
// alone (docs/community-tv.md §12, slice 7). The newcomer opens the home
// page, reads section (3) — the keys that stand in for the remote, the
// pilots' links, cards and PINs — and for each pilot opens the home page at
// its section, reaches the pilot's link with Tab and follows it with Enter;
// from there every step on a TV page is a key event the guide names (or
// the VK_* code a TV sends), never a click:
//
//   - ① 須坂 花子 at tv-suzaka-1: her unread message read, the menu, her
//     checkups and their chart, a booking and its cancel;
//   - ② 法勝寺 トメ at tv-nambu-1: the daily check in three keys; 南部 翔
//     touches his card at the school gate (its own screen, reached from
//     the home page the same way); her TV's 「子どもの入退室」 shows it;
//   - ③ 日和佐 正 at tv-minami-1: the officer the guide names signs in with
//     her staff card (the office page may be clicked: it is not a TV page)
//     and issues an order for his area; it appears on his TV without a
//     reload, and the red key acknowledges it, which her board shows live.
//
// The per-slice tests cover each screen's details; this one proves the
// guide's path. TV screenshots at 1280×720, each checked to fit with a
// visible focus ring.
func TestNewcomerWalkInBrowser(t *testing.T) {
	start := time.Now()
	bin := buildBinary(t)
	data := t.TempDir()
	url := startServer(t, bin, "--demo", "--data", data)
	r := newFlowRun(t, sameURL(bin, data, url))
	tv := tvRemote{t: t, r: r}
	t.Logf("binary and server ready in %v", time.Since(start).Round(time.Millisecond))

	// The home page: section (3) and the three pilots under it.
	r.do("the home page at section (3)", chromedp.EmulateViewport(1280, 720), focusEmulation(), chromedp.Navigate(url+"/#"+demo.SectionTV),
		chromedp.WaitVisible(css("#"+demo.SectionTV)))
	if h := has(r.text("#"+demo.SectionTV+" > .lead"), "矢印・Enter・戻る＝Esc・数字キー・色ボタン＝R/G/Y/B", "青＝B でメニュー"); h != "yes" {
		t.Errorf("section (3) does not say which keys stand in for the remote: %s", h)
	}
	for _, l := range []struct{ section, words, link string }{
		{demo.SectionPilot1, "健診結果", "/tv/tv-suzaka-1/"},
		{demo.SectionPilot2, "気分・血圧・食事", "/tv/tv-nambu-1/"},
		{demo.SectionPilot2, "子どもの入退室", "/gatekiosk/school-nambu-1/"},
		{demo.SectionPilot3, "赤＝R", "/tv/tv-minami-1/"},
		{demo.SectionPilot3, "浜崎 恵子", "/evac/minami/office/"},
	} {
		if h := has(r.text("#"+l.section), l.words); h != "yes" {
			t.Errorf("the guide's %s: %s", l.section, h)
		}
		if n := r.count("#" + l.section + ` a[href="` + l.link + `"]`); n != 1 {
			t.Errorf("the guide's %s has %d links to %s, want 1", l.section, n, l.link)
		}
	}
	r.shot("walk-00-home")

	// ① 須坂 花子 at her TV: messages, checkups, a booking and its cancel.
	pin := guidePIN(r, demo.SectionPilot1, "須坂　花子")
	follow(r, demo.SectionPilot1, "/tv/tv-suzaka-1/", "#card")
	tv.placeAndPIN("須坂　花子", pin, "#unread")
	tv.shot("walk-1-unread")
	r.do("Enter reads the newest", tv.key(kb.Enter), chromedp.WaitVisible(css("#message-body")))
	r.do("Back (Esc): the rest", tv.key(kb.Escape), chromedp.WaitVisible(css("#unread")))
	r.do("blue (B): the menu", tv.key("b"), chromedp.WaitVisible(css("#menu")))
	r.do("green (VK_GREEN): the messages, Back: the menu", tv.vk(vkGreen), chromedp.WaitVisible(css("#list")),
		tv.key(kb.Escape), chromedp.WaitVisible(css("#menu")))
	r.do("2: the checkups", tv.key("2"), chromedp.WaitVisible(css("#years")))
	r.do("Enter: the newest year", tv.key(kb.Enter), chromedp.WaitVisible(css("#results")))
	if h := has(r.text("#results"), "▲"); h != "yes" {
		t.Errorf("the year's values out of range: %s", h)
	}
	r.do("yellow (VK_YELLOW): the chart", tv.vk(vkYellow), chromedp.WaitVisible(css("#chart-svg")))
	tv.shot("walk-1-chart")
	r.do("Back, Back: the menu", tv.key(kb.Escape), chromedp.WaitVisible(css("#years")), tv.key(kb.Escape), chromedp.WaitVisible(css("#menu")))
	r.do("3: the facilities, 1: the first one's slots", tv.key("3"), chromedp.WaitVisible(css("#facilities")),
		tv.key("1"), chromedp.WaitVisible(css("#slots")))
	r.do("Enter: the slot, Enter: book it", tv.key(kb.Enter), chromedp.WaitVisible(css("#book")),
		tv.key(kb.Enter), chromedp.WaitVisible(css("#bookings li")))
	tv.shot("walk-1-booked")
	r.do("1: the booking, red (R): cancel it", tv.key("1"), chromedp.WaitVisible(css("#cancel")),
		tv.key("r"), chromedp.WaitVisible(css("#done")))
	if h := has(r.text("#done"), "取り消しました"); h != "yes" {
		t.Errorf("the cancel: %s", h)
	}
	r.do("blue: the menu, VK_BACK: the end", tv.vk(vkBlue), chromedp.WaitVisible(css("#menu")), tv.vk(vkBack), chromedp.WaitVisible(css("#card")))

	// ② 法勝寺 トメ at her TV: the daily check at power-on, three keys.
	guideAt(r, url, demo.SectionPilot2)
	pin = guidePIN(r, demo.SectionPilot2, "法勝寺　トメ")
	follow(r, demo.SectionPilot2, "/tv/tv-nambu-1/", "#card")
	tv.placeAndPIN("法勝寺　トメ", pin, "#question")
	r.do("three number keys: so-so, normal, eaten", tv.key("2"), chromedp.WaitVisible(css(`#choices a[href*="b="]`)),
		tv.key("2"), chromedp.WaitVisible(css(`#choices button`)), tv.key("1"), chromedp.WaitVisible(css("#thanks")))
	tv.shot("walk-2-checked")
	// 南部 翔's card at the school gate's reader, another screen the
	// newcomer opens from the home page.
	g := newFlowRun(t, sameURL(bin, data, url))
	g.do("the gate's screen", chromedp.EmulateViewport(1024, 600), focusEmulation())
	guideAt(g, url, demo.SectionPilot2)
	follow(g, demo.SectionPilot2, "/gatekiosk/school-nambu-1/", "#card")
	tvRemote{t: t, r: g}.choose(g.card("南部　翔"))
	g.do("hold the card (Tab to the button, Enter)", chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(css("#result")))
	if h := has(g.text("#result"), "南部　翔", "着きました"); h != "yes" {
		t.Errorf("the gate's answer: %s", h)
	}
	fitShot(g, "walk-2-gate", "1024x600", false)
	// Her TV: on to the messages, the menu, the children's check-ins.
	r.do("blue: go on", tv.vk(vkBlue), chromedp.WaitVisible(css("#unread")))
	r.do("blue: the menu", tv.vk(vkBlue), chromedp.WaitVisible(css("#children")))
	num := r.attr("#children", "data-remote-num")
	r.do("number key "+num+": the check-ins", tv.key(num), chromedp.WaitVisible(css("#child-0")))
	if h := has(r.text("#child-0"), "南部　翔", "着きました"); h != "yes" {
		t.Errorf("her TV's check-ins: %s", h)
	}
	tv.shot("walk-2-history")
	r.do("Back: the menu, VK_BACK: the end", tv.key(kb.Escape), chromedp.WaitVisible(css("#menu")), tv.vk(vkBack), chromedp.WaitVisible(css("#card")))

	// ③ 日和佐 正 at his TV; the officer issues an order for his area.
	guideAt(r, url, demo.SectionPilot3)
	pin = guidePIN(r, demo.SectionPilot3, "日和佐　正")
	follow(r, demo.SectionPilot3, "/tv/tv-minami-1/", "#card")
	tv.placeAndPIN("日和佐　正", pin, "#unread")
	r.do("blue: the menu", tv.key("b"), chromedp.WaitVisible(css("#menu")))
	if _, err := chromedp.Run(r.ctx, chromedp.Evaluate[bool](`window.notReloaded = true`)); err != nil {
		t.Fatal(err)
	}
	o := newFlowRun(t, sameURL(bin, data, url))
	o.do("a tablet", chromedp.EmulateViewport(1280, 800))
	o.staffLogin(url, "/evac/minami/office/", "浜崎　恵子", "walk-3-office")
	o.do("issue for 奥河内", chromedp.Click(css("#area-okukawachi")), chromedp.Click(css("#issue")), chromedp.WaitVisible(css("#totals")))
	issued := time.Now()
	r.do("the order is pushed", chromedp.WaitVisible(css("#push-overlay #evac-ack")))
	t.Logf("the order was on his TV %v after the office's page answered", time.Since(issued).Round(time.Millisecond))
	if v, err := chromedp.Run(r.ctx, chromedp.Evaluate[bool](`window.notReloaded === true`)); err != nil || !v {
		t.Errorf("his TV reloaded for the order (%v)", err)
	}
	if h := has(r.text("#push-overlay"), "日和佐　正", "日和佐小学校"); h != "yes" {
		t.Errorf("the order on his TV: %s", h)
	}
	tv.shot("walk-3-order")
	r.do("red (VK_RED): acknowledge", tv.vk(vkRed), chromedp.WaitVisible(css("#evac-acked")))
	o.do("the board shows it", chromedp.WaitVisible(css("#household-minami-0001 .acknowledged")))
	o.shot("walk-3-board")
	r.do("Back: the menu, VK_BACK: the end", tv.key(kb.Escape), chromedp.WaitVisible(css("#menu")), tv.vk(vkBack), chromedp.WaitVisible(css("#card")))
	t.Logf("the walk took %v", time.Since(start).Round(time.Millisecond))
}

// guideAt opens the home page at base at the guide's section, unless the
// browser is on the home page already.
func guideAt(r *flowRun, base, section string) {
	r.t.Helper()
	if on, err := chromedp.Run(r.ctx, chromedp.Evaluate[bool](`location.pathname === "/"`)); err != nil || !on {
		r.do("the home page at "+section, chromedp.Navigate(base+"/#"+section), chromedp.WaitVisible(css("#"+section)))
	}
}

// follow moves the focus on the home page with Tab to the section's link
// to path (Tab starts at the fragment, as in any browser) and follows it
// with Enter; wait is what the page shows then.
func follow(r *flowRun, section, path, wait string) {
	r.t.Helper()
	at := `(function () { var a = document.activeElement;
		return !!(a && a.closest(` + strconv.Quote("#"+section) + `) && a.getAttribute("href") === ` + strconv.Quote(path) + `); })()`
	tabs := 0
	r.do("Tab to "+path, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		for ; tabs < 400; tabs++ {
			if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](at)); err != nil || ok {
				return err
			}
			if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
				return err
			}
		}
		return fmt.Errorf("no link to %s in #%s within %d Tab presses", path, section, tabs)
	}))
	r.do(fmt.Sprintf("Enter follows %s (after %d Tab presses)", path, tabs), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(css(wait)))
}

// guidePIN is holder's PIN as the guide's section shows it beside the card.
func guidePIN(r *flowRun, section, holder string) string {
	r.t.Helper()
	pin, err := chromedp.Run(r.ctx, chromedp.Evaluate[string](`(function () {
		var li = Array.from(document.querySelectorAll(`+strconv.Quote("#"+section+" .democards li")+`))
			.find(function (li) { return li.querySelector("strong").textContent === `+strconv.Quote(holder)+`; });
		return li ? li.querySelector("code").textContent : "";
	})()`))
	if err != nil || pin == "" {
		r.t.Fatalf("the guide's %s shows no PIN for %s (%v)", section, holder, err)
	}
	return pin
}
