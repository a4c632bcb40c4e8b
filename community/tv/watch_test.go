package tv

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/mynaplat/mynaplat/community/watch"
	"github.com/mynaplat/mynaplat/internal/webtest"
)

// fakeWatch stands in for the health centre's API.
type fakeWatch struct {
	today watch.Today
	err   error
	got   []watch.Answer
}

func (f *fakeWatch) Today(context.Context, string) (watch.Today, error) { return f.today, f.err }
func (f *fakeWatch) Input(_ context.Context, _ string, a watch.Answer) (watch.Today, error) {
	if f.err != nil {
		return watch.Today{}, f.err
	}
	if a.Feeling == 0 || a.BP == 0 || a.Choice == 0 {
		return watch.Today{}, &watch.Refusal{Reason: watch.ReasonBadAnswer}
	}
	f.got = append(f.got, a)
	f.today.Answered, f.today.Answer, f.today.Flagged = true, a, a.Choice == 3
	return f.today, nil
}

// TestPortalCheck: the menu has the daily check; its three screens carry
// the answers so far, the third sends them; the result shows the answer
// and whether the centre will call; a person not watched sees the
// refusal in its words.
func TestPortalCheck(t *testing.T) {
	f := &fakeWatch{today: watch.Today{Name: "法勝寺　トメ", Day: "2026-12-08"}}
	c := loggedIn(t, Config{Watch: f}, "tome", "法勝寺　トメ")
	c.Step(webtest.Step{Name: "power-on, not answered today: the first question", Path: "/tv/tv-1/", WantContains: []string{"今日の気分はいかがですか？"}})
	c.Step(webtest.Step{Name: "the menu", Path: "/tv/tv-1/menu", WantContains: []string{`id="check"`, `data-remote-num="1"`, `id="end"`, `data-remote-num="2"`}})
	c.Step(webtest.Step{Name: "question 1", Path: "/tv/tv-1/check", WantContains: []string{"今日の気分はいかがですか？", `href="/tv/tv-1/check?f=2"`}})
	c.Step(webtest.Step{Name: "question 2", Path: "/tv/tv-1/check?f=2", WantContains: []string{"血圧はどのくらいでしたか？", `href="/tv/tv-1/check?b=1&amp;f=2"`}})
	c.Step(webtest.Step{Name: "question 3", Path: "/tv/tv-1/check?b=1&f=2", WantContains: []string{"食事はとれましたか？", `name="c" value="3"`}})
	c.Step(webtest.Step{Name: "the answer", Path: "/tv/tv-1/check", Form: url.Values{"f": {"2"}, "b": {"1"}, "c": {"3"}},
		WantStatus: http.StatusSeeOther, WantLocation: "/tv/tv-1/check/done"})
	if len(f.got) != 1 || f.got[0] != (watch.Answer{Feeling: 2, BP: 1, Choice: 3}) {
		t.Fatalf("answers sent %+v", f.got)
	}
	c.Step(webtest.Step{Name: "the result", Path: "/tv/tv-1/check/done", WantContains: []string{`id="thanks"`, "ふつう", "低め", "食べていない", `id="flagged"`}})
	c.Step(webtest.Step{Name: "answered: question 1 says so", Path: "/tv/tv-1/check", WantContains: []string{`id="answered"`}})
	c.Step(webtest.Step{Name: "answered: power-on shows the menu", Path: "/tv/tv-1/", WantContains: []string{`id="menu"`, `id="check"`}})
	c.Step(webtest.Step{Name: "a broken answer", Path: "/tv/tv-1/check", Form: url.Values{"f": {"9"}, "b": {"1"}, "c": {"1"}},
		WantContains: []string{"答えは 1・2・3 の数字キーで選んでください。"}})
	f.err = &watch.Refusal{Reason: watch.ReasonNotWatched}
	c.Step(webtest.Step{Name: "not watched: no check on the menu", Path: "/tv/tv-1/", WantContains: []string{`id="menu"`}, WantNotContains: []string{`id="check"`}})
	c.Step(webtest.Step{Name: "not watched", Path: "/tv/tv-1/check", WantContains: []string{`id="problem"`, "見守りの対象として登録されていません。"}})
	f.err = watch.ErrAssertion
	c.Step(webtest.Step{Name: "a login the centre does not believe", Path: "/tv/tv-1/check", WantStatus: http.StatusSeeOther,
		WantLocation: "/t/tv-1/?next=%2Ftv%2Ftv-1%2F"})
}
