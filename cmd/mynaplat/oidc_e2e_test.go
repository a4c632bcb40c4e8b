package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/oidcop"
)

// TestOIDCLoginE2E: an RP registered with "mynaplat oidc client add" logs
// a demo resident in at "serve --demo" with x/oauth2 and coreos/go-oidc:
// PKCE S256, the card page with the demo card and its PIN, and the code
// redeemed with a kid-less ES256 client assertion (aud the token URL);
// the ID token verifies and UserInfo answers its sub.
func TestOIDCLoginE2E(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	var db []string
	if dsn := testDSN(t); dsn != "" {
		db = []string{"--db", dsn}
	}
	testdata := filepath.Join("..", "..", "oidcop", "testdata")
	const cb = "http://127.0.0.1:1/rp/cb"
	mynaplat(t, bin, append([]string{"oidc", "client", "add", "--data", data, "--id", "RP00000901", "--name", "外部RPの試験",
		"--redirect-uri", cb, "--dev", "--key", filepath.Join(testdata, "rp-ec.pub")}, db...)...)
	base := startServer(t, bin, append([]string{"--demo", "--data", data}, db...)...)
	issuer := base + oidcop.RealmPath

	ctx := gooidc.ClientContext(context.Background(), &http.Client{Timeout: 20 * time.Second})
	prov, err := gooidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatal(err)
	}
	ep := prov.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInParams
	conf := oauth2.Config{ClientID: "RP00000901", Endpoint: ep, RedirectURL: cb, Scopes: []string{gooidc.ScopeOpenID}}
	verifier := oauth2.GenerateVerifier()
	auth, err := url.Parse(conf.AuthCodeURL("state-e2e", oauth2.S256ChallengeOption(verifier), gooidc.Nonce("nonce-e2e")))
	if err != nil {
		t.Fatal(err)
	}

	c := webtest.New(t, base)
	r := c.Step(webtest.Step{Name: "authorize", Path: auth.RequestURI(), WantStatus: http.StatusFound})
	page := strings.TrimPrefix(r.Location(), base)
	c.Step(webtest.Step{Name: "the card page", Path: page, WantContains: []string{"外部RPの試験"}})
	c.Step(webtest.Step{Name: "place", Path: page + "place", Form: url.Values{"card": {demoCardID(t, bin, data, "須坂　花子")}},
		WantStatus: http.StatusSeeOther})
	r = c.Step(webtest.Step{Name: "PIN", Path: page + "pin", Form: url.Values{"pin": {"1234"}}, WantStatus: http.StatusSeeOther})
	r = c.Step(webtest.Step{Name: "callback", Path: strings.TrimPrefix(r.Location(), base), WantStatus: http.StatusFound})
	back, err := url.Parse(r.Location())
	if err != nil || !strings.HasPrefix(back.String(), cb+"?") || back.Query().Get("state") != "state-e2e" {
		t.Fatalf("back at the RP: %s %v", back, err)
	}

	b, err := os.ReadFile(filepath.Join(testdata, "rp-ec.key"))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := pem.Decode(b)
	key, err := x509.ParsePKCS8PrivateKey(p.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key.(crypto.Signer)}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	claims, _ := json.Marshal(map[string]any{"iss": "RP00000901", "sub": "RP00000901", "aud": ep.TokenURL,
		"exp": time.Now().Add(24 * time.Hour).Unix(), "jti": oauth2.GenerateVerifier()})
	jws, err := signer.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	assertion, _ := jws.CompactSerialize()
	tok, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier),
		oauth2.SetAuthURLParam("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
		oauth2.SetAuthURLParam("client_assertion", assertion))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := prov.Verifier(&gooidc.Config{ClientID: "RP00000901"}).Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if idt.Nonce != "nonce-e2e" {
		t.Errorf("nonce %q", idt.Nonce)
	}
	ui, err := prov.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || ui.Subject != idt.Subject {
		t.Errorf("userinfo %+v %v", ui, err)
	}
}
