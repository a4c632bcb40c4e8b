package tv

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/mynaplat/mynaplat/community/watch"
)

// Watch is the health centre's API as the portal uses it (watch.Client):
// the daily check of watch-over (docs/community-tv.md §5.4).
type Watch interface {
	Today(ctx context.Context, assertion string) (watch.Today, error)
	Input(ctx context.Context, assertion string, a watch.Answer) (watch.Today, error)
}

// The daily check: three questions, each answered with one number key
// (1–3); the first two are links carrying the answers so far, the third
// sends the answer. So a person answers in three presses:
//
//	GET  /tv/{id}/check            the first question (feeling)
//	GET  /tv/{id}/check?f=N        the second (blood pressure band)
//	GET  /tv/{id}/check?f=N&b=M    the third (meals); each choice posts
//	POST /tv/{id}/check            the answer, then the result screen
//	GET  /tv/{id}/check/done       the result: recorded; the centre will call when flagged

func (p *Pages) watchRoutes(mux *http.ServeMux) {
	if p.cfg.Watch == nil {
		return
	}
	mux.HandleFunc("GET /tv/{id}/check", p.check)
	mux.HandleFunc("POST /tv/{id}/check", p.answer)
	mux.HandleFunc("GET /tv/{id}/check/done", p.checked)
}

func (p *Pages) checkPath(home string) string {
	if p.cfg.Watch == nil {
		return ""
	}
	return home + "check"
}

// daily is the check's screen: the step (1–3), the answers so far and the
// day's record.
type daily struct {
	Step      int
	F, B      int
	Today     watch.Today
	Questions [3]question
}

type question struct {
	JA, EN  string
	Choices [3][2]string
}

// questions are the centre's three questions and their answers, in the
// order of the number keys; the third answer of each is the one the
// centre's default limits flag (watch.DefaultLimits).
var questions = [3]question{
	{"今日の気分はいかがですか？", "How do you feel today?", [3][2]string{{"よい", "Good"}, {"ふつう", "So-so"}, {"わるい", "Unwell"}}},
	{"血圧はどのくらいでしたか？", "How was your blood pressure?", [3][2]string{{"低め（110未満）", "Low (under 110)"}, {"ふつう（110〜159）", "Normal (110–159)"}, {"高い（160以上）", "High (160 or more)"}}},
	{"食事はとれましたか？", "Have you eaten?", [3][2]string{{"食べた", "Yes"}, {"少し", "A little"}, {"食べていない", "Not yet"}}},
}

// Link is the path of the next step after answering n.
func (d daily) Link(check string, n int) string {
	q := url.Values{}
	switch d.Step {
	case 1:
		q.Set("f", strconv.Itoa(n))
	case 2:
		q.Set("f", strconv.Itoa(d.F))
		q.Set("b", strconv.Itoa(n))
	}
	return check + "?" + q.Encode()
}

// Question is the step's question.
func (d daily) Question() question { return questions[d.Step-1] }

// Word is answer n of question i (1-based) in JA and EN.
func (daily) Word(i, n int) [2]string {
	if i < 1 || i > 3 || n < 1 || n > 3 {
		return [2]string{"", ""}
	}
	return questions[i-1].Choices[n-1]
}

func digit(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 3 {
		return 0
	}
	return n
}

// watchFailed shows why the health centre's answer could not be shown.
func (p *Pages) watchFailed(w http.ResponseWriter, r *http.Request, v view, err error) {
	status := http.StatusBadGateway
	if reason := watch.ReasonOf(err); reason != "" {
		status = http.StatusOK
		v.ProblemJA, v.ProblemEN = reason.Messages()
	} else {
		p.cfg.Logger.Warn("tv: the health centre", "err", err)
		v.ProblemJA, v.ProblemEN = "保健センターにつながりませんでした。しばらくしてからもう一度お試しください。", "The health centre could not be reached. Try again later."
	}
	p.pages.Render(w, r, status, "problem", v)
}

// check shows the step the query says: the answers so far are in it.
func (p *Pages) check(w http.ResponseWriter, r *http.Request) {
	k, ss, v, assertion, ok := p.login(w, r)
	if !ok {
		return
	}
	t, err := p.cfg.Watch.Today(r.Context(), assertion)
	if errors.Is(err, watch.ErrAssertion) {
		p.expired(w, r, k, ss, err)
		return
	}
	if err != nil {
		p.watchFailed(w, r, v, err)
		return
	}
	d := daily{Step: 1, Today: t}
	if d.F = digit(r.URL.Query().Get("f")); d.F != 0 {
		d.Step = 2
		if d.B = digit(r.URL.Query().Get("b")); d.B != 0 {
			d.Step = 3
		}
	}
	v.Daily = d
	p.pages.Render(w, r, http.StatusOK, "check", v)
}

// answer sends the three answers and shows the result.
func (p *Pages) answer(w http.ResponseWriter, r *http.Request) {
	k, ss, v, assertion, ok := p.login(w, r)
	if !ok {
		return
	}
	a := watch.Answer{Feeling: digit(r.PostFormValue("f")), BP: digit(r.PostFormValue("b")), Choice: digit(r.PostFormValue("c"))}
	_, err := p.cfg.Watch.Input(r.Context(), assertion, a)
	if errors.Is(err, watch.ErrAssertion) {
		p.expired(w, r, k, ss, err)
		return
	}
	if err != nil {
		p.watchFailed(w, r, v, err)
		return
	}
	http.Redirect(w, r, v.Check+"/done", http.StatusSeeOther)
}

// checked is the result screen: today's answer as recorded.
func (p *Pages) checked(w http.ResponseWriter, r *http.Request) {
	k, ss, v, assertion, ok := p.login(w, r)
	if !ok {
		return
	}
	t, err := p.cfg.Watch.Today(r.Context(), assertion)
	if errors.Is(err, watch.ErrAssertion) {
		p.expired(w, r, k, ss, err)
		return
	}
	if err != nil {
		p.watchFailed(w, r, v, err)
		return
	}
	v.Daily = daily{Today: t}
	p.pages.Render(w, r, http.StatusOK, "checked", v)
}

// offerCheck keeps the daily check on the menu only for a person the
// health centre watches (and while it answers), and reads their day.
func (p *Pages) offerCheck(ctx context.Context, assertion string, v *view) {
	if v.Check == "" {
		return
	}
	t, err := p.cfg.Watch.Today(ctx, assertion)
	if err != nil {
		if watch.ReasonOf(err) == "" {
			p.cfg.Logger.Warn("tv: the health centre", "err", err)
		}
		v.Check = ""
		return
	}
	v.Daily.Today = t
}

// dailyFirst shows a watched person who has not answered today the daily
// check's first question at power-on, so that the answer takes three
// presses from there; it reports whether it did. Otherwise the power-on
// page goes on (the menu keeps the check for a person watched).
func (p *Pages) dailyFirst(w http.ResponseWriter, r *http.Request, v *view, assertion string) bool {
	p.offerCheck(r.Context(), assertion, v)
	if v.Check == "" || v.Daily.Today.Answered {
		return false
	}
	v.Daily.Step = 1
	p.pages.Render(w, r, http.StatusOK, "check", *v)
	return true
}
