package staff

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

// TestAskApprovalRefusesWhatItCannotBind: an approval is asked for a
// named request, a role that exists, a page of the office (not another
// site) and a few minutes from now; anything else is refused and nothing
// is asked.
func TestAskApprovalRefusesWhatItCannotBind(t *testing.T) {
	ctx := context.Background()
	c := &clock{time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	db := storetest.SQLite(t)
	site, err := web.New(ctx, web.Options{DB: db, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGate(GateConfig{Site: site, Directory: openDir(t, db, c), Desk: "/staffdesk/x/", Now: c.now,
		Keys:   func(context.Context) (platform.JWKS, error) { return platform.JWKS{}, nil },
		Office: func(*http.Request) (string, string, error) { return "counter:062049", "酒田市", nil },
		Home:   func(string) string { return "/counter/" }})
	if err != nil {
		t.Fatal(err)
	}
	s := &Session{Grant: Grant{PlatformID: "p1", Office: "counter:062049", Role: CounterClerk}}
	tests := []struct {
		name, purpose string
		role          Role
		back          string
		until         time.Duration
	}{
		{"no purpose", "", CounterSupervisor, "/counter/requests/1", time.Minute},
		{"a long purpose", string(make([]byte, 101)), CounterSupervisor, "/counter/requests/1", time.Minute},
		{"no such role", "r1", "mayor", "/counter/requests/1", time.Minute},
		{"another site", "r1", CounterSupervisor, "//evil.example/", time.Minute},
		{"a full URL", "r1", CounterSupervisor, "https://evil.example/", time.Minute},
		{"already over", "r1", CounterSupervisor, "/counter/requests/1", 0},
		{"too long a wait", "r1", CounterSupervisor, "/counter/requests/1", MaxApprovalWait + time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, r := httptest.NewRecorder(), httptest.NewRequest("POST", "/counter/cards/1/requests", nil)
			if desk, err := g.AskApproval(w, r, s, tt.purpose, tt.role, tt.back, c.now().Add(tt.until)); !errors.Is(err, ErrInvalid) || desk != "" {
				t.Errorf("AskApproval = %q, %v; want ErrInvalid", desk, err)
			}
		})
	}
	w, r := httptest.NewRecorder(), httptest.NewRequest("POST", "/counter/cards/1/requests", nil)
	desk, err := g.AskApproval(w, r, s, "r1", CounterSupervisor, "/counter/requests/1", c.now().Add(5*time.Minute))
	if err != nil || len(desk) < len("/staffdesk/x/?office=counter%3A062049&state=")+32 {
		t.Errorf("AskApproval = %q, %v", desk, err)
	}
}
