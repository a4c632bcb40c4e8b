package main

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/demo"
	"github.com/mynaplat/mynaplat/internal/browsertest"
)

// TestPostboxPDFInBrowser: the demo's 井波 清 opens his post box and finds
// the 保険料控除証明書 日本生命's employee sent him as a PDF her card
// certified (PAdES B-T); the box validates it with the power of attorney
// of the party that delivered it, and offers the PDF itself.
func TestPostboxPDFInBrowser(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	url := startServer(t, bin, "--demo", "--data", data)
	r := newFlowRun(t, sameURL(bin, data, url))
	r.do("post box", chromedp.Navigate(url+"/postbox/"), chromedp.WaitVisible(css("#login")))
	r.do("log in with the card", chromedp.Click(css("#login")), chromedp.WaitVisible(css("#place")),
		chromedp.SetValue(css("#card"), r.card(demo.PDFCustomer)), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")),
		browsertest.PinPad("4567"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#documents")))
	o := outcome{}
	o["documents"] = has(r.text("#documents"), "日本生命保険相互会社", "生命保険料控除証明書")
	r.do("open the PDF certificate", chromedp.Click(css("#documents tbody a")), chromedp.WaitVisible(css("#report")))
	o["indication"] = r.attr("#report [data-indication]", "data-indication")
	o["delegation"] = r.attr("#report [data-delegation]", "data-delegation")
	o["report"] = has(r.text("#report"), "酒井　由美", "B-T", "P=1", "署名タイムスタンプ", "日本生命保険相互会社")
	o["file"] = r.attr("#pdf-file a", "href")
	r.shot("postbox-pdf")
	want := outcome{"documents": "yes", "indication": "TOTAL_PASSED", "delegation": "PASSED", "report": "yes"}
	for k, v := range want {
		if o[k] != v {
			t.Errorf("%s: %q, want %q", k, o[k], v)
		}
	}
	if o["file"] == "" {
		t.Error("the document page offers no PDF")
	}
}
