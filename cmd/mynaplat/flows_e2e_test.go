package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/demo"
	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/internal/testutil"
	"github.com/mynaplat/mynaplat/seal"
)

// flowRun is one flow played in a browser against a topology: each page is
// asked of the role that serves it.
type flowRun struct {
	t   *testing.T
	ctx context.Context
	tp  *topology
	// vars are what a flow leaves for the test that goes on after it.
	vars map[string]string
	// log is the server's log, named when a step fails.
	log string
}

// newFlowRun plays flows on tp in a browser of its own.
func newFlowRun(t *testing.T, tp *topology) *flowRun {
	return &flowRun{t: t, ctx: browsertest.New(t), tp: tp, vars: map[string]string{}}
}

// shot keeps a screenshot, named after the topology when it is split.
func (r *flowRun) shot(name string) {
	r.t.Helper()
	if r.tp.name != oneProcessName {
		name = strings.ReplaceAll(r.tp.name, " ", "-") + "-" + name
	}
	browsertest.Screenshot(r.t, r.ctx, name)
}

func css(s string) chromedp.CSS { return chromedp.CSS(s) }

// do runs the actions, each step bounded, failing with what the page shows.
func (r *flowRun) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	r.t.Helper()
	sctx, cancel := context.WithTimeout(r.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		page, _ := chromedp.Run(r.ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
		r.shot("FAILED")
		r.t.Fatalf("%s (%s): %v\non the page:\n%s\nserver log: %s", what, r.tp.name, err, page, r.log)
	}
}

func (r *flowRun) text(sel string) string {
	r.t.Helper()
	v, err := chromedp.Run(r.ctx, chromedp.Text(css(sel)))
	if err != nil {
		r.t.Fatalf("text of %s (%s): %v", sel, r.tp.name, err)
	}
	return v
}

func (r *flowRun) attr(sel, name string) string {
	r.t.Helper()
	v, err := chromedp.Run(r.ctx, chromedp.AttributeValue(css(sel), name))
	if err != nil || !v.Exists {
		r.t.Fatalf("attribute %s of %s (%s): %v", name, sel, r.tp.name, err)
	}
	return v.Value
}

func (r *flowRun) count(sel string) int {
	r.t.Helper()
	n, err := chromedp.Run(r.ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(sel)+`).length`))
	if err != nil {
		r.t.Fatalf("count %s: %v", sel, err)
	}
	return n
}

// has reports whether got has every want, as "yes" or what it lacks.
func has(got string, wants ...string) string {
	var lacks []string
	for _, w := range wants {
		if !strings.Contains(got, w) {
			lacks = append(lacks, w)
		}
	}
	if lacks != nil {
		return fmt.Sprintf("lacks %q in %q", lacks, got)
	}
	return "yes"
}

func (r *flowRun) card(holder string) string {
	return demoCardID(r.t, r.tp.bin, r.tp.data, holder)
}

// loginFlow: 須坂 花子 logs in at the kiosk of 須坂市 (/t/), with a wrong PIN
// first, then sees who checked her.
func loginFlow(t *testing.T, r *flowRun) outcome {
	u := r.tp.at(roleTerminals)
	r.do("place the card", chromedp.Navigate(u+"/t/kiosk-suzaka-1/"), chromedp.WaitVisible(css("#place")),
		chromedp.SetValue(css("#card"), r.card("須坂　花子")), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")))
	o := outcome{"tries before": r.text("#tries")}
	r.shot("1-pin-pad")
	// The answer is a new page with the message on top (POST, redirect, GET).
	r.do("wrong PIN", chromedp.SendKeys(css("#pin"), "0000"), chromedp.Click(css("#login")),
		chromedp.WaitVisible(css("div.flash-error")), chromedp.WaitVisible(css("#pin")))
	o["wrong PIN"], o["tries after"] = r.text("div.flash-error"), r.text("#tries")
	r.shot("2-wrong-pin")
	// The right PIN on the on-screen pad (clicks, not the keyboard).
	r.do("right PIN", browsertest.PinPad("1234"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#platform-id")))
	pid := r.text("#platform-id")
	o["result"], o["platform ID length"] = r.text("#result"), strconv.Itoa(len(pid))
	r.shot("3-verified")
	// Who checked me: the kiosk of 須坂市, once, and the wrong PIN before it
	// (the card refused it; the kiosk reported what the card said, with the
	// tries left — never the PIN).
	r.do("audit", chromedp.Navigate(u+"/me/audit"), chromedp.WaitVisible(css("#audit")))
	audit := r.text("#audit")
	o["audit"] = fmt.Sprintf("%s, 本人確認 ×%d, same platform ID %t", has(audit, "須坂市", "暗証番号の誤り（残り 2 回）"), strings.Count(audit, "本人確認"), r.text("#platform-id") == pid)
	r.shot("4-audit")
	want := outcome{"tries before": "3", "wrong PIN": "暗証番号が違います。残り 2 回です。", "tries after": "2",
		"result": "本人確認ができました", "platform ID length": "32", "audit": "yes, 本人確認 ×1, same platform ID true"}
	for k, w := range want {
		if !strings.Contains(o[k], w) {
			t.Errorf("login at %s: %s %q, want %q", r.tp.name, k, o[k], w)
		}
	}
	return o
}

// kioskFlow: 酒田 一郎 prints a 住民票の写し at the store's kiosk, registers
// with his 本籍地 山形市 and prints his 戸籍; /verify (at J-LIS) checks the
// paper's QR code.
func kioskFlow(t *testing.T, r *flowRun) outcome {
	pdftotext := testutil.NeedProgram(t, "pdftotext", "poppler-utils")
	pdfsig := testutil.NeedProgram(t, "pdfsig", "poppler-utils")
	pdftoppm := testutil.NeedProgram(t, "pdftoppm", "poppler-utils")
	dir := t.TempDir()
	poppler := func(tool string, pdf []byte, args ...string) string {
		path := filepath.Join(dir, "cert.pdf")
		if err := os.WriteFile(path, pdf, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, path)
		if tool == pdftotext {
			args = append(args, "-")
		}
		out, _ := exec.Command(tool, args...).CombinedOutput()
		return string(out)
	}
	// print chooses an item of the menu and prints it with the default
	// options; it returns the PDF, fetched from the tray with the session.
	print := func(item string) []byte {
		r.do("choose "+item, chromedp.Click(css(`button[value="`+item+`"]`)), chromedp.WaitVisible(css("#options")),
			chromedp.Click(css("#options-next")), chromedp.WaitVisible(css("#confirm")))
		r.shot("fee-" + item)
		r.do("print "+item, chromedp.Click(css("#confirm")), chromedp.WaitVisible(css("#reminder")))
		r.shot("printed-" + item)
		b64, err := chromedp.Run(r.ctx, chromedp.Evaluate[string](`(async () => {
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
	u := r.tp.at(roleTerminals)
	ichiro := r.card("酒田　一郎")
	r.do("place the card", chromedp.Navigate(u+"/kiosk/kiosk-konbini-sakata-1/"), chromedp.WaitVisible(css("#start")),
		chromedp.Click(css("#start")), chromedp.WaitVisible(css("#place")),
		chromedp.SetValue(css("#card"), ichiro), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")),
		chromedp.SendKeys(css("#pin"), "1111"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#menu")))
	o := outcome{"menu": has(r.text("#menu"), "住所地：山形県酒田市", "住民票の写し", "印鑑登録証明書", "所得・課税証明書")}
	r.shot("02-menu")
	juminhyo := print("062049:juminhyo")
	o["住民票 text"] = has(poppler(pdftotext, juminhyo, "-layout", "-enc", "UTF-8"), "住民票の写し", "酒田", "一郎", "本町二丁目", "酒田市長")
	o["住民票 signature"] = has(poppler(pdfsig, juminhyo), "Signature is Valid", "ETSI.CAdES.detached")
	// With the demo's TSA the seal's PDF is PAdES B-LTA: its certification
	// is in force, a DSS follows the signature and a document time-stamp
	// the DSS (poppler 22.12 lists it but cannot check one: seal and verify
	// do).
	if !strings.Contains(string(juminhyo), "/Perms << /DocMDP ") || !strings.Contains(string(juminhyo), "/DSS ") ||
		!strings.Contains(poppler(pdfsig, juminhyo), "Signature #2") {
		o["住民票 PAdES B-LTA"] = "no /Perms, no DSS or no document time-stamp"
	}
	o["住民票 verified offline"] = verifyOffline(t, r.tp, juminhyo)
	o["seal AIA and CRL DP"] = followSealAIA(juminhyo)
	qr, err := seal.ReadQRFromPDF(context.Background(), pdftoppm, juminhyo)
	if err != nil {
		t.Fatalf("read the QR code: %v", err)
	}
	// His 戸籍 is in 山形市: register there, then print it.
	r.do("register", chromedp.Click(css("#more")), chromedp.WaitVisible(css("#menu")),
		chromedp.Click(css("#register")), chromedp.WaitVisible(css("#municipalities")),
		chromedp.Click(css(`button[value="062014"]`)), chromedp.WaitVisible(css("#regdoc")))
	r.shot("03-sign-registration")
	r.do("sign", chromedp.SendKeys(css("#password"), "SAKATA1975"), chromedp.Click(css("#sign-ok")), chromedp.WaitVisible(css("#reg-status")))
	o["registration"] = r.text("#reg-status")
	r.shot("04-registered")
	r.do("menu", chromedp.Click(css("#to-menu")), chromedp.WaitVisible(css("#menu")))
	o["menu after registering"] = has(r.text("#menu"), "本籍地：山形県山形市", "戸籍全部事項証明書")
	koseki := print("062014:koseki-zenbu")
	kosekiText := poppler(pdftotext, koseki, "-layout", "-enc", "UTF-8")
	o["戸籍 text"] = has(kosekiText, "戸籍全部事項証明書", "一郎", "山形市長")
	if strings.Contains(kosekiText, "住民票の写し") {
		o["戸籍 text"] = "says 住民票の写し"
	}
	o["戸籍 signature"] = has(poppler(pdfsig, koseki), "Signature is Valid")
	r.do("受け取りました", chromedp.Click(css("#received")), chromedp.WaitVisible(css("#start")))
	r.shot("05-done")
	// Anyone can check the paper at /verify with its QR code.
	r.do("verify", chromedp.Navigate(r.tp.at(roleJLIS)+"/verify"), chromedp.WaitVisible(css("#qr")),
		chromedp.SetValue(css("#qr"), qr), chromedp.Click(css("#verify")), chromedp.WaitVisible(css("#verdict")))
	o["verdict"], o["verified content"] = r.text("#verdict"), has(r.text("#content"), "住民票の写し", "一郎")
	r.shot("06-verified")
	// A QR text changed by one character is not.
	forged := qr[:len(qr)-2] + map[bool]string{true: "A", false: "B"}[!strings.HasSuffix(qr[:len(qr)-1], "A")] + qr[len(qr)-1:]
	r.do("verify a forged QR", chromedp.Navigate(r.tp.at(roleJLIS)+"/verify"), chromedp.WaitVisible(css("#qr")),
		chromedp.SetValue(css("#qr"), forged), chromedp.Click(css("#verify")), chromedp.WaitVisible(css("#verdict")))
	o["forged verdict"] = r.text("#verdict")
	r.shot("07-forged")
	// The same PDF uploaded as a signed file: the validation report.
	upload := filepath.Join(r.t.TempDir(), "juminhyo.pdf")
	if err := os.WriteFile(upload, juminhyo, 0o600); err != nil {
		r.t.Fatal(err)
	}
	r.do("validate the PDF", chromedp.Navigate(r.tp.at(roleJLIS)+"/verify"), chromedp.WaitVisible(css("#signed")),
		chromedp.SetUploadFiles(css("#signed"), []string{upload}), chromedp.Click(css("#validate-file")),
		chromedp.WaitVisible(css("#report")))
	o["report"] = has(r.text("#report"), "TOTAL_PASSED", "B-LTA", "文書タイムスタンプ", "CRL", "P=1")
	r.shot("08-report")
	for k, v := range o {
		if k != "registration" && k != "verdict" && k != "forged verdict" && v != "yes" {
			t.Errorf("kiosk at %s: %s %s", r.tp.name, k, v)
		}
	}
	if !strings.Contains(o["registration"], "登録されました") || !strings.Contains(o["verdict"], "この証明書は真正です") ||
		!strings.Contains(o["forged verdict"], "確認できませんでした") {
		t.Errorf("kiosk at %s: %v", r.tp.name, o)
	}
	return o
}

// eligibilityFlow: 酒田 一郎 links a credit card on /pay/ (his phone, a
// page of the terminals role that links it at the eligibility service over
// its API), is checked at the hospital's reception (a station of the
// terminals role) with his consent to the 限度額, and pays there.
func eligibilityFlow(t *testing.T, r *flowRun) outcome {
	ichiro := r.card("酒田　一郎")
	r.do("demo keys", chromedp.Navigate(r.tp.at(roleTerminals)+"/demo"), chromedp.WaitVisible(css("#demo-keys")))
	pan := r.text(".test-pan")
	r.do("link a card", chromedp.Navigate(r.tp.at(roleTerminals)+"/pay/"), chromedp.WaitVisible(css("#place")),
		chromedp.SetValue(css("#card"), ichiro), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")),
		chromedp.SendKeys(css("#pin"), "1111"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#pan")),
		chromedp.SendKeys(css("#pan"), pan), chromedp.SendKeys(css("#holder"), "SAKATA ICHIRO"), chromedp.SendKeys(css("#expiry"), "12/30"),
		chromedp.Click(css("#enrol")), chromedp.WaitVisible(css("#consent")),
		chromedp.SendKeys(css("#password"), "SAKATA1975"), chromedp.Click(css("#sign-ok")), chromedp.WaitVisible(css("#linked")))
	o := outcome{"linked": has(r.text("#linked"), pan[len(pan)-4:])}
	r.shot("0-card-linked")
	// At the reception, consenting to the 限度額: valid, with the ceiling
	// category, and the namesake's record waiting for a clerk.
	station := r.tp.at(roleTerminals) + "/reception/reception-nihonkai-1/"
	r.do("check", chromedp.Navigate(station), chromedp.WaitVisible(css("#place")),
		chromedp.SetValue(css("#card"), ichiro), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")),
		browsertest.PinPad("1111"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#consent-submit")),
		chromedp.Click(css("#c-limit")), chromedp.Click(css("#c-drug")),
		chromedp.Click(css("#consent-submit")), chromedp.WaitVisible(css("#validity")))
	o["validity"], o["limit"], o["copay"], o["pending"] = r.text("#validity"), r.text("#limit"), r.text("#copay"), has(r.text("#pending"), "担当者")
	r.shot("1-reception-valid")
	// The co-payment is charged to the linked card; the clinic sees the
	// last four digits, never the number.
	r.do("pay", chromedp.SendKeys(css("#amount"), "1500"), chromedp.Click(css("#pay-submit")), chromedp.WaitVisible(css("#paid")))
	o["paid"] = r.text("#paid-amount")
	o["paid with"] = map[bool]string{true: "the linked card", false: "another: " + r.text("#paid-last4")}[r.text("#paid-last4") == pan[len(pan)-4:]]
	html, _ := chromedp.Run(r.ctx, chromedp.OuterHTML(css("html")))
	o["page shows the number or token"] = strconv.FormatBool(strings.Contains(html, pan) || strings.Contains(html, "tok_"))
	r.shot("1b-paid")
	if o["validity"] != "有効" || o["limit"] != "ウ" || !strings.Contains(o["copay"], "30%") || o["pending"] != "yes" ||
		o["paid"] != "1500" || o["paid with"] != "the linked card" || o["page shows the number or token"] != "false" {
		t.Errorf("eligibility at %s: %v", r.tp.name, o)
	}
	return o
}

// postboxFlow: 酒田 一郎 opens his post box at the terminal (the card
// login), checks the 保険料控除証明書 日本生命's employee signed under the
// representative's power of attorney, and sends it with a signed
// application to 酒田税務署 (a wrong signing password first sends nothing),
// whose staff (at the agency, signed in with their card at the staff
// terminal, which may run on another host; another office's clerk is
// refused) see every signature and the delivery log. It leaves the
// agency's API key and the submission's receipt and ID in r.vars.
func postboxFlow(t *testing.T, r *flowRun) outcome {
	u, agencyURL, muniURL := r.tp.at(roleTerminals), r.tp.at(roleAgency), r.tp.at(roleMunicipal)
	r.do("demo page", chromedp.Navigate(u+"/demo"), chromedp.WaitVisible(css("#demo-agency-api-keys")))
	if r.vars["tax-sakata"] = r.text(`code.agency-api-key[data-id="tax-sakata"]`); r.vars["tax-sakata"] == "" {
		t.Fatal("no API key of tax-sakata on /demo")
	}
	o := outcome{}
	// 酒田市's registry clerk signs in at their own office with their card
	// at the staff terminal, and is refused at the tax office's inbox.
	r.staffLogin(muniURL, "/municipal/062049/office/", "最上　和也", "00-municipal-clerk")
	o["municipal clerk"] = has(r.text("#staff-strip"), "最上　和也", "住民記録担当", "R-062049-01")
	r.do("the registry clerk at the tax office", chromedp.Navigate(agencyURL+"/agency/tax-sakata/inbox/"), chromedp.WaitVisible(css("#staff-signin")),
		chromedp.Click(css("#staff-signin")), chromedp.WaitVisible(css("#place")),
		chromedp.SetValue(css("#card"), r.card("最上　和也")), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")),
		browsertest.PinPad("8101"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#handoff-go")),
		chromedp.Click(css("#handoff-go")), chromedp.WaitVisible(css("#refusal")))
	o["municipal clerk at the tax office"] = has(r.attr("#refusal", "data-code")+" "+r.text("#refusal"), "other_office", "ほかの事務所")
	r.shot("00-other-office")

	// 1. He logs in with his card and opens the 保険料控除証明書.
	r.do("post box", chromedp.Navigate(u+"/postbox/"), chromedp.WaitVisible(css("#login")))
	r.shot("01-postbox-login")
	r.do("log in with the card", chromedp.Click(css("#login")), chromedp.WaitVisible(css("#place")),
		chromedp.SetValue(css("#card"), r.card("酒田　一郎")), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")))
	r.shot("02-terminal-pin")
	r.do("PIN on the pad", browsertest.PinPad("1111"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#documents")))
	o["documents"] = has(r.text("#documents"), "日本生命保険相互会社", "保険料控除証明書", "生命保険料控除証明書")
	o["documents in the box"] = strconv.Itoa(r.count("#documents tbody tr"))
	o["consents"] = has(r.text("#consents"), "日本生命保険相互会社", "日本郵便株式会社", "日本放送協会")
	r.shot("03-postbox-home")
	r.do("consents", chromedp.Navigate(u+"/postbox/consents"), chromedp.WaitVisible(css("#consent")))
	r.shot("03-consents")
	r.do("back to the box", chromedp.Click(css(`a[href="/postbox/"]`)), chromedp.WaitVisible(css("#documents")))
	r.do("open the certificate", chromedp.Click(css("#documents tbody a")), chromedp.WaitVisible(css("#report")))
	o["certificate"] = has(r.text("main"), "日本生命保険相互会社", "96,000円", "酒田　一郎")
	o["certificate indication"] = r.attr("#report [data-indication]", "data-indication")
	o["certificate delegation"] = r.attr("#report [data-delegation]", "data-delegation")
	o["delegation"] = has(r.text("#report .delegation"), "日本生命保険相互会社", "生田　正人", "酒井　由美", "保険料控除証明書")
	o["signer"] = has(r.text("#report"), "酒井　由美")
	r.shot("04-certificate")
	r.do("in English", chromedp.Navigate(u+"/lang?to=en&back="+r.attr("#attach", "href")), chromedp.WaitVisible(css("#send")))
	o["English compose page"] = has(r.text("main"), "Send an application", "Signing password", "Sign and send")
	r.shot("04-compose-en")
	r.do("in Japanese", chromedp.Navigate(u+"/lang?to=ja&back=/postbox/"), chromedp.WaitVisible(css("#documents")))
	r.do("the certificate again", chromedp.Click(css("#documents tbody a")), chromedp.WaitVisible(css("#report")))

	// 2. He sends it to 酒田税務署 with a signed application; a wrong signing
	// password first sends nothing and says how many tries are left.
	r.do("compose", chromedp.Click(css("#attach")), chromedp.WaitVisible(css("#send")))
	r.do("choose the tax office", chromedp.SetValue(css("#to"), "tax-sakata"))
	o["attached"] = strconv.Itoa(r.count(`input[name="doc"]:checked`))
	r.shot("05-compose")
	r.do("wrong password", chromedp.SendKeys(css("#password"), "WRONG1975"), chromedp.Click(css("#send")),
		chromedp.WaitVisible(css("div.flash-error")))
	o["wrong password"] = has(r.text("div.flash-error"), "署名用電子証明書の暗証番号が違います", "残り 4 回")
	o["attached after a wrong password"] = strconv.Itoa(r.count(`input[name="doc"]:checked`))
	r.shot("06-wrong-password")
	r.do("sign and send", chromedp.SetValue(css("#to"), "tax-sakata"), chromedp.SendKeys(css("#password"), "SAKATA1975"),
		chromedp.Click(css("#send")), chromedp.WaitVisible(css("#sends")))
	o["sent"] = has(r.text("div.flash-ok"), "酒田税務署", "受け付けました")
	o["sends"] = strconv.Itoa(r.count("#sends details.send"))
	r.shot("07-sent")
	r.await("the submission's receipt", u+"/postbox/", `#sends details.send[data-to="tax-sakata"][data-state="delivered"]`, 20*time.Second)
	receipt := r.text(`#sends details.send[data-to="tax-sakata"] .receipt`)
	o["receipt shown"] = strconv.FormatBool(receipt != "")
	r.do("open the send", chromedp.Click(css(`#sends details.send[data-to="tax-sakata"] summary`)))
	r.shot("08-delivered")

	// 3. The tax office's staff see it.
	r.staffLogin(agencyURL, "/agency/tax-sakata/inbox/", "宮野浦　花子", "09-tax-office")
	o["tax office clerk"] = has(r.text("#staff-strip"), "宮野浦　花子", "受付機関職員", "A-tax-sakata-01")
	r.do("inbox", chromedp.WaitVisible(css("#inbox")))
	o["inbox"] = has(r.text("#inbox"), receipt, "酒田　一郎", "TOTAL_PASSED")
	r.shot("10-tax-inbox")
	href := r.attr("#inbox tbody a", "href")
	r.vars["receipt"], r.vars["submission"] = receipt, href[strings.LastIndex(href, "/")+1:]
	r.do("submission", chromedp.Click(css("#inbox tbody a")), chromedp.WaitVisible(css("#summary")))
	o["overall"] = r.text("#overall")
	for i := range 2 {
		o["document "+strconv.Itoa(i)+" indication"] = r.attr("#doc-"+strconv.Itoa(i)+" [data-indication]", "data-indication")
	}
	o["attachment delegation"] = r.attr("#doc-1 [data-delegation]", "data-delegation")
	o["attachment's delegation"] = has(r.text("#doc-1 .delegation"), "日本生命保険相互会社", "酒井　由美", "保険料控除証明書")
	o["bundle"] = has(r.text("#bundle"), "一致します")
	o["delivery log"] = has(r.text("#delivery-log"), "queued", "acknowledged", receipt)
	r.shot("11-tax-submission")
	want := outcome{"documents in the box": "1", "certificate indication": "TOTAL_PASSED", "certificate delegation": "PASSED",
		"attached": "1", "attached after a wrong password": "1", "sends": "1", "receipt shown": "true", "overall": "TOTAL_PASSED",
		"document 0 indication": "TOTAL_PASSED", "document 1 indication": "TOTAL_PASSED", "attachment delegation": "PASSED"}
	for k, v := range o {
		w, ok := want[k]
		if !ok {
			w = "yes"
		}
		if v != w {
			t.Errorf("post box at %s: %s %q, want %q", r.tp.name, k, v, w)
		}
	}
	return o
}

// await loads url until sel is on the page, for what a server does in the
// background; it returns how long that took.
func (r *flowRun) await(what, url, sel string, limit time.Duration) time.Duration {
	r.t.Helper()
	start := time.Now()
	for {
		r.do("load "+url, chromedp.Navigate(url), chromedp.WaitReady(css("main")))
		if r.count(sel) > 0 {
			took := time.Since(start)
			r.t.Logf("%s after %v", what, took.Round(time.Millisecond))
			return took
		}
		if time.Since(start) > limit {
			r.t.Fatalf("%s (%s): not within %v (no %s on %s)", what, r.tp.name, limit, sel, url)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// staffLogin signs the demo staff member holder in to the back office at
// base+path with their card and PIN (from demo.Staff) at the staff
// terminal, wherever the topology runs it.
func (r *flowRun) staffLogin(base, path, holder, shot string) {
	r.t.Helper()
	i := slices.IndexFunc(demo.Staff, func(sp demo.StaffPerson) bool { return sp.Name == holder })
	if i < 0 {
		r.t.Fatalf("no demo staff member %s", holder)
	}
	r.do("the sign-in at "+path, chromedp.Navigate(base+path), chromedp.WaitVisible(css("#staff-signin")))
	r.shot(shot + "-signin")
	r.do("staff sign-in at "+path, staffCardSignIn(base, path, r.card(holder), demo.Staff[i].AuthPIN)...)
	if !strings.HasPrefix(r.url(), base) {
		r.t.Errorf("signed in at %s, want the office's host %s", r.url(), base)
	}
}

// url is the browser's address.
func (r *flowRun) url() string {
	r.t.Helper()
	v, err := chromedp.Run(r.ctx, chromedp.Evaluate[string](`location.href`))
	if err != nil {
		r.t.Fatal(err)
	}
	return v
}

// verifyOffline runs "mynaplat verify" on a sealed PDF with nothing to ask:
// the anchors are files (the seal CA and the TSA root from the data
// directory, the JPKI signing CA saved beforehand) and the JPKI URL goes
// nowhere. "yes" when it is TOTAL_PASSED at PAdES B-LTA.
func verifyOffline(t *testing.T, tp *topology, pdf []byte) string {
	t.Helper()
	dir := t.TempDir()
	resp, err := http.Get(tp.at(roleJPKI) + "/jpki/ca/sign.crt")
	if err != nil {
		t.Fatal(err)
	}
	ca, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	caPath, pdfPath := filepath.Join(dir, "sign-ca.der"), filepath.Join(dir, "juminhyo.pdf")
	if err := os.WriteFile(caPath, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pdfPath, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tp.bin, "verify", "--jpki-url", "http://127.0.0.1:1", "--jpki-ca", caPath,
		"--tsa-root", filepath.Join(tp.data, "tsa", "root.crt"), "--seal-ca", filepath.Join(tp.data, "seal", "ca.crt"), pdfPath).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "TOTAL_PASSED") || !strings.Contains(string(out), "level: PAdES B-LTA") {
		return fmt.Sprintf("%v: %s", err, out)
	}
	return "yes"
}
