package terminal

import (
	"context"
	"crypto"
	"crypto/x509"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/internal/ratelimit"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/web"
)

// The kit is the card flow of every terminal, written once: place or
// remove the card (the demo's virtual slot or a PC/SC reader), the PIN pad
// with the tries left and the last-try warning, the signing password for
// services that sign, and the outcome that ends the flow with "remove the
// card". A kind of terminal is a screen and a purpose: its package keeps
// its own pages after the handoff (a Login, or the signing step's result)
// and renders the kit's steps with the kit's partial templates inside the
// kit's layout, which has no site header or navigation, and its style
// sheet (static/terminal.css).

// Screen is the screen a kind of terminal has; the kit's layout fits every
// step to it without scrolling.
type Screen string

// The screens.
const (
	// ScreenKiosk is a 1024×600 touch screen (multi-copy machines, town
	// hall kiosks, the school gate, the shelter).
	ScreenKiosk Screen = "kiosk"
	// ScreenDesk is a reception desk's 1024×768 screen beside its reader.
	ScreenDesk Screen = "desk"
	// ScreenPhone is a 390×844 phone (or a tablet held upright).
	ScreenPhone Screen = "phone"
	// ScreenTV is a 1280×720 television driven by its remote control:
	// arrow keys and Enter, digits from the number keys.
	ScreenTV Screen = "tv"
)

// Size is the screen's size in CSS pixels.
func (s Screen) Size() (w, h int) {
	switch s {
	case ScreenDesk:
		return 1024, 768
	case ScreenPhone:
		return 390, 844
	case ScreenTV:
		return 1280, 720
	}
	return 1024, 600
}

// ScreenOf is the screen of a kind of terminal.
func ScreenOf(k platform.TerminalKind) Screen {
	switch k {
	case platform.Reception:
		return ScreenDesk
	case platform.Mobile, platform.App:
		// The provider's page (App) is on the person's own phone or PC,
		// laid out for the phone first.
		return ScreenPhone
	case platform.TV:
		return ScreenTV
	}
	return ScreenKiosk
}

// Screener is page data that says which screen it is shown on; the kit's
// layout asks for it (a page whose data does not say is a kiosk screen).
type Screener interface{ TerminalScreen() Screen }

//go:embed templates/kit static
var kitFiles embed.FS

// kitStatic are the kit's style sheet and scripts, one fs.FS value so that
// the site serves them once however many packages parse pages in the kit's
// layout.
var kitStatic = mustSub(kitFiles, "static")

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err) // dir names an embedded directory
	}
	return sub
}

// Layout is the terminals' page layout (no site header, no navigation,
// the language switch only) with the kit's partial templates: kit-card,
// kit-pinpad, kit-sign, kit-outcome and kit-remove.
func Layout() web.Layout {
	return web.Layout{FS: mustSub(kitFiles, "templates/kit"), Patterns: []string{"*.html"}, Static: kitStatic, Funcs: template.FuncMap{
		"kit": func(v *web.View, step any) kitArgs { return kitArgs{V: v, S: step} },
		"screen": func(data any) Screen {
			if s, ok := data.(Screener); ok && s.TerminalScreen() != "" {
				return s.TerminalScreen()
			}
			return ScreenKiosk
		},
		"push": func(data any) string {
			if p, ok := data.(Pusher); ok {
				return p.PushEvents()
			}
			return ""
		},
	}}
}

// Pusher is a screen that receives pushed overlays
// (docs/community-tv.md §7): the layout loads static/push.js, which
// follows PushEvents (server-sent events; "" for none) and, for each event
// naming an overlay page, shows that page's .push-content over the
// screen with the focus in it (the TV's evacuation order).
type Pusher interface{ PushEvents() string }

// Parse parses a terminal's pages in the kit's layout.
func Parse(site *web.Site, fsys fs.FS, patterns ...string) (*web.Pages, error) {
	return site.ParseIn(Layout(), fsys, patterns...)
}

// kitArgs are what a kit partial gets: the page's view (language, CSRF
// token) and the step's data.
type kitArgs struct {
	V *web.View
	S any
}

// Actions are where a terminal's card-step forms post.
type Actions struct {
	// Place puts a card on the reader (the form sends "card", the demo
	// card's ID, or nothing for a real reader).
	Place string
	// PIN sends "pin" (the card step) and Sign sends "password" (the
	// signing step).
	PIN, Sign string
	// Remove takes the card out and ends the flow.
	Remove string
	// PlacePIN, when set, is where the place step's one form posts the
	// card (virtual reader) and the PIN together (Kit.PlaceLogin): the
	// person types the PIN and holds the card, as the app asks on a phone,
	// in one request. Empty: two steps, place then the PIN pad. After a
	// wrong PIN, or when the card says its last try, the placed card's PIN
	// pad (PIN) is shown as in two steps.
	PlacePIN string
}

// KitConfig is one terminal's card flow.
type KitConfig struct {
	Terminal *Terminal
	Reader   Reader
	// Cards lists the demo cards for the virtual slot.
	Cards *card.Store
	// Purpose is what the platform is asked to authenticate for ("" or
	// platform.PurposeEligibility); the Login carries it.
	Purpose string
	// Screen is the terminal's screen (ScreenOf its kind when empty).
	Screen  Screen
	Actions Actions
	// Now is the clock (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger
	// Limits limit the PIN and password posts (the card step and the
	// signing step): the source is the browser's address, the account the
	// placed card. Nil: the kit's own, of DefaultKitLimits.
	Limits *ratelimit.Login
}

// DefaultKitLimits are a terminal's limits on PIN posts. Why these
// numbers: the card itself blocks the authentication PIN after 3 wrong
// tries and the signing password after 5 (jpki-card.md), so these do not
// guard the PIN; they bound what else a post costs (a card session, a
// platform round trip) and stop a script posting to a blocked or refused
// card.
//
//   - Source (the browser's address), 30 then one per 2 s, a failure
//     costing 3: at a kiosk or a desk the browser is the terminal itself,
//     serving one person at a time in a minute or more, who types a PIN
//     a few times; 30 covers a queue of people who mistype.
//   - Pair (the card from one browser), 10 then one a minute: 3 wrong
//     PINs and 5 wrong passwords fit, both are blocked by then, and two
//     refusals of the platform besides (a revoked card is stopped at once).
//   - Account (the card from any browser), 12 then one per 20 s: a card
//     is in one reader at a time, so a second browser posting for it is
//     an attack on the demo's virtual slot; the holder waits 20 s at most.
func DefaultKitLimits() ratelimit.LoginLimits {
	return ratelimit.LoginLimits{
		Source: ratelimit.Limit{Burst: 30, Every: 2 * time.Second}, FailureCost: 3,
		Pair:    ratelimit.Limit{Burst: 10, Every: time.Minute},
		Account: ratelimit.Limit{Burst: 12, Every: 20 * time.Second},
	}
}

// Kit runs the card flow of one terminal.
type Kit struct {
	cfg KitConfig
	// busy is a lock per card (its reader's name for it): a card does one
	// thing at a time, and two requests at once of one browser (a double
	// click on "sign") must not interleave their card sessions, where the
	// second's powering the card up or selecting the AP drops the
	// password the first verified.
	busy sync.Map // placed card → *sync.Mutex
}

// hold waits until the card placed in ss is free and takes it, from
// powering it up (Placed) to the end of its card session: the returned
// func gives it back. With no card placed there is nothing to hold.
func (k *Kit) hold(ss *web.Session) func() {
	id := ss.Get(placedKey(k.cfg.Terminal.ID))
	if id == "" {
		return func() {}
	}
	m, _ := k.busy.LoadOrStore(id, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// NewKit makes a terminal's card flow.
func NewKit(cfg KitConfig) *Kit {
	if cfg.Screen == "" {
		cfg.Screen = ScreenOf(cfg.Terminal.Kind)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Limits == nil {
		cfg.Limits = ratelimit.NewLogin(DefaultKitLimits(), ratelimit.Options{Now: cfg.Now})
	}
	return &Kit{cfg: cfg}
}

// Terminal is the kit's terminal.
func (k *Kit) Terminal() *Terminal { return k.cfg.Terminal }

// Screen is the kit's screen.
func (k *Kit) Screen() Screen { return k.cfg.Screen }

// Actions are where the kit's forms post.
func (k *Kit) Actions() Actions { return k.cfg.Actions }

// Virtual reports whether the person chooses the card on the screen.
func (k *Kit) Virtual() bool { return k.cfg.Reader.Virtual() }

// The session keys of a terminal's card step: the card on its reader, its
// holder's name, and the outcome that stopped the flow.
func placedKey(id string) string { return "t:" + id + ":card" }
func (k *Kit) key(what string) string {
	return "t:" + k.cfg.Terminal.ID + ":" + what
}

// Placed is the card on the reader, or an error wrapping ErrNoCard.
func (k *Kit) Placed(r *http.Request, ss *web.Session) (card.Transport, error) {
	return k.cfg.Reader.Card(r, ss.Get(placedKey(k.cfg.Terminal.ID)))
}

// Holder is the name on the placed card, if the reader knows it.
func (k *Kit) Holder(ss *web.Session) string { return ss.Get(k.key("holder")) }

// Place puts the card the form names (the demo's slot) or the card on the
// real reader on the terminal: a fresh start of the flow.
func (k *Kit) Place(r *http.Request, ss *web.Session) Result {
	k.Remove(ss)
	placed := "reader"
	if k.cfg.Reader.Virtual() {
		placed = r.PostFormValue("card")
	}
	tr, err := k.cfg.Reader.Card(r, placed)
	if err != nil {
		k.cfg.Logger.InfoContext(r.Context(), "terminal: place the card", "terminal", k.cfg.Terminal.ID, "err", err)
		return Result{Outcome: CardUnreadable}
	}
	ss.Set(placedKey(k.cfg.Terminal.ID), placed)
	if c, ok := tr.(*card.Card); ok {
		ss.Set(k.key("holder"), c.Info().Holder)
	}
	return Result{Outcome: Verified}
}

// PlaceLogin is Place and Login in one post (Actions.PlacePIN): the card
// the form names (or the real reader's) and the form's PIN. The PIN goes
// to the card only when the card's state lets a try go without a warning:
// a card without its authentication certificate, blocked or unreadable
// stops the flow as the card step shows it (the result says which); one
// at its last try is left placed and the result is LastTry, with the PIN
// not sent, so that the PIN pad asks again under the last-try warning.
func (k *Kit) PlaceLogin(ctx context.Context, r *http.Request, ss *web.Session) (Login, Result) {
	if res := k.Place(r, ss); !res.Passed() {
		return Login{}, res
	}
	tr, err := k.Placed(r, ss)
	if err != nil {
		return Login{}, Result{Outcome: NoCard}
	}
	st, err := Status(tr)
	switch {
	case err != nil:
		k.cfg.Logger.WarnContext(r.Context(), "terminal: read card", "terminal", k.cfg.Terminal.ID, "err", err)
		return Login{}, Result{Outcome: CardUnreadable}
	case !st.HasCert:
		return Login{}, Result{Outcome: NoAuthCert}
	case st.Blocked:
		return Login{}, Result{Outcome: PINBlocked}
	case st.LastTry:
		return Login{}, Result{Outcome: LastTry}
	}
	return k.Login(ctx, r, ss)
}

// Remove takes the card out: the card, the outcome that stopped the flow
// and the login go.
func (k *Kit) Remove(ss *web.Session) {
	ss.Delete(placedKey(k.cfg.Terminal.ID))
	ss.Delete(k.key("holder"))
	ss.Delete(k.key("stop"))
	Logout(ss)
}

// Stop ends the flow with an outcome the person cannot retry here (a
// revoked certificate): the card step shows it with "remove the card"
// until the card is removed.
func (k *Kit) Stop(ss *web.Session, o Outcome) {
	ss.Set(k.key("stop"), string(o))
}

// CardStep is what the card step shows: the card to place, the PIN pad,
// or the outcome that ends the flow.
type CardStep struct {
	Screen  Screen
	Actions Actions
	Virtual bool
	// Cards are the cards to choose from (virtual reader, no card).
	Cards  []card.Info
	Placed bool
	Holder string
	Status *CardStatus
	// Stop is the outcome that ends the flow: no certificate, PIN
	// blocked, a refusal of the platform, an unreadable card.
	Stop *Message
	// LastTry is the warning before the last try.
	LastTry *Message
}

// Step names what the card step shows: "place", "pin" or "stop".
func (c *CardStep) Step() string {
	switch {
	case !c.Placed:
		return "place"
	case c.Stop != nil:
		return "stop"
	}
	return "pin"
}

// Card reads the card on the reader (without using up a try) and says
// what the card step shows.
func (k *Kit) Card(r *http.Request, ss *web.Session) *CardStep {
	defer k.hold(ss)()
	c := &CardStep{Screen: k.cfg.Screen, Actions: k.cfg.Actions, Virtual: k.cfg.Reader.Virtual(), Holder: k.Holder(ss)}
	stop := func(o Outcome) { m := Result{Outcome: o}.Message(); c.Stop = &m }
	tr, err := k.Placed(r, ss)
	if err != nil {
		if c.Virtual && k.cfg.Cards != nil {
			// Every card of the store: the demo's and those issued since
			// at the counter.
			infos, err := k.cfg.Cards.List()
			if err != nil {
				k.cfg.Logger.ErrorContext(r.Context(), "terminal: list cards", "err", err)
			}
			c.Cards = infos
		}
		return c
	}
	c.Placed = true
	if o := Outcome(ss.Get(k.key("stop"))); o != "" {
		stop(o)
		return c
	}
	st, err := Status(tr)
	switch {
	case err != nil:
		k.cfg.Logger.WarnContext(r.Context(), "terminal: read card", "terminal", k.cfg.Terminal.ID, "err", err)
		stop(CardUnreadable)
	case !st.HasCert:
		stop(NoAuthCert)
	case st.Blocked:
		stop(PINBlocked)
	case st.LastTry:
		m := Result{Outcome: LastTry}.Message()
		c.LastTry = &m
	}
	c.Status = &st
	return c
}

// Login runs the card step with the form's PIN: the card signs the
// platform's challenge and the platform answers. On a pass the Login is
// handed to the session (one key) and returned; otherwise the result says
// why, and an outcome the person cannot retry stops the flow until the
// card is removed. The PIN goes from the form to the card and is dropped.
func (k *Kit) Login(ctx context.Context, r *http.Request, ss *web.Session) (Login, Result) {
	defer k.hold(ss)()
	tr, err := k.Placed(r, ss)
	if err != nil {
		return Login{}, Result{Outcome: NoCard}
	}
	done, res, ok := k.limit(r, ss)
	if !ok {
		return Login{}, res
	}
	l, res := k.login(ctx, r, ss, tr)
	done(res)
	return l, res
}

// limit checks the kit's limits before a PIN post: ok to go ahead, with
// done to count the try's result; or the RateLimited result.
func (k *Kit) limit(r *http.Request, ss *web.Session) (done func(Result), res Result, ok bool) {
	account, source := ss.Get(placedKey(k.cfg.Terminal.ID)), ratelimit.Source(r)
	if d := k.cfg.Limits.Check(account, source); d > 0 {
		k.cfg.Logger.InfoContext(r.Context(), "terminal: PIN post refused, too many tries", "terminal", k.cfg.Terminal.ID, "source", source, "retry_after", d)
		return nil, Result{Outcome: RateLimited, RetryAfter: d}, false
	}
	return func(res Result) {
		switch res.Outcome {
		case Unreachable, Indeterminate, RateLimited, TerminalRefused, CardUnreadable:
			// The system's failure, not the person's: not counted.
			return
		}
		k.cfg.Limits.Done(account, source, res.Passed())
	}, Result{}, true
}

// login is Login after the limits.
func (k *Kit) login(ctx context.Context, r *http.Request, ss *web.Session, tr card.Transport) (Login, Result) {
	if o := Outcome(ss.Get(k.key("stop"))); o != "" {
		// The flow was stopped (a revoked certificate): no new try until
		// the card is removed.
		return Login{}, Result{Outcome: o}
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	resp, err := k.cfg.Terminal.LoginFor(ctx, tr, r.PostFormValue("pin"), k.cfg.Purpose)
	var rep *platform.Report
	if err == nil {
		rep = resp.Report
	}
	res := Of(card.AuthPIN, err, rep)
	res.Report = rep
	k.reportPIN(ctx, tr, card.AuthPIN, res)
	switch {
	case res.Outcome == CardUnreadable && err != nil:
		k.cfg.Logger.ErrorContext(r.Context(), "terminal: card flow", "terminal", k.cfg.Terminal.ID, "err", err)
	case res.Outcome == Unreachable || res.Outcome == TerminalRefused:
		k.cfg.Logger.ErrorContext(r.Context(), "terminal: platform", "terminal", k.cfg.Terminal.ID, "err", err)
	}
	if !res.Passed() {
		if !res.Message().Retry {
			k.Stop(ss, res.Outcome)
		}
		return Login{}, res
	}
	l := Login{Terminal: k.cfg.Terminal.ID, PlatformID: rep.PlatformID, Assertion: resp.Assertion, Purpose: k.cfg.Purpose,
		Holder: k.Holder(ss), Warnings: rep.Warnings, Expires: k.cfg.Now().Add(5 * time.Minute)}
	if exp, err := assertionExpiry(resp.Assertion); err == nil {
		l.Expires = exp
	} else {
		k.cfg.Logger.WarnContext(r.Context(), "terminal: assertion expiry", "terminal", k.cfg.Terminal.ID, "err", err)
	}
	saveLogin(ss, l)
	return l, res
}

// reportPIN reports to the platform a PIN the card refused (see
// PINRefusalOf), so that it is in the holder's audit. It is best-effort:
// what the person is shown does not depend on it, and a failure is only
// logged. It waits for the answer (a few seconds at most) so that the
// row is there when the next screen is.
func (k *Kit) reportPIN(ctx context.Context, tr card.Transport, pin card.PIN, res Result) {
	ref, ok := PINRefusalOf(pin, res)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := k.cfg.Terminal.ReportPINRefusal(ctx, tr, ref); err != nil {
		k.cfg.Logger.WarnContext(ctx, "terminal: report a refused PIN to the platform", "terminal", k.cfg.Terminal.ID,
			"which_pin", ref.PIN, "result", ref.Result, "tries_left", ref.TriesLeft, "err", err)
	}
}

// LoggedIn is the session's login at this terminal for its purpose.
func (k *Kit) LoggedIn(ss *web.Session) (Login, error) {
	return LoggedIn(ss, k.cfg.Now(), k.cfg.Terminal.ID, k.cfg.Purpose)
}

// SignStep is what the signing step shows.
type SignStep struct {
	Screen  Screen
	Actions Actions
	// TriesLeft and MaxTries are the signing password's.
	TriesLeft, MaxTries int
	// Stop is the outcome that ends the step (blocked, unreadable).
	Stop *Message
	// LastTry is the warning before the last try.
	LastTry *Message
	// Label is what is signed, for the button ("署名して申請する").
	LabelJA, LabelEN string
}

// SignCard reads the signing password's tries left from the placed card.
func (k *Kit) SignCard(r *http.Request, ss *web.Session, labelJA, labelEN string) *SignStep {
	defer k.hold(ss)()
	s := &SignStep{Screen: k.cfg.Screen, Actions: k.cfg.Actions, MaxTries: card.SignPIN.MaxTries(), LabelJA: labelJA, LabelEN: labelEN}
	stop := func(o Outcome) { m := Result{Outcome: o}.Message(); s.Stop = &m }
	tr, err := k.Placed(r, ss)
	if err != nil {
		stop(NoCard)
		return s
	}
	cl := card.NewClient(tr)
	n, err := cl.PINStatus(card.SignPIN)
	cl.Logout()
	switch {
	case err != nil:
		k.cfg.Logger.WarnContext(r.Context(), "terminal: read signing password status", "terminal", k.cfg.Terminal.ID, "err", err)
		stop(CardUnreadable)
	case n == 0:
		stop(SignBlocked)
	case n == 1:
		m := Result{Outcome: SignLastTry}.Message()
		s.LastTry = &m
	}
	s.TriesLeft = n
	return s
}

// Sign runs the signing step with the form's password on the placed card:
// fn gets the signing certificate and the card as a signer, for one or
// more signatures in one card session. The password goes to the card only.
// An error of fn that is not the card's is returned as is, for the
// service to word.
func (k *Kit) Sign(r *http.Request, ss *web.Session, fn func(cert *x509.Certificate, signer crypto.Signer) error) (Result, error) {
	defer k.hold(ss)()
	tr, err := k.Placed(r, ss)
	if err != nil {
		return Result{Outcome: NoCard}, nil
	}
	done, res, ok := k.limit(r, ss)
	if !ok {
		return res, nil
	}
	var fnErr error
	err = WithSigner(tr, r.PostFormValue("password"), func(cert *x509.Certificate, signer crypto.Signer) error {
		fnErr = fn(cert, signer)
		return fnErr
	})
	if fnErr != nil {
		return Result{}, fnErr
	}
	res = SignResult(err)
	done(res)
	k.reportPIN(r.Context(), tr, card.SignPIN, res)
	if res.Outcome == CardUnreadable {
		k.cfg.Logger.ErrorContext(r.Context(), "terminal: sign", "terminal", k.cfg.Terminal.ID, "err", err)
	}
	return res, nil
}

// SignDocument has the placed card sign doc (SHA-256, PKCS#1 v1.5) with
// the form's signing password: the signing certificate (DER) and the
// signature, or the result that says why not.
func (k *Kit) SignDocument(r *http.Request, ss *web.Session, doc []byte) (certDER, sig []byte, res Result) {
	defer k.hold(ss)()
	tr, err := k.Placed(r, ss)
	if err != nil {
		return nil, nil, Result{Outcome: NoCard}
	}
	done, res, ok := k.limit(r, ss)
	if !ok {
		return nil, nil, res
	}
	certDER, sig, err = SignDocument(tr, r.PostFormValue("password"), doc)
	res = SignResult(err)
	done(res)
	k.reportPIN(r.Context(), tr, card.SignPIN, res)
	if res.Outcome == CardUnreadable {
		k.cfg.Logger.ErrorContext(r.Context(), "terminal: sign", "terminal", k.cfg.Terminal.ID, "err", err)
	}
	return certDER, sig, res
}

// SignFailure is the signing step's result for err when err is the
// card's (a password of the wrong format, wrong or blocked, no signing
// certificate); false for any other error, which the service words itself
// (signing inside WithSigner mixes the two).
func SignFailure(err error) (Result, bool) {
	var pe *card.PINError
	if errors.Is(err, card.ErrPINFormat) || errors.Is(err, card.ErrPINBlocked) || errors.As(err, &pe) || errors.Is(err, card.ErrNotFound) {
		return SignResult(err), true
	}
	return Result{}, false
}

// SignResult is the outcome of a signing step's card error (nil: Signed).
func SignResult(err error) Result { return Of(card.SignPIN, err, nil) }
