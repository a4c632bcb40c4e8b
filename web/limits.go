package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/mynaplat/mynaplat/internal/ratelimit"
)

// DefaultLoginLimits are the limits of the offices' logins, through the
// one limiter they share (Site.Logins): the staff card sign-in counts there
// the posts that carry no verified card login (a wrong state, a forged or
// foreign assertion), by source address; a verified card login was counted
// by the platform, per card and terminal. The account is the office, the
// source the browser's address. Why these numbers:
//
//   - Source, 20 then one per 3 s, a failure costing 2: an office's staff
//     sign in a few times a day, often from behind one address; twenty
//     covers a morning's sign-ins at once and a few stale forms.
//   - Pair (an office from one browser), 5 then one a minute.
//   - Account (an office from every browser), 20 then one per 15 s: this
//     only bounds the noise (NIST SP 800-63B §5.2.2 allows up to 100
//     failures); someone elsewhere keeps the office's own staff out at
//     most 15 s a refusal.
func DefaultLoginLimits() ratelimit.LoginLimits {
	return ratelimit.LoginLimits{
		Source: ratelimit.Limit{Burst: 20, Every: 3 * time.Second}, FailureCost: 2,
		Pair:    ratelimit.Limit{Burst: 5, Every: time.Minute},
		Account: ratelimit.Limit{Burst: 20, Every: 15 * time.Second},
	}
}

// Logins is the site's limiter of login forms: Check before the try with
// the office (a scope and its ID, "insurer:01234567") and
// ratelimit.Source(r); Done after it; TooMany when Check says wait.
func (s *Site) Logins() *ratelimit.Login { return s.logins }

// TooMany answers a login refused for d: 429 with Retry-After and the
// error page saying the seconds in Japanese and English.
func (s *Site) TooMany(w http.ResponseWriter, r *http.Request, d time.Duration) {
	s.logger.InfoContext(r.Context(), "login refused: too many tries", "path", r.URL.Path, "source", ratelimit.Source(r), "retry_after", d)
	w.Header().Set("Retry-After", strconv.Itoa(ratelimit.Seconds(d)))
	ja, en := ratelimit.Texts(d)
	s.Error(w, r, Problem{Status: http.StatusTooManyRequests, TitleJA: "しばらくお待ちください", TitleEN: "Please wait",
		WhatJA: ja, WhatEN: en,
		DoJA: "時間をおいて、事務所の画面からもう一度ログインしてください（職員は職員用端末で自分のカードを使います）。",
		DoEN: "Then start again from the office's page (staff sign in with their own card at the staff terminal)."})
}
