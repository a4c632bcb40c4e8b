package oidcop

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/wareki"
)

// consentLogin runs the card page for q with cd (PIN 1234) up to the
// consent step, ticks ticked and agrees (or declines when ticked is nil),
// then, if anything was ticked, enters password. It returns where the
// browser ends: the RP's callback, or the card page (ended false).
func (w *world) consentLogin(t *testing.T, c *webtest.Client, q url.Values, cd *card.Card, ticked []string, password string) *url.URL {
	t.Helper()
	r := c.Get(RealmPath + AuthPath + "?" + q.Encode())
	loc, _ := url.Parse(r.Location())
	page := w.rel(t, loc.String())
	c.Step(webtest.Step{Name: "the card page", Path: page, WantContains: []string{`id="rp-name"`}})
	c.Step(webtest.Step{Name: "place the card", Path: page + "place", Form: url.Values{"card": {cd.ID()}}, WantStatus: http.StatusSeeOther})
	c.Step(webtest.Step{Name: "the PIN", Path: page + "pin", Form: url.Values{"pin": {"1234"}}, WantStatus: http.StatusSeeOther, WantLocation: w.p.Issuer() + LoginPath + strings.TrimPrefix(page, RealmPath+LoginPath)})
	want := []string{`id="consent-form"`, "同意する", "同意しない"}
	if id := q.Get("sign_transaction_id"); id != "" {
		// What is signed: the RP and the digest in hex.
		tx, err := w.p.signTx(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, `id="sign-statement"`, hex.EncodeToString(tx.Digest), "須坂市ウェブサイト")
	}
	c.Step(webtest.Step{Name: "the consent step", Path: page, WantContains: want, WantNotContains: []string{"checked"}})
	form := url.Values{"decision": {"agree"}, "attr": ticked}
	if ticked == nil {
		form = url.Values{"decision": {"decline"}}
	}
	r = c.Step(webtest.Step{Name: "consent", Path: page + "consent", Form: form, WantStatus: http.StatusSeeOther})
	if r.Location() == w.p.Issuer()+LoginPath+strings.TrimPrefix(page, RealmPath+LoginPath) {
		r = c.Get(page)
		if strings.Contains(r.Body, `id="no-signing-cert"`) {
			return &url.URL{Path: page}
		}
		c.Step(webtest.Step{Name: "the signing password step", Path: page, WantContains: []string{`id="sign-form"`}})
		r = c.Step(webtest.Step{Name: "the signing password", Path: page + "sign", Form: url.Values{"password": {password}}, WantStatus: http.StatusSeeOther})
	}
	next := r.Location()
	if strings.HasPrefix(next, w.p.Issuer()+AuthPath+"/callback") {
		r = c.Step(webtest.Step{Name: "the callback", Path: w.rel(t, next), WantStatus: http.StatusFound})
		next = r.Location()
	}
	u, err := url.Parse(next)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// redeem exchanges RP1's code.
func (w *world) redeem(t *testing.T, cb *url.URL) map[string]any {
	t.Helper()
	st, body := w.token(t, w.rp1Auth(t, url.Values{"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")},
		"redirect_uri": {cb1}, "code_verifier": {verifier}}))
	if st != http.StatusOK {
		t.Fatalf("token for %s: %d %v", cb, st, body)
	}
	return body
}

// userinfoJSON is UserInfo's answer, decoded.
func (w *world) userinfoJSON(t *testing.T, access string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, w.p.Issuer()+UserinfoPath, nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("userinfo: %d %s", resp.StatusCode, b)
	}
	return out
}

// disclosures are the platform's disclosure rows of a person (what
// /me/audit words).
func (w *world) disclosures(t *testing.T, personID string) []string {
	t.Helper()
	es, err := w.plat.AuditFor(t.Context(), personID, personID, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if e.Action == platform.ActionOIDCDisclosure {
			out = append(out, e.Reason)
		}
	}
	return out
}

// TestConsentedAttributes: the person consents to name and birthdate of
// the four asked; the token's scope and UserInfo carry just those, from
// the signing certificate, in the raw forms; each UserInfo answer is a
// disclosure row for /me/audit; declining ends with consent_refused;
// agreeing to nothing logs in with openid.
func TestConsentedAttributes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		q := authParams(rp1, cb1, s256(verifier))
		q.Set("scope", "openid name address birthdate gender")
		cb := w.consentLogin(t, webtest.New(t, w.srv.URL), q, w.good, []string{"name", "birthdate"}, "SUZAKA1980")
		tok := w.redeem(t, cb)
		if tok["scope"] != "openid name birthdate" {
			t.Errorf("scope %v", tok["scope"])
		}
		ui := w.userinfoJSON(t, tok["access_token"].(string))
		delete(ui, "sub")
		if diff := cmp.Diff(map[string]any{"name": "須坂　花子", "birthdate": "19800229"}, ui); diff != "" {
			t.Errorf("userinfo (-want +got):\n%s", diff)
		}
		if st, body := w.userinfo(t, tok["access_token"].(string)); st != http.StatusOK || strings.Contains(body, "長野県") {
			t.Errorf("the second answer: %d %s", st, body)
		}
		want := platform.DisclosureReason(platform.Disclosure{Recipient: "須坂市ウェブサイト (RP00000001)", Items: []string{"name", "birthdate"}})
		if diff := cmp.Diff([]string{want, want}, w.disclosures(t, w.goodPID)); diff != "" {
			t.Errorf("disclosures, one per UserInfo answer (-want +got):\n%s", diff)
		}

		// 同意しない: access_denied, nothing granted.
		cb = w.consentLogin(t, webtest.New(t, w.srv.URL), q, w.good, nil, "")
		if cb.Query().Get("error") != "access_denied" || cb.Query().Get("error_description") != "consent_refused" {
			t.Errorf("declined: %s", cb)
		}
		// 同意する with nothing ticked: a login with openid only.
		cb = w.consentLogin(t, webtest.New(t, w.srv.URL), q, w.good, []string{}, "")
		if tok := w.redeem(t, cb); tok["scope"] != "openid" {
			t.Errorf("nothing ticked: scope %v", tok["scope"])
		}
		if n := len(w.disclosures(t, w.goodPID)); n != 2 {
			t.Errorf("%d disclosures, want still 2", n)
		}
	})
}

// TestAttributeFormatOIDC: --oidc-attribute-format=oidc gives YYYY-MM-DD
// and female, and the address as one string.
func TestAttributeFormatOIDC(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t))
	w.p.cfg.AttributeFormat = FormatOIDC
	q := authParams(rp1, cb1, s256(verifier))
	q.Set("scope", "openid address birthdate gender")
	tok := w.redeem(t, w.consentLogin(t, webtest.New(t, w.srv.URL), q, w.good, []string{"address", "birthdate", "gender"}, "SUZAKA1980"))
	ui := w.userinfoJSON(t, tok["access_token"].(string))
	delete(ui, "sub")
	if diff := cmp.Diff(map[string]any{"address": "長野県須坂市大字須坂１２３４番地", "birthdate": "1980-02-29", "gender": "female"}, ui); diff != "" {
		t.Errorf("userinfo (-want +got):\n%s", diff)
	}
}

// TestSigningCertChecks: acr_values=aal3 crl checks the signing
// certificate by the CRL, not OCSP; with the OCSP responder down the
// status is INDETERMINATE and the RP gets temporarily_unavailable; a wrong
// signing password stays on the page.
func TestSigningCertChecks(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t))
	q := authParams(rp1, cb1, s256(verifier))
	q.Set("scope", "openid name")
	q.Set("acr_values", "aal3 crl")
	w.ocspCalls.Store(0)
	tok := w.redeem(t, w.consentLogin(t, webtest.New(t, w.srv.URL), q, w.good, []string{"name"}, "SUZAKA1980"))
	if tok["scope"] != "openid name" || w.crlCalls.Load() == 0 || w.ocspCalls.Load() != 0 {
		t.Errorf("by CRL: scope %v, %d CRL fetches, %d OCSP questions", tok["scope"], w.crlCalls.Load(), w.ocspCalls.Load())
	}

	q.Del("acr_values")
	w.ocspDown.Store(true)
	cb := w.consentLogin(t, webtest.New(t, w.srv.URL), q, w.good, []string{"name"}, "SUZAKA1980")
	if cb.Query().Get("error") != "temporarily_unavailable" || w.ocspCalls.Load() == 0 {
		t.Errorf("OCSP down: %s", cb)
	}
	w.ocspDown.Store(false)

	c := webtest.New(t, w.srv.URL)
	cb = w.consentLogin(t, c, q, w.good, []string{"name"}, "WRONG0")
	if !strings.HasPrefix(cb.String(), w.p.Issuer()+LoginPath) {
		t.Fatalf("a wrong signing password: %s", cb)
	}
	c.Step(webtest.Step{Name: "tries left", Path: w.rel(t, cb.String()), WantContains: []string{`id="sign-left">4<`}})
}

// TestChildCard: a card without a signing certificate (a holder under 15)
// asked for attributes gets the page that says why, and 「ログインだけ続ける」
// grants openid; with --oidc-no-signing-cert=refuse the RP gets
// access_denied at once.
func TestChildCard(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t))
	ctx := context.Background()
	birth := time.Date(2018, 5, 5, 0, 0, 0, 0, wareki.JST())
	cd, err := w.cards.Create(card.Spec{AuthPIN: "1234", TextPIN: "1234", MyNumber: "123456789026",
		Name: "須坂　こども", Address: "長野県須坂市大字須坂１２３４番地", BirthDate: birth.Format("20060102"), Sex: "1", Demo: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.centre.IssueCard(ctx, jpki.Resident{Name: "須坂　こども", Kana: "スザカ", BirthDate: birth, Sex: jpki.Male,
		Address: "長野県須坂市大字須坂１２３４番地", Municipality: "202070"}, cd); err != nil {
		t.Fatal(err)
	}
	enrol(t, w, cd)
	q := authParams(rp1, cb1, s256(verifier))
	q.Set("scope", "openid name")
	c := webtest.New(t, w.srv.URL)
	end := w.consentLogin(t, c, q, cd, []string{"name"}, "")
	if end.Path == "" || !strings.HasPrefix(end.Path, RealmPath+LoginPath) {
		t.Fatalf("the child's card: %s", end)
	}
	c.Step(webtest.Step{Name: "why", Path: end.Path, WantContains: []string{"署名用電子証明書がありません", "ログインだけ続ける", "中止"}})
	r := c.Step(webtest.Step{Name: "login only", Path: end.Path + "login-only", Form: url.Values{}, WantStatus: http.StatusSeeOther})
	r = c.Step(webtest.Step{Name: "the callback", Path: w.rel(t, r.Location()), WantStatus: http.StatusFound})
	cb, _ := url.Parse(r.Location())
	if tok := w.redeem(t, cb); tok["scope"] != "openid" {
		t.Errorf("login only: scope %v", tok["scope"])
	}

	w.p.cfg.NoSigningCert = NoSignRefuse
	cb = w.consentLogin(t, webtest.New(t, w.srv.URL), q, cd, []string{"name"}, "")
	if cb.Query().Get("error") != "access_denied" || cb.Query().Get("error_description") != "no_signing_certificate" {
		t.Errorf("refuse: %s", cb)
	}
}

// enrol enrols a card's holder at the platform.
func enrol(t *testing.T, w *world, cd *card.Card) string {
	t.Helper()
	der, err := card.NewClient(cd).Certificate(card.Auth)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := parseCert(der)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := w.plat.EnrolHolder(t.Context(), cert)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

var parseCert = x509.ParseCertificate

// TestSubAcrossRenewal: after the card is renewed at the counter (new
// keys and certificates; the platform follows the JPKI old → new linkage),
// the same client sees the same sub, and another client another one.
func TestSubAcrossRenewal(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t))
	ctx := context.Background()
	subOf := func(tok map[string]any) string {
		t.Helper()
		return w.userinfoJSON(t, tok["access_token"].(string))["sub"].(string)
	}
	before := subOf(w.codeTokens(t, nil))
	oldCert, _ := card.NewClient(w.good).Certificate(card.Auth)
	if _, err := w.centre.Renew(ctx, w.good.ID(), w.good); err != nil {
		t.Fatal(err)
	}
	if err := w.plat.RefreshCRL(ctx); err != nil {
		t.Fatal(err)
	}
	if newCert, _ := card.NewClient(w.good).Certificate(card.Auth); string(newCert) == string(oldCert) {
		t.Fatal("the renewal kept the certificate")
	}
	after := subOf(w.codeTokens(t, nil))
	if after != before {
		t.Errorf("sub %s after the renewal, want %s", after, before)
	}
	// RP2 (another sector) sees the same person under another sub.
	cb := w.login(t, authParams(rp2, cb2, s256(verifier)), w.good, "1234")
	key, alg := rpKey(t, "rp-ec.key")
	st, body := w.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")}, "redirect_uri": {cb2},
		"code_verifier": {verifier}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion": {assertion(t, key, alg, "", rp2, w.p.Issuer()+TokenPath, func(c map[string]any) { c["jti"] = randomToken(12) })}})
	if st != http.StatusOK {
		t.Fatalf("RP2's token: %d %v", st, body)
	}
	if other := subOf(body); other == after || len(other) != 43 {
		t.Errorf("RP2's sub %q, RP1's %q", other, after)
	}
}
