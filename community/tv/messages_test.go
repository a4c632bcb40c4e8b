package tv

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/mynaplat/mynaplat/community/catv"
	"github.com/mynaplat/mynaplat/internal/webtest"
)

// fakeMessages stands in for the operator's API: its answer, or err.
type fakeMessages struct {
	inbox    []catv.Message
	err      error
	powerOns int
}

func (f *fakeMessages) Inbox(context.Context, string) ([]catv.Message, error) { return f.inbox, f.err }
func (f *fakeMessages) Read(_ context.Context, _ string, id int64) (catv.Message, error) {
	for _, m := range f.inbox {
		if m.ID == id {
			return m, f.err
		}
	}
	return catv.Message{}, &catv.Refusal{Reason: catv.ReasonNoMessage}
}
func (f *fakeMessages) PowerOn(context.Context, string) error { f.powerOns++; return nil }

// TestPortalMessages: with a login at the TV, the power-on page shows the
// unread messages first (and sends one power-on per login), else the menu;
// a message opens; the operator's refusal is shown in its words, a login
// it no longer believes goes back to the card screen, and its failure is a
// page that says so.
func TestPortalMessages(t *testing.T) {
	f := &fakeMessages{}
	c := loggedIn(t, Config{Messages: f}, "hanako", "須坂　花子")

	f.inbox = []catv.Message{{ID: 2, Sender: "須坂市", TitleJA: "健診", TitleEN: "Checkup", BodyJA: "本文", BodyEN: "Text"},
		{ID: 1, Sender: "須高ケーブルテレビ", TitleJA: "点検", TitleEN: "Maintenance", BodyJA: "本文", BodyEN: "Text", Read: true}}
	c.Step(webtest.Step{Name: "power-on: the unread first", Path: "/tv/tv-1/",
		WantContains: []string{`id="unread-2"`, "/tv/tv-1/menu"}, WantNotContains: []string{`id="unread-1"`}})
	c.Step(webtest.Step{Name: "power-on again", Path: "/tv/tv-1/", WantContains: []string{`id="unread-2"`}})
	if f.powerOns != 1 {
		t.Errorf("%d power-ons sent for one login, want 1", f.powerOns)
	}
	c.Step(webtest.Step{Name: "the menu", Path: "/tv/tv-1/menu", WantContains: []string{`id="messages"`, "未読 1 件"}})
	c.Step(webtest.Step{Name: "the list", Path: "/tv/tv-1/messages", WantContains: []string{`id="msg-2"`, `id="msg-1"`}})
	c.Step(webtest.Step{Name: "a message from the list", Path: "/tv/tv-1/messages/2?from=list",
		WantContains: []string{`id="message-title"`, "健診", `href="/tv/tv-1/messages"`}})
	c.Step(webtest.Step{Name: "another's message", Path: "/tv/tv-1/messages/9", WantContains: []string{`id="problem"`, "そのお知らせはありません。"}})

	f.inbox[0].Read = true
	c.Step(webtest.Step{Name: "nothing unread: the menu", Path: "/tv/tv-1/", WantContains: []string{`id="menu"`}, WantNotContains: []string{"未読"}})
	f.err = &catv.Refusal{Reason: catv.ReasonNotSubscriber}
	c.Step(webtest.Step{Name: "not a subscriber here", Path: "/tv/tv-1/", WantContains: []string{`id="problem"`, "このテレビの契約者として登録されていません。"}})
	f.err = errors.New("down")
	c.Step(webtest.Step{Name: "the operator down", Path: "/tv/tv-1/messages", WantStatus: http.StatusBadGateway,
		WantContains: []string{"お知らせを読み込めませんでした"}})
	f.err = catv.ErrAssertion
	c.Step(webtest.Step{Name: "a login the operator does not believe", Path: "/tv/tv-1/", WantStatus: http.StatusSeeOther,
		WantLocation: "/t/tv-1/?next=%2Ftv%2Ftv-1%2F"})
	c.Step(webtest.Step{Name: "logged out", Path: "/tv/tv-1/", WantStatus: http.StatusSeeOther, WantLocation: "/t/tv-1/?next=%2Ftv%2Ftv-1%2F"})
}
