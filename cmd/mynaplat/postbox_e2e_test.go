package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/agency"
	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/internal/webtest"
)

// TestPostboxInBrowser is the electronic post box (電子私書箱) end to end on
// the demo: 酒田 一郎 logs in with his card and checks the 保険料控除証明書
// 日本生命 put in his box (signed by its employee under the representative's
// power of attorney); he sends it with a signed application to 酒田税務署,
// whose staff see every signature and the delivery log; he moves (jpki
// change-address), the box offers a change notice, and he has NHK and 日本郵便
// told his new address (read from his new signing certificate); 日本生命's
// employee issues another certificate from the back office.
func TestPostboxInBrowser(t *testing.T) {
	started := time.Now()
	bin := buildBinary(t)
	data := t.TempDir()
	url, serverLog := startServerLogged(t, bin, "--demo", "--data", data)
	ichiro := demoCardID(t, bin, data, "酒田　一郎")
	yumi := demoCardID(t, bin, data, "酒井　由美")
	t.Logf("binary built and demo server seeded in %v", time.Since(started).Round(time.Millisecond))
	ctx := browsertest.New(t)
	step := time.Now()
	lap := func(what string) {
		t.Logf("%s: %v", what, time.Since(step).Round(time.Millisecond))
		step = time.Now()
	}

	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	shot := func(name string) { t.Helper(); browsertest.Screenshot(t, ctx, name) }
	// do runs the actions, each step bounded so that a page that is not
	// the expected one fails with what it shows instead of a browser timeout.
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			shot("FAILED")
			page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
			t.Fatalf("%s: %v\non the page:\n%s\nserver log: %s", what, err, page, serverLog)
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
	attr := func(sel, name string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.AttributeValue(css(sel), name))
		if err != nil || !v.Exists {
			t.Fatalf("attribute %s of %s: %v", name, sel, err)
		}
		return v.Value
	}
	count := func(sel string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(sel)+`).length`))
		if err != nil {
			t.Fatalf("count %s: %v", sel, err)
		}
		return n
	}
	contains := func(what, got string, wants ...string) {
		t.Helper()
		for _, want := range wants {
			if !strings.Contains(got, want) {
				t.Errorf("%s lacks %q: %q", what, want, got)
			}
		}
	}
	// await loads path until sel is on the page, for what the server does
	// in the background; it returns how long that took.
	await := func(what, path, sel string, limit time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			do("load "+path, chromedp.Navigate(url+path), chromedp.WaitReady(css("main")))
			if count(sel) > 0 {
				took := time.Since(start)
				t.Logf("%s after %v", what, took.Round(time.Millisecond))
				return took
			}
			if time.Since(start) > limit {
				t.Fatalf("%s: not within %v (no %s on %s)", what, limit, sel, path)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	// staffKeys are the back offices' demo keys from /demo.
	do("demo page", chromedp.Navigate(url+"/demo"), chromedp.WaitVisible(css("#demo-postbox-keys")))
	keyOf := func(id string) string {
		t.Helper()
		k := text(`code.postbox-key[data-id="` + id + `"]`)
		if k == "" {
			t.Fatalf("no staff key of %s on /demo", id)
		}
		return k
	}
	keys := map[string]string{}
	for _, id := range []string{"tax-sakata", "nissay", "nhk", "japanpost"} {
		keys[id] = keyOf(id)
	}
	// A wrong staff key logs nobody in, and says so.
	do("wrong staff key", chromedp.Navigate(url+"/agency/tax-sakata/inbox/"), chromedp.WaitVisible(css("#l-key")),
		chromedp.SendKeys(css("#l-key"), "ags_not-the-key"), chromedp.SendKeys(css("#l-staff"), "税務 花子"),
		chromedp.Click(css("#l-login")), chromedp.WaitVisible(css("#login-problem")))
	contains("wrong staff key", text("#login-problem"), "職員キーが正しくありません", "ログインしていません")
	if got, _ := chromedp.Run(ctx, chromedp.Value(css("#l-staff"))); got != "税務 花子" {
		t.Errorf("the name typed is not kept after a wrong key: %q", got)
	}
	shot("00-wrong-staff-key")
	// staffLogin logs a staff member in to a back office.
	staffLogin := func(path, key, name, shotName string) {
		t.Helper()
		do("staff login at "+path, chromedp.Navigate(url+path), chromedp.WaitVisible(css("#l-key")))
		shot(shotName + "-login")
		do("staff login at "+path, chromedp.SendKeys(css("#l-key"), key), chromedp.SendKeys(css("#l-staff"), name),
			chromedp.Click(css("#l-login")), chromedp.WaitVisible(css("div.flash-ok")))
	}
	lap("demo keys")

	// 1. 一郎 logs in with his card and opens the 保険料控除証明書.
	do("post box", chromedp.Navigate(url+"/postbox/"), chromedp.WaitVisible(css("#login")))
	shot("01-postbox-login")
	do("log in with the card", chromedp.Click(css("#login")), chromedp.WaitVisible(css("#place")),
		chromedp.SetValue(css("#card"), ichiro), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")))
	shot("02-terminal-pin")
	do("PIN on the pad", browsertest.PinPad("1111"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#documents")))
	contains("documents", text("#documents"), "日本生命保険相互会社", "保険料控除証明書", "生命保険料控除証明書")
	if n := count("#documents tbody tr"); n != 1 {
		t.Errorf("%d documents in the box, want 1", n)
	}
	contains("consents", text("#consents"), "日本生命保険相互会社", "日本郵便株式会社", "日本放送協会")
	shot("03-postbox-home")
	do("consents", chromedp.Navigate(url+"/postbox/consents"), chromedp.WaitVisible(css("#consent")))
	shot("03-consents")
	do("back to the box", chromedp.Click(css(`a[href="/postbox/"]`)), chromedp.WaitVisible(css("#documents")))
	do("open the certificate", chromedp.Click(css("#documents tbody a")), chromedp.WaitVisible(css("#report")))
	contains("certificate", text("main"), "日本生命保険相互会社", "96,000円", "酒田　一郎")
	if got := attr("#report [data-indication]", "data-indication"); got != "TOTAL_PASSED" {
		t.Errorf("certificate's indication %q", got)
	}
	if got := attr("#report [data-delegation]", "data-delegation"); got != "PASSED" {
		t.Errorf("certificate's delegation %q", got)
	}
	contains("delegation", text("#report .delegation"), "日本生命保険相互会社", "生田　正人", "酒井　由美", "保険料控除証明書")
	contains("signer", text("#report"), "酒井　由美")
	shot("04-certificate")
	do("in English", chromedp.Navigate(url+"/lang?to=en&back="+attr("#attach", "href")), chromedp.WaitVisible(css("#send")))
	contains("English compose page", text("main"), "Send an application", "Signing password", "Sign and send")
	shot("04-compose-en")
	do("in Japanese", chromedp.Navigate(url+"/lang?to=ja&back=/postbox/"), chromedp.WaitVisible(css("#documents")))
	do("the certificate again", chromedp.Click(css("#documents tbody a")), chromedp.WaitVisible(css("#report")))
	lap("1. login and the certificate")

	// 2. He sends it to 酒田税務署 with a signed application; a wrong signing
	// password first sends nothing and says how many tries are left.
	do("compose", chromedp.Click(css("#attach")), chromedp.WaitVisible(css("#send")))
	do("choose the tax office", chromedp.SetValue(css("#to"), "tax-sakata"))
	if n := count(`input[name="doc"]:checked`); n != 1 {
		t.Errorf("%d documents attached, want the certificate", n)
	}
	shot("05-compose")
	do("wrong password", chromedp.SendKeys(css("#password"), "WRONG1975"), chromedp.Click(css("#send")),
		chromedp.WaitVisible(css("div.flash-error")))
	contains("wrong-password message", text("div.flash-error"), "署名用電子証明書の暗証番号が違います", "残り 4 回")
	if n := count(`input[name="doc"]:checked`); n != 1 {
		t.Errorf("after a wrong password, %d documents still attached, want 1", n)
	}
	shot("06-wrong-password")
	do("sign and send", chromedp.SetValue(css("#to"), "tax-sakata"), chromedp.SendKeys(css("#password"), "SAKATA1975"),
		chromedp.Click(css("#send")), chromedp.WaitVisible(css("#sends")))
	contains("sent message", text("div.flash-ok"), "酒田税務署", "受け付けました")
	if n := count("#sends details.send"); n != 1 {
		t.Errorf("%d sends after one wrong password and one send, want 1", n)
	}
	shot("07-sent")
	await("the submission's receipt", "/postbox/", `#sends details.send[data-to="tax-sakata"][data-state="delivered"]`, 20*time.Second)
	receipt := text(`#sends details.send[data-to="tax-sakata"] .receipt`)
	if receipt == "" {
		t.Error("no receipt number shown for the delivered submission")
	}
	do("open the send", chromedp.Click(css(`#sends details.send[data-to="tax-sakata"] summary`)))
	shot("08-delivered")
	lap("2. compose, sign, deliver")

	// 3. The tax office's staff see it, and its JSON says the same.
	staffLogin("/agency/tax-sakata/inbox/", keys["tax-sakata"], "税務 花子", "09-tax-office")
	do("inbox", chromedp.WaitVisible(css("#inbox")))
	contains("inbox", text("#inbox"), receipt, "酒田　一郎", "TOTAL_PASSED")
	shot("10-tax-inbox")
	href := attr("#inbox tbody a", "href")
	subID := href[strings.LastIndex(href, "/")+1:]
	do("submission", chromedp.Click(css("#inbox tbody a")), chromedp.WaitVisible(css("#summary")))
	if got := text("#overall"); got != "TOTAL_PASSED" {
		t.Errorf("overall %q", got)
	}
	for i := range 2 {
		sel := "#doc-" + strconv.Itoa(i) + " [data-indication]"
		if got := attr(sel, "data-indication"); got != "TOTAL_PASSED" {
			t.Errorf("document %d: %q", i, got)
		}
	}
	if got := attr("#doc-1 [data-delegation]", "data-delegation"); got != "PASSED" {
		t.Errorf("attachment's delegation %q", got)
	}
	contains("attachment's delegation", text("#doc-1 .delegation"), "日本生命保険相互会社", "酒井　由美", "保険料控除証明書")
	contains("bundle check", text("#bundle"), "一致します")
	contains("delivery log", text("#delivery-log"), "queued", "acknowledged", receipt)
	shot("11-tax-submission")
	var sub agency.SubmissionJSON
	webtest.New(t, url).Bearer(keys["tax-sakata"]).Step(webtest.Step{Name: "submission JSON", Path: "/agency/tax-sakata/v1/submissions/" + subID}).JSON(&sub)
	if sub.Indication != "TOTAL_PASSED" || !sub.Passed || !sub.BundleOK || sub.Receipt != receipt || len(sub.Documents) != 2 {
		t.Errorf("submission JSON: %+v", sub)
	}
	for i, d := range sub.Documents {
		if d.Indication != "TOTAL_PASSED" {
			t.Errorf("JSON document %d: %s %s", i, d.Indication, d.SubIndication)
		}
	}
	if len(sub.Documents) == 2 && (sub.Documents[1].Delegation == nil || sub.Documents[1].Delegation.Result != "PASSED" ||
		sub.Documents[1].Delegation.Agent != "酒井　由美") {
		t.Errorf("JSON attachment's delegation: %+v", sub.Documents[1].Delegation)
	}
	lap("3. tax office")

	// 4. He moves: a change notice appears, and he has NHK and 日本郵便 told.
	const newAddress = "山形県酒田市中町一丁目４番１０号"
	mynaplat(t, bin, "jpki", "change-address", "--card", ichiro, "--address", newAddress, "--data", data)
	took := await("the change notice", "/postbox/", "#change-notice", 20*time.Second)
	if took > 12*time.Second {
		t.Errorf("the change notice took %v, want about 10 s at most", took)
	}
	shot("12-change-notice")
	do("open the notice", chromedp.Click(css("#open-notice")), chromedp.WaitVisible(css("#notify")))
	shot("13-notice")
	do("choose NHK and 日本郵便", chromedp.Click(css(`input[name="party"][value="nhk"]`)),
		chromedp.Click(css(`input[name="party"][value="japanpost"]`)),
		chromedp.SendKeys(css("#n-password"), "SAKATA1975"))
	shot("14-notice-chosen")
	do("sign and notify", chromedp.Click(css("#notify")), chromedp.WaitVisible(css("#sends")))
	contains("notified message", text("div.flash-ok"), "日本放送協会", "日本郵便株式会社")
	for _, id := range []string{"nhk", "japanpost"} {
		await("the notice to "+id, "/postbox/", `#sends details.send[data-to="`+id+`"][data-state="delivered"]`, 20*time.Second)
	}
	if n := count(`#sends details.send[data-to="nissay"]`); n != 0 {
		t.Errorf("日本生命 was sent %d notices; he did not choose it", n)
	}
	shot("15-notices-delivered")
	for _, f := range []struct{ id, ref string }{{"nhk", "NHK-06204913"}, {"japanpost", "JP-998-0044"}} {
		staffLogin("/business/"+f.id+"/office/", keys[f.id], "事務 太郎", "16-"+f.id)
		do(f.id+" office", chromedp.WaitVisible(css("#customers")))
		if got := text(`#customers tr[data-ref="` + f.ref + `"] .address`); got != newAddress {
			t.Errorf("%s has address %q, want %q", f.id, got, newAddress)
		}
		contains(f.id+" notices", text("#notices"), f.ref, newAddress)
		shot("17-" + f.id + "-office")
	}
	lap("4. moving notices")

	// 5. 日本生命 (not told) still has the old address; its employee issues
	// another certificate, and it arrives in his box.
	staffLogin("/business/nissay/office/", keys["nissay"], "酒井 由美", "18-nissay")
	do("nissay office", chromedp.WaitVisible(css("#customers")))
	if got := text(`#customers tr[data-ref="NL-1975-0630"] .address`); got == newAddress || !strings.HasPrefix(got, "山形県酒田市") {
		t.Errorf("日本生命's address of 一郎 %q: want the old one", got)
	}
	// The form on a page without the login's message, so that the message
	// waited for is the issue's.
	do("issue", chromedp.Navigate(url+"/business/nissay/office/"), chromedp.WaitVisible(css("#issue-send")),
		chromedp.SetValue(css("#customer"), "NL-1975-0630"), chromedp.SetValue(css("#amount"), "120000"),
		chromedp.SetValue(css("#card"), yumi), chromedp.SendKeys(css("#i-password"), "SAKAI1985"))
	shot("19-nissay-issue")
	do("sign and deliver", chromedp.Click(css("#issue-send")), chromedp.WaitVisible(css("div.flash-ok")))
	issued := text("div.flash-ok")
	contains("issued message", issued, "酒田　一郎 様の私書箱", "120,000円", "届けました")
	docID := regexp.MustCompile(`doc_[0-9a-z]+`).FindString(issued)
	shot("20-nissay-issued")
	do("his box", chromedp.Navigate(url+"/postbox/"), chromedp.WaitVisible(css("#documents")))
	if n := count("#documents tbody tr"); n != 2 {
		t.Errorf("%d documents in the box after the second issue, want 2", n)
	}
	shot("21-postbox-two-certificates")
	do("open the new certificate", chromedp.Click(css(`#documents a[href="/postbox/documents/`+docID+`"]`)), chromedp.WaitVisible(css("#report")))
	contains("the new certificate", text("#content"), "120,000円", "酒田　一郎")
	if got := attr("#report [data-indication]", "data-indication"); got != "TOTAL_PASSED" {
		t.Errorf("the new certificate's indication %q", got)
	}
	shot("22-second-certificate")
	do("who read my box", chromedp.Navigate(url+"/postbox/audit"), chromedp.WaitVisible(css("#audit")))
	contains("audit", text("#audit"), "日本生命保険相互会社")
	shot("23-audit")
	lap("5. second certificate")
}

// startServerLogged is startServer with the server's log kept as a test
// artifact (its path is returned too), for the post box's background work.
func startServerLogged(t *testing.T, bin string, args ...string) (string, string) {
	t.Helper()
	path := filepath.Join(t.ArtifactDir(), "serve.log")
	logFile, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve did not shut down cleanly: %v (log: %s)", err, path)
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("serve did not stop within 15s of SIGINT (log: %s)", path)
		}
		logFile.Close()
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`open (http://\S+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case u := <-urls:
		return u, path
	case <-time.After(30 * time.Second):
		t.Fatalf("serve printed no URL (log: %s)", path)
	}
	return "", ""
}
