package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestTVInBrowser is 須坂 花子 at her cable TV's set-top box with the
// remote alone (docs/community-tv.md §4, §5.1): every step is a key event,
// the PC keyboard's or a TV browser's VK_* code, never a click. The TV's
// power-on page sends her to the card screen; she chooses her card with
// the arrows and Enter, goes Back (the card comes out), places it again,
// moves the focus off the PIN field and types the PIN with the number keys
// (the kit's PIN pad, for every terminal), which leaves the focus on
// Confirm; Enter logs her in, and the power-on screen shows her unread
// messages first (docs/community-tv.md §5.2: the CATV operator's and the
// town's, to all, to her area and to her), the focus on the newest; Enter
// reads it (marked read), Back shows the two left, the blue key the menu
// (two unread), the number key 1 the list (the read one last), Back the
// menu, and VK_BACK ends the session. Screenshots at 1280×720, each
// checked to fit the TV's screen with a visible focus.
func TestTVInBrowser(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	url := startServer(t, bin, "--demo", "--data", data)
	r := newFlowRun(t, sameURL(bin, data, url))
	const id = "tv-suzaka-1"
	cardID := r.card("須坂　花子")

	tv := tvRemote{t: t, r: r}

	tv.powerOn(url, "/tv/"+id+"/")
	if f := tv.focused(); f != "card" {
		t.Errorf("the card screen's focus is on %q, want the card list", f)
	}
	tv.shot("tv-01-card")
	tv.choose(cardID)
	r.do("place the card (Enter)", tv.key(kb.Enter), chromedp.WaitVisible(css("#pin")))
	r.do("Back (Escape) takes the card out", tv.key(kb.Escape), chromedp.WaitVisible(css("#card")))
	tv.choose(cardID)
	r.do("place it again", tv.key(kb.Enter), chromedp.WaitVisible(css("#pin")))
	if f := tv.focused(); f != "pin" {
		t.Errorf("the PIN screen's focus is on %q, want the PIN field", f)
	}
	r.do("focus off the field", tv.key(kb.ArrowDown))
	if f := tv.focused(); f == "pin" {
		t.Fatalf("the down key left the focus on the PIN field")
	}
	r.do("the PIN by number keys: 1 and 2 as a PC sends them, 3 and 4 as a remote does (VK_3, VK_4)", tv.key("12"), tv.vk(vk0+3), tv.vk(vk0+4))
	if got := value(r, "#pin"); got != "1234" {
		t.Fatalf("the PIN field holds %q after the number keys 1234", got)
	}
	if f := tv.focused(); f != "login" {
		t.Errorf("a full PIN leaves the focus on %q, want Confirm (#login)", f)
	}
	tv.shot("tv-02-pin")
	r.do("confirm (Enter)", tv.key(kb.Enter), chromedp.WaitVisible(css("#unread")))
	// Power-on after the login: her unread messages first (the CATV
	// operator's demo: to her, to her area, to all), the newest first.
	if h := has(r.text("#welcome"), "須坂"); h != "yes" {
		t.Errorf("the unread screen's welcome %s", h)
	}
	if n := r.count("#unread li"); n != 4 {
		t.Errorf("the unread screen has %d items, want 3 messages and the menu", n)
	}
	first := tv.focused()
	if !strings.HasPrefix(first, "unread-") {
		t.Fatalf("the unread screen's focus is on %q, want the first message", first)
	}
	tv.shot("tv-03-unread")
	r.do("read it (Enter)", tv.key(kb.Enter), chromedp.WaitVisible(css("#message-body")))
	if h := has(r.text("#message-title"), "特定健診"); h != "yes" {
		t.Errorf("the message opened is not hers to her alone: %s", h)
	}
	if f := tv.focused(); f != "back" {
		t.Errorf("the message's focus is on %q, want Back", f)
	}
	tv.shot("tv-04-message")
	r.do("Back: the unread left", tv.key(kb.Escape), chromedp.WaitVisible(css("#unread")))
	if n := r.count("#unread li"); n != 3 {
		t.Errorf("after reading one, the unread screen has %d items, want 2 messages and the menu", n)
	}
	r.do("the blue key: the menu", tv.key("b"), chromedp.WaitVisible(css("#menu")))
	if f := tv.focused(); f != "messages" {
		t.Errorf("the menu's focus is on %q, want the messages", f)
	}
	if n := r.count("#menu li"); n != 4 {
		t.Errorf("the menu has %d items, want the messages, the checkups, the booking and the end", n)
	}
	if h := has(r.text("#messages"), "2"); h != "yes" {
		t.Errorf("the menu's messages item does not say 2 unread: %s", h)
	}
	tv.shot("tv-05-menu")
	// The same menu on a 1920×1080 TV: the type grows with the screen.
	r.do("1920×1080", chromedp.EmulateViewport(1920, 1080), chromedp.Reload(), chromedp.WaitVisible(css("#menu")))
	if f := tv.focused(); f != "messages" {
		t.Errorf("the 1920×1080 menu's focus is on %q, want its first item", f)
	}
	r.shot("tv-05-menu-1080")
	r.do("back to 1280×720", chromedp.EmulateViewport(1280, 720), chromedp.Reload(), chromedp.WaitVisible(css("#menu")))
	r.do("arrows wrap on the menu", tv.key(kb.ArrowUp), tv.key(kb.ArrowDown))
	if f := tv.focused(); f != "messages" {
		t.Errorf("up and down on the menu left the focus on %q", f)
	}
	r.do("number key 1 as a remote sends it (VK_1, no key name): the messages", tv.vk(vk0+1), chromedp.WaitVisible(css("#list")))
	if n := r.count("#list a.unread"); n != 2 {
		t.Errorf("the list has %d unread, want 2", n)
	}
	if n := r.count("#list li:nth-last-child(2) a.read"); n != 1 {
		t.Errorf("the message read is not last, marked read")
	}
	tv.shot("tv-06-messages")
	r.do("Back: the menu", tv.key(kb.Escape), chromedp.WaitVisible(css("#menu")))
	r.do("VK_BACK ends the session", tv.vk(vkBack), chromedp.WaitVisible(css("#card")))
	r.do("the portal again", chromedp.Navigate(url+"/tv/"+id+"/"), chromedp.WaitVisible(css("#card")))
	tv.shot("tv-07-ended")
}

// value is the value of the element sel.
func value(r *flowRun, sel string) string {
	r.t.Helper()
	v, err := chromedp.Run(r.ctx, chromedp.Evaluate[string](`document.querySelector(`+strconv.Quote(sel)+`).value`))
	if err != nil {
		r.t.Fatalf("value of %s: %v", sel, err)
	}
	return v
}

// TestCATVSenderInBrowser: 須坂市's sender (a seat at 須高ケーブルテレビ's
// sender page, demo.Staff) signs in with her card at the staff terminal
// and sends a message to one subscriber, as the town; the operator's own
// sender is offered no "one person".
func TestCATVSenderInBrowser(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	url := startServer(t, bin, "--demo", "--data", data)
	const home = "/catv/suko/office/"
	for _, tc := range []struct {
		holder string
		town   bool
	}{{"本上　里美", true}, {"相森　達也", false}} {
		r := newFlowRun(t, sameURL(bin, data, url))
		r.staffLogin(url, home, tc.holder, "catv-sender")
		if h := has(r.text("#sender"), map[bool]string{true: "須坂市", false: "須高ケーブルテレビ"}[tc.town]); h != "yes" {
			t.Errorf("%s sends as: %s", tc.holder, h)
		}
		if n := r.count(`#scope option[value="person"]`); (n == 1) != tc.town {
			t.Errorf("%s is offered %d 'one person'", tc.holder, n)
		}
		scope := map[bool]string{true: "person", false: "area"}[tc.town]
		r.do("write and send", chromedp.SetValue(css("#scope"), scope),
			chromedp.SetValue(css("#title_ja"), "テスト"), chromedp.SetValue(css("#title_en"), "Test"),
			chromedp.SetValue(css("#body_ja"), "本文"), chromedp.SetValue(css("#body_en"), "Text"),
			chromedp.Click(css("#send")), chromedp.WaitVisible(css("#sent")))
		r.shot("catv-sender-" + scope)
	}
}
