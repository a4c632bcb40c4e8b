package platform

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/mynaplat/mynaplat/internal/ratelimit"
)

// Limits are the platform's rate limits on its challenge and answer API.
// They count what a guesser or a flood would need many of — failed
// terminal credentials, failed answers — far more than what a person at a
// terminal does, and never refuse an answer whose card signature verifies
// because of someone else's failures.
type Limits struct {
	// Credentials is the failed terminal credentials (unknown terminal,
	// bad request signature, clock off) from one source address.
	Credentials ratelimit.Limit
	// Terminal is one terminal's challenges and answers: a challenge costs
	// one, a passed answer nothing (its challenge was counted), a failed
	// answer FailureCost.
	Terminal    ratelimit.Limit
	FailureCost int
	// Card is the failed answers naming one card (its certificate): Pair
	// per (card, terminal), Account per card from every terminal. Its
	// Source is not used (Terminal is).
	Card ratelimit.LoginLimits
	// PINReports is one terminal's reports of PINs its cards refused
	// (POST /platform/v1/pin-refusals), each costing one; an App
	// terminal's are counted per card.
	PINReports ratelimit.Limit
	// Unlimited are terminals the Terminal bucket does not apply to: a
	// load generator's (the demo's bench terminal), whose purpose is to
	// find the platform's capacity. Their failures still count per card.
	// Terminals of kind App are exempt by their kind, without a list: an
	// App terminal is the OpenID provider's page, which serves everyone on
	// the Internet, so one bucket of a desk's size would cap every relying
	// party's logins together (oidc-provider.md §4.2). Its per-card limits
	// here, and its kit's per-address and per-card limits, stay.
	Unlimited []string
	// MaxKeys bounds the keys each bucket keeps (ratelimit.DefaultMaxKeys).
	MaxKeys int
}

// DefaultLimits are the limits of a platform whose Config has none. Why
// each number is what it is:
//
//   - Credentials, 20 then one per 3 s: a terminal installed with a wrong
//     key or a wrong clock fails on every request; twenty show its
//     operator the error. A 256-bit HMAC key is not guessed in any number
//     of tries, so the limit only keeps junk off the terminal lookups.
//   - Terminal, 600 then 10 per second, a failed answer costing 10: a
//     reception desk takes about 30 s a patient (domain-research 1.1) and
//     a kiosk a minute or more, one challenge and one answer each, so 10/s
//     is some 300 times a busy desk — a guard against one terminal's
//     runaway loop or a stolen key, bounding the database writes one
//     terminal causes — while failing answers are held to one a second.
//   - Card pair, 5 then one a minute: an answer the platform refuses is
//     never a wrong PIN (the card counts those itself: 3 tries, then
//     blocked) but a bad signature, a replay, a revoked or expired
//     certificate; a person retries that once or twice at one terminal.
//   - PIN reports, 30 then one per 6 s per terminal: a card refuses at
//     most 3 wrong PINs and 5 wrong passwords before it is blocked, and
//     the terminal then stops the flow until the card is removed; a
//     kiosk or a desk serves one person a minute or more, so ten a minute
//     is far above what people mistyping cause, and a terminal with a
//     stolen key cannot fill holders' histories faster than that.
//   - Card account, 20 then one per 15 s: under the 100 consecutive
//     failures NIST SP 800-63B §5.2.2 allows an account, and it refuses
//     failures only: an answer whose signature verifies always passes, so
//     failures elsewhere never keep the holder out.
func DefaultLimits() Limits {
	return Limits{
		Credentials: ratelimit.Limit{Burst: 20, Every: 3 * time.Second},
		Terminal:    ratelimit.Limit{Burst: 600, Every: 100 * time.Millisecond},
		FailureCost: 10,
		PINReports:  ratelimit.Limit{Burst: 30, Every: 6 * time.Second},
		Card: ratelimit.LoginLimits{
			Pair:    ratelimit.Limit{Burst: 5, Every: time.Minute},
			Account: ratelimit.Limit{Burst: 20, Every: 15 * time.Second},
		},
	}
}

// limiter holds the platform's buckets.
type limiter struct {
	credentials *ratelimit.Limiter
	terminal    *ratelimit.Limiter
	pinReports  *ratelimit.Limiter
	failureCost int
	cards       *ratelimit.Login
	unlimited   map[string]bool
}

func newLimiter(l Limits, now func() time.Time) *limiter {
	o := ratelimit.Options{Now: now, MaxKeys: l.MaxKeys}
	l.Card.Source = ratelimit.Limit{}
	lim := &limiter{credentials: ratelimit.New(l.Credentials, o), terminal: ratelimit.New(l.Terminal, o),
		pinReports:  ratelimit.New(l.PINReports, o),
		failureCost: max(l.FailureCost, 1), cards: ratelimit.NewLogin(l.Card, o), unlimited: map[string]bool{}}
	for _, id := range l.Unlimited {
		lim.unlimited[id] = true
	}
	return lim
}

// refused is err as a refusal for d, or nil when d is 0.
func refused(d time.Duration) error {
	if d <= 0 {
		return nil
	}
	return ratelimit.Refuse(d)
}

// beforeCredentials refuses a source address whose failed credentials are
// spent; afterCredentials counts a failure.
func (l *limiter) beforeCredentials(r *http.Request) error {
	return refused(l.credentials.Wait(ratelimit.Source(r)))
}

func (l *limiter) afterCredentials(r *http.Request, err error) {
	if err != nil {
		l.credentials.Charge(ratelimit.Source(r), 1)
	}
}

// exempt reports whether t's challenges and answers skip the Terminal
// bucket: the listed load generators and every App terminal (Limits.Unlimited).
func (l *limiter) exempt(t *Terminal) bool { return l.unlimited[t.ID] || t.Kind == App }

// challenge counts a challenge of t, or refuses it.
func (l *limiter) challenge(t *Terminal) error {
	if l.exempt(t) {
		return nil
	}
	d, ok := l.terminal.Allow(t.ID, 1)
	if ok {
		return nil
	}
	return refused(d)
}

// pinReport counts a PIN refusal report of t about the card of certDER,
// or refuses it. A terminal's reports share one bucket, except an App
// terminal's: the provider's page serves everyone on the Internet, so one
// shared bucket would let a few people's mistakes hide everyone else's
// from their /me/audit; its reports are counted per card instead. The
// Unlimited terminals are not exempt: a load generator has no reason to
// report refusals.
func (l *limiter) pinReport(t *Terminal, certDER []byte) error {
	key := t.ID
	if t.Kind == App {
		key += "/" + cardKey(certDER)
	}
	d, ok := l.pinReports.Allow(key, 1)
	if ok {
		return nil
	}
	return refused(d)
}

// cardKey names the card an answer is for by its certificate, before the
// certificate is parsed: the same certificate is the same card, and
// anything else an attacker sends fails on the chain.
func cardKey(certDER []byte) string {
	sum := sha256.Sum256(certDER)
	return hex.EncodeToString(sum[:16])
}

// beforeAnswer refuses an answer from t naming the card of certDER when
// t's bucket, or this card's failures at t, are spent. The card's own
// bucket (from every terminal) is not asked here: see afterAnswer.
func (l *limiter) beforeAnswer(t *Terminal, card string) error {
	d := l.cards.CheckPair(card, t.ID)
	if !l.exempt(t) {
		d = max(d, l.terminal.Wait(t.ID))
	}
	return refused(d)
}

// afterAnswer counts an answer's outcome. A failed answer for a card whose
// failures from every terminal are spent is refused (429, the outcome not
// told); a passed one never is.
func (l *limiter) afterAnswer(t *Terminal, card string, rep *Report) error {
	if rep.Result != Failed {
		l.cards.Done(card, t.ID, true)
		return nil
	}
	wait := l.cards.AccountWait(card)
	l.cards.Done(card, t.ID, false)
	if !l.exempt(t) {
		l.terminal.Charge(t.ID, l.failureCost)
	}
	return refused(wait)
}
