package browsertest

import (
	"context"
	"fmt"

	"github.com/chromedp/chromedp"
)

// PinPad presses the digits of pin on the page's on-screen PIN pad
// (web/static/pinpad.js), one mouse click per key as a person at a terminal
// taps them, and fails unless the PIN field (#pin) holds exactly the digits
// pressed so far after every press. A pad that typed each digit twice sent
// a wrong PIN on every try and blocked the card after three (issue 14); the
// field is checked after each press because the card's answer would not
// say why, and a doubled 1111 still reads 1111 once the field is full.
func PinPad(pin string) chromedp.Action[chromedp.Void] {
	steps := []chromedp.Action[chromedp.Void]{chromedp.WaitVisible(chromedp.CSS(".pinpad"))}
	for i, d := range pin {
		steps = append(steps, chromedp.Click(chromedp.CSS(fmt.Sprintf(`.pinpad button[data-key=%q]`, string(d)))),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				got, err := chromedp.Value(chromedp.CSS("#pin"))(ctx, tg)
				if err != nil {
					return err
				}
				if want := pin[:i+1]; got != want {
					return fmt.Errorf("pressed %s on the PIN pad, the PIN field holds %q (each press must type one digit)", want, got)
				}
				return nil
			}))
	}
	return chromedp.Steps(steps...)
}
