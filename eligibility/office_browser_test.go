package eligibility

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestOfficeInBrowser drives the insurer back office in chromium at the
// kiosk size: a clerk signed in with their card, a coverage added through the form
// (refused first for a bad date, with nothing stored), a coverage ended, a
// job change, and a queued link approved. Screenshots are the test's
// artifacts (go test -artifacts keeps them).
func TestOfficeInBrowser(t *testing.T) {
	ctx := context.Background()
	e := newOfficeEnv(t, storetest.SQLite(t))
	s := e.s
	// ichiro's record, and a second one whose kana the insurer typed with a
	// long vowel mark: linking queues it for a clerk.
	r0, err := s.AddInsured(ctx, insured(officeInsurerA, "100", ichiro, day(2015, 4, 1)))
	if err != nil {
		t.Fatal(err)
	}
	typo := ichiro
	typo.Kana = "サカタ　イチロー"
	family := insured(officeInsurerA, "100", typo, day(2024, 4, 1))
	family.Symbol, family.Relation = "77", "family"
	rTypo, err := s.AddInsured(ctx, family)
	if err != nil {
		t.Fatal(err)
	}
	// The record is a family member's under another number, covered at
	// the same time as r0: approve it as the same person only if the clerk
	// is sure — here the clerk is.
	if _, err := s.Link(ctx, "pid-ichiro", ichiro); err != nil {
		t.Fatal(err)
	}

	b := browsertest.New(t)
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	text := func(sel string) string {
		t.Helper()
		return browsertest.Text(t, b, sel)
	}
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	// The card sign-in at the staff terminal is the staff package's and
	// the terminals' browser test; here the clerk's signed-in session is
	// handed to the browser.
	c := e.web.With(t)
	e.signIn(c, officeInsurerA, clerkA)
	home := InsurerHome(officeInsurerA)
	browsertest.HandOver(t, b, c, e.web.URL("/"))
	do("open the office", chromedp.Navigate(e.web.URL(home)), chromedp.WaitVisible(css("#s-kana")))
	if got := text("#strip-name"); got != "庄内 花子" {
		t.Errorf("the staff strip names %q", got)
	}
	browsertest.Screenshot(t, b, "office-list")

	// Add a coverage, first with an impossible birth date.
	do("open the add form", chromedp.Navigate(e.web.URL(home+"new")), chromedp.WaitVisible(css("#n-name")))
	do("fill the add form",
		chromedp.SendKeys(css("#n-symbol"), "88"),
		chromedp.SendKeys(css("#n-number"), "2468"),
		chromedp.SendKeys(css("#n-name"), "鳥海 花"),
		chromedp.SendKeys(css("#n-kana"), "チョウカイ ハナ"),
		chromedp.SendKeys(css("#n-birth"), "1950-13-40"),
		chromedp.Click(css(`#new-form input[name=sex][value="2"]`)),
		chromedp.SendKeys(css("#n-address"), "山形県酒田市光ケ丘一丁目１番１号"),
		chromedp.SetValue(css("#n-copay"), "10"),
		chromedp.SetValue(css("#n-elderly"), "10"),
		chromedp.SendKeys(css("#n-limit"), "区分ウ"),
		chromedp.SendKeys(css("#n-acquired"), "2025-04-01"),
		chromedp.Click(css(`#new-form button[type=submit]`)),
		chromedp.WaitVisible(css("#summary")))
	if msg := text(".field-error"); !strings.Contains(msg, "2026-04-01 の形") || !strings.Contains(text("#summary"), "何も登録していません") {
		t.Errorf("bad birth date: field %q summary %q", msg, text("#summary"))
	}
	recs, _, err := s.SearchRecords(ctx, Staff{officeInsurerA, "test"}, RecordQuery{Number: "2468"})
	if err != nil || len(recs) != 0 {
		t.Fatalf("after the refused form: %d records stored (%v)", len(recs), err)
	}
	if v, _ := chromedp.Run(b, chromedp.Value(css("#n-name"))); v != "鳥海 花" {
		t.Errorf("the name was not kept: %q", v)
	}
	browsertest.Screenshot(t, b, "office-add-refused")
	do("add", chromedp.SetValue(css("#n-birth"), "1950-12-03"), chromedp.Click(css(`#new-form button[type=submit]`)),
		chromedp.WaitVisible(css("#record")))
	if msg := text(".flash"); !strings.Contains(msg, "資格を登録しました") {
		t.Errorf("add flash %q", msg)
	}
	if got := text("#record"); !strings.Contains(got, "昭和25年12月3日") || !strings.Contains(got, "区分ウ") || !strings.Contains(got, "未紐付け") {
		t.Errorf("the new record's page: %q", got)
	}
	browsertest.Screenshot(t, b, "office-record-added")

	// End it.
	do("end",
		chromedp.Click(css(`details.action summary`)),
		chromedp.WaitVisible(css("#e-lost")),
		chromedp.SendKeys(css("#e-lost"), "2026-12-01"),
		chromedp.Click(css(`#end-form button[type=submit]`)),
		// The page before had a flash too: wait for what only the ended
		// record shows.
		chromedp.WaitVisible(css("#lost .badge")))
	if got := text("#lost"); !strings.Contains(got, "2026-12-01") || !strings.Contains(got, "令和8年12月1日") {
		t.Errorf("after ending: %q", got)
	}
	browsertest.Screenshot(t, b, "office-record-ended")

	// A job change of ichiro's record to another insurer on 2026-10-01.
	do("open ichiro's record", chromedp.Navigate(e.web.URL(home+"records/"+r0.ID)), chromedp.WaitVisible(css("#record")))
	do("job change",
		chromedp.Click(css(`details.action:nth-of-type(2) summary`)),
		chromedp.WaitVisible(css("#j-insurer")),
		chromedp.SendKeys(css("#j-insurer"), "06230012"),
		chromedp.SendKeys(css("#j-symbol"), "5"),
		chromedp.SendKeys(css("#j-number"), "900"),
		chromedp.SetValue(css("#j-copay"), "30"),
		chromedp.SendKeys(css("#j-acquired"), "2026-10-01"),
		chromedp.Click(css(`#job-form button[type=submit]`)),
		chromedp.WaitVisible(css("#lost .badge")))
	if msg := text(".flash"); !strings.Contains(msg, "転職を記録しました") {
		t.Fatalf("job change flash %q", msg)
	}
	if got := text("#lost"); !strings.Contains(got, "2026-10-01") {
		t.Errorf("the old coverage after the job change: %q", got)
	}
	ans, err := s.Lookup(ctx, CardKey{Insurer: "06230012", Symbol: "5", Number: "900", BirthDate: ichiro.BirthDate}, day(2026, 11, 24))
	if err != nil || ans.Validity != Valid {
		t.Errorf("the new coverage: %+v %v", ans, err)
	}
	browsertest.Screenshot(t, b, "office-job-changed")

	// The queue: the record with the kana typo, the kana marked.
	do("open the queue", chromedp.Navigate(e.web.URL(home+"queue")), chromedp.WaitVisible(css(".queue-item")))
	if got := text(".queue-item tr.differs"); !strings.Contains(got, "サカタ　イチロー") || !strings.Contains(got, "サカタ　イチロウ") || !strings.Contains(got, "不一致") {
		t.Errorf("the differing row: %q", got)
	}
	if n, _ := chromedp.Run(b, chromedp.Evaluate[int](`document.querySelectorAll(".queue-item tr.differs").length`)); n != 1 {
		t.Errorf("%d rows marked, want only the kana", n)
	}
	browsertest.Screenshot(t, b, "office-queue")
	do("approve", chromedp.Click(css(`.queue-item button[value=approve]`)), chromedp.WaitVisible(css("#queue-empty")))
	if msg := text(".flash"); !strings.Contains(msg, "承認しました") {
		t.Errorf("approve flash %q", msg)
	}
	browsertest.Screenshot(t, b, "office-queue-approved")
	var pid string
	if err := s.db.QueryRowContext(ctx, qLinkOf, rTypo.ID).Scan(&pid); err != nil || pid != "pid-ichiro" {
		t.Errorf("after approval the record is linked to %q (%v)", pid, err)
	}
	log, err := s.AccessLog(ctx, officeInsurerA, 100)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range log {
		seen[a.Action] = true
	}
	for _, want := range []string{ActionSearch, ActionAddInsured, ActionViewRecord, ActionEndCoverage, ActionChangeJob, ActionViewQueue, ActionApprove} {
		if !seen[want] {
			t.Errorf("no %s row in the access log", want)
		}
	}
}
