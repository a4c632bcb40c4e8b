package terminal

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

// TestPINPostsLimited: a browser that keeps posting PINs for one card is
// told, on the terminal's screen, in Japanese and in English, to try again
// in so many seconds once the card's tries from that browser are spent.
// The PINs are of the wrong format, refused before the card or the
// platform is asked, so no platform is needed.
func TestPINPostsLimited(t *testing.T) {
	db := storetest.SQLite(t)
	site, err := web.New(context.Background(), web.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	cards, err := card.NewStore(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cd, err := cards.Create(card.Spec{AuthPIN: "1234", SignPIN: "SUZAKA1980", TextPIN: "1234", MyNumber: "123456789018",
		Name: "須坂　花子", Address: "長野県須坂市大字須坂１５２８番地の１", BirthDate: "19800401", Sex: "2"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPages(PagesConfig{Site: site, Cards: cards, PlatformURL: "http://127.0.0.1:1",
		Terminals: []Config{{ID: "kiosk-suzaka-9", Kind: platform.Kiosk, Owner: "須坂市", Name: "市役所", Key: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", Reader: "virtual"}}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	site.Routes(mux)
	p.Routes(mux)
	b := webtest.Start(t, site.Protect(mux))
	const base = "/t/kiosk-suzaka-9/"
	b.Get(base)
	b.PostForm(base+"place", url.Values{"card": {cd.Info().ID}})
	limit := DefaultKitLimits().Pair.Burst
	for i := range limit {
		b.PostForm(base+"login", url.Values{"pin": {"12"}})
		if pg := b.Get(base); !strings.Contains(pg.Body, "暗証番号は数字4桁です。") {
			t.Fatalf("post %d: no PIN format message", i+1)
		}
	}
	for _, lang := range []struct{ query, what, do string }{
		{"", "試行の回数が多すぎるため、受け付けを一時停止しています。", "60秒後にもう一度お試しください。"},
		{"?lang=en", "Too many tries, so tries are paused.", "Try again in 60 seconds."},
	} {
		b.PostForm(base+"login", url.Values{"pin": {"12"}})
		pg := b.Get(base + lang.query)
		if !strings.Contains(pg.Body, lang.what) || !strings.Contains(pg.Body, lang.do) {
			t.Errorf("%q: the screen does not say %q %q:\n%s", lang.query, lang.what, lang.do, pg.Body)
		}
	}
}
