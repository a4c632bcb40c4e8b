package shelter

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/community/evac"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

// fakeOffice stands in for the disaster office: in, then out.
type fakeOffice struct {
	touched []string
	err     error
}

func (f *fakeOffice) Touch(_ context.Context, assertion string) (evac.CheckIn, error) {
	if f.err != nil {
		return evac.CheckIn{}, f.err
	}
	f.touched = append(f.touched, assertion)
	c := evac.CheckIn{Name: "日和佐　正", Shelter: "school", ByCard: true, In: time.Date(2015, 2, 7, 0, 10, 0, 0, time.UTC)}
	if len(f.touched) == 2 {
		c.Out = c.In.Add(time.Hour)
	}
	return c, nil
}

// TestScreens: the card screen until a login; then 「入所・退所を受け付ける」
// focused; in, then out, each sent to the office with the login made here
// and the card taken out after it; a refusal in its words.
func TestScreens(t *testing.T) {
	ctx := context.Background()
	site, err := web.New(ctx, web.Options{DB: storetest.SQLite(t)})
	if err != nil {
		t.Fatal(err)
	}
	tm, err := terminal.New(terminal.Config{ID: "shelter-1", Kind: platform.Shelter, Owner: "美波町", Name: "日和佐小学校",
		Key: base64.StdEncoding.EncodeToString(make([]byte, 32))}, "http://127.0.0.1:0", &http.Client{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeOffice{}
	p, err := New(Config{Site: site, Kits: []*terminal.Kit{terminal.NewKit(terminal.KitConfig{Terminal: tm, Reader: terminal.VirtualReader{}})}, Office: f})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	site.Routes(mux)
	p.Routes(mux)
	mux.HandleFunc("GET /test/login", func(w http.ResponseWriter, r *http.Request) {
		ss, err := site.Session(w, r)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(terminal.Login{Terminal: "shelter-1", PlatformID: "tadashi", Assertion: "a.b.c", Holder: "日和佐　正",
			Expires: time.Now().Add(5 * time.Minute)})
		ss.Set("terminal:login", string(b))
		terminal.SaveSession(r, ss, nil)
	})
	c := webtest.Start(t, site.Protect(mux)).With(t)
	cardScreen := "/t/shelter-1/?next=%2Fshelter%2Fshelter-1%2F"
	c.Step(webtest.Step{Name: "no login", Path: "/shelter/shelter-1/", WantStatus: http.StatusSeeOther, WantLocation: cardScreen})
	for i, want := range []string{`id="checked-in"`, `id="checked-out"`} {
		c.Step(webtest.Step{Name: "log in", Path: "/test/login"})
		c.Step(webtest.Step{Name: "the screen", Path: "/shelter/shelter-1/", WantContains: []string{"日和佐　正 さん", `id="touch" autofocus`}})
		c.Step(webtest.Step{Name: "touch", Path: "/shelter/shelter-1/touch", Form: url.Values{}, WantContains: []string{want, `id="next"`}})
		c.Step(webtest.Step{Name: "the card is out", Path: "/shelter/shelter-1/", WantStatus: http.StatusSeeOther, WantLocation: cardScreen})
		if len(f.touched) != i+1 || f.touched[i] != "a.b.c" {
			t.Errorf("the office was touched with %v", f.touched)
		}
	}
	f.err = &evac.Refusal{Reason: evac.ReasonShelterClosed}
	c.Step(webtest.Step{Name: "log in", Path: "/test/login"})
	c.Step(webtest.Step{Name: "closed", Path: "/shelter/shelter-1/touch", Form: url.Values{}, WantContains: []string{"この避難所は開設されていません。"}})
	c.Step(webtest.Step{Name: "unknown terminal", Path: "/shelter/nowhere/", WantStatus: http.StatusNotFound})
}
