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

// The key codes a TV browser sends (docs/community-tv.md §4, the VK_*
// values HbbTV/OIPF and Hybridcast share; terminal/static/remote.js reads
// them from KeyboardEvent.keyCode). The arrows and Enter have the PC's
// codes, so kb.ArrowDown and kb.Enter stand for VK_DOWN and VK_ENTER.
const (
	vk0      int64 = 48 // VK_0; VK_1 … VK_9 follow
	vkRed    int64 = 403
	vkGreen  int64 = 404
	vkYellow int64 = 405
	vkBlue   int64 = 406
	vkBack   int64 = 461
)

// vk sends a key as a TV browser does: its VK_* key code and no key name a
// PC keyboard has.
func vk(code int64) chromedp.Action[chromedp.Void] {
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

// vkDigits sends the digits of s as the remote's number keys, VK_0…VK_9.
func vkDigits(s string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for _, c := range s {
			if c < '0' || c > '9' {
				continue
			}
			if err := chromedp.Do(ctx, vk(vk0+int64(c-'0'))); err != nil {
				return err
			}
		}
		return nil
	})
}

// focusEmulation makes the tab act as focused. A TV's browser has the
// input focus; a headless tab has it only after a key event, so without
// this :focus does not match after a page load.
func focusEmulation() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
		return err
	})
}

// fitShot checks that r's page fits a screen of size ("1280x720") without
// scrolling and that the focused element shows its ring — the TV's solid
// ring when solid, any ring otherwise — then keeps the screenshot.
func fitShot(r *flowRun, name, size string, solid bool) {
	r.t.Helper()
	v, err := chromedp.Run(r.ctx, chromedp.Evaluate[string](`(function () {
		var d = document.documentElement, a = document.activeElement;
		var ring = a && a !== document.body && a.matches(":focus") ? getComputedStyle(a).outlineStyle : "none";
		return d.scrollWidth + "x" + d.scrollHeight + " " + ring;
	})()`))
	if err != nil {
		r.t.Fatalf("%s: %v", name, err)
	}
	if got, ring, _ := strings.Cut(v, " "); got != size || ring == "none" || solid && ring != "solid" {
		r.t.Errorf("%s: the page's size and the focus ring %q, want %s and a ring", name, v, size)
	}
	r.shot(name)
}

// tvRemote drives a TV portal (or another screen of the kit) in the
// browser with key events only: the PC keyboard's, or a TV browser's VK_*
// codes. Every TV browser test uses it.
type tvRemote struct {
	t *testing.T
	r *flowRun
}

// key sends keys as a PC keyboard does (kb names or characters).
func (tvRemote) key(keys string) chromedp.Action[chromedp.Void] { return chromedp.KeyEvent(keys) }

// vk sends a key as a TV browser does (see vk).
func (tvRemote) vk(code int64) chromedp.Action[chromedp.Void] { return vk(code) }

// focused is the id (or, without one, the tag) of the focused element.
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
	fitShot(tv.r, name, "1280x720", true)
}

// powerOn opens the TV page path at 1280×720 as a TV's browser (with the
// input focus) and waits for the card screen.
func (tv tvRemote) powerOn(url, path string) {
	tv.t.Helper()
	tv.r.do("power on", chromedp.EmulateViewport(1280, 720), focusEmulation(), chromedp.Navigate(url+path), chromedp.WaitVisible(css("#card")))
}

// choose moves the card list to cardID with the arrow keys.
func (tv tvRemote) choose(cardID string) {
	tv.t.Helper()
	for range 40 {
		if value(tv.r, "#card") == cardID {
			return
		}
		tv.r.do("next card", tv.key(kb.ArrowDown))
	}
	tv.t.Fatalf("the card %s is not in the list", cardID)
}

// placeAndPIN places holder's card (the card screen is up: arrows, Enter),
// moves the focus off the field and enters the PIN with the remote's
// number keys, then Enter; wait is what the page shows then.
func (tv tvRemote) placeAndPIN(holder, pin, wait string) {
	tv.t.Helper()
	tv.choose(tv.r.card(holder))
	tv.r.do("place the card (Enter)", tv.key(kb.Enter), chromedp.WaitVisible(css("#pin")))
	tv.r.do("focus off the field, the PIN by the number keys (VK_0…VK_9), Enter", tv.key(kb.ArrowDown), vkDigits(pin),
		tv.key(kb.Enter), chromedp.WaitVisible(css(wait)))
}

// login powers the TV id on at 1280×720 and logs holder in with the card
// chosen by the arrows and the PIN by the number keys, Enter to confirm;
// wait is what the power-on page shows then.
func (tv tvRemote) login(url, id, holder, pin, wait string) {
	tv.t.Helper()
	tv.powerOn(url, "/tv/"+id+"/")
	tv.placeAndPIN(holder, pin, wait)
}
