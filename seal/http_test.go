package seal

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/mynaplat/mynaplat/internal/testutil"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

type webEnv struct {
	s      *Service
	a      *Authority
	srv    *httptest.Server
	client *http.Client
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
	srv := httptest.NewServer(site.Protect(mux))
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	return &webEnv{s: s, a: a, srv: srv, client: &http.Client{Jar: jar}}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (e *webEnv) csrf(t *testing.T) string {
	t.Helper()
	resp, err := e.client.Get(e.srv.URL + "/verify")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := csrfRE.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no CSRF token on /verify:\n%s", b)
	}
	return html.UnescapeString(string(m[1]))
}

func (e *webEnv) postQR(t *testing.T, text string) (int, string) {
	t.Helper()
	resp, err := e.client.PostForm(e.srv.URL+"/verify", url.Values{"qr": {text}, "csrf": {e.csrf(t)}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *webEnv) postPDF(t *testing.T, pdf []byte) (int, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", e.csrf(t))
	fw, _ := mw.CreateFormFile("pdf", "certificate.pdf")
	fw.Write(pdf)
	mw.Close()
	resp, err := e.client.Post(e.srv.URL+"/verify", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *webEnv) api(t *testing.T, text string) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"qr": text})
	resp, err := e.client.Post(e.srv.URL+"/verify/v1", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
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
		signed, err := e.s.SignPDF(sakata, samplePDF(t, sampleContent, iss.QRPNG))
		if err != nil {
			t.Fatal(err)
		}
		if out, ok := pdfsig(t, signed); !ok {
			t.Fatalf("pdfsig:\n%s", out)
		}
		if _, err := VerifyPDF(signed, e.a.Roots()); err != nil {
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
			resp, err := e.client.Get(e.srv.URL + "/verify?lang=en")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(b), "Verify a certificate") {
				t.Errorf("English page:\n%s", b)
			}
			status, ans := e.api(t, "hello")
			if status != http.StatusBadRequest || ans["message_ja"] == "" || ans["message_en"] == "" {
				t.Errorf("API malformed: %d %v", status, ans)
			}
		})
	})
}
