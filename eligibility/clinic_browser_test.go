package eligibility

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/staff/stafftest"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

// clinicWebServer serves the clinic pages and the batch API behind the
// site's protection, with a batch worker, one provisional check, and the
// facility's staff member 飯森 舞 (platform ID clinicClerk) and another
// facility's in the staff directory.
func clinicWebServer(t *testing.T) (*Service, string, *httptest.Server, *clinicStaff) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db := storetest.SQLite(t)
	s, key := clinicSetup(t, db)
	if _, err := s.AddFacility(ctx, otherFacility, "酒田市立八幡病院"); err != nil {
		t.Fatal(err)
	}
	site, err := web.New(ctx, web.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	st := &clinicStaff{iss: stafftest.NewIssuer(t), at: time.Now()}
	now := func() time.Time { return st.at }
	dir := stafftest.Directory(t, db, now)
	stafftest.Grant(t, dir, staff.Grant{PlatformID: clinicClerk, Name: "飯森 舞", Office: ClinicOffice(clinicFacility),
		Role: staff.ClinicStaff, StaffNumber: "H-01"})
	stafftest.Grant(t, dir, staff.Grant{PlatformID: otherClerk, Name: "八幡 次郎", Office: ClinicOffice(otherFacility),
		Role: staff.ClinicStaff, StaffNumber: "H-02"})
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
	gate, err := staff.NewOfficeGate(staff.GateConfig{Site: site, Directory: dir, Keys: st.iss.Keys, Desk: "/staffdesk/test/", Now: now}, pages.StaffOffice())
	if err != nil {
		t.Fatal(err)
	}
	pages.SetStaff(gate)
	mux := http.NewServeMux()
	site.Routes(mux)
	pages.Routes(mux)
	s.BatchRoutes(mux, w)
	srv := httptest.NewServer(site.Protect(mux))
	t.Cleanup(srv.Close)
	return s, key, srv, st
}

// The test facilities' staff.
const (
	otherFacility = "0611000027"
	clinicClerk   = "pid-clinic-clerk"
	otherClerk    = "pid-other-clerk"
)

// clinicStaff signs staff in at a test server's clinic pages.
type clinicStaff struct {
	iss *stafftest.Issuer
	at  time.Time
}

// signIn signs c in at facility's back office as platformID, with a card
// login at the staff terminal.
func (st *clinicStaff) signIn(c *webtest.Client, facility, platformID string) {
	st.iss.SignInAs(c, ClinicHome(facility), platformID, st.at)
}

// clinicRoutes are every route of facility's back office behind the gate.
func clinicRoutes(facility, batch string) []webtest.Step {
	home := ClinicHome(facility)
	return []webtest.Step{
		{Name: "the checks", Path: home},
		{Name: "the batches", Path: home + "batch"},
		{Name: "an upload", Path: home + "batch", Form: url.Values{"file": {clinicMixedCSV}}},
		{Name: "a batch", Path: home + "batch/" + batch},
		{Name: "its status", Path: home + "batch/" + batch + "/status"},
		{Name: "its results", Path: home + "batch/" + batch + "/results.csv"},
	}
}

// TestClinicRoutesNeedStaff: without a staff session, and with another
// facility's staff member signed in, every route of the back office sends
// a GET to the sign-in (303) and refuses anything else (403), showing
// nothing of the facility's checks or batches.
func TestClinicRoutesNeedStaff(t *testing.T) {
	s, _, srv, st := clinicWebServer(t)
	b, err := s.CreateBatch(context.Background(), clinicFacility, "r.csv", []byte(clinicMixedCSV))
	if err != nil {
		t.Fatal(err)
	}
	try := func(c *webtest.Client) {
		t.Helper()
		stafftest.NeedStaff(t, c, ClinicHome(clinicFacility), clinicRoutes(clinicFacility, b.ID), "酒田　一郎", "酒田様", "r.csv")
	}
	try(webtest.New(t, srv.URL))
	c := webtest.New(t, srv.URL)
	st.signIn(c, otherFacility, otherClerk)
	c.Step(webtest.Step{Name: "their own office", Path: ClinicHome(otherFacility), WantContains: []string{"八幡 次郎"}})
	try(c)
	c.Step(webtest.Step{Name: "an unknown facility", Path: ClinicHome("0000000000"), WantStatus: http.StatusNotFound})
	// The sample and the script hold no data and need no sign-in.
	c.Step(webtest.Step{Name: "the sample", Path: "/clinic/batch/sample.csv", WantContains: []string{"保険者番号"}})
	if bs, err := s.Batches(context.Background(), clinicFacility, 10); err != nil || len(bs) != 1 {
		t.Errorf("batches after refusals: %d %v", len(bs), err)
	}
}

func TestClinicInBrowser(t *testing.T) {
	_, _, srv, st := clinicWebServer(t)
	ctx := browsertest.New(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	text := func(sel string) string { t.Helper(); return browsertest.Text(t, ctx, sel) }
	// The card sign-in at the staff terminal is the staff package's and
	// the terminals' browser test; here the signed-in session is handed
	// to the browser.
	c := webtest.New(t, srv.URL)
	st.signIn(c, clinicFacility, clinicClerk)
	browsertest.HandOver(t, ctx, c, srv.URL)
	home := srv.URL + ClinicHome(clinicFacility)
	if err := chromedp.Do(ctx, chromedp.Navigate(home), chromedp.WaitVisible(css("#provisional"))); err != nil {
		t.Fatal(err)
	}
	if got := text("#strip-name"); got != "飯森 舞" {
		t.Errorf("the staff strip names %q", got)
	}
	if got := text("#provisional"); !strings.Contains(got, "酒田　一郎") || !strings.Contains(got, "reception-nihonkai-1") {
		t.Errorf("provisional checks: %q", got)
	}
	browsertest.Screenshot(t, ctx, "clinic-checks-empty")

	// Upload the mixed list.
	path := filepath.Join(t.TempDir(), "reservations.csv")
	if err := os.WriteFile(path, []byte(clinicMixedCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(home+"batch"), chromedp.WaitVisible(css("#file")),
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
	if err := chromedp.Do(ctx, chromedp.Navigate(home), chromedp.WaitVisible(css("#checks"))); err != nil {
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
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
