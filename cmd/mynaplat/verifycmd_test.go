package main

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signintech/gopdf"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/seal"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/tsa"
	"github.com/mynaplat/mynaplat/verify"
	"github.com/mynaplat/mynaplat/wareki"
)

// TestVerifyExtendOffline: "mynaplat verify --extend" makes a card-signed
// PDF B-LTA against a running JPKI centre and TSA; with both gone and the
// anchors given as files, the extended PDF still validates (exit 0) and
// the B-T original does not (exit 1, INDETERMINATE).
func TestVerifyExtendOffline(t *testing.T) {
	ctx := t.Context()
	centre, err := jpki.Open(ctx, jpki.Config{DB: storetest.SQLite(t), Dir: t.TempDir(), BaseURL: "http://jpki.test", Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	cards, err := card.NewStore(t.TempDir(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cards.Create(card.Spec{AuthPIN: "1111", SignPIN: "SAKATA1975", TextPIN: "1111", MyNumber: "123456789018",
		Name: "酒田　一郎", Address: "山形県酒田市本町二丁目２番４５号", BirthDate: "19750630", Sex: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := centre.IssueCard(ctx, jpki.Resident{Name: "酒田　一郎", Kana: "サカタ　イチロウ",
		BirthDate: time.Date(1975, 6, 30, 0, 0, 0, 0, wareki.JST()), Sex: jpki.Male,
		Address: "山形県酒田市本町二丁目２番４５号", Municipality: "062049"}, c); err != nil {
		t.Fatal(err)
	}
	keys, err := tsa.LoadOrCreate(t.TempDir(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	stamper := tsa.New(keys, time.Now, nil)
	mux := http.NewServeMux()
	centre.Routes(mux)
	mux.Handle("POST /tsa", stamper.Handler())
	mux.HandleFunc("GET "+tsaRootPath, func(w http.ResponseWriter, _ *http.Request) { w.Write(keys.Root.Raw) })
	srv := httptest.NewServer(centre.Wrap(mux))
	defer srv.Close()

	var p gopdf.GoPdf
	p.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4})
	p.AddPage()
	p.RectFromUpperLeftWithStyle(100, 100, 200, 120, "D")
	in, err := p.GetBytesPdfReturnErr()
	if err != nil {
		t.Fatal(err)
	}
	var bt []byte
	err = terminal.WithSigner(c, "SAKATA1975", func(cert *x509.Certificate, s crypto.Signer) error {
		bt, err = cms.SignPDF(ctx, in, cms.PDFOptions{SignOptions: cms.SignOptions{Signer: s, Cert: cert, Stamper: stamper},
			Name: "Sakata Ichiro", Reason: "Application", When: time.Now()})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	btPath, ltaPath := write("bt.pdf", bt), filepath.Join(dir, "lta.pdf")
	out, errOut, code := runArgs(ctx, "verify", "--jpki-url", srv.URL, "--tsa-url", srv.URL, "--extend", "--out", ltaPath, btPath)
	if code != 0 || !strings.Contains(out, "level: PAdES B-LTA") {
		t.Fatalf("verify --extend: exit %d\n%s\n%s", code, out, errOut)
	}

	caPath := write("jpki-sign-ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: centre.CA(jpki.Sign).Raw}))
	rootPath := write("tsa-root.der", keys.Root.Raw)
	srv.Close() // the centre's OCSP responder and the TSA are gone
	offline := func(path string) (verify.Report, int, string) {
		out, errOut, code := runArgs(ctx, "verify", "--jpki-url", srv.URL, "--jpki-ca", caPath, "--tsa-root", rootPath, "--json", path)
		var r verify.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("verify --json: %v\n%s\n%s", err, out, errOut)
		}
		return r, code, errOut
	}
	if r, code, errOut := offline(ltaPath); code != 0 || r.Indication != verify.TotalPassed || r.Level != "B-LTA" {
		t.Errorf("B-LTA offline: exit %d, %s/%s %s\n%s", code, r.Indication, r.SubIndication, r.Level, errOut)
	}
	if r, code, _ := offline(btPath); code != 1 || r.Indication != verify.Indeterminate {
		t.Errorf("B-T offline: exit %d, %s/%s, want exit 1 and INDETERMINATE", code, r.Indication, r.SubIndication)
	}

	// A kiosk certificate sealed B-LTA, with the seal CA given as a file.
	auth, err := seal.OpenAuthority(filepath.Join(dir, "seal"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	s, err := auth.Seal(seal.Municipality{Code: "062049", NameJA: "酒田市", NameEN: "Sakata City"})
	if err != nil {
		t.Fatal(err)
	}
	crl, err := auth.CRL()
	if err != nil {
		t.Fatal(err)
	}
	tsaRoots := x509.NewCertPool()
	tsaRoots.AddCert(keys.Root)
	sealed, err := seal.SignPDFLongTerm(ctx, in, s.Signer, s.Cert, s.Chain, time.Now(),
		seal.LongTerm{Stamper: stamper, TSARoots: tsaRoots, CRL: crl, Archive: true})
	if err != nil {
		t.Fatal(err)
	}
	sealedPath := write("juminhyo.pdf", sealed)
	out, errOut, code = runArgs(ctx, "verify", "--jpki-url", srv.URL, "--jpki-ca", caPath, "--tsa-root", rootPath,
		"--seal-ca", filepath.Join(dir, "seal", "ca.crt"), sealedPath)
	if code != 0 || !strings.Contains(out, "TOTAL_PASSED") || !strings.Contains(out, "level: PAdES B-LTA") {
		t.Errorf("a sealed B-LTA PDF offline: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, _, code := runArgs(ctx, "verify", "--jpki-url", srv.URL, "--jpki-ca", caPath, "--tsa-root", rootPath, sealedPath); code != 1 {
		t.Errorf("a sealed PDF without --seal-ca: exit %d, want 1", code)
	}

	// The other two inputs, and the HTML form (issue 18's report): a
	// time-stamp token on its own passes offline; a CMS signature needs
	// the responder, which is gone (INDETERMINATE, exit 1).
	sum := sha256.Sum256([]byte("a document"))
	token, err := stamper.Stamp(ctx, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	var signedCMS []byte
	err = terminal.WithSigner(c, "SAKATA1975", func(cert *x509.Certificate, s crypto.Signer) error {
		signedCMS, err = cms.Sign(ctx, []byte("申告書"), cms.SignOptions{Signer: s, Cert: cert, Stamper: stamper})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		html       bool
		code       int
		wants      []string
	}{
		{"token", write("doc.tst", token), false, 0, []string{"TOTAL_PASSED", "format: timestamp", "time-stamp (token)", hex.EncodeToString(sum[:])}},
		{"cms, responder gone", write("app.p7s", signedCMS), false, 1, []string{"INDETERMINATE / TRY_LATER", "format: cms", "time-stamp (signature)", "chain[1]"}},
		{"html", ltaPath, true, 0, []string{"<!DOCTYPE html>", `data-indication="TOTAL_PASSED"`, "文書タイムスタンプ", `data-source="dss-ocsp"`}},
	} {
		args := []string{"verify", "--jpki-url", srv.URL, "--jpki-ca", caPath, "--tsa-root", rootPath, tc.path}
		if tc.html {
			args = append(args[:len(args)-1], "--html", tc.path)
		}
		out, errOut, code := runArgs(ctx, args...)
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s\n%s", tc.name, code, tc.code, out, errOut)
		}
		for _, w := range tc.wants {
			if !strings.Contains(out, w) {
				t.Errorf("%s: the report lacks %q:\n%s", tc.name, w, out)
			}
		}
	}
}
