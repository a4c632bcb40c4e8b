package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/agency"
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
	r := newFlowRun(t, sameURL(bin, data, url))
	r.log = serverLog
	step := time.Now()
	lap := func(what string) {
		t.Logf("%s: %v", what, time.Since(step).Round(time.Millisecond))
		step = time.Now()
	}
	shot, do, text, attr, count := r.shot, r.do, r.text, r.attr, r.count
	contains := func(what, got string, wants ...string) {
		t.Helper()
		if h := has(got, wants...); h != "yes" {
			t.Errorf("%s %s", what, h)
		}
	}
	await := func(what, path, sel string, limit time.Duration) time.Duration {
		t.Helper()
		return r.await(what, url+path, sel, limit)
	}
	staffLogin := func(path, holder, shotName string) {
		t.Helper()
		r.staffLogin(url, path, holder, shotName)
	}

	// 1–3: he logs in, opens the certificate, sends it to the tax office,
	// whose staff see it.
	postboxFlow(t, r)
	keys, receipt, subID := r.vars, r.vars["receipt"], r.vars["submission"]
	lap("1–3. login, the certificate, the send, the tax office's inbox")
	// The tax office's JSON says the same.
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
	for _, f := range []struct{ id, ref, staff string }{{"nhk", "NHK-06204913", "平田　直子"}, {"japanpost", "JP-998-0044", "松山　健司"}} {
		staffLogin("/business/"+f.id+"/office/", f.staff, "16-"+f.id)
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
	staffLogin("/business/nissay/office/", "八幡　恵", "18-nissay")
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
