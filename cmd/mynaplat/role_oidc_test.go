package main

import (
	"flag"
	"io"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/oidcop"
)

// TestOIDCKnobFlags: the knobs of docs/oidc-provider.md §3 go from their
// flags and MYNAPLAT_OIDC_* environment defaults into oidcop.Config, and a
// bad value is the role's JA/EN startup error naming the knob.
func TestOIDCKnobFlags(t *testing.T) {
	parse := func(t *testing.T, args ...string) oidcop.Config {
		t.Helper()
		var f oidcFlags
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		f.register(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return f.config(t.TempDir(), "http://127.0.0.1:8080")
	}
	type knobs struct {
		AssertionAlgs                               []jose.SignatureAlgorithm
		Strict, RequireClientID, NoRotation, NoACR  bool
		CCScopes, DigestFields, Modes, Extra        []string
		ACRUnknown, Params, Scopes, CardError, Subs string
		InIDToken, Iss, NoExtras                    bool
		IDField, Fetches                            string
		JWEAlg                                      jose.KeyAlgorithm
		JWEEnc                                      jose.ContentEncryption
	}
	of := func(c oidcop.Config) knobs {
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		return knobs{c.AssertionAlgs, c.StrictAssertions, c.RequireClientID, c.NoRefreshRotation, c.NoACRClaim,
			c.CCScopes, c.SignDigestFields, c.ResponseModes, c.ExtraEndpoints, c.ACRUnknown, c.UnknownParams, c.UnknownScopes, c.CardError,
			c.AttributeSubsets, c.AttributesInIDToken, c.AuthzIss, c.NoKeycloakExtras, c.SignIDField, c.SignResultFetches, c.JWEAlg, c.JWEEnc}
	}
	def := knobs{AssertionAlgs: []jose.SignatureAlgorithm{jose.RS256, jose.ES256}, CCScopes: []string{"sign"}, DigestFields: []string{"digest", "hash"},
		Modes: []string{"query"}, ACRUnknown: "ignore", Params: "ignore", Scopes: "refuse", CardError: "access_denied", Subs: "allow",
		IDField: "sign_transaction_id", Fetches: "many", JWEAlg: jose.RSA_OAEP_256, JWEEnc: jose.A256GCM}
	if d := cmp.Diff(def, of(parse(t))); d != "" {
		t.Errorf("defaults (-want +got):\n%s", d)
	}
	alt := knobs{AssertionAlgs: []jose.SignatureAlgorithm{jose.ES256}, Strict: true, RequireClientID: true, NoRotation: true, NoACR: true,
		CCScopes: []string{}, DigestFields: []string{"hash"}, Modes: []string{"query", "form_post"}, Extra: []string{"revoke", "introspect"},
		ACRUnknown: "refuse", Params: "refuse", Scopes: "ignore", CardError: "login_required", Subs: "all-or-none",
		InIDToken: true, Iss: true, NoExtras: true, IDField: "id", Fetches: "once", JWEAlg: jose.RSA_OAEP, JWEEnc: jose.A128GCM}
	t.Setenv("MYNAPLAT_OIDC_ACR_UNKNOWN", "refuse") // an environment default
	t.Setenv("MYNAPLAT_OIDC_REFRESH_ROTATION", "false")
	got := of(parse(t, "--oidc-assertion-algs=ES256", "--oidc-strict-assertions", "--oidc-require-client-id",
		"--oidc-acr-claim=false", "--oidc-cc-scopes=none", "--oidc-sign-digest-fields=hash", "--oidc-response-modes=query,form_post",
		"--oidc-extra-endpoints=revoke,introspect", "--oidc-unknown-params=refuse", "--oidc-unknown-scopes=ignore",
		"--oidc-card-error=login_required", "--oidc-attribute-subsets=all-or-none", "--oidc-attributes-in-id-token", "--oidc-authz-iss",
		"--oidc-keycloak-extras=false", "--oidc-sign-id-field=id", "--oidc-sign-result-fetches=once", "--oidc-jwe-alg=RSA-OAEP", "--oidc-jwe-enc=A128GCM"))
	if d := cmp.Diff(alt, got); d != "" {
		t.Errorf("the other settings (-want +got):\n%s", d)
	}
	for arg, want := range map[string]string{"--oidc-acr-unknown=maybe": "acr-unknown", "--oidc-assertion-algs=HS256": "assertion algorithm",
		"--oidc-response-modes=fragment": "response mode", "--oidc-extra-endpoints=register": "extra endpoint",
		"--oidc-jwe-enc=A1GCM": "JWE encryption", "--oidc-card-error=nope": "card-error"} {
		err := oidcConfig{cfg: parse(t, arg)}.validate()
		if err == nil || !strings.Contains(err.Error(), "役割 oidc の設定の誤り / role oidc") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want the role's startup error about %s", arg, err, want)
		}
	}
}
