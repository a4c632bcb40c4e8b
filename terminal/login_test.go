package terminal

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

// TestLoggedIn: the handoff holds at its terminal, for its purpose, until
// it expires; anything else is refused with its sentinel, and Logout ends it.
func TestLoggedIn(t *testing.T) {
	site, err := web.New(context.Background(), web.Options{DB: storetest.SQLite(t)})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	login := Login{Terminal: "kiosk-1", PlatformID: "pid", Assertion: "a.b.c", Purpose: "", Holder: "須坂　花子",
		Expires: now.Add(5 * time.Minute)}
	for _, tc := range []struct {
		name              string
		stored            *Login
		terminal, purpose string
		at                time.Time
		want              error
	}{
		{"missing", nil, "kiosk-1", "", now, ErrNotLoggedIn},
		{"right", &login, "kiosk-1", "", now, nil},
		{"any terminal", &login, AnyTerminal, "", now, nil},
		{"wrong terminal", &login, "tv-1", "", now, ErrOtherTerminal},
		{"wrong purpose", &login, "kiosk-1", "eligibility", now, ErrOtherPurpose},
		{"expired", &login, "kiosk-1", "", now.Add(5 * time.Minute), ErrLoginExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			ss, err := site.Session(rec, httptest.NewRequest("GET", "/", nil))
			if err != nil {
				t.Fatal(err)
			}
			if tc.stored != nil {
				saveLogin(ss, *tc.stored)
			}
			got, err := LoggedIn(ss, tc.at, tc.terminal, tc.purpose)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if err == nil {
				if diff := cmp.Diff(login, got); diff != "" {
					t.Errorf("login (-want +got):\n%s", diff)
				}
				Logout(ss)
				if _, err := LoggedIn(ss, tc.at, tc.terminal, tc.purpose); !errors.Is(err, ErrNotLoggedIn) {
					t.Errorf("after Logout: %v", err)
				}
			}
		})
	}
}

func TestAssertionExpiry(t *testing.T) {
	claims := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"x","exp":1800000000}`))
	got, err := assertionExpiry("h." + claims + ".s")
	if err != nil || !got.Equal(time.Unix(1800000000, 0)) {
		t.Errorf("expiry %v %v", got, err)
	}
	for _, bad := range []string{"", "a.b", "h.!!.s", "h." + base64.RawURLEncoding.EncodeToString([]byte(`{}`)) + ".s"} {
		if _, err := assertionExpiry(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
