package callerkey

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseAndCaller(t *testing.T) {
	keys, err := Parse(" eligibility=k1, jlis = k2 ,")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"eligibility", "jlis"}, keys.Names()); d != "" {
		t.Errorf("names (-want +got):\n%s", d)
	}
	for _, tc := range []struct {
		name, auth, want string
		err              error
	}{
		{"first", "Bearer k1", "eligibility", nil},
		{"second", "Bearer k2", "jlis", nil},
		{"no header", "", "", ErrUnauthorized},
		{"empty key", "Bearer ", "", ErrUnauthorized},
		{"not bearer", "Basic k1", "", ErrUnauthorized},
		{"unknown key", "Bearer k3", "", ErrUnauthorized},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		got, err := keys.Caller(r)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("%s: Caller = %q, %v; want %q, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
	for _, bad := range []string{"eligibility", "=k1", "jlis="} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) took it", bad)
		}
	}
	if !(Keys{}).Empty() {
		t.Error("the zero Keys is not empty")
	}
}

func TestOnly(t *testing.T) {
	keys := Keys{}.Add("municipal", "key")
	h := keys.Only(func(w http.ResponseWriter, r *http.Request, caller string) { w.Write([]byte(caller)) })
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("without a key: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	rec = httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer key")
	h(rec, r)
	if rec.Code != http.StatusOK || rec.Body.String() != "municipal" {
		t.Errorf("with the key: %d %q", rec.Code, rec.Body.String())
	}
}
