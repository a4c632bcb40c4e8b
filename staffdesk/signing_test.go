package staffdesk_test

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/staffdesk/desktest"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

// TestSignHandoffRefusals: the desk shows what the office's desk API
// says when it refuses (the handoff gone), and refuses a request whose
// action or way back names another host than the office's configured one
// (a signature goes nowhere else).
func TestSignHandoffRefusals(t *testing.T) {
	const office, deskSign = "municipal:062049", "/staffdesk/" + deskID + "/sign"
	for _, tc := range []struct {
		name   string
		answer func(w http.ResponseWriter)
		want   string
	}{
		{"the handoff gone", func(w http.ResponseWriter) {
			httpapi.Write(w, httpapi.New(http.StatusGone, staff.CodeSignState, "署名の手続きが古いか、別の画面のものです。", "expired"))
		}, "署名の手続きが古いか、別の画面のものです。"},
		{"an action on another host", func(w http.ResponseWriter) {
			httpapi.WriteJSON(w, http.StatusOK, staff.DeskTicket{Office: office, Req: staff.SignRequest{TitleJA: "決裁", Action: "//evil.example/x", Back: "/municipal/062049/office/"}})
		}, "事務所からの署名の依頼が正しくありません。"},
		{"a way back on another host", func(w http.ResponseWriter) {
			httpapi.WriteJSON(w, http.StatusOK, staff.DeskTicket{Office: office, Req: staff.SignRequest{TitleJA: "決裁", Action: "/municipal/062049/office/sign", Back: "https://evil.example/"}})
		}, "事務所からの署名の依頼が正しくありません。"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, err := staff.SignDeskPath(office)
			if err != nil {
				t.Fatal(err)
			}
			town := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.URL.Path != path {
					http.NotFound(w, r)
					return
				}
				tc.answer(w)
			}))
			t.Cleanup(town.Close)
			db := storetest.SQLite(t)
			site, err := web.New(context.Background(), web.Options{DB: db})
			if err != nil {
				t.Fatal(err)
			}
			cards, err := card.NewStore(t.TempDir(), nil)
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			site.Routes(mux)
			desktest.Mount(t, mux, site, cards, "", map[string]string{"municipal": town.URL}, deskID)
			c := webtest.Start(t, site.Protect(mux))
			c.Step(webtest.Step{Name: "the handoff", Path: deskSign + "?office=" + office + "&state=s1", WantStatus: http.StatusSeeOther, WantLocation: deskSign})
			c.Step(webtest.Step{Name: "refused", Path: deskSign, WantStatus: http.StatusConflict, WantContains: []string{html.EscapeString(tc.want)},
				WantNotContains: []string{`id="place"`}})
		})
	}
}
