package postbox_test

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
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/demo"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/pbworld"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/postbox"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// residentEnv is the demo scene with a second door to its post box: the
// same boxes on the same database, behind a post box that trusts a test
// key beside the platform's, so that a test can make assertions with any
// claims.
type residentEnv struct {
	w   *pbworld.World
	sc  *pbworld.Scene
	url string
	key *ecdsa.PrivateKey
}

const testKID = "test-key"

func newResidentEnv(t *testing.T, db *store.DB) *residentEnv {
	t.Helper()
	w := pbworld.New(t, db)
	e := &residentEnv{w: w, sc: w.Demo()}
	var err error
	if e.key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	pt, err := e.key.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	test := platform.JWK{Kty: "EC", Crv: "P-256", X: b64(pt[1:33]), Y: b64(pt[33:]), Kid: testKID, Use: "sig", Alg: "ES256"}
	keys := func(context.Context) (platform.JWKS, error) {
		ks := w.Plat.PublicKeys()
		ks.Keys = append(ks.Keys, test)
		return ks, nil
	}
	box, err := postbox.Open(context.Background(), postbox.Config{DB: db, Policy: w.Policy, SignerPerson: w.Plat.SignerPerson,
		Keys: keys, Issuer: w.Srv.URL, Terminal: pbworld.PostboxTerminal, Now: w.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	box.Routes(mux)
	srv := httptest.NewServer(trace.Middleware(mux))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// mint is an assertion of 酒田 一郎 made at the post box's terminal, now,
// signed with the test key, with the claims changed by edit.
func (e *residentEnv) mint(t *testing.T, edit func(c *platform.Claims)) string {
	t.Helper()
	now := e.w.Clock.Now()
	c := platform.Claims{Issuer: e.w.Srv.URL, Subject: e.sc.Ichiro.PlatformID, Audience: platform.Audience, IssuedAt: now.Unix(),
		Expiry: now.Add(5 * time.Minute).Unix(), ID: "jti-" + now.Format("150405.000"), AuthTime: now.Unix(),
		Terminal: pbworld.PostboxTerminal, TerminalKind: platform.Mobile, AMR: []string{"jpki-auth"}}
	if edit != nil {
		edit(&c)
	}
	return signJWS(t, e.key, c)
}

// signJWS is a compact ES256 JWS over claims (RFC 7515, RFC 7518 §3.4).
func signJWS(t *testing.T, key *ecdsa.PrivateKey, claims any) string {
	t.Helper()
	hdr, err := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": testKID})
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
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

// client is the resident API's client with a token.
func (e *residentEnv) client(token string) *postbox.BoxClient {
	return &postbox.BoxClient{BaseURL: e.url, Token: token}
}

// session opens a box session for an assertion.
func (e *residentEnv) session(t *testing.T, assertion string) string {
	t.Helper()
	ss, err := postbox.OpenSession(context.Background(), nil, e.url, assertion)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ss.Token, postbox.SessionPrefix) || !ss.ExpiresAt.After(e.w.Clock.Now()) {
		t.Fatalf("session %+v", ss)
	}
	return ss.Token
}

// code is the problem code of an error of the client, "" for none.
func code(err error) httpapi.Code {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*postbox.APIError](err); ok {
		return e.Code
	}
	return httpapi.Code("not a problem: " + err.Error())
}

// TestResidentLogin: what opens a box over the resident API, and what does
// not.
func TestResidentLogin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newResidentEnv(t, db)
		other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		ended := e.session(t, e.sc.Ichiro.Assertion)
		if err := e.client(ended).EndSession(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name  string
			token func() string
			want  httpapi.Code
		}{
			{"the platform's assertion", func() string { return e.sc.Ichiro.Assertion }, ""},
			{"an assertion of the test key", func() string { return e.mint(t, nil) }, ""},
			{"a box session", func() string { return e.session(t, e.mint(t, nil)) }, ""},
			{"no token", func() string { return "" }, postbox.CodeBadAssertion},
			{"not a JWS", func() string { return "not.an.assertion" }, postbox.CodeBadAssertion},
			{"expired", func() string {
				return e.mint(t, func(c *platform.Claims) { c.Expiry = e.w.Clock.Now().Add(-time.Second).Unix() })
			}, postbox.CodeBadAssertion},
			{"another audience", func() string { return e.mint(t, func(c *platform.Claims) { c.Audience = "another-service" }) },
				postbox.CodeBadAssertion},
			{"another issuer", func() string { return e.mint(t, func(c *platform.Claims) { c.Issuer = "https://elsewhere.example" }) },
				postbox.CodeBadAssertion},
			{"another terminal", func() string { return e.mint(t, func(c *platform.Claims) { c.Terminal = "kiosk-konbini-sakata-1" }) },
				postbox.CodeBadAssertion},
			{"another purpose", func() string {
				return e.mint(t, func(c *platform.Claims) { c.Purpose = platform.PurposeEligibility })
			}, postbox.CodeBadAssertion},
			{"signed with an unknown key", func() string { return signJWS(t, other, platform.Claims{Audience: platform.Audience}) },
				postbox.CodeBadAssertion},
			{"a session that never was", func() string { return postbox.SessionPrefix + "made-up" }, postbox.CodeSessionEnded},
			{"an ended session", func() string { return ended }, postbox.CodeSessionEnded},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := e.client(tc.token()).Box(context.Background())
				if got := code(err); got != tc.want {
					t.Errorf("GET /postbox/v1/box: %q (%v), want %q", got, err, tc.want)
				}
				if err != nil {
					ae, _ := errors.AsType[*postbox.APIError](err)
					if ae.Status != http.StatusUnauthorized || !strings.HasPrefix(ae.Header.Get("WWW-Authenticate"), "Bearer") {
						t.Errorf("refusal: %d, WWW-Authenticate %q", ae.Status, ae.Header.Get("WWW-Authenticate"))
					}
				}
			})
		}
		// The platform's assertion expires; a box session made from it lives
		// on while it is used, never past SessionMax.
		token := e.session(t, e.sc.Ichiro.Assertion)
		e.w.Clock.Advance(6 * time.Minute)
		if _, err := e.client(e.sc.Ichiro.Assertion).Box(context.Background()); code(err) != postbox.CodeBadAssertion {
			t.Errorf("the assertion after 6 minutes: %v", err)
		}
		for used := 6 * time.Minute; used < postbox.SessionMax-postbox.SessionIdle; used += postbox.SessionIdle - time.Minute {
			if _, err := e.client(token).Box(context.Background()); err != nil {
				t.Fatalf("the session in use %v after the login: %v", used, err)
			}
			e.w.Clock.Advance(postbox.SessionIdle - time.Minute)
		}
		e.w.Clock.Advance(postbox.SessionIdle)
		if _, err := e.client(token).Box(context.Background()); code(err) != postbox.CodeSessionEnded {
			t.Errorf("the session past SessionMax: %v", err)
		}
		// Unused for SessionIdle, a session lapses.
		idle := e.session(t, e.mint(t, nil))
		e.w.Clock.Advance(postbox.SessionIdle)
		if _, err := e.client(idle).Box(context.Background()); code(err) != postbox.CodeSessionEnded {
			t.Errorf("the session unused for %v: %v", postbox.SessionIdle, err)
		}
		// A session is not exchanged for another.
		if _, err := postbox.OpenSession(context.Background(), nil, e.url, e.session(t, e.mint(t, nil))); code(err) != postbox.CodeBadAssertion {
			t.Errorf("a session for a session: %v", err)
		}
	})
}

// TestResidentReads: the owner's reads over the resident API, each audited
// as the owner's under the request's trace; another person's document is
// not found.
func TestResidentReads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newResidentEnv(t, db)
		ichiro := e.client(e.session(t, e.sc.Ichiro.Assertion))
		b, err := ichiro.Box(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Documents) != 1 || b.Documents[0].ID != e.sc.KojoID || b.Documents[0].PartyID != "nissay" ||
			len(b.Consents) != 3 || len(b.Parties) != 4 || len(b.Sends) != 0 || len(b.Notices) != 0 {
			t.Errorf("box: %+v", b)
		}
		for _, p := range b.Parties {
			if p.Endpoint != "" || p.OutKey != "" {
				t.Errorf("the owner is shown where the post box reaches %s: %+v", p.ID, p)
			}
		}
		tctx := trace.Start(ctx, trace.SpanContext{})
		d, err := ichiro.Document(tctx, e.sc.KojoID)
		if err != nil {
			t.Fatal(err)
		}
		if d.Document.SHA256() != b.Documents[0].SHA256 || d.From == nil || d.From.ID != "nissay" || !d.Report.Passed() ||
			d.Report.Delegation == nil || d.Report.Content == nil {
			t.Errorf("document: from %+v, report %+v", d.From, d.Report)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM postbox_audit WHERE actor = 'owner' AND action = 'read' AND trace_id = $1`,
			trace.ID(tctx)).Scan(&n); err != nil || n != 1 {
			t.Errorf("%d audit rows of the read under its trace (%v), want 1", n, err)
		}
		e.w.Login(e.sc.Yumi)
		yumi := e.client(e.session(t, e.sc.Yumi.Assertion))
		for _, tc := range []struct {
			name string
			call func() error
			want httpapi.Code
		}{
			{"his document, as her", func() error { _, err := yumi.Document(ctx, e.sc.KojoID); return err }, postbox.CodeNotFound},
			{"no such document", func() error { _, err := ichiro.Document(ctx, "doc_nonexistent"); return err }, postbox.CodeNotFound},
			{"no such notice", func() error { _, err := ichiro.Notice(ctx, "ntc_nonexistent"); return err }, postbox.CodeNotFound},
			{"her box is empty", func() error {
				b, err := yumi.Box(ctx)
				if err == nil && (len(b.Documents) != 0 || len(b.Consents) != 0) {
					return errors.New("her box shows his documents or consents")
				}
				return err
			}, ""},
			{"withdrawing a consent she never gave", func() error { return yumi.Withdraw(ctx, "nissay") }, postbox.CodeNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := code(tc.call()); got != tc.want {
					t.Errorf("%q, want %q", got, tc.want)
				}
			})
		}
		if _, err := ichiro.Consents(ctx); err != nil {
			t.Fatal(err)
		}
		es, err := ichiro.Audit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		type row struct{ Actor, Action, Detail string }
		var rows []row
		for _, e := range es[:6] {
			rows = append(rows, row{e.Actor, e.Action, e.Detail})
		}
		want := []row{
			{"owner", "list", "audit trail"},
			{"owner", "list", "consents"},
			{"owner", "read", pbworld.KojoType + " " + e.sc.KojoID},
			{"owner", "list", "documents"},
			{"owner", "login", "terminal " + pbworld.PostboxTerminal},
			{"nissay", "deliver", pbworld.KojoType + " " + e.sc.KojoID},
		}
		if diff := cmp.Diff(want, rows); diff != "" {
			t.Errorf("audit, newest first (-want +got):\n%s", diff)
		}
	})
}

// TestResidentSends: a send over the resident API is made once per client
// ID, whatever is sent again; refusals come back as the post box's codes.
func TestResidentSends(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newResidentEnv(t, db)
		w, sc := e.w, e.sc
		w.AddOffice(demo.Offices[1])
		ichiro := e.client(e.session(t, sc.Ichiro.Assertion))
		kojo := w.Document(sc.Box, sc.KojoID)
		app := w.SignAs(sc.Ichiro, w.ApplicationContent(pbworld.TaxSakata.ID, kojo))
		q := postbox.SubmitRequest{ClientID: "send-1", To: pbworld.TaxSakata.ID, Application: app, Documents: []string{kojo.ID}}
		first, err := ichiro.Submit(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ichiro.Submit(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if again.ID != first.ID {
			t.Errorf("the send again is %s, want the first, %s", again.ID, first.ID)
		}
		// A retry signed anew (the page's form sent twice) is the first send too.
		q2 := q
		q2.Application = w.SignAs(sc.Ichiro, w.ApplicationContent(pbworld.TaxSakata.ID, kojo))
		if sd, err := ichiro.Submit(ctx, q2); err != nil || sd.ID != first.ID {
			t.Errorf("signed anew under the same client ID: %v %v", sd, err)
		}
		if n := w.DeliverDue(); n != 1 {
			t.Errorf("%d sends delivered, want 1", n)
		}
		if h := w.Hits(pbworld.TaxSakata.ID); h != 1 {
			t.Errorf("the tax office was sent %d envelopes, want 1", h)
		}
		other := demo.Offices[1].ID
		for _, tc := range []struct {
			name string
			q    postbox.SubmitRequest
			want httpapi.Code
		}{
			{"the client ID of another send", postbox.SubmitRequest{ClientID: "send-1", To: other,
				Application: w.SignAs(sc.Ichiro, w.ApplicationContent(other, kojo)), Documents: []string{kojo.ID}}, postbox.CodeClientIDReused},
			{"signed by someone else", postbox.SubmitRequest{ClientID: "send-2", To: pbworld.TaxSakata.ID,
				Application: w.SignAs(sc.Yumi, w.ApplicationContent(pbworld.TaxSakata.ID, kojo)), Documents: []string{kojo.ID}}, postbox.CodeNotOwner},
			{"to a business that takes no applications", postbox.SubmitRequest{ClientID: "send-3", To: "nhk",
				Application: w.SignAs(sc.Ichiro, w.ApplicationContent("nhk", kojo)), Documents: []string{kojo.ID}}, postbox.CodeNotOffered},
			{"attachments other than signed", postbox.SubmitRequest{ClientID: "send-4", To: pbworld.TaxSakata.ID,
				Application: w.SignAs(sc.Ichiro, w.ApplicationContent(pbworld.TaxSakata.ID)), Documents: []string{kojo.ID}}, postbox.CodeInvalid},
			{"a tampered application", postbox.SubmitRequest{ClientID: "send-5", To: pbworld.TaxSakata.ID,
				Application: pbworld.Tamper(t, app, "給与所得"), Documents: []string{kojo.ID}}, postbox.CodeBadSignature},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := ichiro.Submit(ctx, tc.q); code(err) != tc.want {
					t.Errorf("%v, want %q", err, tc.want)
				}
			})
		}
		b, err := ichiro.Box(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Sends) != 1 || b.Sends[0].State != postbox.StateDelivered || b.Sends[0].Receipt == "" {
			t.Errorf("sends: %+v", b.Sends)
		}

		// He moves: the answer to the change notice is sent once too.
		w.Clock.Advance(time.Minute)
		w.Move(sc.Ichiro, pbworld.IchiroNewAddress)
		if _, err := w.Postbox.FollowFeed(ctx); err != nil {
			t.Fatal(err)
		}
		if b, err = ichiro.Box(ctx); err != nil || len(b.Notices) != 1 {
			t.Fatalf("notices after the move: %+v %v", b, err)
		}
		nv, err := ichiro.Notice(ctx, b.Notices[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(nv.Choices) != 3 {
			t.Errorf("choices: %+v", nv.Choices)
		}
		nq := postbox.NotifyRequest{ClientID: "move-1", Signed: map[string][]byte{
			"nhk": w.AddressNotice(sc.Ichiro, "nhk", pbworld.IchiroRefs["nhk"])}}
		sends, err := ichiro.Notify(ctx, nv.Notice.ID, nq)
		if err != nil || len(sends) != 1 {
			t.Fatalf("notify: %v %v", sends, err)
		}
		// Sent again after MaxNoticeAge (a retry that waited): the first.
		w.Clock.Advance(postbox.MaxNoticeAge + time.Minute)
		again2, err := ichiro.Notify(ctx, nv.Notice.ID, nq)
		if err != nil || len(again2) != 1 || again2[0].ID != sends[0].ID {
			t.Errorf("notify again: %v %v, want %s", again2, err, sends[0].ID)
		}
		if n := w.DeliverDue(); n != 1 {
			t.Errorf("%d notices delivered, want 1", n)
		}
		if h := w.Hits("nhk"); h != 1 {
			t.Errorf("NHK was sent %d notices, want 1", h)
		}
		old := w.SignAs(sc.Ichiro, postbox.AddressNoticeContent(w.Party("japanpost"), pbworld.IchiroRefs["japanpost"], w.Clock.Now().UTC()))
		w.Clock.Advance(postbox.MaxNoticeAge + time.Minute)
		for _, tc := range []struct {
			name string
			q    postbox.NotifyRequest
			want httpapi.Code
		}{
			{"signed too long ago", postbox.NotifyRequest{ClientID: "move-2", Signed: map[string][]byte{"japanpost": old}},
				postbox.CodeStaleSignature},
			{"a business he did not consent to tell", postbox.NotifyRequest{ClientID: "move-3", Signed: map[string][]byte{
				pbworld.TaxSakata.ID: w.AddressNotice(sc.Ichiro, pbworld.TaxSakata.ID, "T-1")}}, postbox.CodeNotConsented},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := ichiro.Notify(ctx, nv.Notice.ID, tc.q); code(err) != tc.want {
					t.Errorf("%v, want %q", err, tc.want)
				}
			})
		}
	})
}

// TestResidentBodies: the resident API's refusals of what it cannot read.
func TestResidentBodies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newResidentEnv(t, db)
		c := webtest.New(t, e.url).Bearer(e.session(t, e.sc.Ichiro.Assertion))
		big := strings.Repeat("A", 3*postbox.MaxDocument)
		for _, tc := range []struct {
			name, path string
			body       any
			status     int
			code       httpapi.Code
		}{
			{"not JSON", "/postbox/v1/box/submissions", json.RawMessage(`{"client_id":`), http.StatusBadRequest, postbox.CodeBadBody},
			{"an unknown field", "/postbox/v1/box/submissions", map[string]any{"client_id": "a", "to": "tax-sakata", "application": "AA==", "bcc": "x"},
				http.StatusBadRequest, postbox.CodeBadBody},
			{"two objects", "/postbox/v1/box/consents", json.RawMessage(`{} {}`), http.StatusBadRequest, postbox.CodeBadBody},
			{"too large", "/postbox/v1/box/submissions", map[string]any{"client_id": "a", "to": "tax-sakata", "application": big},
				http.StatusBadRequest, postbox.CodeBadBody},
			{"no client ID", "/postbox/v1/box/submissions", map[string]any{"to": "tax-sakata", "application": "AA=="},
				http.StatusBadRequest, postbox.CodeInvalid},
			{"a client ID with a slash", "/postbox/v1/box/submissions", map[string]any{"client_id": "a/nhk", "to": "tax-sakata", "application": "AA=="},
				http.StatusBadRequest, postbox.CodeInvalid},
			{"a document twice", "/postbox/v1/box/submissions", map[string]any{"client_id": "a", "to": "tax-sakata", "application": "AA==",
				"documents": []string{"doc_1", "doc_1"}}, http.StatusBadRequest, postbox.CodeInvalid},
			{"a consent to nothing", "/postbox/v1/box/consents", map[string]any{"party": "nhk", "customer_ref": "N-1", "signed": "AA=="},
				http.StatusBadRequest, postbox.CodeInvalid},
			{"a consent unsigned", "/postbox/v1/box/consents", map[string]any{"party": "nhk", "customer_ref": "N-1", "deliver": true},
				http.StatusBadRequest, postbox.CodeInvalid},
			{"a consent signed by nobody", "/postbox/v1/box/consents", map[string]any{"party": "nhk", "customer_ref": "N-1", "address_notice": true,
				"signed": "AAEC"}, http.StatusUnprocessableEntity, postbox.CodeBadSignature},
			{"notices to nobody", "/postbox/v1/box/notices/ntc_1/sends", map[string]any{"client_id": "a", "signed": map[string]string{}},
				http.StatusBadRequest, postbox.CodeInvalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var p httpapi.Problem
				r := c.Send(webtest.Step{Method: http.MethodPost, Path: tc.path, JSON: tc.body})
				if err := json.Unmarshal([]byte(r.Body), &p); err != nil || r.Status != tc.status || p.Code != tc.code ||
					p.MessageJA == "" || p.MessageEN == "" {
					t.Errorf("%d %s (%v), want %d %s: %.300s", r.Status, p.Code, err, tc.status, tc.code, r.Body)
				}
			})
		}
	})
}
