package main

import (
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/internal/testutil"
	"github.com/mynaplat/mynaplat/seal"
)

// TestKioskInBrowser is コンビニ交付 as a newcomer sees it in the demo: 酒田
// 一郎 prints a 住民票の写し at the store's kiosk, registers with his 本籍地
// 山形市 and prints his 戸籍, and anyone can check the printed paper's QR
// code at /verify. The PDFs are read back with poppler: the text is his,
// pdfsig finds the seal's signature valid, and the QR on the page verifies.
func TestKioskInBrowser(t *testing.T) {
	pdftotext := testutil.NeedProgram(t, "pdftotext", "poppler-utils")
	pdfsig := testutil.NeedProgram(t, "pdfsig", "poppler-utils")
	pdftoppm := testutil.NeedProgram(t, "pdftoppm", "poppler-utils")
	ctx := browsertest.New(t)
	bin := buildBinary(t)
	data := t.TempDir()
	url := startServer(t, bin, "--demo", "--data", data)
	ichiro := demoCardID(t, bin, data, "酒田　一郎")
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	contains := func(what, got string, wants ...string) {
		t.Helper()
		for _, want := range wants {
			if !strings.Contains(got, want) {
				t.Errorf("%s lacks %q: %q", what, want, got)
			}
		}
	}
	shot := func(name string) { t.Helper(); browsertest.Screenshot(t, ctx, name) }
	// print chooses an item of the menu and prints it with the default
	// options; it returns the PDF, fetched from the tray with the session.
	print := func(item string) []byte {
		t.Helper()
		do("choose "+item, chromedp.Click(css(`button[value="`+item+`"]`)), chromedp.WaitVisible(css("#options")),
			chromedp.Click(css("#options-next")), chromedp.WaitVisible(css("#confirm")))
		shot("fee-" + item)
		do("print "+item, chromedp.Click(css("#confirm")), chromedp.WaitVisible(css("#reminder")))
		shot("printed-" + item)
		b64, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
			const links = document.querySelectorAll('.tray-link');
			const r = await fetch(links[links.length - 1].href);
			const b = new Uint8Array(await r.arrayBuffer());
			let s = ''; for (const c of b) s += String.fromCharCode(c);
			return btoa(s);
		})()`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("fetch the PDF of %s: %v", item, err)
		}
		pdf, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || !strings.HasPrefix(string(pdf), "%PDF-") {
			t.Fatalf("the PDF of %s: %v %.20q", item, err, pdf)
		}
		return pdf
	}
	// poppler runs a poppler tool on the PDF.
	dir := t.TempDir()
	poppler := func(tool string, pdf []byte, args ...string) string {
		t.Helper()
		path := filepath.Join(dir, "cert.pdf")
		if err := os.WriteFile(path, pdf, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, path)
		if tool == pdftotext {
			args = append(args, "-") // to stdout
		}
		out, err := exec.Command(tool, args...).CombinedOutput()
		if err != nil && tool != pdfsig {
			t.Fatalf("%s: %v\n%s", tool, err, out)
		}
		return string(out)
	}

	do("start", chromedp.Navigate(url+"/kiosk/kiosk-konbini-sakata-1/"), chromedp.WaitVisible(css("#start")))
	shot("01-start")
	do("place the card", chromedp.Click(css("#start")), chromedp.WaitVisible(css("#card-"+ichiro)),
		chromedp.Click(css("#card-"+ichiro)), chromedp.WaitVisible(css("#pin")),
		chromedp.SendKeys(css("#pin"), "1111"), chromedp.Click(css("#pin-ok")), chromedp.WaitVisible(css("#menu")))
	contains("menu", text("#menu"), "住所地：山形県酒田市", "住民票の写し", "印鑑登録証明書", "所得・課税証明書")
	shot("02-menu")

	juminhyo := print("062049:juminhyo")
	contains("pdftotext of the 住民票", poppler(pdftotext, juminhyo, "-layout", "-enc", "UTF-8"),
		"住民票の写し", "酒田", "一郎", "本町二丁目", "酒田市長")
	contains("pdfsig of the 住民票", poppler(pdfsig, juminhyo), "Signature is Valid", "ETSI.CAdES.detached")
	qrText, err := seal.ReadQRFromPDF(context.Background(), pdftoppm, juminhyo)
	if err != nil {
		t.Fatalf("read the QR code: %v", err)
	}

	// His 戸籍 is in 山形市: register there, then print it.
	do("more", chromedp.Click(css("#more")), chromedp.WaitVisible(css("#menu")))
	do("register", chromedp.Click(css("#register")), chromedp.WaitVisible(css("#municipalities")),
		chromedp.Click(css(`button[value="062014"]`)), chromedp.WaitVisible(css("#regdoc")))
	shot("03-sign-registration")
	do("sign", chromedp.SendKeys(css("#password"), "SAKATA1975"), chromedp.Click(css("#sign-ok")), chromedp.WaitVisible(css("#reg-status")))
	contains("registration", text("#reg-status"), "登録されました")
	shot("04-registered")
	do("menu", chromedp.Click(css("#to-menu")), chromedp.WaitVisible(css("#menu")))
	contains("menu after registering", text("#menu"), "本籍地：山形県山形市", "戸籍全部事項証明書")
	koseki := print("062014:koseki-zenbu")
	contains("pdftotext of the 戸籍", poppler(pdftotext, koseki, "-layout", "-enc", "UTF-8"),
		"戸籍全部事項証明書", "一郎", "山形市長")
	if strings.Contains(poppler(pdftotext, koseki, "-layout", "-enc", "UTF-8"), "住民票の写し") {
		t.Error("the 戸籍 PDF says 住民票の写し")
	}
	contains("pdfsig of the 戸籍", poppler(pdfsig, koseki), "Signature is Valid")
	do("受け取りました", chromedp.Click(css("#received")), chromedp.WaitVisible(css("#start")))
	shot("05-done")

	// Anyone can check the paper at /verify with its QR code.
	do("verify", chromedp.Navigate(url+"/verify"), chromedp.WaitVisible(css("#qr")),
		chromedp.SetValue(css("#qr"), qrText), chromedp.Click(css("#verify")), chromedp.WaitVisible(css("#verdict")))
	contains("verdict", text("#verdict"), "この証明書は真正です")
	contains("verified content", text("#content"), "住民票の写し", "一郎")
	shot("06-verified")
	// A QR text changed by one character is not.
	forged := qrText[:len(qrText)-2] + map[bool]string{true: "A", false: "B"}[!strings.HasSuffix(qrText[:len(qrText)-1], "A")] + qrText[len(qrText)-1:]
	do("verify a forged QR", chromedp.Navigate(url+"/verify"), chromedp.WaitVisible(css("#qr")),
		chromedp.SetValue(css("#qr"), forged), chromedp.Click(css("#verify")), chromedp.WaitVisible(css("#verdict")))
	contains("forged verdict", text("#verdict"), "確認できませんでした")
	shot("07-forged")
}
