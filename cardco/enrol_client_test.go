package cardco

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestEnrolClient: enrolment under a caller key is refused without a key
// or with a key of no caller, and answers a known caller with a token and
// the same sentinels as Company.Enrol; each enrolment is audited under the
// caller's name with the last four digits only.
func TestEnrolClient(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		key := callerkey.New()
		co, err := Open(ctx, Config{DB: db, Now: func() time.Time { return t0 }, Callers: callerkey.Keys{}.Add("eligibility", key)})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		co.Routes(mux)
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		card := Enrolment{PAN: "4012888888881881", Holder: "HONMA HIKARU", Expiry: "12/29"}

		for _, tc := range []struct{ name, key string }{{"no key", ""}, {"wrong key", callerkey.New()}, {"admin key of none", adminKey}} {
			if _, err := NewEnrolClient(srv.URL, tc.key, nil).Enrol(ctx, card); !errors.Is(err, ErrUnauthorized) {
				t.Errorf("%s: %v, want ErrUnauthorized", tc.name, err)
			}
		}
		c := NewEnrolClient(srv.URL, key, nil)
		en, err := c.Enrol(ctx, card)
		if err != nil || en.Token == "" || en.Last4 != "1881" {
			t.Fatalf("Enrol = %+v, %v", en, err)
		}
		other := card
		other.Holder = "HONMA HIKARI"
		if _, err := c.Enrol(ctx, other); !errors.Is(err, ErrCardMismatch) {
			t.Errorf("holder differs: %v, want ErrCardMismatch", err)
		}
		bad := card
		bad.PAN = "4012888888881882"
		if _, err := c.Enrol(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("bad check digit: %v, want ErrInvalid", err)
		}

		rows, err := db.QueryContext(ctx, `SELECT caller, last4, result FROM cardco_calls ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got [][3]string
		for rows.Next() {
			var r [3]string
			if err := rows.Scan(&r[0], &r[1], &r[2]); err != nil {
				t.Fatal(err)
			}
			got = append(got, r)
		}
		want := [][3]string{{"eligibility", "1881", "OK"}, {"eligibility", "1881", "FAILED"}, {"eligibility", "1882", "FAILED"}}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("audit rows (-want +got):\n%s", d)
		}
	})
}
