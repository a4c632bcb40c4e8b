package gatekiosk

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/community/gate"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/wareki"
	"github.com/mynaplat/mynaplat/web"
)

// fakeBody stands in for a body's touch API.
type fakeBody struct {
	got      [][]byte
	terminal string
	err      error
}

func (f *fakeBody) Touch(_ context.Context, terminal string, der []byte) (gate.Event, error) {
	f.got, f.terminal = append(f.got, der), terminal
	if f.err != nil {
		return gate.Event{}, f.err
	}
	return gate.Event{ID: 1, Name: "南部　翔", Kind: gate.Arrive, At: time.Date(2026, 12, 8, 8, 5, 0, 0, jst)}, nil
}

// TestGateScreen: the gate reads the held card's 利用者証明用 certificate
// without a PIN and sends it to its body, and the screen says the child
// arrived; the body's refusal is shown in its words, a body down as "could
// not be recorded", a card without the certificate is not sent; an unknown
// gate is the site's 404.
func TestGateScreen(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	centre, err := jpki.Open(ctx, jpki.Config{DB: db, Dir: t.TempDir(), BaseURL: "http://127.0.0.1:0", Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	cards, err := card.NewStore(t.TempDir(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	birth := time.Date(2016, 4, 20, 0, 0, 0, 0, wareki.JST())
	spec := card.Spec{AuthPIN: "6789", TextPIN: "6789", MyNumber: "123456789018", Name: "南部　翔",
		Address: "鳥取県西伯郡南部町法勝寺３３３番地", BirthDate: birth.Format("20060102"), Sex: "1"}
	sho, err := cards.Create(spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := centre.IssueCard(ctx, jpki.Resident{Name: "南部　翔", Kana: "ナンブ　ショウ", BirthDate: birth, Sex: jpki.Male,
		Address: spec.Address, Municipality: "313891"}, sho); err != nil {
		t.Fatal(err)
	}
	blank, err := cards.Create(spec) // no certificate issued
	if err != nil {
		t.Fatal(err)
	}
	der, err := card.NewClient(sho).Certificate(card.Auth)
	if err != nil {
		t.Fatal(err)
	}

	site, err := web.New(ctx, web.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	tm, err := terminal.New(terminal.Config{ID: "gate-1", Kind: platform.School, Owner: "南部町", Name: "南部小学校 玄関",
		Key: base64.StdEncoding.EncodeToString(make([]byte, 32))}, "http://127.0.0.1:0", &http.Client{})
	if err != nil {
		t.Fatal(err)
	}
	body := &fakeBody{}
	p, err := New(Config{Site: site, Gates: []Gate{{Kit: terminal.NewKit(terminal.KitConfig{Terminal: tm, Reader: terminal.VirtualReader{Cards: cards}, Cards: cards}), Body: body}}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	site.Routes(mux)
	p.Routes(mux)
	c := webtest.Start(t, site.Protect(mux)).With(t)
	hold := func(id string) url.Values { return url.Values{"card": {id}} }
	c.Step(webtest.Step{Name: "the reader", Path: "/gatekiosk/gate-1/", WantContains: []string{"カードをかざす", sho.Info().ID}})
	c.Step(webtest.Step{Name: "his card held", Path: "/gatekiosk/gate-1/touch", Form: hold(sho.Info().ID), WantStatus: http.StatusSeeOther,
		WantLocation: "/gatekiosk/gate-1/"})
	if len(body.got) != 1 || !bytes.Equal(body.got[0], der) || body.terminal != "gate-1" {
		t.Fatalf("the body got %d certificates from %q", len(body.got), body.terminal)
	}
	c.Step(webtest.Step{Name: "arrived", Path: "/gatekiosk/gate-1/", WantContains: []string{`id="result"`, "南部　翔 さん、着きました（08:05）"}})
	c.Step(webtest.Step{Name: "the result once", Path: "/gatekiosk/gate-1/", WantNotContains: []string{`id="result"`}})
	body.err = &gate.Refusal{Reason: gate.ReasonUnknownCard}
	c.Step(webtest.Step{Name: "refused", Path: "/gatekiosk/gate-1/touch", Form: hold(sho.Info().ID), WantStatus: http.StatusSeeOther})
	c.Step(webtest.Step{Name: "the refusal's words", Path: "/gatekiosk/gate-1/", WantContains: []string{`id="problem"`, "このカードは登録されていません。"}})
	body.err = errors.New("down")
	c.Step(webtest.Step{Name: "the body down", Path: "/gatekiosk/gate-1/touch", Form: hold(sho.Info().ID), WantStatus: http.StatusSeeOther})
	c.Step(webtest.Step{Name: "not recorded", Path: "/gatekiosk/gate-1/", WantContains: []string{`id="problem"`, "記録できませんでした"}})
	sent := len(body.got)
	c.Step(webtest.Step{Name: "a card without the certificate", Path: "/gatekiosk/gate-1/touch", Form: hold(blank.Info().ID), WantStatus: http.StatusSeeOther})
	c.Step(webtest.Step{Name: "its outcome", Path: "/gatekiosk/gate-1/", WantContains: []string{`id="problem"`, "利用者証明用電子証明書がありません"}})
	if len(body.got) != sent {
		t.Error("a card without the certificate was sent to the body")
	}
	c.Step(webtest.Step{Name: "no such gate", Path: "/gatekiosk/gate-9/", WantStatus: http.StatusNotFound})
}
