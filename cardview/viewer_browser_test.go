package cardview_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/wareki"
)

// TestViewerInBrowser opens the card viewer in chromium at the kiosk size and
// unlocks the signing certificate with the password typed into the form.
func TestViewerInBrowser(t *testing.T) {
	e := newViewerEnv(t)
	cd, _ := e.issue(t, true, time.Date(1980, 2, 29, 0, 0, 0, 0, wareki.JST()))
	ctx := browsertest.New(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/cards/"), chromedp.WaitVisible(css("table"))); err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "viewer-list")
	if err := chromedp.Do(ctx, chromedp.Click(css(`a[href="/cards/`+cd.ID()+`"]`)), chromedp.WaitVisible(css("#password"))); err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "viewer-card")
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(css("#password"), viewerSignPIN),
		chromedp.Click(css(`#sign button[type=submit]`)),
		chromedp.WaitVisible(css("#sign table")),
	); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(css("#sign")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"南砺　太郎", "昭和55年2月29日", "富山県南砺市荒木１５５０番地"} {
		if !strings.Contains(text, want) {
			t.Errorf("signing certificate section lacks %q", want)
		}
	}
	browsertest.Screenshot(t, ctx, "viewer-sign")

	// The card surface, after the demo card's 照合番号B typed into its form.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(css("#pinb"), cd.Info().DemoPINs.PINB),
		chromedp.Click(css(`#surface button[type=submit]`)),
		chromedp.WaitVisible(css("#surface img.face")),
	); err != nil {
		t.Fatal(err)
	}
	text, err = chromedp.Run(ctx, chromedp.Text(css("#surface")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"昭和55年2月29日", "検証成功"} {
		if !strings.Contains(text, want) {
			t.Errorf("card surface section lacks %q", want)
		}
	}
	browsertest.Screenshot(t, ctx, "viewer-surface")
}
