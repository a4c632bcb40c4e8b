package payenrol

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/cardco"
	"github.com/mynaplat/mynaplat/eligibility"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

// The resident's page /pay/: place the card on the (virtual) reader, log in
// with the auth PIN through a platform terminal to learn the platform ID,
// register a credit card at the card company (the card number goes from the
// form to the company's enrolment and is then dropped: the platform keeps the
// company's token and the last four digits only), read the consent and sign
// it with the signing password, which goes to the card only.

// Config holds what the payment pages need.
type Config struct {
	// Eligibility is the eligibility service's payment-link API, called
	// under the platform assertion of the person's card login: the service
	// keeps the links, wherever it runs.
	Eligibility *eligibility.ResidentClient
	Site        *web.Site
	Cards       *card.Store
	// Terminal is the platform terminal the page logs in through (registered
	// at the platform, e.g. a kiosk of the hospital); its reader is the
	// virtual one, the card chosen on the page.
	Terminal terminal.Config
	// PlatformURL and HTTP reach the platform's API.
	PlatformURL string
	HTTP        *http.Client
	// Enrol is the card company's enrolment API (under the caller key of
	// the pages' role): token and last four digits for a card number,
	// holder and expiry.
	Enrol  *cardco.EnrolClient
	Logger *slog.Logger
	Now    func() time.Time
}

// templates are the page's.
//
//go:embed templates
var templates embed.FS

// Pages are the resident's payment pages.
type Pages struct {
	elig  *eligibility.ResidentClient
	now   func() time.Time
	site  *web.Site
	pages *web.Pages
	// kit runs the card steps on the phone: the PIN, the signing password.
	kit    *terminal.Kit
	enrol  *cardco.EnrolClient
	logger *slog.Logger
}

// Pages parses the payment page templates and sets up the terminal.
func New(cfg Config) (*Pages, error) {
	if cfg.Eligibility == nil || cfg.Site == nil || cfg.Cards == nil || cfg.Enrol == nil {
		return nil, errors.New("payenrol: the pages need the eligibility service's client, a site, a card store and the card company's enrolment client")
	}
	sub, err := fs.Sub(templates, "templates")
	if err != nil {
		return nil, err
	}
	pages, err := terminal.Parse(cfg.Site, sub, "*.html")
	if err != nil {
		return nil, err
	}
	t, err := terminal.New(cfg.Terminal, cfg.PlatformURL, cfg.HTTP)
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	kit := terminal.NewKit(terminal.KitConfig{Terminal: t, Reader: terminal.VirtualReader{Cards: cfg.Cards}, Cards: cfg.Cards,
		Screen: terminal.ScreenPhone, Now: now, Logger: logger,
		Actions: terminal.Actions{Place: "/pay/place", PIN: "/pay/login", Sign: "/pay/link", Remove: "/pay/remove"}})
	return &Pages{elig: cfg.Eligibility, now: now, site: cfg.Site, pages: pages, kit: kit, enrol: cfg.Enrol, logger: logger}, nil
}

// Routes registers the pages.
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /pay/{$}", p.page)
	mux.HandleFunc("POST /pay/place", p.place)
	mux.HandleFunc("POST /pay/remove", p.remove)
	mux.HandleFunc("POST /pay/login", p.login)
	mux.HandleFunc("POST /pay/enrol", p.enrolCard)
	mux.HandleFunc("POST /pay/link", p.link)
	mux.HandleFunc("POST /pay/unlink", p.unlink)
}

// Links are the home page entries.
func (p *Pages) Links() []web.Link {
	return []web.Link{{Section: "本人 / Card holder", TitleJA: "カードで医療費を支払う（登録）", TitleEN: "Pay medical bills with the card (register)",
		DescJA: "マイナンバーカードにクレジットカードを登録し、受付の資格確認のあと自己負担金を支払えるようにします",
		DescEN: "Link a credit card to your My Number Card, so the co-payment is paid after the eligibility check at the reception",
		Path:   "/pay/"}}
}

// Session keys of the flow after the card step (the kit keeps the card
// and the login). The card number and the passwords are never among them.
const (
	payKeyToken     = "pay:token"
	payKeyLast4     = "pay:last4"
	payKeyConsentAt = "pay:consent_at"
)

// payData is what the page shows.
type payData struct {
	// Card is the card step until the person is logged in.
	Card     *terminal.CardStep
	LoggedIn bool
	Holder   string
	PIDHash  string
	Link     *eligibility.MyPaymentLink
	HasToken bool
	Last4    string
	Consent  []string // the consent's lines, shown as paragraphs
	// Sign is the signing step of the consent.
	Sign    *terminal.SignStep
	Actions terminal.Actions
}

// TerminalScreen is the phone's.
func (payData) TerminalScreen() terminal.Screen { return terminal.ScreenPhone }

func (p *Pages) session(w http.ResponseWriter, r *http.Request) (*web.Session, bool) {
	return terminal.Session(p.site, p.logger, w, r)
}

// loggedIn is the login of the person (its platform ID and the assertion
// the service is called under), or false with a message of why not (nil
// when there was no login).
func (p *Pages) loggedIn(ss *web.Session) (terminal.Login, bool, *web.Flash) {
	l, err := p.kit.LoggedIn(ss)
	if errors.Is(err, terminal.ErrLoginExpired) {
		f := terminal.Result{Outcome: terminal.LoginExpired}.Flash()
		return l, false, &f
	}
	return l, err == nil, nil
}

func (p *Pages) page(w http.ResponseWriter, r *http.Request) {
	ss, ok := p.session(w, r)
	if !ok {
		return
	}
	d := payData{Holder: p.kit.Holder(ss), Actions: p.kit.Actions()}
	login, ok, f := p.loggedIn(ss)
	if f != nil {
		ss.SetFlash(*f)
	}
	if !ok {
		d.Card = p.kit.Card(r, ss)
		p.pages.Render(w, r, http.StatusOK, "pay", d)
		return
	}
	pid := login.PlatformID
	d.LoggedIn, d.PIDHash = true, eligibility.ConsentDoc{PlatformID: pid}.PlatformIDHash()
	if l, err := p.elig.PaymentLink(r.Context(), login.Assertion); err == nil {
		d.Link = l
	} else if !errors.Is(err, eligibility.ErrNoPaymentLink) {
		p.logger.ErrorContext(r.Context(), "read payment link", "err", err)
	}
	if tok := ss.Get(payKeyToken); tok != "" {
		d.HasToken, d.Last4 = true, ss.Get(payKeyLast4)
		for line := range strings.SplitSeq(p.consent(ss, pid).Text(), "\n") {
			if line != "" {
				d.Consent = append(d.Consent, line)
			}
		}
		d.Sign = p.kit.SignCard(r, ss, "同意して署名する", "Agree and sign")
	}
	p.pages.Render(w, r, http.StatusOK, "pay", d)
}

// consent is the document shown: the one made when the card was enrolled,
// so the page and the signature agree to the second.
func (p *Pages) consent(ss *web.Session, pid string) eligibility.ConsentDoc {
	d := eligibility.ConsentDoc{PlatformID: pid, Token: ss.Get(payKeyToken), Last4: ss.Get(payKeyLast4)}
	if sec, err := strconv.ParseInt(ss.Get(payKeyConsentAt), 10, 64); err == nil {
		d.At = time.Unix(sec, 0)
	}
	return d
}

func (p *Pages) back(w http.ResponseWriter, r *http.Request, ss *web.Session, f *web.Flash) {
	if f != nil {
		ss.SetFlash(*f)
	}
	terminal.SaveSession(r, ss, p.logger)
	http.Redirect(w, r, "/pay/", http.StatusSeeOther)
}

func (p *Pages) place(w http.ResponseWriter, r *http.Request) {
	ss, ok := p.session(w, r)
	if !ok {
		return
	}
	p.clear(ss)
	if res := p.kit.Place(r, ss); !res.Passed() {
		f := res.Flash()
		p.back(w, r, ss, &f)
		return
	}
	p.back(w, r, ss, nil)
}

// clear forgets the flow: the card, the login, the enrolment.
func (p *Pages) clear(ss *web.Session) {
	for _, k := range []string{payKeyToken, payKeyLast4, payKeyConsentAt} {
		ss.Delete(k)
	}
	p.kit.Remove(ss)
}

func (p *Pages) remove(w http.ResponseWriter, r *http.Request) {
	ss, ok := p.session(w, r)
	if !ok {
		return
	}
	p.clear(ss)
	p.back(w, r, ss, nil)
}

// login runs the kit's card step: the PIN goes from the form to the card.
func (p *Pages) login(w http.ResponseWriter, r *http.Request) {
	ss, ok := p.session(w, r)
	if !ok {
		return
	}
	_, res := p.kit.Login(r.Context(), r, ss)
	switch {
	case res.Passed():
		f := res.Flash()
		p.back(w, r, ss, &f)
	case res.Message().Retry:
		f := res.Flash()
		p.back(w, r, ss, &f)
	default:
		// The card step shows why the flow ends.
		p.back(w, r, ss, nil)
	}
}

func (p *Pages) enrolCard(w http.ResponseWriter, r *http.Request) {
	ss, ok := p.session(w, r)
	if !ok {
		return
	}
	if _, ok, f := p.loggedIn(ss); !ok {
		p.back(w, r, ss, cmp.Or(f, &web.Flash{Kind: "error", JA: "先にカードでログインしてください。", EN: "Log in with your card first."}))
		return
	}
	// The card number passes from the form to the card company and is
	// dropped here: it is not stored, logged or put in the session.
	e := cardco.Enrolment{PAN: strings.ReplaceAll(strings.ReplaceAll(r.PostFormValue("pan"), " ", ""), "-", ""),
		Holder: strings.ToUpper(strings.TrimSpace(r.PostFormValue("holder"))), Expiry: strings.TrimSpace(r.PostFormValue("expiry"))}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	en, err := p.enrol.Enrol(ctx, e)
	if err != nil {
		p.back(w, r, ss, enrolFlash(err))
		return
	}
	ss.Set(payKeyToken, en.Token)
	ss.Set(payKeyLast4, en.Last4)
	ss.Set(payKeyConsentAt, strconv.FormatInt(p.now().Unix(), 10))
	p.back(w, r, ss, nil)
}

func enrolFlash(err error) *web.Flash {
	switch {
	case errors.Is(err, cardco.ErrCardMismatch):
		return &web.Flash{Kind: "error", JA: "カード名義または有効期限がカード会社の登録と一致しません。", EN: "The holder name or expiry does not match the card company's records."}
	case errors.Is(err, cardco.ErrInvalid):
		return &web.Flash{Kind: "error", JA: "カード番号（16桁）・名義（ローマ字）・有効期限（MM/YY）を確かめてください。",
			EN: "Check the card number (16 digits), the holder name and the expiry (MM/YY)."}
	}
	return &web.Flash{Kind: "error", JA: "カード会社に接続できませんでした。しばらくしてから再度お試しください。",
		EN: "The card company could not be reached; try again shortly."}
}

func (p *Pages) link(w http.ResponseWriter, r *http.Request) {
	ss, ok := p.session(w, r)
	if !ok {
		return
	}
	login, ok, f := p.loggedIn(ss)
	if !ok || ss.Get(payKeyToken) == "" {
		p.back(w, r, ss, cmp.Or(f, &web.Flash{Kind: "error", JA: "最初からやり直してください。", EN: "Please start again."}))
		return
	}
	doc := p.consent(ss, login.PlatformID)
	// The signing password goes from the form to the card and is dropped.
	certDER, sig, res := p.kit.SignDocument(r, ss, []byte(doc.Text()))
	if !res.Passed() {
		f := res.Flash()
		p.back(w, r, ss, &f)
		return
	}
	req := eligibility.PaymentLinkRequest{Token: doc.Token, Last4: doc.Last4, ShownAt: doc.At, Certificate: certDER, Signature: sig}
	if _, err := p.elig.LinkPayment(r.Context(), login.Assertion, req); err != nil {
		if errors.Is(err, eligibility.ErrConsentStale) {
			ss.Set(payKeyConsentAt, strconv.FormatInt(p.now().Unix(), 10))
		}
		p.back(w, r, ss, p.serviceFlash(r, "pay link", err))
		return
	}
	ss.Delete(payKeyToken)
	ss.Delete(payKeyLast4)
	ss.Delete(payKeyConsentAt)
	p.back(w, r, ss, &web.Flash{Kind: "ok", JA: "登録しました（カード末尾 " + doc.Last4 + "）。",
		EN: "Registered (card ending " + doc.Last4 + ")."})
}

func (p *Pages) unlink(w http.ResponseWriter, r *http.Request) {
	ss, ok := p.session(w, r)
	if !ok {
		return
	}
	login, ok, f := p.loggedIn(ss)
	if !ok {
		p.back(w, r, ss, cmp.Or(f, &web.Flash{Kind: "error", JA: "先にカードでログインしてください。", EN: "Log in with your card first."}))
		return
	}
	if err := p.elig.UnlinkPayment(r.Context(), login.Assertion); err != nil && !errors.Is(err, eligibility.ErrNoPaymentLink) {
		p.back(w, r, ss, p.serviceFlash(r, "pay unlink", err))
		return
	}
	p.back(w, r, ss, &web.Flash{Kind: "ok", JA: "カードでのお支払いの登録を解除しました。", EN: "Payment with the card is cancelled."})
}

// serviceFlash words a failed call of the eligibility service: its refusal
// in its own Japanese and English; no answer at all as such.
func (p *Pages) serviceFlash(r *http.Request, what string, err error) *web.Flash {
	if e, ok := errors.AsType[*httpapi.Error](err); ok && !e.Bare {
		if e.Status >= 500 {
			p.logger.ErrorContext(r.Context(), what, "err", err)
		} else {
			p.logger.InfoContext(r.Context(), what+" refused", "code", e.Code)
		}
		return &web.Flash{Kind: "error", JA: e.MessageJA, EN: e.MessageEN}
	}
	p.logger.ErrorContext(r.Context(), what, "err", err)
	return &web.Flash{Kind: "error", JA: "支払い登録のサービスに接続できませんでした。しばらくしてから再度お試しください。",
		EN: "The payment service could not be reached; try again shortly."}
}
