package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/demo"
	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/verify"
)

// TestPostboxPDFInBrowser: the demo's 井波 清 opens his post box and finds
// the 保険料控除証明書 日本生命's employee sent him as a PDF her card
// certified and made PAdES B-LTA before it was sent; the box validates it
// with the power of attorney of the party that delivered it, and offers
// the PDF itself. The stored PDF validates with the JPKI centre and the TSA
// out of reach, and a changed DSS or document time-stamp is found.
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
	o["report"] = has(r.text("#report"), "酒井　由美", "B-LTA", "P=1", "署名タイムスタンプ", "日本生命保険相互会社")
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

	// The same PDF and the power that came with it, checked from the
	// command line: with the register of powers TOTAL_PASSED and the
	// delegation in the report; without it INDETERMINATE (exit 1).
	db, err := store.Open(t.Context(), store.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	var pdf, power []byte
	err = db.QueryRowContext(t.Context(), `SELECT data, power FROM postbox_documents WHERE format = 'pades'`).Scan(&pdf, &power)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pdfPath, powerPath := filepath.Join(dir, "kojo.pdf"), filepath.Join(dir, "power.p7m")
	if err := os.WriteFile(pdfPath, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(powerPath, power, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"verify", "--jpki-url", url, "--tsa-url", url, "--power", powerPath,
		"--issuer", demo.Nissay.Number, "--type", "保険料控除証明書", "--json"}
	out, errOut, code := runArgs(t.Context(), append(args, "--delegation-url", url, pdfPath)...)
	var rep verify.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("verify --json: %v\n%s\n%s", err, out, errOut)
	}
	if code != 0 || rep.Indication != verify.TotalPassed || rep.Delegation == nil || rep.Delegation.Result != verify.DelegationPassed ||
		rep.Delegation.Agent != demo.Employee || rep.Certification == nil || rep.Level != "B-LTA" {
		t.Errorf("verify with the register: exit %d, %s/%s, delegation %+v\n%s", code, rep.Indication, rep.SubIndication, rep.Delegation, errOut)
	}
	if _, _, code := runArgs(t.Context(), append(args, pdfPath)...); code != 1 {
		t.Errorf("verify without the register: exit %d, want 1", code)
	}

	// Offline: the anchors as files, the JPKI centre and the TSA nowhere.
	// The signature alone (no --issuer) is TOTAL_PASSED from the DSS; a
	// changed OCSP answer in the DSS or a changed document time-stamp token
	// is found (the document time-stamp no longer covers what it should).
	resp, err := http.Get(url + "/jpki/ca/sign.crt")
	if err != nil {
		t.Fatal(err)
	}
	ca, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	caPath := filepath.Join(dir, "sign-ca.der")
	if err := os.WriteFile(caPath, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	vd, err := cms.DSS(pdf)
	if err != nil || len(vd.OCSPs) != 1 {
		t.Fatalf("the stored PDF's DSS: %v, %d OCSP answers", err, len(vd.OCSPs))
	}
	dssAt := bytes.Index(pdf, vd.OCSPs[0]) + len(vd.OCSPs[0]) - 40 // inside the responder's signature
	tokenAt := bytes.LastIndex(pdf, []byte("/Contents <")) + len("/Contents <") + 300
	dssChanged, tokenChanged := bytes.Clone(pdf), bytes.Clone(pdf)
	dssChanged[dssAt] ^= 1
	tokenChanged[tokenAt] = "10"[min(1, int(tokenChanged[tokenAt]-'0'))] // another hex digit
	for _, tc := range []struct {
		name string
		data []byte
		want verify.Indication
	}{
		{"as stored", pdf, verify.TotalPassed},
		{"DSS changed", dssChanged, verify.Indeterminate},
		{"document time-stamp changed", tokenChanged, verify.Indeterminate},
	} {
		path := filepath.Join(dir, "offline.pdf")
		if err := os.WriteFile(path, tc.data, 0o600); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := runArgs(t.Context(), "verify", "--jpki-url", "http://127.0.0.1:1", "--jpki-ca", caPath,
			"--tsa-root", filepath.Join(data, "tsa", "root.crt"), "--json", path)
		var rep verify.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%s: verify --json: %v\n%s\n%s", tc.name, err, out, errOut)
		}
		if rep.Indication != tc.want || (code == 0) != (tc.want == verify.TotalPassed) ||
			(tc.want == verify.TotalPassed && rep.Level != "B-LTA") {
			t.Errorf("%s offline: exit %d, %s/%s %s, want %s\n%s", tc.name, code, rep.Indication, rep.SubIndication, rep.Level, tc.want, errOut)
		}
	}
}
