package eligibility

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
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// payIssuer is the platform's name in the test world's assertions.
const payIssuer = "https://platform.test"

// platformKeys is the JWK set of the world's platform key.
func (w *payWorld) platformKeys() platform.JWKS {
	return platform.JWKS{Keys: []platform.JWK{jwkOf(&w.platformKey.PublicKey, "k1")}}
}

func jwkOf(pub *ecdsa.PublicKey, kid string) platform.JWK {
	pt, _ := pub.Bytes() // 04 || X || Y
	return platform.JWK{Kty: "EC", Crv: "P-256", X: base64.RawURLEncoding.EncodeToString(pt[1:33]),
		Y: base64.RawURLEncoding.EncodeToString(pt[33:]), Kid: kid, Use: "sig", Alg: "ES256"}
}

// assertion is a platform assertion of pid made at terminal, valid for ttl
// from the world's now (negative: expired), signed by key (the world's
// platform key when nil).
func (w *payWorld) assertion(t *testing.T, pid, terminal string, ttl time.Duration, key *ecdsa.PrivateKey) string {
	t.Helper()
	if key == nil {
		key = w.platformKey
	}
	now := w.clock.now()
	c := platform.Claims{Issuer: payIssuer, Subject: pid, Audience: platform.Audience, IssuedAt: now.Add(-time.Minute).Unix(),
		Expiry: now.Add(ttl).Unix(), ID: rand.Text(), AuthTime: now.Unix(), Terminal: terminal, TerminalKind: platform.Kiosk,
		AMR: []string{"jpki-auth"}}
	b64 := base64.RawURLEncoding.EncodeToString
	hdr, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": "k1"})
	body, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	input := b64(hdr) + "." + b64(body)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64(sig)
}

// linkRequest is ichiro's signed consent to link his token, as shown now.
func (w *payWorld) linkRequest(t *testing.T) PaymentLinkRequest {
	t.Helper()
	doc := w.s.NewConsent("pid-ichiro", w.token, w.last4)
	cert, sig := paySign(t, w.ichiro, doc)
	return PaymentLinkRequest{Token: doc.Token, Last4: doc.Last4, ShownAt: doc.At, Certificate: cert, Signature: sig}
}

// TestResidentPaymentLinkAPI plays the holder's payment-link API in order:
// refusals of the assertion and of the body, a link, the same link again
// (answered from the first, linked once), a read, an unlink and one too
// many; the audit rows follow.
func TestResidentPaymentLinkAPI(t *testing.T) {
	payEach(t, func(t *testing.T, w *payWorld) {
		db := w.db
		mux := http.NewServeMux()
		w.s.ResidentRoutes(mux)
		srv := httptest.NewServer(trace.Middleware(mux))
		defer srv.Close()

		const path = "/eligibility/v1/my-payment-link"
		ichiro := w.assertion(t, "pid-ichiro", "pay-kiosk-1", 5*time.Minute, nil)
		expired := w.assertion(t, "pid-ichiro", "pay-kiosk-1", -time.Second, nil)
		other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		forged := w.assertion(t, "pid-ichiro", "pay-kiosk-1", 5*time.Minute, other)
		good := w.linkRequest(t)
		badSig := w.linkRequest(t)
		badSig.Signature = append([]byte(nil), badSig.Signature...)
		badSig.Signature[10] ^= 1
		noCert := good
		noCert.Certificate = nil
		huge := good
		huge.Signature = make([]byte, maxPaymentLinkBody)

		var linkID string
		problem := func(code httpapi.Code) []string {
			return []string{`"code":"` + string(code) + `"`, "message_ja", "message_en"}
		}
		// Whatever the answer, it never carries the token.
		secret := []string{w.token, "tok_"}
		for _, tc := range []struct {
			step      webtest.Step
			assertion string
		}{
			{webtest.Step{Name: "no assertion", Path: path, WantStatus: 401, WantContains: problem(CodeUnauthorized)}, ""},
			{webtest.Step{Name: "expired assertion", Path: path, WantStatus: 401, WantContains: problem(CodeUnauthorized)}, expired},
			{webtest.Step{Name: "assertion of another key", Method: "POST", Path: path, JSON: good, WantStatus: 401,
				WantContains: problem(CodeUnauthorized)}, forged},
			{webtest.Step{Name: "no link yet", Path: path, WantStatus: 404, WantContains: problem(CodeNoPaymentLink)}, ichiro},
			{webtest.Step{Name: "unlink when none", Method: "DELETE", Path: path, WantStatus: 404, WantContains: problem(CodeNoPaymentLink)}, ichiro},
			{webtest.Step{Name: "not JSON", Method: "POST", Path: path, JSON: `{"token":`, WantStatus: 400, WantContains: problem(CodeInvalid)}, ichiro},
			{webtest.Step{Name: "unknown field", Method: "POST", Path: path, JSON: map[string]any{"token": w.token, "pan": payPAN},
				WantStatus: 400, WantContains: problem(CodeInvalid)}, ichiro},
			{webtest.Step{Name: "no certificate", Method: "POST", Path: path, JSON: noCert, WantStatus: 400, WantContains: problem(CodeInvalid)}, ichiro},
			{webtest.Step{Name: "over the size limit", Method: "POST", Path: path, JSON: huge, WantStatus: 400, WantContains: problem(CodeInvalid)}, ichiro},
			{webtest.Step{Name: "bad signature", Method: "POST", Path: path, JSON: badSig, WantStatus: 400, WantContains: problem(CodeBadSignature)}, ichiro},
			{webtest.Step{Name: "link", Method: "POST", Path: path, JSON: good, WantStatus: 201, WantContains: []string{`"last4":"1111"`},
				WantNotContains: append([]string{"replayed"}, secret...),
				Check: func(t testing.TB, r *webtest.Response) {
					var l MyPaymentLink
					if err := json.Unmarshal([]byte(r.Body), &l); err != nil || l.ID == "" {
						t.Fatalf("%s: %v", r.Body, err)
					}
					linkID = l.ID
				}}, ichiro},
			{webtest.Step{Name: "link twice (the same signed consent)", Method: "POST", Path: path, JSON: good, WantStatus: 200,
				WantContains: []string{`"replayed":true`}, WantNotContains: secret, WantHeader: map[string]string{"Idempotent-Replayed": "true"},
				Check: func(t testing.TB, r *webtest.Response) {
					if !strings.Contains(r.Body, linkID) {
						t.Errorf("%s, want the link %s", r.Body, linkID)
					}
				}}, ichiro},
			{webtest.Step{Name: "read", Path: path, WantContains: []string{`"last4":"1111"`, `"cert_serial":"` + w.ichiroIssued.Sign.Serial}, WantNotContains: secret}, ichiro},
			{webtest.Step{Name: "unlink", Method: "DELETE", Path: path, WantStatus: 204}, ichiro},
			{webtest.Step{Name: "unlink twice", Method: "DELETE", Path: path, WantStatus: 404, WantContains: problem(CodeNoPaymentLink)}, ichiro},
		} {
			c := webtest.New(t, srv.URL)
			if tc.assertion != "" {
				c = c.Bearer(tc.assertion)
			}
			c.Step(tc.step)
		}

		var n int
		if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM elig_pay_links WHERE platform_id = 'pid-ichiro'`).Scan(&n); err != nil || n != 1 {
			t.Errorf("%d links (%v), want 1: linking twice linked once", n, err)
		}
		type row struct{ Terminal, Action, Link string }
		rows, err := db.QueryContext(t.Context(), `SELECT terminal, action, link_id, trace_id FROM elig_pay_audit WHERE platform_id = 'pid-ichiro' ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []row
		for rows.Next() {
			var r row
			var traceID string
			if err := rows.Scan(&r.Terminal, &r.Action, &r.Link, &traceID); err != nil {
				t.Fatal(err)
			}
			if traceID == "" {
				t.Errorf("audit row %+v without a trace ID", r)
			}
			got = append(got, r)
		}
		want := []row{{"pay-kiosk-1", PayAuditView, ""}, {"pay-kiosk-1", PayAuditLink, linkID}, {"pay-kiosk-1", PayAuditRelinked, linkID},
			{"pay-kiosk-1", PayAuditView, linkID}, {"pay-kiosk-1", PayAuditUnlink, linkID}}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("audit rows (-want +got):\n%s", d)
		}
	})
}

// TestResidentClient: the typed client over the API, and a link whose
// answer is lost on the way back (a gateway's bare 502): the client sends
// it again and the service answers the link it made, so it is linked once.
func TestResidentClient(t *testing.T) {
	w := payNewWorld(t, storetest.SQLite(t))
	mux := http.NewServeMux()
	w.s.ResidentRoutes(mux)
	var posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && posts.Add(1) == 1 {
			mux.ServeHTTP(httptest.NewRecorder(), r) // linked; the answer is lost
			http.Error(rw, "bad gateway", http.StatusBadGateway)
			return
		}
		mux.ServeHTTP(rw, r)
	}))
	defer srv.Close()
	c := &ResidentClient{BaseURL: srv.URL, HTTP: httpapi.NewHTTPClient(5 * time.Second)}
	ctx := context.Background()
	a := w.assertion(t, "pid-ichiro", "pay-kiosk-1", 5*time.Minute, nil)

	if _, err := c.PaymentLink(ctx, a); !errors.Is(err, ErrNoPaymentLink) {
		t.Errorf("no link yet: %v, want ErrNoPaymentLink", err)
	}
	l, err := c.LinkPayment(ctx, a, w.linkRequest(t))
	if err != nil {
		t.Fatal(err)
	}
	if !l.Replayed || l.Last4 != "1111" || posts.Load() != 2 {
		t.Errorf("link %+v after %d posts, want the first link answered again on the second", l, posts.Load())
	}
	got, err := c.PaymentLink(ctx, a)
	if err != nil || got.ID != l.ID {
		t.Errorf("read %+v %v, want %s", got, err, l.ID)
	}
	var n int
	if err := w.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM elig_pay_links`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d links (%v), want 1", n, err)
	}
	// A refusal comes back as the service's sentinel.
	bad := w.linkRequest(t)
	bad.Last4 = "2222"
	if _, err := c.LinkPayment(ctx, a, bad); !errors.Is(err, ErrBadSignature) {
		t.Errorf("another document: %v, want ErrBadSignature", err)
	}
	if _, err := c.LinkPayment(ctx, "not-an-assertion", w.linkRequest(t)); !errors.Is(err, CodeUnauthorized) {
		t.Errorf("no login: %v, want %s", err, CodeUnauthorized)
	}
	if err := c.UnlinkPayment(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := c.UnlinkPayment(ctx, a); !errors.Is(err, ErrNoPaymentLink) {
		t.Errorf("unlink twice: %v, want ErrNoPaymentLink", err)
	}
}
