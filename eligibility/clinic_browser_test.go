package eligibility

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

// clinicWebServer serves the clinic pages and the batch API behind the
// site's protection, with a batch worker and one provisional check.
func clinicWebServer(t *testing.T) (*Service, string, *httptest.Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db := storetest.SQLite(t)
	s, key := clinicSetup(t, db)
	site, err := web.New(ctx, web.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	// Slow rows, so the page shows the batch running and its script
	// follows the progress.
	w := s.StartBatchWorker(ctx, BatchWorkerConfig{Poll: 50 * time.Millisecond, afterRow: func(string, int) { time.Sleep(400 * time.Millisecond) }})
	t.Cleanup(func() { cancel(); w.Wait() })
	provisional := func(_ context.Context, facility string) ([]ProvisionalCheck, error) {
		if facility != clinicFacility {
			return nil, nil
		}
		return []ProvisionalCheck{{ClientID: "c-1", Terminal: "reception-nihonkai-1", At: day(2026, 11, 24).Add(9 * time.Hour),
			Holder: "酒田　一郎", LastError: "connection refused"}}, nil
	}
	pages, err := s.ClinicPages(ClinicPagesConfig{Site: site, Provisional: provisional, Worker: w})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	site.Routes(mux)
	pages.Routes(mux)
	s.BatchRoutes(mux, w)
	srv := httptest.NewServer(site.Protect(mux))
	t.Cleanup(srv.Close)
	return s, key, srv
}

func TestClinicInBrowser(t *testing.T) {
	s, key, srv := clinicWebServer(t)
	ctx := browsertest.New(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	login := func(k string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/clinic/"), chromedp.WaitVisible(css("#code")),
			chromedp.SendKeys(css("#code"), clinicFacility), chromedp.SendKeys(css("#key"), k),
			chromedp.Click(css("#login")), chromedp.WaitVisible(css(".flash"))); err != nil {
			t.Fatal(err)
		}
	}

	// A wrong key: a clear message, still the form.
	login("facility_wrong")
	if got := text(".flash"); !strings.Contains(got, "施設キーが違います") {
		t.Errorf("flash after a wrong key: %q", got)
	}
	browsertest.Screenshot(t, ctx, "clinic-login-refused")

	login(key)
	if got := text("#provisional"); !strings.Contains(got, "酒田　一郎") || !strings.Contains(got, "reception-nihonkai-1") {
		t.Errorf("provisional checks: %q", got)
	}
	browsertest.Screenshot(t, ctx, "clinic-checks-empty")

	// Upload the mixed list.
	path := filepath.Join(t.TempDir(), "reservations.csv")
	if err := os.WriteFile(path, []byte(clinicMixedCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/clinic/batch"), chromedp.WaitVisible(css("#file")),
		chromedp.SetUploadFiles(css("#file"), []string{path})); err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "clinic-batch-upload")
	if err := chromedp.Do(ctx, chromedp.Click(css("#upload")), chromedp.WaitVisible(css("#batch-progress"))); err != nil {
		t.Fatal(err)
	}
	if got := text("#batch-state"); !strings.Contains(got, "照会しています") {
		t.Errorf("state right after the upload: %q", got)
	}
	browsertest.Screenshot(t, ctx, "clinic-batch-progress")
	// The script polls and reloads the page with the results at 100%.
	if err := chromedp.Do(ctx, chromedp.WaitVisible(css("#results"))); err != nil {
		t.Fatal(err)
	}
	if got := text("#percent"); got != "100" {
		t.Errorf("progress %q%%", got)
	}
	table := text("#results")
	for _, want := range []string{"09:00 酒田様", "有効", "06230012", "30%", "09:30 鳥海様", "無効", "10:00 初診", "該当資格なし", "10:30 誤記", "生年月日"} {
		if !strings.Contains(table, want) {
			t.Errorf("results table lacks %q:\n%s", want, table)
		}
	}
	browsertest.Screenshot(t, ctx, "clinic-batch-results")

	// The CSV, fetched with the browser's session.
	href, err := chromedp.Run(ctx, chromedp.JavascriptAttribute[string](css("#csv"), "href"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(`+jsString(href)+`).then(r => r.arrayBuffer()).then(b => Array.from(new Uint8Array(b).slice(0, 3)).join(",") + "|" + new TextDecoder().decode(b))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "239,187,191|行,予約,") || !strings.Contains(got, "09:30 鳥海様") || !strings.Contains(got, "該当資格なし") {
		t.Errorf("results CSV:\n%s", got)
	}

	// The checks page now lists the three batch checks; then in English.
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/clinic/"), chromedp.WaitVisible(css("#checks"))); err != nil {
		t.Fatal(err)
	}
	if got := text("#checks"); strings.Count(got, "一括照会") != 3 || !strings.Contains(got, "該当資格なし") {
		t.Errorf("checks table:\n%s", got)
	}
	browsertest.Screenshot(t, ctx, "clinic-checks")
	if err := chromedp.Do(ctx, chromedp.Click(css("a.nav.lang")), chromedp.WaitVisible(css(`html[lang="en"]`)), chromedp.WaitVisible(css("#checks"))); err != nil {
		t.Fatal(err)
	}
	if got := text("#checks"); !strings.Contains(got, "Batch pre-check") || !strings.Contains(got, "no coverage found") {
		t.Errorf("checks table in English:\n%s", got)
	}
	browsertest.Screenshot(t, ctx, "clinic-checks-en")
	_ = s
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
