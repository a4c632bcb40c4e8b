package agency_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/agency"
	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/postbox"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/staff/stafftest"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/verify"
	"github.com/mynaplat/mynaplat/web"
)

// TestFailedReportsInBrowser shows an office's staff two submissions that
// must not be taken as passed: one whose attached certificate was altered
// after signing (TOTAL_FAILED/HASH_FAILURE) and whose application is signed
// with a certificate that is not JPKI's (INDETERMINATE/
// NO_CERTIFICATE_CHAIN_FOUND), and one with only such an application. In
// the inbox and on the submission page nothing of them looks like a pass:
// no "valid" badge, the verdict in words and in the failure's colour, a
// warning not to treat it as passed.
func TestFailedReportsInBrowser(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	site, err := web.New(ctx, web.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	// The policy trusts a JPKI signing CA the documents are not from.
	jpkiCA, _ := selfSigned(t, "JPKI-TEST signing CA")
	svc, err := agency.Open(ctx, agency.Config{DB: db, Policy: &verify.Policy{Signing: &jpki.SigningVerifier{CA: jpkiCA}}})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := svc.AddOffice(ctx, agency.Office{ID: "tax-test", NameJA: "試験税務署", NameEN: "Test Tax Office"})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := agency.NewPages(svc, site)
	if err != nil {
		t.Fatal(err)
	}
	// The office's clerk signs in with their card at a stand-in desk.
	iss := stafftest.NewIssuer(t)
	dir := stafftest.Directory(t, db, time.Now)
	stafftest.Grant(t, dir, staff.Grant{PlatformID: "pid-clerk", Name: "検証　一郎", Office: agency.OfficeID("tax-test"), Role: staff.AgencyStaff,
		StaffNumber: "A-01", ValidFrom: time.Now().Add(-time.Hour), ValidUntil: time.Now().Add(time.Hour)})
	gate, err := staff.NewOfficeGate(staff.GateConfig{Site: site, Directory: dir, Keys: iss.Keys, Desk: "/staffdesk/test/"}, pages.StaffOffice())
	if err != nil {
		t.Fatal(err)
	}
	pages.SetStaff(gate)
	mux := http.NewServeMux()
	site.Routes(mux)
	pages.Routes(mux)
	mux.Handle("GET /staffdesk/test/", iss.Desk("pid-clerk", time.Now))
	srv := httptest.NewServer(site.Protect(mux))
	t.Cleanup(srv.Close)

	// The documents: signed by a key whose certificate no JPKI CA issued;
	// the certificate is altered after signing.
	cert, key := selfSigned(t, "偽名　太郎")
	sign := func(c *verify.Content) []byte {
		t.Helper()
		body, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		der, err := cms.Sign(ctx, body, cms.SignOptions{Signer: key, Cert: cert})
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	certificate := sign(&verify.Content{Type: "保険料控除証明書", Title: "令和8年分 生命保険料控除証明書", IssuedAt: time.Now().UTC(),
		Fields: []verify.Field{{Label: "証明額", Value: "96,000円"}}})
	altered := bytes.Replace(certificate, []byte("96,000"), []byte("196,00"), 1)
	if bytes.Equal(altered, certificate) {
		t.Fatal("the amount is not in the signed certificate")
	}
	sum := sha256.Sum256(altered)
	application := func(title string, attachments ...verify.Attachment) []byte {
		return sign(&verify.Content{Type: "申告書", Title: title, IssuedAt: time.Now().UTC(), To: "tax-test",
			Fields: []verify.Field{{Label: "件名", Value: title}}, Attachments: attachments})
	}
	deliver := func(sendID string, docs ...postbox.EnvelopeDoc) {
		t.Helper()
		webtest.New(t, srv.URL).Bearer(keys.Inbound).Step(webtest.Step{Name: "deliver " + sendID, Path: "/agency/tax-test/v1/submissions",
			JSON: postbox.Envelope{SendID: sendID, Kind: postbox.KindSubmission, SentAt: time.Now().UTC(), Documents: docs}})
	}
	deliver("snd_failed", postbox.EnvelopeDoc{Name: "application", Type: "申告書", Format: verify.FormatCMS,
		Data: application("改ざんされた証明書の申告", verify.Attachment{Name: "令和8年分 生命保険料控除証明書", Type: "保険料控除証明書", SHA256: hex.EncodeToString(sum[:])})},
		postbox.EnvelopeDoc{Name: "令和8年分 生命保険料控除証明書", Type: "保険料控除証明書", Format: verify.FormatCMS, Data: altered, From: "nissay"})
	deliver("snd_unknown", postbox.EnvelopeDoc{Name: "application", Type: "申告書", Format: verify.FormatCMS, Data: application("署名者を確認できない申告")})

	bctx := browsertest.New(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	// noPass fails the test for anything on the page styled or worded as
	// a pass.
	noPass := func(where string) {
		t.Helper()
		if n := eval(`String(document.querySelectorAll('.badge.good, .report-box.passed, .panel.result.passed').length)`); n != "0" {
			t.Errorf("%s: %s elements styled as passed", where, n)
		}
		if body := text("main"); strings.Contains(body, "TOTAL_PASSED") || strings.Contains(body, "有効 /") {
			t.Errorf("%s says passed or valid:\n%s", where, body)
		}
	}
	// colour is an element's computed colour property.
	colour := func(sel, prop string) string {
		return eval(`getComputedStyle(document.querySelector(` + strconv.Quote(sel) + `)).` + prop)
	}
	const red, amber = "rgb(164, 0, 15)", "rgb(107, 74, 0)"

	do("sign in", chromedp.Navigate(srv.URL+"/agency/tax-test/inbox/"), chromedp.WaitVisible(css("#staff-signin")),
		chromedp.Click(css("#staff-signin")), chromedp.WaitVisible(css("#handoff-go")),
		chromedp.Click(css("#handoff-go")), chromedp.WaitVisible(css("#inbox")))
	if got := text("#staff-strip"); !strings.Contains(got, "検証　一郎") {
		t.Errorf("the staff strip %q does not name the clerk", got)
	}
	// The view of the inbox is audited under the person, not the office.
	var actor string
	if err := db.QueryRowContext(ctx, `SELECT actor FROM agency_audit WHERE office_id = 'tax-test' AND action = 'list'`).Scan(&actor); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(actor, "pid-clerk") || !strings.Contains(actor, "検証　一郎") || !strings.Contains(actor, "agency:tax-test") {
		t.Errorf("the inbox view is audited as %q, want the clerk's platform ID, name and office", actor)
	}
	browsertest.Screenshot(t, bctx, "1-inbox")
	noPass("the inbox")
	for sel, want := range map[string]string{`tr[data-indication="TOTAL_FAILED"]`: "無効", `tr[data-indication="INDETERMINATE"]`: "確認できません"} {
		if got := text("#inbox " + sel + " .badge"); !strings.Contains(got, want) {
			t.Errorf("inbox row %s: badge %q, want %q", sel, got, want)
		}
	}
	if got := colour(`#inbox tr[data-indication="TOTAL_FAILED"] .badge`, "color"); got != red {
		t.Errorf("TOTAL_FAILED badge colour %s, want %s", got, red)
	}
	if got := colour(`#inbox tr[data-indication="INDETERMINATE"] .badge`, "color"); got != amber {
		t.Errorf("INDETERMINATE badge colour %s, want %s", got, amber)
	}

	do("the failed submission", chromedp.Click(css(`#inbox tr[data-indication="TOTAL_FAILED"] a`)), chromedp.WaitVisible(css("#summary")))
	browsertest.Screenshot(t, bctx, "2-failed-submission")
	noPass("the failed submission")
	if got := text("#overall"); got != "TOTAL_FAILED" {
		t.Errorf("overall %q", got)
	}
	if got := text("#summary .caution"); !strings.Contains(got, "合格として扱わないでください") {
		t.Errorf("no warning not to treat it as passed: %q", got)
	}
	for i, want := range []struct{ indication, sub, colour string }{{"INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND", amber}, {"TOTAL_FAILED", "HASH_FAILURE", red}} {
		doc := "#doc-" + strconv.Itoa(i)
		if got := eval(`document.querySelector('` + doc + ` [data-indication]').dataset.indication`); got != want.indication {
			t.Errorf("%s: %s, want %s", doc, got, want.indication)
		}
		if got := text(doc + " .subindication"); got != want.sub {
			t.Errorf("%s: sub-indication %q, want %s", doc, got, want.sub)
		}
		if got := colour(doc+" .report-box", "borderLeftColor"); got != want.colour {
			t.Errorf("%s: report edge %s, want %s", doc, got, want.colour)
		}
		if got := text(doc + " .report-box .caution"); !strings.Contains(got, "有効と確認できていません") {
			t.Errorf("%s: caution %q", doc, got)
		}
	}
	if got := text("#bundle"); !strings.Contains(got, "照合できません") {
		t.Errorf("bundle check %q: want that it could not be made", got)
	}
	if got := colour("#summary", "borderTopColor"); got != red {
		t.Errorf("the result panel's border %s, want %s", got, red)
	}

	do("back", chromedp.Navigate(srv.URL+"/agency/tax-test/inbox/"), chromedp.WaitVisible(css("#inbox")),
		chromedp.Click(css(`#inbox tr[data-indication="INDETERMINATE"] a`)), chromedp.WaitVisible(css("#summary")))
	browsertest.Screenshot(t, bctx, "3-indeterminate-submission")
	noPass("the indeterminate submission")
	if got := text("#overall"); got != "INDETERMINATE" {
		t.Errorf("overall %q", got)
	}
	if got := colour("#verdict", "color"); got != amber {
		t.Errorf("verdict colour %s, want %s", got, amber)
	}
}

// selfSigned makes a certificate for a P-256 key, signed by itself.
func selfSigned(t *testing.T, cn string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}
