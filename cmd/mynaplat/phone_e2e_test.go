package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/internal/testutil"
	"github.com/mynaplat/mynaplat/seal"
)

// viewport is a browser window size the pages are read at.
type viewport struct{ w, h int64 }

// phone is a common handset (390 CSS px wide); desktop is a laptop.
var (
	phone   = viewport{390, 844}
	desktop = viewport{1280, 800}
)

// TestEveryPageOnAPhone opens every page that is not a terminal's screen —
// the home page, /demo, the card viewer, /verify and its answer, the error
// page, the JPKI counter, each back office after its staff log in as a
// person does, and the post box after its holder logs in with his card —
// at 390×844 (a phone) and at 1280×800, and fails naming the page and the
// element that sticks out when the page scrolls sideways. On the phone it
// also fails when a box other than a <pre> scrolls sideways (tables are
// lists there) or a touch target is under 44 px. Screenshots of each page at
// both sizes are kept as the test's artifacts (go test -artifacts).
func TestEveryPageOnAPhone(t *testing.T) {
	pdftoppm := testutil.NeedProgram(t, "pdftoppm", "poppler-utils")
	bin := buildBinary(t)
	data := t.TempDir()
	url := startServer(t, bin, "--demo", "--data", data)
	ichiro := demoCardID(t, bin, data, "酒田　一郎")
	// About 45 pages, each loaded and shot twice, after the data is made.
	ctx := browsertest.NewWithin(t, 5*time.Minute)
	step := time.Now()
	lap := func(what string) {
		t.Logf("%s: %v", what, time.Since(step).Round(time.Millisecond))
		step = time.Now()
	}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
			t.Fatalf("%s: %v\non the page:\n%s", what, err, page)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(v)
	}
	attr := func(sel, name string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.AttributeValue(css(sel), name))
		if err != nil || !v.Exists {
			t.Fatalf("attribute %s of %s: %v", name, sel, err)
		}
		return v.Value
	}
	has := func(sel string) bool {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
		if err != nil {
			t.Fatalf("count %s: %v", sel, err)
		}
		return n > 0
	}
	// await loads path until sel is on it, for what the server does in
	// the background (deliveries, change notices).
	await := func(path, sel string) {
		t.Helper()
		for start := time.Now(); ; time.Sleep(250 * time.Millisecond) {
			do("load "+path, chromedp.Navigate(url+path), chromedp.WaitReady(css("main")))
			if has(sel) {
				return
			}
			if time.Since(start) > 20*time.Second {
				t.Fatalf("no %s on %s within 20s", sel, path)
			}
		}
	}

	// The demo page, as a newcomer reads it.
	do("demo keys", chromedp.EmulateViewport(desktop.w, desktop.h), chromedp.Navigate(url+"/demo"), chromedp.WaitVisible(css("#demo-keys")))
	// The registry clerks' cards and PINs.
	staffCard := func(office string) (string, string) {
		id := text(`.staff-card[data-office="` + office + `"] code.card-id`)
		pin, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('.staff-card[data-office="`+office+`"]').closest("tr").querySelector(".staff-pin").textContent`))
		if err != nil {
			t.Fatal(err)
		}
		return id, pin
	}

	// Data for the pages to show: 一郎 prints a 住民票 at the kiosk (its QR
	// code for /verify); his coverage is
	// checked at the hospital's reception (the clinic's checks, the
	// insurer's queue); he sends the tax office an application from his
	// post box (the agency's inbox) and moves (a change notice).
	do("kiosk", chromedp.Navigate(url+"/kiosk/kiosk-konbini-sakata-1/"), chromedp.WaitVisible(css("#start")),
		chromedp.Click(css("#start")), chromedp.WaitVisible(css("#place")),
		chromedp.SetValue(css("#card"), ichiro), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")),
		chromedp.SendKeys(css("#pin"), "1111"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#menu")),
		chromedp.Click(css(`button[value="062049:juminhyo"]`)), chromedp.WaitVisible(css("#options")),
		chromedp.Click(css("#options-next")), chromedp.WaitVisible(css("#confirm")),
		chromedp.Click(css("#confirm")), chromedp.WaitVisible(css("#reminder")))
	b64, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
		const links = document.querySelectorAll('.tray-link');
		const b = new Uint8Array(await (await fetch(links[links.length - 1].href)).arrayBuffer());
		let s = ''; for (const c of b) s += String.fromCharCode(c);
		return btoa(s);
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("fetch the printed PDF: %v", err)
	}
	pdf, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	qr, err := seal.ReadQRFromPDF(context.Background(), pdftoppm, pdf)
	if err != nil {
		t.Fatalf("read the QR code: %v", err)
	}
	do("take the paper", chromedp.Click(css("#received")), chromedp.WaitVisible(css("#start")))
	lap("kiosk")
	do("reception", chromedp.Navigate(url+"/reception/reception-nihonkai-1/"), chromedp.WaitVisible(css("#place")),
		chromedp.SetValue(css("#card"), ichiro), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")),
		browsertest.PinPad("1111"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#consent-submit")),
		chromedp.Click(css("#consent-submit")), chromedp.WaitVisible(css("#validity")))
	lap("reception")
	postboxLogin := chromedp.Steps(chromedp.Navigate(url+"/postbox/"), chromedp.WaitVisible(css("#login")),
		chromedp.Click(css("#login")), chromedp.WaitVisible(css("#place")),
		chromedp.SetValue(css("#card"), ichiro), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")),
		browsertest.PinPad("1111"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#documents")))
	do("post box", postboxLogin)
	do("send to the tax office", chromedp.Navigate(url+"/postbox/compose"), chromedp.WaitVisible(css("#send")),
		chromedp.SetValue(css("#to"), "tax-sakata"), chromedp.SendKeys(css("#password"), "SAKATA1975"),
		chromedp.Click(css("#send")), chromedp.WaitVisible(css("#sends")))
	mynaplat(t, bin, "jpki", "change-address", "--card", ichiro, "--address", "山形県酒田市中町一丁目４番１０号", "--data", data)
	await("/postbox/", "#change-notice")
	lap("post box, send, change notice")
	noticePath := attr("#open-notice", "href")
	docPath := attr("#documents tbody a", "href")

	// show opens a page at each window size (open brings it up; a path
	// is loaded) and checks how it lays out there.
	show := func(name, path string, open chromedp.Action[chromedp.Void]) {
		t.Helper()
		if open == nil {
			open = chromedp.Steps(chromedp.Navigate(url+path), chromedp.WaitReady(css("main")))
		}
		where := path
		if where == "" {
			where = name
		}
		for _, vp := range []viewport{phone, desktop} {
			what := fmt.Sprintf("%s at %d px", name, vp.w)
			do(what, chromedp.EmulateViewport(vp.w, vp.h), open)
			l, err := chromedp.Run(ctx, browsertest.MeasureLayout())
			if err != nil {
				t.Fatalf("%s: measure: %v", what, err)
			}
			browsertest.Screenshot(t, ctx, fmt.Sprintf("%s-%d", name, vp.w))
			for _, problem := range l.Problems(vp == phone) {
				t.Errorf("%s (%s): %s", what, where, problem)
			}
		}
	}
	visit := func(name, path string) { t.Helper(); show(name, path, nil) }
	// first is the href of the first link matching sel on path.
	first := func(path, sel string) string {
		t.Helper()
		do("load "+path, chromedp.Navigate(url+path), chromedp.WaitReady(css("main")))
		return attr(sel, "href")
	}

	visit("home", "/")
	visit("demo", "/demo")
	visit("cards", "/cards/")
	visit("card", "/cards/"+ichiro)
	show("card-signing", "", chromedp.Steps(chromedp.Navigate(url+"/cards/"+ichiro),
		chromedp.WaitVisible(css("#password")), chromedp.SendKeys(css("#password"), "SAKATA1975"),
		chromedp.Submit(css("#password")), chromedp.WaitNotPresent(css("#password"))))
	visit("verify", "/verify")
	show("verified", "", chromedp.Steps(chromedp.Navigate(url+"/verify"), chromedp.WaitVisible(css("#qr")),
		chromedp.SetValue(css("#qr"), qr), chromedp.Click(css("#verify")), chromedp.WaitVisible(css("#verdict"))))
	visit("not-found", "/no/such/page")
	visit("me-audit", "/me/audit")

	// Login pages, before logging in.
	visit("municipal-login", "/municipal/062049/office/")
	visit("insurer-login", "/insurer/06230012/")
	visit("clinic-login", "/clinic/0611000019/")
	visit("agency-login", "/agency/tax-sakata/inbox/")
	visit("business-login", "/business/nissay/office/")

	do("demo staff cards", chromedp.Navigate(url+"/demo"), chromedp.WaitVisible(css("#demo-staff-cards")))
	sakataCard, sakataPIN := staffCard("municipal:062049")
	yamagataCard, yamagataPIN := staffCard("municipal:062014")
	insurerCard, insurerPIN := staffCard("insurer:06230012")
	clinicCard, clinicPIN := staffCard("clinic:0611000019")
	operatorCard, operatorPIN := staffCard("platform-operator")
	counterCard, counterPIN := staffCard("counter:062049")
	agencyCard, agencyPIN := staffCard("agency:tax-sakata")
	businessCard, businessPIN := staffCard("business:nissay")
	visit("counter-login", "/counter/")
	do("sign in at 酒田市's counter", staffCardSignIn(url, "/counter/", counterCard, counterPIN)...)
	visit("counter", "/counter/")
	visit("counter-issue", "/counter/issue")
	visit("counter-card", "/counter/cards/"+ichiro)
	do("sign in at 酒田市", staffCardSignIn(url, "/municipal/062049/office/", sakataCard, sakataPIN)...)
	visit("municipal", "/municipal/062049/office/")
	visit("municipal-person", first("/municipal/062049/office/", `a[href*="/office/persons/"]`))
	visit("municipal-audit", "/municipal/062049/office/audit")
	do("sign in at 山形市", staffCardSignIn(url, "/municipal/062014/office/", yamagataCard, yamagataPIN)...)
	visit("municipal-registrations", "/municipal/062014/office/registrations")

	// 酒田健康保険組合's clerk, with their card.
	do("sign in at 酒田健康保険組合", staffCardSignIn(url, "/insurer/06230012/", insurerCard, insurerPIN)...)
	visit("insurer", "/insurer/06230012/")
	visit("insurer-new", "/insurer/06230012/new")
	visit("insurer-queue", "/insurer/06230012/queue")
	visit("insurer-record", first("/insurer/06230012/", `a[href^="/insurer/06230012/records/"]`))

	// The platform operator's grants, with their card.
	do("sign in as the platform operator", staffCardSignIn(url, "/staff/operator/", operatorCard, operatorPIN)...)
	visit("staff-operator", "/staff/operator/")
	// The provider's clients: the same office's session (its sign-in
	// lands on /staff/operator/).
	show("oidc-operator", "", chromedp.Steps(chromedp.Navigate(url+"/oidc/operator/"), chromedp.WaitVisible(css("#client-form"))))

	do("sign in at 日本海総合病院", staffCardSignIn(url, "/clinic/0611000019/", clinicCard, clinicPIN)...)
	visit("clinic", "/clinic/0611000019/")
	visit("clinic-batches", "/clinic/0611000019/batch")
	sample := filepath.Join(t.TempDir(), "sample.csv")
	resp, err := http.Get(url + "/clinic/batch/sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("sample CSV: %d %v", resp.StatusCode, err)
	}
	if err := os.WriteFile(sample, b, 0o600); err != nil {
		t.Fatal(err)
	}
	do("upload a batch", chromedp.Navigate(url+"/clinic/0611000019/batch"), chromedp.WaitVisible(css(`input[type=file]`)),
		chromedp.SetUploadFiles(css(`input[type=file]`), []string{sample}), chromedp.Submit(css(`input[type=file]`)),
		chromedp.WaitReady(css("main")))
	visit("clinic-batch", first("/clinic/0611000019/batch", `a[href^="/clinic/0611000019/batch/"]`))

	do("sign in at 酒田税務署", staffCardSignIn(url, "/agency/tax-sakata/inbox/", agencyCard, agencyPIN)...)
	await("/agency/tax-sakata/inbox/", "#inbox tbody a")
	visit("agency-inbox", "/agency/tax-sakata/inbox/")
	visit("agency-submission", attr("#inbox tbody a", "href"))
	do("sign in at 日本生命", staffCardSignIn(url, "/business/nissay/office/", businessCard, businessPIN)...)
	visit("business-office", "/business/nissay/office/")

	// The post box, logged in with the card (the login page is the terminal's).
	visit("postbox", "/postbox/")
	visit("postbox-document", docPath)
	visit("postbox-compose", "/postbox/compose")
	visit("postbox-consents", "/postbox/consents")
	visit("postbox-notice", noticePath)
	visit("postbox-audit", "/postbox/audit")

}
