package seal

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mynaplat/mynaplat/internal/testutil"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

type webEnv struct {
	s     *Service
	a     *Authority
	pages *Pages
	web   *webtest.Client // a browser that follows redirects
}

func newWebEnv(t *testing.T, db *store.DB) *webEnv {
	t.Helper()
	ctx := context.Background()
	a := testAuthority(t)
	s := newService(t, db, a)
	site, err := web.New(ctx, web.Options{DB: db, Now: s.now})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPages(site, s)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	site.Routes(mux)
	p.Routes(mux)
	mux.Handle("GET /{$}", site.Home(nil, p.Links()))
	return &webEnv{s: s, a: a, pages: p, web: webtest.Start(t, site.Protect(mux)).Follow(true)}
}

// verifyPage loads /verify, as a browser does before it posts the form.
func (e *webEnv) verifyPage(t *testing.T) *webtest.Client {
	t.Helper()
	c := e.web.With(t)
	c.Step(webtest.Step{Name: "open /verify", Path: "/verify", WantContains: []string{`name="csrf"`}})
	return c
}

func (e *webEnv) postQR(t *testing.T, text string) (int, string) {
	t.Helper()
	r := e.verifyPage(t).PostForm("/verify", url.Values{"qr": {text}})
	return r.Status, r.Body
}

func (e *webEnv) postPDF(t *testing.T, pdf []byte) (int, string) {
	t.Helper()
	r := e.verifyPage(t).PostMultipart("/verify", nil, webtest.File{Field: "pdf", Name: "certificate.pdf", Data: pdf})
	return r.Status, r.Body
}

func (e *webEnv) api(t *testing.T, text string) (int, map[string]any) {
	t.Helper()
	r := e.web.With(t).PostJSON("/verify/v1", map[string]string{"qr": text})
	var out map[string]any
	r.JSON(&out)
	return r.Status, out
}

// TestRoundTrip is the whole path: register a certificate, draw its QR into
// a Japanese PDF with the 「複写」 pattern, seal-sign it (pdfsig: valid), read
// the QR back from the rendered page (pdftoppm + gozxing) and verify it at
// /verify, by text, by PDF upload and by the API; then a tampered PDF and a
// forged QR are refused.
func TestRoundTrip(t *testing.T) {
	pdftoppm := testutil.NeedProgram(t, "pdftoppm", "poppler-utils")
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newWebEnv(t, db)
		iss, err := e.s.Issue(ctx, IssueRequest{Municipality: sakata, Number: "R08-000123", Type: "住民票の写し", Content: sampleContent})
		if err != nil {
			t.Fatal(err)
		}
		signed, err := e.s.SignPDF(context.Background(), sakata, samplePDF(t, sampleContent, iss.QRPNG))
		if err != nil {
			t.Fatal(err)
		}
		if out, ok := pdfsig(t, signed); !ok {
			t.Fatalf("pdfsig:\n%s", out)
		}
		if _, err := VerifyPDF(signed, e.a.Roots(), nil); err != nil {
			t.Fatalf("VerifyPDF: %v", err)
		}
		text, err := ReadQRFromPDF(ctx, pdftoppm, signed)
		if err != nil {
			t.Fatal(err)
		}
		if text != iss.QRText {
			t.Fatalf("QR read from the page %q, want %q", text, iss.QRText)
		}

		status, page := e.postQR(t, text)
		if status != http.StatusOK || !strings.Contains(page, "この証明書は真正です") || !strings.Contains(page, "山形県酒田市本町二丁目2番45号") {
			t.Errorf("POST /verify: %d\n%s", status, page)
		}
		status, page = e.postPDF(t, signed)
		if status != http.StatusOK || !strings.Contains(page, "この証明書は真正です") || !strings.Contains(page, "PDFの電子署名（公印）は有効です") {
			t.Errorf("POST /verify with the PDF: %d\n%s", status, page)
		}
		status, ans := e.api(t, text)
		if status != http.StatusOK || ans["result"] != "genuine" || ans["content"] != sampleContent || ans["municipality_name_ja"] != "酒田市" {
			t.Errorf("POST /verify/v1: %d %v", status, ans)
		}

		t.Run("tampered PDF", func(t *testing.T) {
			tampered := bytes.Clone(signed)
			i := bytes.Index(tampered, []byte("stream\n"))
			tampered[i+20] ^= 0x01
			if out, ok := pdfsig(t, tampered); ok {
				t.Errorf("pdfsig calls a tampered PDF valid:\n%s", out)
			}
			status, page := e.postPDF(t, tampered)
			if !strings.Contains(page, "PDFは署名の後に変更されています") {
				t.Errorf("upload of a tampered PDF: %d\n%s", status, page)
			}
		})
		t.Run("forged QR", func(t *testing.T) {
			f := *iss.Payload
			f.Digest = ContentDigest(strings.Replace(sampleContent, "酒田 一郎", "鳥海 二郎", 1))
			status, page := e.postQR(t, f.Text())
			if status != http.StatusUnprocessableEntity || !strings.Contains(page, "QRコードの署名が正しくありません") || strings.Contains(page, "本町") {
				t.Errorf("forged QR: %d\n%s", status, page)
			}
			status, ans := e.api(t, f.Text())
			if status != http.StatusUnprocessableEntity || ans["code"] != string(CodeBadSignature) || ans["message_en"] == "" {
				t.Errorf("forged QR by API: %d %v", status, ans)
			}
		})
		t.Run("refusals in English", func(t *testing.T) {
			status, page := e.postQR(t, "hello")
			if status != http.StatusBadRequest || !strings.Contains(page, "QRコードとして読み取れませんでした") {
				t.Errorf("malformed: %d\n%s", status, page)
			}
			e.web.With(t).Step(webtest.Step{Name: "English page", Path: "/verify?lang=en", WantContains: []string{"Verify a certificate"}})
			status, ans := e.api(t, "hello")
			if status != http.StatusBadRequest || ans["message_ja"] == "" || ans["message_en"] == "" {
				t.Errorf("API malformed: %d %v", status, ans)
			}
		})
	})
}
