package delegation

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/inproc"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestClient runs the typed Client against the handlers of a Service that
// itself asks the corporate registry over HTTP (corpreg.Client): every role
// boundary is the HTTP contract.
func TestClient(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newScenario(t, db)
		corpMux := http.NewServeMux()
		s.reg.Routes(corpMux)
		svc, err := New(ctx, Config{DB: db, Corporations: &corpreg.Client{BaseURL: "http://corpreg.test", HTTP: inproc.Client(corpMux)},
			Verify: verifyCMS, SignerPerson: s.signerPerson, Now: s.clock.now})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		svc.Routes(mux)
		cl := &Client{BaseURL: "http://delegation.test/", HTTP: inproc.Client(mux)}

		s.clock.set(day(150))
		p := power(Principal{CorporateNumber: numberA, CorporationName: "株式会社テスト商事", RepresentativeName: "代表 二郎"},
			"carol", day(150), day(300), false, docDeduction)
		der := s.sign(p, s.rep2, day(150))
		rec, err := cl.Register(ctx, der)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Power.ID != p.ID || rec.Status != StatusActive || string(rec.CMS) != string(der) || !rec.SignedAt.Equal(day(150)) {
			t.Errorf("registered %+v", rec)
		}
		// The same power signed anew is answered 200 with the first record:
		// nothing was created.
		same := *p
		body, _ := json.Marshal(SignedRequest{CMS: base64.StdEncoding.EncodeToString(s.sign(&same, s.rep2, day(150)))})
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/delegation/v1/powers", bytes.NewReader(body)))
		var again Record
		if err := json.Unmarshal(w.Body.Bytes(), &again); w.Code != http.StatusOK || err != nil || !bytes.Equal(again.CMS, der) {
			t.Errorf("the same power signed anew: %d %s", w.Code, w.Body)
		}
		if got, err := cl.Get(ctx, p.ID); err != nil || got.Power.Agent != p.Agent {
			t.Errorf("Get: %+v %v", got, err)
		}
		q := Query{Power: der, CorporateNumber: numberA, DocType: docDeduction, Signer: s.carol.cert, At: day(160)}
		if res, err := cl.Check(ctx, q); err != nil || !res.OK || res.Power == nil || res.Power.ID != p.ID {
			t.Errorf("Check: %+v %v", res, err)
		}
		q.Signer = s.alice.cert
		if res, err := cl.Check(ctx, q); err != nil || res.Reason != NotAgent || res.MessageJA == "" {
			t.Errorf("Check by another signer: %+v %v", res, err)
		}
		q.Power = nil
		if res, err := cl.Check(ctx, q); err != nil || res.Reason != Forged {
			t.Errorf("Check of an empty power: %+v %v", res, err)
		}

		other := *p
		other.Powers = []string{docTax}
		for _, tc := range []struct {
			name string
			call func() error
			want error
		}{
			{"register again", func() error { _, err := cl.Register(ctx, der); return err }, nil},
			{"register another power under the ID", func() error { _, err := cl.Register(ctx, s.sign(&other, s.rep2, day(150))); return err }, ErrDuplicate},
			{"register tampered", func() error { _, err := cl.Register(ctx, flipLast(der)); return err }, ErrForged},
			{"register by the former representative", func() error {
				_, err := cl.Register(ctx, s.sign(power(s.a, "carol", day(150), day(300), false, docTax), s.rep1, day(150)))
				return err
			}, ErrNotRepresentative},
			{"register for a closed corporation", func() error {
				_, err := cl.Register(ctx, s.sign(power(s.b, "carol", day(150), day(300), false, docTax), s.repB, day(150)))
				return err
			}, ErrClosed},
			{"register under an unknown parent", func() error {
				_, err := cl.Register(ctx, s.sign(child(power(s.a, "x", day(1), day(9), true, docTax), "carol", day(2), day(3), docTax), s.alice, day(2)))
				return err
			}, ErrNotFound},
			{"register a sub-delegation not allowed", func() error {
				_, err := cl.Register(ctx, s.sign(child(p, "dave", day(150), day(160), docDeduction), s.carol, day(150)))
				return err
			}, ErrSubDelegation},
			{"get an unknown power", func() error { _, err := cl.Get(ctx, "0000000000000000"); return err }, ErrNotFound},
			{"revoke by the agent", func() error { _, err := cl.Revoke(ctx, p.ID, s.revocation(p, s.carol, day(151))); return err }, ErrNotRepresentative},
			{"revoke", func() error { _, err := cl.Revoke(ctx, p.ID, s.revocation(p, s.rep2, day(151))); return err }, nil},
			{"revoke again", func() error { _, err := cl.Revoke(ctx, p.ID, s.revocation(p, s.rep2, day(151))); return err }, ErrRevoked},
			{"revoke an unknown power", func() error { _, err := cl.Revoke(ctx, other.ID+"x", s.revocation(p, s.rep2, day(151))); return err }, ErrNotFound},
		} {
			if err := tc.call(); !errIs(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
		s.clock.set(day(152))
		q.Power, q.Signer = der, s.carol.cert
		if res, err := cl.Check(ctx, q); err != nil || res.Reason != Revoked {
			t.Errorf("Check after revocation: %+v %v", res, err)
		}

		// The registry unreachable: a failure (503), not a refusal.
		down, err := New(ctx, Config{DB: db, Corporations: &corpreg.Client{BaseURL: "http://corpreg.test",
			HTTP: inproc.Client(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }))},
			Verify: verifyCMS, SignerPerson: s.signerPerson, Now: s.clock.now})
		if err != nil {
			t.Fatal(err)
		}
		downMux := http.NewServeMux()
		down.Routes(downMux)
		dcl := &Client{BaseURL: "http://delegation.test", HTTP: inproc.Client(downMux)}
		if _, err := dcl.Check(ctx, Query{Power: s.p1CMS, CorporateNumber: numberA, DocType: docDeduction, Signer: s.alice.cert, At: day(10)}); !errors.Is(err, ErrUnavailable) {
			t.Errorf("Check with the registry down: %v, want ErrUnavailable", err)
		}
		if _, err := dcl.Register(ctx, s.sign(power(s.a, "carol", day(150), day(300), false, docTax), s.rep2, day(150))); !errors.Is(err, ErrUnavailable) {
			t.Errorf("Register with the registry down: %v, want ErrUnavailable", err)
		}
	})
}

// TestHTTPRejectsBadRequests: malformed bodies get a 400 that says what is
// wrong, in Japanese and English, and nothing is stored.
func TestHTTPRejectsBadRequests(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	s := newScenario(t, db)
	mux := http.NewServeMux()
	s.svc.Routes(mux)
	s.clock.set(day(150))
	fresh := s.sign(power(Principal{CorporateNumber: numberA, CorporationName: "株式会社テスト商事", RepresentativeName: "代表 二郎"},
		"carol", day(150), day(300), false, docDeduction), s.rep2, day(150))
	good := base64.StdEncoding.EncodeToString(fresh)
	rev := base64.StdEncoding.EncodeToString(s.revocation(s.p1, s.rep2, day(150)))
	signer := base64.StdEncoding.EncodeToString(s.alice.cert.Raw)
	p1 := base64.StdEncoding.EncodeToString(s.p1CMS)
	at := `"2026-01-01T00:00:00Z"`
	for _, tc := range []struct {
		name, path, body, inMessage string
	}{
		{"register: not JSON", "/delegation/v1/powers", `{"cms":`, "JSON"},
		{"register: array", "/delegation/v1/powers", `["` + good + `"]`, "JSON"},
		{"register: unknown field", "/delegation/v1/powers", `{"cms":"` + good + `","id":"x"}`, "JSON"},
		{"register: bytes, not a string", "/delegation/v1/powers", `{"cms":[1,2,3]}`, "JSON"},
		{"register: bad base64", "/delegation/v1/powers", `{"cms":"not*base64"}`, "base64"},
		{"register: base64url", "/delegation/v1/powers", `{"cms":"` + strings.NewReplacer("+", "-", "/", "_").Replace(good) + `x"}`, "base64"},
		{"register: truncated base64", "/delegation/v1/powers", `{"cms":"` + good[:len(good)-1] + `"}`, "base64"},
		{"register: empty", "/delegation/v1/powers", `{"cms":""}`, "base64"},
		{"register: too large", "/delegation/v1/powers", `{"cms":"` + strings.Repeat("A", maxBody) + `"}`, "JSON"},
		{"register: trailing data", "/delegation/v1/powers", `{"cms":"` + good + `"} {}`, "JSON"},
		{"revoke: not JSON", "/delegation/v1/powers/" + s.p1.ID + "/revoke", `cms=` + rev, "JSON"},
		{"revoke: bad base64", "/delegation/v1/powers/" + s.p1.ID + "/revoke", `{"cms":"` + rev[:len(rev)-2] + `"}`, "base64"},
		{"check: not JSON", "/delegation/v1/check", `{`, "JSON"},
		{"check: bad time", "/delegation/v1/check", `{"power":"` + p1 + `","corporate_number":"` + numberA + `","doc_type":"x","signer":"` + signer + `","at":"昨日"}`, "JSON"},
		{"check: no time", "/delegation/v1/check", `{"power":"` + p1 + `","corporate_number":"` + numberA + `","doc_type":"x","signer":"` + signer + `"}`, "at"},
		{"check: bad base64 power", "/delegation/v1/check", `{"power":"%%%","corporate_number":"` + numberA + `","doc_type":"x","signer":"` + signer + `","at":` + at + `}`, "power"},
		{"check: bad base64 signer", "/delegation/v1/check", `{"power":"` + p1 + `","corporate_number":"` + numberA + `","doc_type":"x","signer":"%%%","at":` + at + `}`, "signer"},
		{"check: signer not a certificate", "/delegation/v1/check", `{"power":"` + p1 + `","corporate_number":"` + numberA + `","doc_type":"x","signer":"AAAA","at":` + at + `}`, "signer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(tc.body)))
			var p httpapi.Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != http.StatusBadRequest || p.Code != CodeBadRequest ||
				!strings.Contains(p.MessageEN, tc.inMessage) || p.MessageJA == "" {
				t.Errorf("%d %s", rec.Code, rec.Body)
			}
		})
	}
	var n int
	var revoked int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(revoked_at) FROM delegation_powers`).Scan(&n, &revoked); err != nil || n != 7 || revoked != 1 {
		t.Errorf("%d powers, %d revoked (%v): want the scenario's 7 and 1", n, revoked, err)
	}
	// The same good request is taken: the refusals above were the body's.
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/delegation/v1/powers", strings.NewReader(`{"cms":"`+good+`"}`)))
	if rec.Code != http.StatusCreated {
		t.Errorf("good request: %d %s", rec.Code, rec.Body)
	}
}
