package staff

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestAPIScope: through the API, each caller's key asks about its own
// kind of office only; another kind's office is refused (403,
// staff_out_of_scope) before the directory is asked, and the refusal
// audit of another's office is not written either.
func TestAPIScope(t *testing.T) {
	ctx := context.Background()
	c := &clock{time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
	d := openDir(t, storetest.SQLite(t), c)
	if _, err := d.Add(ctx, Grant{PlatformID: "clerk", Name: "窓口 一", Office: "municipal:062049", Role: RegistryClerk, StaffNumber: "1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Add(ctx, Grant{PlatformID: "tax", Name: "税務 一", Office: "agency:tax-sakata", Role: AgencyStaff, StaffNumber: "2"}); err != nil {
		t.Fatal(err)
	}
	muniKey, agencyKey := callerkey.New(), callerkey.New()
	keys := callerkey.Keys{}.Add("municipal", muniKey).Add("agency", agencyKey)
	mux := http.NewServeMux()
	d.Routes(mux, keys, func(caller, office string) bool {
		kind, err := OfficeKind(office)
		return err == nil && kind == caller
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name, key, platformID, office string
		want                          error
	}{
		{"the municipality about its clerk", muniKey, "clerk", "municipal:062049", nil},
		{"the agency about its clerk", agencyKey, "tax", "agency:tax-sakata", nil},
		{"the municipality about the agency's clerk", muniKey, "tax", "agency:tax-sakata", ErrOutOfScope},
		{"the agency about the municipality's clerk", agencyKey, "clerk", "municipal:062049", ErrOutOfScope},
		{"the agency about a municipality's office, its own clerk", agencyKey, "tax", "municipal:062049", ErrOutOfScope},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := NewClient(srv.URL, tc.key, srv.Client())
			_, err := cl.Check(ctx, tc.platformID, tc.office)
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Errorf("check: %v, want %v", err, tc.want)
			}
			if tc.want != nil && !strings.Contains(err.Error(), string(CodeOutOfScope)) {
				t.Errorf("check: %v, want the code %s", err, CodeOutOfScope)
			}
			if tc.want != nil {
				if err := cl.Refused(ctx, tc.platformID, tc.office, ErrNoGrant, "test"); !errors.Is(err, ErrOutOfScope) {
					t.Errorf("refusal: %v, want %v", err, ErrOutOfScope)
				}
				if _, err := cl.Login(ctx, LoginRequest{PlatformID: tc.platformID, Office: tc.office, AssertionID: "a-" + tc.name,
					AssertionExpiry: c.t.Add(time.Minute), Terminal: "desk"}); !errors.Is(err, ErrOutOfScope) {
					t.Errorf("login: %v, want %v", err, ErrOutOfScope)
				}
			}
		})
	}
}
