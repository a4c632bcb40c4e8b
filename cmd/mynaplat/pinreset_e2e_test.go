package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/internal/browsertest"
)

// TestPINResetAtCounter: 本間 光's demo card has a blocked authentication
// PIN. The kiosk of 須坂市 (/t/) stops and sends her to the counter; at
// /counter/ the clerk chooses the PIN and she types a new one twice on the
// counter's PIN pad; back at the kiosk she logs in with it.
func TestPINResetAtCounter(t *testing.T) {
	tp := oneProcess(t, buildBinary(t))
	r := newFlowRun(t, tp)
	id := r.card("本間　光")
	kiosk, desk := tp.at(roleTerminals)+"/t/kiosk-suzaka-1/", tp.at(roleCounter)+"/counter/cards/"+id

	r.do("the blocked card at the kiosk", chromedp.Navigate(kiosk), chromedp.WaitVisible(css("#place")),
		chromedp.SetValue(css("#card"), id), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#blocked")))
	if got := has(r.text("#blocked"), "ロックされています", "窓口で暗証番号の初期化・再設定", "窓口のPINパッド"); got != "yes" {
		t.Errorf("blocked screen: %s", got)
	}
	r.shot("pinreset-1-blocked")
	r.do("remove the card", chromedp.Click(css("#remove")), chromedp.WaitVisible(css("#place")))

	r.do("the card at the counter", chromedp.Navigate(desk), chromedp.WaitVisible(css("details#pin-reset")),
		chromedp.Click(css("details#pin-reset > summary")), chromedp.SetValue(css("#p-which"), "auth"),
		chromedp.Click(css("#pin-pad-open")), chromedp.WaitVisible(css("#pin-step")))
	if got := has(r.text("#pin-step"), "新しい暗証番号を2回入力してください", "0 / 3"); got != "yes" {
		t.Errorf("PIN pad screen: %s", got)
	}
	r.shot("pinreset-2-pad")
	// The new PIN on the pad, then the confirmation: the pad moves on to
	// the second field by itself once the first is full.
	r.do("type the new PIN twice", browsertest.PinPad("2580"),
		chromedp.Click(css(`.pinpad button[data-key="2"]`)), chromedp.Click(css(`.pinpad button[data-key="5"]`)),
		chromedp.Click(css(`.pinpad button[data-key="8"]`)), chromedp.Click(css(`.pinpad button[data-key="0"]`)),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			pin, err := chromedp.Value(css("#pin"))(ctx, tg)
			if err != nil {
				return err
			}
			confirm, err := chromedp.Value(css("#pin_confirm"))(ctx, tg)
			if err != nil {
				return err
			}
			if pin != "2580" || confirm != "2580" {
				return fmt.Errorf("the fields hold %q and %q, want 2580 twice", pin, confirm)
			}
			return nil
		}),
		chromedp.Click(css("#set-pin")), chromedp.WaitVisible(css(".flash")))
	if got := has(r.text(".flash"), "利用者証明用電子証明書の暗証番号を再設定しました", "残り回数は3回に戻りました"); got != "yes" {
		t.Errorf("counter flash: %s", got)
	}
	r.shot("pinreset-3-done")

	r.do("log in with the new PIN", chromedp.Navigate(kiosk), chromedp.WaitVisible(css("#place")),
		chromedp.SetValue(css("#card"), id), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")))
	if got := r.text("#tries-left"); got != "3" {
		t.Errorf("tries left after the reset: %q, want 3", got)
	}
	r.do("the new PIN", browsertest.PinPad("2580"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#platform-id")))
	if got := has(r.text("#result"), "本人確認ができました"); got != "yes" {
		t.Errorf("login: %s", got)
	}
	r.shot("pinreset-4-login")
}
