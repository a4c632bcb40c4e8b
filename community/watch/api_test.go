package watch_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/community/watch"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

const testIssuer = "https://platform.test"

// minter signs assertions of card logins with a test key the API believes.
type minter struct {
	t   *testing.T
	key *ecdsa.PrivateKey
	now time.Time
}

func (m *minter) jwks(context.Context) (platform.JWKS, error) {
	pt, err := m.key.PublicKey.Bytes()
	if err != nil {
		return platform.JWKS{}, err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	return platform.JWKS{Keys: []platform.JWK{{Kty: "EC", Crv: "P-256", X: b64(pt[1:33]), Y: b64(pt[33:]), Kid: "k1", Use: "sig", Alg: "ES256"}}}, nil
}

func (m *minter) mint(pid, terminal string, edit func(c *platform.Claims)) string {
	c := platform.Claims{Issuer: testIssuer, Subject: pid, Audience: platform.Audience, IssuedAt: m.now.Unix(),
		Expiry: m.now.Add(5 * time.Minute).Unix(), ID: "jti", AuthTime: m.now.Unix(), Terminal: terminal,
		TerminalKind: platform.TV, AMR: []string{"jpki-auth"}}
	if edit != nil {
		edit(&c)
	}
	hdr, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": "k1"})
	body, _ := json.Marshal(c)
	b64 := base64.RawURLEncoding.EncodeToString
	input := b64(hdr) + "." + b64(body)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, m.key, sum[:])
	if err != nil {
		m.t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64(sig)
}

// TestAPI: the TV's card login reads the person's day and answers it; a
// login that is not a TV's, for a purpose, or of a person not watched is
// refused, and a bad answer is refused with its code.
func TestAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		m := &minter{t: t, key: key, now: f.clk.now()}
		mux := http.NewServeMux()
		f.svc.Routes(mux, watch.APIConfig{Keys: m.jwks, Issuer: testIssuer})
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		c := &watch.Client{BaseURL: srv.URL}

		tome := m.mint("tome", "tv-nambu-1", nil)
		if d, err := c.Today(ctx, tome); err != nil || d.Answered || d.Name != "法勝寺 トメ" {
			t.Fatalf("today: %+v %v", d, err)
		}
		if d, err := c.Input(ctx, tome, watch.Answer{Feeling: 1, BP: 2, Choice: 1}); err != nil || !d.Answered || d.Flagged {
			t.Fatalf("input: %+v %v", d, err)
		}
		if d, err := c.Today(ctx, tome); err != nil || !d.Answered || d.Answer.BP != 2 {
			t.Fatalf("today after: %+v %v", d, err)
		}
		if _, err := c.Input(ctx, tome, watch.Answer{Feeling: 7, BP: 1, Choice: 1}); watch.ReasonOf(err) != watch.ReasonBadAnswer {
			t.Errorf("bad answer: %v", err)
		}
		if _, err := c.Today(ctx, m.mint("nobody", "tv-nambu-1", nil)); watch.ReasonOf(err) != watch.ReasonNotWatched {
			t.Errorf("not watched: %v", err)
		}
		for name, a := range map[string]string{
			"a kiosk's login":   m.mint("tome", "kiosk-1", func(c *platform.Claims) { c.TerminalKind = platform.Kiosk }),
			"a login for staff": m.mint("tome", "tv-nambu-1", func(c *platform.Claims) { c.Purpose = platform.PurposeStaff }),
			"another issuer":    m.mint("tome", "tv-nambu-1", func(c *platform.Claims) { c.Issuer = "https://evil.test" }),
			"none":              "",
		} {
			if _, err := c.Today(ctx, a); !errors.Is(err, watch.ErrAssertion) {
				t.Errorf("%s: %v, want ErrAssertion", name, err)
			}
		}
	})
}
