package counter_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/internal/webtest"
)

// TestCounterPINReset resets a blocked authentication PIN and the signing
// password through the pages: the card page offers the reset, the PIN pad
// screen takes the new PIN twice, a wrong format or a mismatch comes back
// with a message and without the PINs, and the reset is recorded at the
// centre with its approval; the PINs are in no log, page or audit row.
func TestCounterPINReset(t *testing.T) {
	e := newCounterEnv(t)
	loc, _ := e.follow(t, e.post(t, "/counter/issue", "/counter/issue", issueForm()))
	id := strings.TrimPrefix(loc, "/counter/cards/")
	cd, err := e.cards.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	cl := card.NewClient(cd)
	for range 3 {
		_ = cl.VerifyPIN(card.AuthPIN, "9999")
	}
	cd.Reset()

	page := e.web.With(t).Get(loc)
	for _, want := range []string{"暗証番号の初期化・再設定", `action="/counter/cards/` + id + `/requests"`, `value="auth"`, `value="sign"`, `value="text"`, "ロック中"} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("card page lacks %q", want)
		}
	}
	// Before the approval the pad is not shown, and a PIN sent to it is
	// refused at the centre and changes nothing.
	req := e.request(t, loc, url.Values{"action": {"pin"}, "which": {"auth"}})
	pad := req + "/pin"
	e.web.With(t).Step(webtest.Step{Name: "the pad before the approval", Path: pad, WantStatus: http.StatusSeeOther, WantLocation: req})
	if r := e.post(t, req, pad, url.Values{"pin": {"2468"}, "pin_confirm": {"2468"}}); r.Status != http.StatusForbidden ||
		!strings.Contains(r.Body, "責任者の承認が必要です") {
		t.Errorf("a PIN reset without approval: %d\n%s", r.Status, r.Body)
	}
	if n, _ := card.NewClient(cd).PINStatus(card.AuthPIN); n != 0 {
		t.Fatalf("a reset without approval changed the card: %d tries", n)
	}
	if r := e.approve(t, req, supervisorID); r.Status != http.StatusSeeOther {
		t.Fatalf("approval: %d\n%s", r.Status, r.Body)
	}
	screen := e.web.With(t).Get(pad)
	for _, want := range []string{`class="pinpad"`, `name="pin_confirm"`, "新しい暗証番号を2回入力してください", `id="tries-left">0<`} {
		if screen.Status != http.StatusOK || !strings.Contains(screen.Body, want) {
			t.Errorf("PIN pad screen (%d) lacks %q", screen.Status, want)
		}
	}
	if !strings.Contains(screen.Body, `<body class="term term-desk">`) {
		t.Error("the PIN pad screen is not in the terminal kit's desk layout")
	}

	refusals := []struct {
		name        string
		form        url.Values
		status      int
		want        string
		secretsKept []string
	}{
		{"too short", url.Values{"pin": {"246"}, "pin_confirm": {"246"}}, 422, "暗証番号は数字4桁です。", []string{"246"}},
		{"letters", url.Values{"pin": {"24a8"}, "pin_confirm": {"24a8"}}, 422, "暗証番号は数字4桁です。", []string{"24a8"}},
		{"mismatch", url.Values{"pin": {"2468"}, "pin_confirm": {"2469"}}, 422, "一致しません", []string{"2468", "2469"}},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post(t, pad, pad, tc.form)
			if r.Status != tc.status || !strings.Contains(r.Body, tc.want) {
				t.Fatalf("status %d, want %d with %q:\n%s", r.Status, tc.status, tc.want, r.Body)
			}
			for _, s := range tc.secretsKept {
				if strings.Contains(r.Body, `value="`+s+`"`) {
					t.Errorf("the page echoes %q", s)
				}
			}
		})
	}
	if n, _ := card.NewClient(cd).PINStatus(card.AuthPIN); n != 0 {
		t.Fatalf("a refused reset changed the card: %d tries", n)
	}

	// The reset: the flash names the PIN and the approver; the card takes
	// the new PIN with its tries back.
	r := e.post(t, pad, pad, url.Values{"pin": {"2468"}, "pin_confirm": {"2468"}})
	_, page = e.follow(t, r)
	if f := flashOf(t, page); !strings.Contains(f, "利用者証明用電子証明書の暗証番号を再設定しました") || !strings.Contains(f, "須坂　節子") {
		t.Errorf("flash %q", f)
	}
	cd.Reset()
	if err := card.NewClient(cd).VerifyPIN(card.AuthPIN, "2468"); err != nil {
		t.Fatalf("the new PIN: %v", err)
	}
	// The approval was used up with the request.
	e.web.With(t).Step(webtest.Step{Name: "the request after the reset", Path: req, WantStatus: http.StatusNotFound})

	// The signing password, typed in lower case, is upper-cased.
	req = e.approved(t, loc, url.Values{"action": {"pin"}, "which": {"sign"}})
	pad = req + "/pin"
	for _, tc := range []struct{ pin, want string }{{"abc12", "6〜16文字"}, {"abc123!", "英大文字と数字"}} {
		if r := e.post(t, pad, pad, url.Values{"pin": {tc.pin}, "pin_confirm": {tc.pin}}); r.Status != 422 || !strings.Contains(r.Body, tc.want) {
			t.Errorf("signing password %q: %d", tc.pin, r.Status)
		}
	}
	r = e.post(t, pad, pad, url.Values{"pin": {"newsign77"}, "pin_confirm": {"NEWSIGN77"}})
	if _, page = e.follow(t, r); !strings.Contains(flashOf(t, page), "署名用") {
		t.Error("no flash for the signing password")
	}
	cd.Reset()
	if err := card.NewClient(cd).VerifyPIN(card.SignPIN, "NEWSIGN77"); err != nil {
		t.Fatalf("the new signing password: %v", err)
	}

	// Recorded at the centre, with no PIN.
	var n int
	db := e.db
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM jpki_audit WHERE action = 'pin-reset' AND subject LIKE $1`, id+" %approved-by:staff:"+supervisorID+" %").Scan(&n); err != nil || n != 2 {
		t.Errorf("audit rows: %d, %v; want 2", n, err)
	}
	for _, secret := range []string{"2468", "2469", "NEWSIGN77", "newsign77", "abc12"} {
		if strings.Contains(e.logs.String(), secret) {
			t.Errorf("the log contains the PIN %q", secret)
		}
		if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM jpki_audit WHERE subject LIKE '%' || $1 || '%'`, secret).Scan(&n); err != nil || n != 0 {
			t.Errorf("audit rows with %q: %d, %v", secret, n, err)
		}
	}
}
