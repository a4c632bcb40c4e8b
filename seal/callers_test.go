package seal

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestCallerAPI: the register's API refuses a call without a key or with a
// key of no caller; a known caller registers a certificate and has its PDF
// sealed as with the Service itself (the same QR, a seal CheckSealed
// accepts, ErrDuplicate for a number used), and every call leaves a row
// naming the caller.
func TestCallerAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db, testAuthority(t))
		key := callerkey.New()
		mux := http.NewServeMux()
		s.CallerRoutes(mux, callerkey.Keys{}.Add("municipal", key))
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		req := IssueRequest{Municipality: sakata, Number: "R08-000123", Type: "住民票の写し", Content: sampleContent}

		for _, tc := range []struct{ name, key string }{{"no key", ""}, {"wrong key", callerkey.New()}} {
			c := NewClient(srv.URL, tc.key, nil)
			if _, err := c.Issue(ctx, req); !errors.Is(err, callerkey.CodeUnauthorized) {
				t.Errorf("%s: register: %v, want %s", tc.name, err, callerkey.CodeUnauthorized)
			}
			if _, err := c.SignPDF(ctx, sakata, []byte("%PDF-1.7")); !errors.Is(err, callerkey.CodeUnauthorized) {
				t.Errorf("%s: sign: %v, want %s", tc.name, err, callerkey.CodeUnauthorized)
			}
		}

		c := NewClient(srv.URL, key, nil)
		is, err := c.Issue(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(is.QRPNG) == 0 || is.QRText == "" {
			t.Fatalf("registered without a QR: %+v", is)
		}
		if v, err := s.Verify(ctx, is.QRText, ChannelAPI); err != nil || v.Content != sampleContent {
			t.Fatalf("the QR from the API does not verify: %v", err)
		}
		if _, err := c.Issue(ctx, req); !errors.Is(err, ErrDuplicate) {
			t.Errorf("second registration: %v, want ErrDuplicate", err)
		}
		signed, err := c.SignPDF(ctx, sakata, samplePDF(t, sampleContent, is.QRPNG))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CheckSealed(sakata, signed); err != nil {
			t.Errorf("sealed over HTTP: %v", err)
		}

		rows, err := db.QueryContext(ctx, `SELECT caller, action, result FROM seal_calls ORDER BY id`)
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
		want := [][3]string{{"municipal", callRegister, "OK"}, {"municipal", callRegister, "FAILED"}, {"municipal", callSign, "OK"}}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("audit rows (-want +got):\n%s", d)
		}
	})
}
