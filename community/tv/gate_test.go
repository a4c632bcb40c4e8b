package tv

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/community/gate"
	"github.com/mynaplat/mynaplat/internal/webtest"
)

// fakeGate stands in for a body's API.
type fakeGate struct {
	kids []gate.Child
	err  error
}

func (f *fakeGate) Linked(context.Context, string) (bool, error) {
	if gate.ReasonOf(f.err) == gate.ReasonNotLinked {
		return false, nil
	}
	return f.err == nil, f.err
}

func (f *fakeGate) History(context.Context, string) ([]gate.Child, error) { return f.kids, f.err }

// TestPortalGates: the menu offers the children's check-ins (after the
// booking's place, before "end") only to a parent some body knows; the
// screen shows each linked child body by body, skips a body that answers
// not_linked, says when a body is down, and a login the bodies no longer
// believe goes back to the card screen.
func TestPortalGates(t *testing.T) {
	at := time.Date(2026, 12, 8, 8, 5, 0, 0, jst)
	school := &fakeGate{kids: []gate.Child{{Name: "南部　翔", Body: "南部町立 南部小学校", BodyEN: "Nambu Elementary School",
		Events: []gate.Event{{ID: 1, Name: "南部　翔", Kind: gate.Arrive, At: at}}}}}
	library := &fakeGate{err: &gate.Refusal{Reason: gate.ReasonNotLinked}}
	c := loggedIn(t, Config{Gates: []Gate{school, library}}, "tome", "法勝寺　トメ")
	c.Step(webtest.Step{Name: "the menu: the check-ins, then end", Path: "/tv/tv-1/menu",
		WantContains: []string{`id="children"`, `data-remote-num="1"`, "子どもの入退室", `id="end"`, `data-remote-num="2"`}})
	c.Step(webtest.Step{Name: "the check-ins: the school's, not the library's", Path: "/tv/tv-1/children",
		WantContains: []string{`id="child-0"`, "南部　翔・南部町立 南部小学校", "2026-12-08 08:05", "着きました"}, WantNotContains: []string{`id="child-1"`, `id="problem"`}})
	library.err = errors.New("down")
	c.Step(webtest.Step{Name: "the library down: said, the school's shown", Path: "/tv/tv-1/children",
		WantContains: []string{`id="child-0"`, `id="problem"`, "一部の学校・図書館につながりませんでした"}})
	school.err, library.err = &gate.Refusal{Reason: gate.ReasonNotLinked}, &gate.Refusal{Reason: gate.ReasonNotLinked}
	c.Step(webtest.Step{Name: "a parent no body knows: no item", Path: "/tv/tv-1/menu", WantContains: []string{`id="menu"`}, WantNotContains: []string{`id="children"`}})
	c.Step(webtest.Step{Name: "a parent no body knows: not_linked", Path: "/tv/tv-1/children", WantContains: []string{`id="problem"`, "このお子さまの記録は見られません。"}})
	school.err = gate.ErrAssertion
	c.Step(webtest.Step{Name: "a login the body does not believe", Path: "/tv/tv-1/children", WantStatus: http.StatusSeeOther,
		WantLocation: "/t/tv-1/?next=%2Ftv%2Ftv-1%2F"})
}
