package anchors

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/web"
)

// Prefix is the path under which every role serves its anchors.
const Prefix = "/pki/"

// The anchors' ids: their file names under Prefix.
const (
	JPKIAuth = "jpki-auth" // JPKI user authentication CA (利用者証明用)
	JPKISign = "jpki-sign" // JPKI signing CA (署名用)
	Seal     = "seal"      // seal CA of the kiosk certificates (公印)
	TSA      = "tsa-root"  // time-stamp authority's root
	CorpReg  = "corpreg"   // corporate registry's CA (商業登記)
)

// Anchor is one trust anchor: what it is and which role serves it.
type Anchor struct {
	ID             string
	NameJA, NameEN string
	// Role is the mynaplat serve role that holds the CA and serves it.
	Role string
	// UseJA, UseEN say what a verifier checks with it.
	UseJA, UseEN string
}

// Catalog is every anchor of the platform, in the order the page lists
// them; role names are those of mynaplat serve --roles.
func Catalog() []Anchor {
	return []Anchor{
		{JPKIAuth, "公的個人認証 利用者証明用認証局", "JPKI user authentication CA", "jpki",
			"マイナンバーカードの利用者証明用電子証明書（ログイン・本人確認）", "the card's authentication certificates (log-in, identity checks)"},
		{JPKISign, "公的個人認証 署名用認証局", "JPKI signing CA", "jpki",
			"マイナンバーカードの署名用電子証明書（電子署名・申請）", "the card's signing certificates (signatures, submissions)"},
		{Seal, "公印認証局（コンビニ交付の証明書）", "Seal CA (certificates printed at kiosks)", "jlis",
			"市区町村がコンビニ交付の証明書 PDF に付ける電子公印", "the towns' electronic seals on the certificates printed at kiosks"},
		{TSA, "時刻認証局 ルート", "Time-stamp authority root", "tsa",
			"署名とPDFのタイムスタンプ（RFC 3161）", "the time-stamps (RFC 3161) in signatures and PDFs"},
		{CorpReg, "商業登記認証局", "Corporate registry CA", "corpreg",
			"法人の代表者の電子証明書（電子委任状・政府調達）", "representatives' certificates (powers of attorney, procurement)"},
	}
}

// ByID is the catalog's anchor id; false if there is none.
func ByID(id string) (Anchor, bool) {
	for _, a := range Catalog() {
		if a.ID == id {
			return a, true
		}
	}
	return Anchor{}, false
}

// DERPath and PEMPath are where an anchor is served.
func DERPath(id string) string { return Prefix + id + ".crt" }
func PEMPath(id string) string { return Prefix + id + ".pem" }

// Serve registers GET /pki/{id}.crt (DER) and GET /pki/{id}.pem (PEM) for
// cert, the anchor id; the role that holds the CA calls it. Verifiers may
// keep an anchor for a day: it changes only when its CA is made anew.
func Serve(mux *http.ServeMux, id string, cert *x509.Certificate) {
	der := cert.Raw
	pemText := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	serve := func(ctype string, body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("Cache-Control", "public, max-age=86400")
			w.Write(body)
		}
	}
	mux.HandleFunc("GET "+DERPath(id), serve("application/pkix-cert", der))
	mux.HandleFunc("GET "+PEMPath(id), serve("application/x-pem-file", pemText))
}

// Source is an anchor of the trust list and the base URL of the role that
// serves it.
type Source struct {
	Anchor
	BaseURL string
}

// Entry is one anchor of the trust list.
type Entry struct {
	ID     string `json:"id"`
	NameJA string `json:"name_ja"`
	NameEN string `json:"name_en"`
	Role   string `json:"role"`
	UseJA  string `json:"use_ja"`
	UseEN  string `json:"use_en"`
	// URL is the DER certificate, PEMURL the same in PEM.
	URL    string `json:"url"`
	PEMURL string `json:"pem_url"`
	// SHA256 is the SHA-256 fingerprint of the DER certificate, in lower
	// case hex.
	SHA256    string    `json:"sha256,omitempty"`
	Subject   string    `json:"subject,omitempty"`
	NotBefore time.Time `json:"not_before,omitzero"`
	NotAfter  time.Time `json:"not_after,omitzero"`
	// Error says why the anchor could not be read from its role now.
	Error string `json:"error,omitempty"`
}

// Fingerprint is SHA256 as openssl x509 -fingerprint prints it.
func (e Entry) Fingerprint() string {
	var b strings.Builder
	for i := 0; i+1 < len(e.SHA256); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strings.ToUpper(e.SHA256[i : i+2]))
	}
	return b.String()
}

// List is the trust list: /pki/trust-list.json.
type List struct {
	// Version is this format's: 1.
	Version int       `json:"version"`
	Updated time.Time `json:"updated"`
	Anchors []Entry   `json:"anchors"`
}

// Lister reads the anchors of its sources from their roles and makes the
// list, the page and the JSON of it.
type Lister struct {
	sources []Source
	api     *httpapi.Client
	now     func() time.Time
	log     *slog.Logger
	pages   *web.Pages
}

// NewLister parses the page and reads sources with hc (a client with a
// timeout, httpapi.NewHTTPClient).
func NewLister(site *web.Site, sources []Source, hc *http.Client, now func() time.Time, logger *slog.Logger) (*Lister, error) {
	pages, err := site.Parse(templates, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("anchors: pages: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Lister{sources: sources, now: now, log: logger, pages: pages,
		api: &httpapi.Client{Service: "anchors", HTTP: hc, MaxBody: 64 << 10}}, nil
}

// List reads every source's certificate now, all at once. An anchor that
// cannot be read is listed with its Error and no fingerprint: a verifier
// must not trust what it has not seen.
func (l *Lister) List(ctx context.Context) List {
	out := List{Version: 1, Updated: l.now().UTC().Truncate(time.Second), Anchors: make([]Entry, len(l.sources))}
	var wg sync.WaitGroup
	for i, s := range l.sources {
		base := strings.TrimRight(s.BaseURL, "/")
		e := Entry{ID: s.ID, NameJA: s.NameJA, NameEN: s.NameEN, Role: s.Role, UseJA: s.UseJA, UseEN: s.UseEN,
			URL: base + DERPath(s.ID), PEMURL: base + PEMPath(s.ID)}
		wg.Go(func() {
			if err := l.read(ctx, &e); err != nil {
				l.log.WarnContext(ctx, "anchors: cannot read an anchor", "id", e.ID, "url", e.URL, "err", err)
				e.Error = err.Error()
			}
			out.Anchors[i] = e
		})
	}
	wg.Wait()
	return out
}

func (l *Lister) read(ctx context.Context, e *Entry) error {
	resp, err := l.api.Do(ctx, httpapi.Request{Method: http.MethodGet, Path: e.URL})
	if err != nil {
		return err
	}
	cert, err := x509.ParseCertificate(resp.Body)
	if err != nil {
		return fmt.Errorf("anchors: %s: %w", e.URL, err)
	}
	if !cert.IsCA {
		return fmt.Errorf("anchors: %s is no CA certificate", e.URL)
	}
	sum := sha256.Sum256(cert.Raw)
	e.SHA256, e.Subject = hex.EncodeToString(sum[:]), cert.Subject.String()
	e.NotBefore, e.NotAfter = cert.NotBefore.UTC(), cert.NotAfter.UTC()
	return nil
}
