package browsertest

import (
	"context"
	"fmt"

	"github.com/chromedp/chromedp"
)

// PinPad presses the digits of pin on the page's on-screen PIN pad
// (web/static/pinpad.js), one mouse click per key as a person at a terminal
// taps them, and fails unless the PIN field (#pin) then holds exactly pin.
// The field is checked before the form is sent: a pad that types each
// digit twice sends a wrong PIN on every try and blocks the card after
// three (issue 14), and the card's answer alone would not say why.
func PinPad(pin string) chromedp.Action[chromedp.Void] {
	steps := []chromedp.Action[chromedp.Void]{chromedp.WaitVisible(chromedp.CSS(".pinpad"))}
	for _, d := range pin {
		steps = append(steps, chromedp.Click(chromedp.CSS(fmt.Sprintf(`.pinpad button[data-key=%q]`, string(d)))))
	}
	steps = append(steps, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		got, err := chromedp.Value(chromedp.CSS("#pin"))(ctx, tg)
		if err != nil {
			return err
		}
		if got != pin {
			return fmt.Errorf("pressed %s on the PIN pad, the PIN field holds %q (each press must type one digit)", pin, got)
		}
		return nil
	}))
	return chromedp.Steps(steps...)
}
