package corpreg

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/inproc"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestHTTP runs the Client against the handlers: it must answer as the
// Registry does.
func TestHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := &clock{t: t0}
		r := newRegistry(t, db, c)
		if err := r.RegisterCorporation(ctx, numberA, "株式会社テスト商事", "東京都千代田区霞が関三丁目1番1号"); err != nil {
			t.Fatal(err)
		}
		rep, err := r.AppointRepresentative(ctx, numberA, "代表 一郎", newKey(t).Public())
		if err != nil {
			t.Fatal(err)
		}
		c.set(t0.Add(time.Hour))
		if err := r.Close(ctx, numberA); err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		r.Routes(mux)
		cl := &Client{BaseURL: "http://corpreg.test", HTTP: inproc.Client(mux)}

		got, err := cl.Corporation(ctx, numberA)
		if err != nil {
			t.Fatal(err)
		}
		want, err := r.Corporation(ctx, numberA)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("corporation over HTTP (-in-process +client):\n%s", diff)
		}
		for _, n := range []string{numberC, "123", "4010001000012"} {
			if _, err := cl.Corporation(ctx, n); !errors.Is(err, ErrUnknownCorporation) {
				t.Errorf("Corporation(%s): %v, want ErrUnknownCorporation", n, err)
			}
		}
		for _, tc := range []struct {
			name   string
			number string
			cert   *x509.Certificate
			at     time.Time
			want   error
		}{
			{"in office", numberA, rep, t0, nil},
			{"before the term", numberA, rep, t0.Add(-time.Second), ErrNotRepresentative},
			{"closed", numberA, rep, t0.Add(time.Hour), ErrClosed},
			{"unknown", numberC, rep, t0, ErrUnknownCorporation},
			{"malformed number", "x", rep, t0, ErrUnknownCorporation},
			{"no certificate", numberA, nil, t0, ErrNotRepresentative},
		} {
			local := r.RepresentativeAt(ctx, tc.number, tc.cert, tc.at)
			remote := cl.RepresentativeAt(ctx, tc.number, tc.cert, tc.at)
			if !errors.Is(local, tc.want) || !errors.Is(remote, tc.want) || tc.want == nil && (local != nil || remote != nil) {
				t.Errorf("%s: registry %v, client %v, want %v", tc.name, local, remote, tc.want)
			}
		}
		ca, err := cl.CA(ctx)
		if err != nil || !ca.Equal(r.CA()) {
			t.Errorf("CA over HTTP: %v", err)
		}
	})
}

// TestCheckRejectsBadRequests: malformed bodies get a 400 that says what is
// wrong, in both languages.
func TestCheckRejectsBadRequests(t *testing.T) {
	r := newRegistry(t, storetest.SQLite(t), &clock{t: t0})
	mux := http.NewServeMux()
	r.Routes(mux)
	okCert := base64.StdEncoding.EncodeToString(r.CA().Raw)
	for _, tc := range []struct {
		name, body string
		code       httpapi.Code
	}{
		{"not JSON", `{"number":`, CodeBadRequest},
		{"unknown field", `{"number":"` + numberA + `","certificate":"` + okCert + `","at":"2026-04-01T00:00:00Z","x":1}`, CodeBadRequest},
		{"two objects", `{} {}`, CodeBadRequest},
		{"bad time", `{"number":"` + numberA + `","certificate":"` + okCert + `","at":"yesterday"}`, CodeBadRequest},
		{"no time", `{"number":"` + numberA + `","certificate":"` + okCert + `"}`, CodeBadRequest},
		{"bad base64", `{"number":"` + numberA + `","certificate":"not base64!","at":"2026-04-01T00:00:00Z"}`, CodeBadCertificate},
		{"URL base64", `{"number":"` + numberA + `","certificate":"-_-_","at":"2026-04-01T00:00:00Z"}`, CodeBadCertificate},
		{"not a certificate", `{"number":"` + numberA + `","certificate":"AAAA","at":"2026-04-01T00:00:00Z"}`, CodeBadCertificate},
		{"too large", `{"number":"` + strings.Repeat("1", maxCheckBody) + `"}`, CodeBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/corpreg/v1/representative-check", strings.NewReader(tc.body)))
			var p httpapi.Problem
			json.Unmarshal(rec.Body.Bytes(), &p)
			if rec.Code != http.StatusBadRequest || p.Code != tc.code || p.MessageJA == "" || p.MessageEN == "" {
				t.Errorf("%d %s", rec.Code, rec.Body)
			}
		})
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/corpreg/v1/corporations/123", nil))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), string(CodeInvalidNumber)) {
		t.Errorf("malformed number: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/corpreg/v1/corporations/"+numberC, nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("unknown corporation: %d %s", rec.Code, rec.Body)
	}
}
