package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestTVTownInBrowser is 須坂 花子 at her cable TV with the remote alone
// (docs/community-tv.md §5.3), every step a key event, never a click: after
// the card login the blue key leaves her unread messages for the menu;
// the number key 2 opens her checkups (the years held by 須坂市), Enter the
// newest year with the values outside the range marked ▲ in words, the
// yellow key the chart (an SVG drawn by the server: weight, systolic blood
// pressure and HbA1c over five years); Back twice returns to the menu; the
// number key 3 opens the booking, 1 the first facility, Enter its first
// slot and Enter again books it; her bookings list it; 1 opens it and the
// red key cancels it; VK_BACK at the menu ends the session. Screenshots at
// 1280×720, each checked to fit the screen with a visible focus ring.
func TestTVTownInBrowser(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	url := startServer(t, bin, "--demo", "--data", data)
	r := newFlowRun(t, sameURL(bin, data, url))
	tv := tvRemote{t: t, r: r}
	tv.login(url, "tv-suzaka-1", "須坂　花子", "1234", "#unread")
	r.do("the blue key: the menu", tv.key("b"), chromedp.WaitVisible(css("#menu")))
	if n := r.count("#menu li"); n != 4 {
		t.Errorf("the menu has %d items, want the messages, the checkups, the booking and the end", n)
	}

	r.do("number key 2 (VK_2): the checkups", tv.vk(vk0+2), chromedp.WaitVisible(css("#years")))
	if n := r.count("#years li"); n != 5 {
		t.Errorf("%d years of checkups, want 5", n)
	}
	if f := tv.focused(); f != "year-2025" {
		t.Errorf("the years' focus is on %q, want the newest", f)
	}
	tv.shot("tv-town-01-years")
	r.do("Enter: 2025", tv.key(kb.Enter), chromedp.WaitVisible(css("#results")))
	if n := r.count("#results tr.out"); n < 2 {
		t.Errorf("%d values out of range marked in 2025, want at least 2", n)
	}
	if h := has(r.text("#item-hba1c"), "▲ 基準より高い"); h != "yes" {
		t.Errorf("HbA1c 5.8 (range to 5.5) is not said to be above the range: %s", h)
	}
	tv.shot("tv-town-02-year")
	r.do("the yellow key: the chart", tv.key("y"), chromedp.WaitVisible(css("#chart-svg")))
	if n := r.count("#chart-svg g[id^=panel-]"); n != 3 {
		t.Errorf("the chart has %d panels, want weight, blood pressure and HbA1c", n)
	}
	if n := r.count("#chart-svg polygon"); n == 0 {
		t.Errorf("no value out of range is drawn as a triangle")
	}
	if n := r.count("script:not([src])"); n != 0 {
		t.Errorf("the chart page has %d inline scripts", n)
	}
	tv.shot("tv-town-03-chart")
	r.do("Back: the years", tv.key(kb.Escape), chromedp.WaitVisible(css("#years")))
	r.do("Back: the menu", tv.key(kb.Escape), chromedp.WaitVisible(css("#menu")))

	r.do("number key 3: the booking", tv.key("3"), chromedp.WaitVisible(css("#facilities")))
	tv.shot("tv-town-04-facilities")
	r.do("number key 1: the first facility's slots", tv.key("1"), chromedp.WaitVisible(css("#slots")))
	slot := tv.focused()
	if !strings.HasPrefix(slot, "slot-") {
		t.Fatalf("the slots' focus is on %q, want the first slot", slot)
	}
	tv.shot("tv-town-05-slots")
	r.do("Enter: the slot", tv.key(kb.Enter), chromedp.WaitVisible(css("#book")))
	if f := tv.focused(); f != "book" {
		t.Errorf("the slot's focus is on %q, want Book", f)
	}
	tv.shot("tv-town-06-slot")
	r.do("Enter: book it", tv.key(kb.Enter), chromedp.WaitVisible(css("#bookings")))
	if h := has(r.text("#done"), "予約しました"); h != "yes" {
		t.Errorf("the booking is not confirmed: %s", h)
	}
	if n := r.count("#bookings li"); n != 1 {
		t.Errorf("%d bookings listed, want 1", n)
	}
	tv.shot("tv-town-07-booked")
	r.do("number key 1: the booking", tv.key("1"), chromedp.WaitVisible(css("#cancel")))
	if f := tv.focused(); f != "back" {
		t.Errorf("the booking's focus is on %q, want Back (keep it)", f)
	}
	tv.shot("tv-town-08-booking")
	r.do("the red key: cancel it", tv.key("r"), chromedp.WaitVisible(css("#done")))
	if h := has(r.text("#done"), "取り消しました"); h != "yes" {
		t.Errorf("the cancel is not confirmed: %s", h)
	}
	if n := r.count("#bookings li"); n != 0 {
		t.Errorf("%d bookings left after the cancel", n)
	}
	tv.shot("tv-town-09-cancelled")
	r.do("the blue key: the menu", tv.key("b"), chromedp.WaitVisible(css("#menu")))
	r.do("VK_BACK ends the session", tv.vk(vkBack), chromedp.WaitVisible(css("#card")))
}
