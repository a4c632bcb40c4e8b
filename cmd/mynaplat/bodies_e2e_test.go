package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/demo"
	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/procure/body"
	"github.com/mynaplat/mynaplat/sealedbid"
)

// TestBodyOfficersPublishInBrowser: in the demo, 関東地方整備局's two
// contracting officers each sign in with their own card at the staff
// terminal and find their opening passphrase set (the demo set it); then the
// first publishes a tender naming both (2 of 2). The office page shows the
// tender with its opening certificate's fingerprint, the public page and
// the JSON for the desk show the same fingerprint and not the estimate, and
// the body's Atom feed carries it; a sealed bid posted as the desk posts
// it is received and shows, encrypted, in the office. Then the opening
// (docs/procurement.md §5.6): a second tender with a deadline a minute or
// two away gets a bid that is sealed but not signed; after the deadline
// the second officer enters her opening passphrase (one of two: it waits
// in memory), signs out, the first signs in on his own session and enters
// his: the tender is opened, and its public page shows 不落 with the bid's
// reason (bad_signature). Bids signed with a card and checked against
// powers and qualifications are procure/body's TestOpening; the agent's
// side that signs them is the company desk's. Screenshots of each step.
func TestBodyOfficersPublishInBrowser(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	url := startServer(t, bin, "--demo", "--data", data)
	ctx := browsertest.NewWithin(t, 8*time.Minute)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 45*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
			t.Fatalf("%s: %v\non the page:\n%s", what, err, page)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(v)
	}
	home := body.OfficeHome("kanto")
	var officers []demo.StaffPerson
	for _, sp := range demo.Staff {
		if sp.Office == body.OfficeID("kanto") {
			officers = append(officers, sp)
		}
	}
	if len(officers) != 2 {
		t.Fatalf("%d demo officers at kanto, want 2", len(officers))
	}
	// The demo enrolled both (their opening passphrases are on /demo).
	pass := map[string]string{officers[0].Name: demo.OpeningPassphrases[officers[0].Name], officers[1].Name: demo.OpeningPassphrases[officers[1].Name]}
	for i, sp := range officers {
		do("sign in as "+sp.Name, staffCardSignIn(url, home, demoCardID(t, bin, data, sp.Name), sp.AuthPIN)...)
		do("the passphrase is set", chromedp.WaitVisible(css("#enrolled")))
		if i == 0 {
			browsertest.Screenshot(t, ctx, "bodies-1-officer-enrolled")
		}
		if got := text("#enroll"); !strings.Contains(got, "設定済み") && !strings.Contains(got, "Set") {
			t.Fatalf("enrolled: %q", got)
		}
		if i == 0 {
			do("sign out", chromedp.Click(css("#staff-logout")), chromedp.WaitVisible(css("#staff-signin")))
		}
	}
	// The second officer, still signed in, publishes naming both.
	deadline := time.Now().Add(72 * time.Hour).In(time.FixedZone("JST", 9*60*60)).Format("2006-01-02T15:04")
	do("the publish form", chromedp.WaitVisible(css("#publish-submit")),
		chromedp.SetValue(css("#title"), "庁舎用コピー用紙の購入（単価契約）"), chromedp.SetValue(css("#item"), "事務用品"),
		chromedp.SetValue(css("#field"), "sale"), chromedp.SetValue(css("#estimate"), "4500000"),
		chromedp.SetValue(css("#deadline"), deadline), chromedp.SetValue(css("#k"), "2"))
	browsertest.Screenshot(t, ctx, "bodies-2-publish-form")
	do("publish", chromedp.Click(css("#publish-submit")), chromedp.WaitVisible(css("#tender")))
	browsertest.Screenshot(t, ctx, "bodies-3-published")
	id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#tender").dataset.id`))
	if err != nil || id == "" {
		t.Fatalf("tender id: %q %v", id, err)
	}
	officeFP := text("#tender code")

	// The desk's view: the JSON with the opening certificate.
	resp, err := http.Get(url + "/bodies/kanto/v1/tenders/" + id)
	if err != nil {
		t.Fatal(err)
	}
	var tn body.Tender
	err = json.NewDecoder(resp.Body).Decode(&tn)
	resp.Body.Close()
	if err != nil || tn.K != 2 || tn.Officers != 2 || body.Fingerprint(tn.Certificate) != officeFP || tn.Grade == "" {
		t.Fatalf("tender JSON %+v (%v), office fingerprint %s", tn, err, officeFP)
	}
	do("the public page", chromedp.Navigate(url+"/bodies/kanto/tenders/"+id), chromedp.WaitVisible(css("#fingerprint")))
	browsertest.Screenshot(t, ctx, "bodies-4-public-page")
	if got := text("#fingerprint"); got != officeFP {
		t.Errorf("public fingerprint %s, office %s", got, officeFP)
	}
	if page := text("main"); strings.Contains(page, "4500000") || strings.Contains(page, "4,500,000") {
		t.Error("the estimate is on the public page")
	}
	// A sealed bid posted as the desk posts it, through the whole site
	// (its cross-origin and CSRF guard): received, with a receipt; the
	// officer sees it, encrypted, in the office.
	cert, err := x509.ParseCertificate(tn.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	env, err := sealedbid.Seal([]byte("a signed bid"), cert)
	if err != nil {
		t.Fatal(err)
	}
	bc := &body.Client{BaseURL: url}
	rc, err := bc.Bid(context.Background(), "kanto", id, "4010001000011", env)
	if err != nil || len(rc.Receipt) == 0 {
		t.Fatalf("bid: %+v %v", rc, err)
	}
	do("the office's view of the bids", chromedp.Navigate(url+home+"tenders/"+id), chromedp.WaitVisible(css("#bids")))
	browsertest.Screenshot(t, ctx, "bodies-5-bids-received")
	if got := text("#bids"); !strings.Contains(got, "4010001000011") {
		t.Errorf("bids table %q", got)
	}
	resp, err = http.Get(url + "/bodies/kanto/tenders.atom")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var feed struct {
		Entries []struct {
			Title string `xml:"title"`
		} `xml:"http://www.w3.org/2005/Atom entry"`
	}
	// The demo's tender and this one, newest first.
	if err := xml.Unmarshal(raw, &feed); err != nil || len(feed.Entries) != 2 || feed.Entries[0].Title != "庁舎用コピー用紙の購入（単価契約）" {
		t.Errorf("feed %+v: %v\n%s", feed, err, raw)
	}

	// The opening. The second officer (still signed in) publishes a
	// tender whose deadline is the minute after next.
	jst := time.FixedZone("JST", 9*60*60)
	soon := time.Now().Add(2 * time.Minute).Truncate(time.Minute)
	do("the publish form again", chromedp.Navigate(url+home), chromedp.WaitVisible(css("#publish-submit")),
		chromedp.SetValue(css("#title"), "会議用プロジェクターの購入"), chromedp.SetValue(css("#item"), "事務用品"),
		chromedp.SetValue(css("#field"), "sale"), chromedp.SetValue(css("#estimate"), "2000000"),
		chromedp.SetValue(css("#deadline"), soon.In(jst).Format("2006-01-02T15:04")), chromedp.SetValue(css("#k"), "2"))
	do("publish the second", chromedp.Click(css("#publish-submit")), chromedp.WaitVisible(css("#tender")))
	id2, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#tender").dataset.id`))
	if err != nil || id2 == "" {
		t.Fatalf("tender id: %q %v", id2, err)
	}
	tn2, err := bc.Tender(context.Background(), "kanto", id2)
	if err != nil {
		t.Fatal(err)
	}
	cert2, err := x509.ParseCertificate(tn2.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	env2, err := sealedbid.Seal([]byte("sealed, not signed"), cert2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bc.Bid(context.Background(), "kanto", id2, "4010001000011", env2); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(soon.Add(time.Second)))
	office2 := url + home + "tenders/" + id2
	do("the opening form", chromedp.Navigate(office2), chromedp.WaitVisible(css("#open-form")))
	browsertest.Screenshot(t, ctx, "bodies-6-opening-form")
	do("the second officer enters hers", chromedp.SetValue(css("#opening-passphrase"), pass[officers[1].Name]),
		chromedp.Click(css("#open-submit")), chromedp.WaitVisible(css(`#waiting[data-count="1"]`)))
	browsertest.Screenshot(t, ctx, "bodies-7-one-of-two")
	do("sign out", chromedp.Click(css("#staff-logout")), chromedp.WaitVisible(css("#staff-signin")))
	do("sign in as "+officers[0].Name, staffCardSignIn(url, home, demoCardID(t, bin, data, officers[0].Name), officers[0].AuthPIN)...)
	do("the first officer's opening form", chromedp.Navigate(office2), chromedp.WaitVisible(css(`#waiting[data-count="1"]`)))
	do("the first officer enters his", chromedp.SetValue(css("#opening-passphrase"), pass[officers[0].Name]),
		chromedp.Click(css("#open-submit")), chromedp.WaitVisible(css("#result-link")))
	browsertest.Screenshot(t, ctx, "bodies-8-opened")
	do("the result", chromedp.Navigate(url+"/bodies/kanto/tenders/"+id2), chromedp.WaitVisible(css("#result")))
	browsertest.Screenshot(t, ctx, "bodies-9-result")
	if got := text("#winner"); !strings.Contains(got, "不落") && !strings.Contains(got, "No award") {
		t.Errorf("winner %q", got)
	}
	if got := text("#estimate"); got != "2,000,000円" {
		t.Errorf("estimate %q", got)
	}
	reason, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#results tbody tr").dataset.reason`))
	if err != nil || reason != string(body.ReasonBadSignature) {
		t.Errorf("the bid's reason %q (%v)", reason, err)
	}
}
