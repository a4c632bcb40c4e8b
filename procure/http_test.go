package procure

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

const (
	testIssuer   = "https://platform.test"
	testTerminal = "procure-agent-pc"
)

// apiEnv is env behind the HTTP API, believing assertions signed with a
// test key.
type apiEnv struct {
	*env
	key    *ecdsa.PrivateKey
	url    string
	client *Client
}

func newAPIEnv(t *testing.T, db *store.DB) *apiEnv {
	e := &apiEnv{env: newEnv(t, db), key: newKey(t)}
	pt, err := e.key.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	jwk := platform.JWK{Kty: "EC", Crv: "P-256", X: b64(pt[1:33]), Y: b64(pt[33:]), Kid: "k1", Use: "sig", Alg: "ES256"}
	mux := http.NewServeMux()
	e.svc.Routes(mux, APIConfig{Keys: func(context.Context) (platform.JWKS, error) { return platform.JWKS{Keys: []platform.JWK{jwk}}, nil },
		Issuer: testIssuer, Terminal: testTerminal})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.url, e.client = srv.URL, &Client{BaseURL: srv.URL}
	return e
}

// mint is an assertion of agent's card login at the register's terminal,
// with the claims changed by edit.
func (e *apiEnv) mint(agent string, edit func(c *platform.Claims)) string {
	now := e.clock.now()
	c := platform.Claims{Issuer: testIssuer, Subject: agent, Audience: platform.Audience, IssuedAt: now.Unix(),
		Expiry: now.Add(5 * time.Minute).Unix(), ID: "jti", AuthTime: now.Unix(), Terminal: testTerminal,
		TerminalKind: platform.Mobile, AMR: []string{"jpki-auth"}}
	if edit != nil {
		edit(&c)
	}
	hdr, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": "k1"})
	body, _ := json.Marshal(c)
	b64 := base64.RawURLEncoding.EncodeToString
	input := b64(hdr) + "." + b64(body)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, e.key, sum[:])
	if err != nil {
		e.t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64(sig)
}

func TestRules(t *testing.T) {
	if err := Rules.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newAPIEnv(t, db)
		card := e.person(agentA)
		power := e.power(numberA, agentA, 3*365, MatterQualify, MatterBid)
		signed := e.sign(e.canonical(application(power)), card)

		// The login the agent API believes.
		for _, tt := range []struct {
			name      string
			assertion string
		}{
			{"no login", ""},
			{"not a JWS", "a.b.c"},
			{"another terminal", e.mint(agentA, func(c *platform.Claims) { c.Terminal = "kiosk-1" })},
			{"another purpose", e.mint(agentA, func(c *platform.Claims) { c.Purpose = platform.PurposeStaff })},
			{"expired", e.mint(agentA, func(c *platform.Claims) { c.Expiry = e.clock.now().Add(-time.Second).Unix() })},
			{"another issuer", e.mint(agentA, func(c *platform.Claims) { c.Issuer = "https://elsewhere.test" })},
		} {
			if _, err := e.client.Apply(e.ctx, tt.assertion, signed); !errors.Is(err, ErrAssertion) {
				t.Errorf("%s: %v, want ErrAssertion", tt.name, err)
			}
		}
		// A refusal crosses with its reason and texts.
		_, err := e.client.Apply(e.ctx, e.mint(agentB, nil), signed)
		if r, ok := errors.AsType[*Refusal](err); !ok || r.Reason != ReasonNotSigner || r.MessageJA == "" || r.MessageEN == "" {
			t.Fatalf("another agent's login: %v", err)
		}
		login := e.mint(agentA, nil)
		f, err := e.client.Apply(e.ctx, login, signed)
		if err != nil || f.Version != 1 {
			t.Fatalf("apply: %+v, %v", f, err)
		}
		mine, err := e.client.AgentApplications(e.ctx, login)
		if err != nil || len(mine) != 1 || mine[0].State != StateSubmitted {
			t.Fatalf("agent's list: %+v, %v", mine, err)
		}
		d, err := e.client.AgentApplication(e.ctx, login, f.ApplicationID)
		if err != nil || d.Application.PowerID != power {
			t.Fatalf("agent's application: %+v, %v", d, err)
		}
		if _, err := e.client.AgentApplication(e.ctx, e.mint(agentB, nil), f.ApplicationID); !errors.Is(err, ErrNotFound) {
			t.Errorf("another agent reads it: %v", err)
		}

		// The bodies' read API.
		if _, err := e.client.Qualification(e.ctx, numberA); !errors.Is(err, ErrNotFound) {
			t.Fatalf("before the grant: %v", err)
		}
		e.grant(f.ApplicationID, 730)
		q, err := e.client.Qualification(e.ctx, numberA)
		if err != nil {
			t.Fatal(err)
		}
		local := must(e.svc.Qualification(e.ctx, numberA))
		if diff := cmp.Diff(local, q); diff != "" {
			t.Errorf("over HTTP (-in process +client):\n%s", diff)
		}
		if _, err := e.client.QualificationAt(e.ctx, numberA, e.clock.days(-1)); !errors.Is(err, ErrNotFound) {
			t.Errorf("before it started: %v", err)
		}
		if _, err := e.client.Qualification(e.ctx, "1234"); !errors.Is(err, ErrInvalid) {
			t.Errorf("a bad number: %v", err)
		}

		// The public list.
		list, err := e.client.List(e.ctx)
		if err != nil || len(list) != 1 || list[0].Code != "0000000001" {
			t.Fatalf("list: %+v, %v", list, err)
		}
		resp, err := http.Get(e.url + "/procure/list.csv")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
			t.Errorf("CSV content type %q", ct)
		}
		rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff")))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 3 || !cmp.Equal(rows[0], CSVHeader) {
			t.Fatalf("CSV rows %q", rows)
		}
		if got := strings.Join(rows[1][:7], ","); got != "0000000001,"+numberA+","+nameA+",長野県須坂市大字須坂1528番地1,須坂 一郎,1998-04-01,物品の販売" {
			t.Errorf("first CSV row %q", got)
		}
	})
}
