package main

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// tvRemote drives a TV portal in the browser with key events only: the PC
// keyboard's, or a TV browser's VK_* codes.
type tvRemote struct {
	t *testing.T
	r *flowRun
}

func (tv tvRemote) key(keys string) chromedp.Action[chromedp.Void] { return chromedp.KeyEvent(keys) }

// vk sends a key as a TV browser does: its VK_* key code and no key name.
func (tvRemote) vk(code int64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
			if _, err := cdp.Call(ctx, tg, input.DispatchKeyEvent, input.DispatchKeyEventParams{Type: typ,
				Key: "Unidentified", WindowsVirtualKeyCode: code, NativeVirtualKeyCode: code}); err != nil {
				return err
			}
		}
		return nil
	})
}

func (tv tvRemote) focused() string {
	tv.t.Helper()
	v, err := chromedp.Run(tv.r.ctx, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id || document.activeElement.tagName : ""`))
	if err != nil {
		tv.t.Fatalf("focused element: %v", err)
	}
	return v
}

// shot checks the screen fits 1280×720 without scrolling and that the
// focused element shows its ring, then keeps the screenshot.
func (tv tvRemote) shot(name string) {
	tv.t.Helper()
	v, err := chromedp.Run(tv.r.ctx, chromedp.Evaluate[string](`(function () {
		var d = document.documentElement, a = document.activeElement;
		var ring = a && a !== document.body && a.matches(":focus") ? getComputedStyle(a).outlineStyle : "none";
		return d.scrollWidth + "x" + d.scrollHeight + " " + ring;
	})()`))
	if err != nil {
		tv.t.Fatalf("%s: %v", name, err)
	}
	if size, ring, _ := strings.Cut(v, " "); size != "1280x720" || ring != "solid" {
		tv.t.Errorf("%s: the page's size and the focus ring %q, want 1280x720 and a ring", name, v)
	}
	tv.r.shot(name)
}

// login powers the TV on at 1280×720 and logs holder in with the card
// chosen by the arrows and the PIN by the number keys, Enter to confirm;
// wait is what the power-on page shows then.
func (tv tvRemote) login(url, id, holder, pin, wait string) {
	tv.t.Helper()
	r := tv.r
	cardID := r.card(holder)
	// A TV's browser has the input focus; a headless tab has it only after
	// a key event, unless it is told to act as focused.
	focus := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
		return err
	})
	r.do("power on", chromedp.EmulateViewport(1280, 720), focus, chromedp.Navigate(url+"/tv/"+id+"/"), chromedp.WaitVisible(css("#card")))
	for i := 0; value(r, "#card") != cardID; i++ {
		if i == 40 {
			tv.t.Fatalf("the card of %s is not in the list", holder)
		}
		r.do("next card", tv.key(kb.ArrowDown))
	}
	r.do("place the card (Enter)", tv.key(kb.Enter), chromedp.WaitVisible(css("#pin")))
	r.do("focus off the field, the PIN by number keys, Enter", tv.key(kb.ArrowDown), tv.key(pin), tv.key(kb.Enter), chromedp.WaitVisible(css(wait)))
}

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

	r.do("number key 2 (VK_2): the checkups", tv.vk(50), chromedp.WaitVisible(css("#years")))
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
	r.do("VK_BACK ends the session", tv.vk(461), chromedp.WaitVisible(css("#card")))
}
