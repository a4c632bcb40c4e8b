package kiosk

import (
	"cmp"
	"context"
	"crypto/rand"
	"embed"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/jlis"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/wareki"
	"github.com/mynaplat/mynaplat/web"
)

// templates holds the kiosk's touch-screen pages.
//
//go:embed templates
var templates embed.FS

// Pages are the touch screens of the stores' multi-copy machines
// (/kiosk/{id}/…), the flow of domain-research.md §2.2:
//
//	行政サービス → place the card → 4-digit PIN → the relay's menu
//	→ options (住民票: 世帯全員 or 本人のみ and what to print; 税: the year;
//	copies) → the fee → confirm: the relay renders, then hands out the PDF,
//	which goes to the output tray → 「カードと証明書をお取り忘れなく」
//	→ 「受け取りました」 empties the tray and ends the session;
//
// and, from the menu, the 本籍地 usage registration: choose the 本籍地 →
// the application → the signing password → filed (approved or pending).
//
// Everything the flow depends on — the card placed, the platform assertion,
// the order, its request key, the job, what was printed — is kept in the
// server-side session, never in a form field: the browser sends only the
// person's choices, which are checked against the relay's menu. The request
// key of an order is made when the fee is shown, so a double submission of
// 「確認」 orders and prints once.
type Pages struct {
	site *web.Site
	// pages are the machines' screens (the kit's layout), list the list of
	// machines (the site's).
	pages    *web.Pages
	listPage *web.Pages
	cards    *card.Store
	// stations are the machines with the kits that run their card steps.
	stations *terminal.Stations[*Station]
	logger   *slog.Logger
	locks    keyedLock
}

// NewPages parses the templates of the kiosk screens. A station without a
// reader of its own gets the virtual reader of cards.
func NewPages(site *web.Site, cards *card.Store, stations []*Station, logger *slog.Logger) (*Pages, error) {
	list, err := site.Parse(templates, "templates/kiosks.html")
	if err != nil {
		return nil, err
	}
	// Every screen but the list of machines (kiosks.html).
	pages, err := terminal.Parse(site, templates, "templates/[a-jl-z]*.html")
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &Pages{site: site, pages: pages, listPage: list, cards: cards, stations: terminal.NewStations[*Station](site, logger), logger: logger}
	for _, st := range stations {
		if st.reader == nil {
			if cards == nil {
				return nil, errors.New("kiosk: station " + st.ID() + " has no reader and there is no card store")
			}
			st.reader = terminal.VirtualReader{Cards: cards}
		}
		base := "/kiosk/" + st.ID() + "/"
		if err := p.stations.Add(st.ID(), st, terminal.KitConfig{Terminal: st.term, Reader: st.reader, Cards: cards,
			Screen: terminal.ScreenKiosk, Now: st.now,
			Actions: terminal.Actions{Place: base + "card", PIN: base + "pin", Sign: base + "register/sign", Remove: base + "cancel"}}); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// ClearTrays empties every kiosk's tray of the certificates left there
// longer than TrayKeep; run it now and then.
func (p *Pages) ClearTrays(now time.Time) {
	for _, st := range p.Stations() {
		n, err := st.ClearTray(now)
		if err != nil {
			p.logger.Error("kiosk: clear the tray", "kiosk", st.ID(), "err", err)
		}
		if n > 0 {
			p.logger.Info("kiosk: certificates left in the tray were removed", "kiosk", st.ID(), "certificates", n)
		}
	}
}

// Routes registers the screens.
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /kiosk/{$}", p.list)
	mux.HandleFunc("GET /kiosk/{id}/{$}", p.start)
	mux.HandleFunc("POST /kiosk/{id}/start", p.begin)
	mux.HandleFunc("GET /kiosk/{id}/card", p.cardPage)
	mux.HandleFunc("POST /kiosk/{id}/card", p.place)
	mux.HandleFunc("GET /kiosk/{id}/pin", p.pinPage)
	mux.HandleFunc("POST /kiosk/{id}/pin", p.pin)
	mux.HandleFunc("GET /kiosk/{id}/menu", p.menuPage)
	mux.HandleFunc("POST /kiosk/{id}/menu", p.choose)
	mux.HandleFunc("GET /kiosk/{id}/options", p.optionsPage)
	mux.HandleFunc("POST /kiosk/{id}/options", p.options)
	mux.HandleFunc("GET /kiosk/{id}/fee", p.feePage)
	mux.HandleFunc("POST /kiosk/{id}/confirm", p.confirm)
	mux.HandleFunc("GET /kiosk/{id}/printed", p.printedPage)
	mux.HandleFunc("GET /kiosk/{id}/tray/{job}", p.trayFile)
	mux.HandleFunc("POST /kiosk/{id}/received", p.received)
	mux.HandleFunc("POST /kiosk/{id}/cancel", p.cancel)
	mux.HandleFunc("GET /kiosk/{id}/register", p.registerPage)
	mux.HandleFunc("POST /kiosk/{id}/register", p.register)
	mux.HandleFunc("GET /kiosk/{id}/register/sign", p.signPage)
	mux.HandleFunc("POST /kiosk/{id}/register/sign", p.sign)
	mux.HandleFunc("GET /kiosk/{id}/register/done", p.registeredPage)
}

// Links are the home page entries, one per kiosk.
func (p *Pages) Links() []web.Link {
	var out []web.Link
	for _, st := range p.stations.All() {
		id := st.ID()
		out = append(out, web.Link{Section: "コンビニ交付 / Certificates at a store",
			TitleJA: st.cfg.Store + "　" + st.cfg.Terminal.Name, TitleEN: st.cfg.Store + " " + st.cfg.Terminal.Name,
			DescJA: "マルチコピー機：マイナンバーカードで住民票の写し・戸籍証明書などを印刷",
			DescEN: "Multi-copy machine: print residence, family-register and other certificates with the card",
			Path:   "/kiosk/" + id + "/"})
	}
	return out
}

// Stations are the pages' kiosks.
func (p *Pages) Stations() []*Station { return p.stations.All() }

// The session keys of one kiosk's screen.
func skey(id, what string) string { return "ks:" + id + ":" + what }

// sessionKeys are every value a kiosk keeps in the session besides the
// card steps' (the kit's).
var sessionKeys = []string{"order", "reqkey", "job", "printed", "reg", "regdone"}

// pendingOrder is the certificate being asked for, as the relay's menu
// offered it (fee and hours come from there, not from the browser).
type pendingOrder struct {
	Municipality     string             `json:"municipality"`
	MunicipalityName string             `json:"municipality_name"`
	Basis            string             `json:"basis"`
	Type             municipal.CertType `json:"type"`
	TitleJA          string             `json:"title_ja"`
	TitleEN          string             `json:"title_en"`
	FeeYen           int                `json:"fee_yen"`
	Hours            string             `json:"hours"`
	Options          jlis.Options       `json:"options"`
	Copies           int                `json:"copies"`
	// Ready: the options were chosen, the fee can be shown.
	Ready bool `json:"ready"`
}

// Total is the fee for all copies.
func (o pendingOrder) Total() int { return o.FeeYen * o.Copies }

// IsJuminhyo and IsTax pick the options a certificate has.
func (o pendingOrder) IsJuminhyo() bool { return o.Type == municipal.Juminhyo }

// IsTax reports whether the certificate is a 所得・課税証明書.
func (o pendingOrder) IsTax() bool { return o.Type == municipal.Tax }

// printedJob is a certificate printed in this session.
type printedJob struct {
	JobID            string `json:"job_id"`
	TitleJA          string `json:"title_ja"`
	TitleEN          string `json:"title_en"`
	MunicipalityName string `json:"municipality_name"`
	Number           string `json:"number"`
	Copies           int    `json:"copies"`
	FeeYen           int    `json:"fee_yen"` // charged, for all copies
}

// regDoc is the registration shown to the holder.
type regDoc struct {
	Honseki string    `json:"honseki"`
	Name    string    `json:"name"`
	Text    string    `json:"text"`
	ShownAt time.Time `json:"shown_at"`
}

// regDone is the outcome of a registration.
type regDone struct {
	Honseki string `json:"honseki"`
	Name    string `json:"name"`
	Status  string `json:"status"`
}

func getJSON[T any](ss *web.Session, k string) (T, bool) {
	var v T
	s := ss.Get(k)
	if s == "" {
		return v, false
	}
	return v, json.Unmarshal([]byte(s), &v) == nil
}

func setJSON(ss *web.Session, k string, v any) {
	b, _ := json.Marshal(v) // plain structs always marshal
	ss.Set(k, string(b))
}

// step is one entry of the progress bar.
type step struct {
	JA, EN        string
	Done, Current bool
}

var (
	issueSteps = []step{{JA: "カード", EN: "Card"}, {JA: "暗証番号", EN: "PIN"}, {JA: "証明書", EN: "Certificate"},
		{JA: "内容", EN: "Options"}, {JA: "料金", EN: "Fee"}, {JA: "印刷", EN: "Print"}}
	issueStepNames = []string{"card", "pin", "menu", "options", "fee", "printed"}
	regSteps       = []step{{JA: "本籍地", EN: "Municipality"}, {JA: "署名", EN: "Sign"}, {JA: "結果", EN: "Result"}}
	regStepNames   = []string{"register", "sign", "registered"}
)

func stepsFor(name string) []step {
	steps, names := issueSteps, issueStepNames
	if i := slices.Index(regStepNames, name); i >= 0 {
		steps, names = regSteps, regStepNames
	}
	i := slices.Index(names, name)
	if i < 0 {
		return nil
	}
	out := slices.Clone(steps)
	for j := range out {
		out[j].Done, out[j].Current = j < i, j == i
	}
	return out
}

// view is what every kiosk screen gets.
type view struct {
	ID, Name, Store string
	Holder          string
	Steps           []step
	// Card is the card step (place the card, the PIN), Sign the signing
	// step of the registration.
	Card *terminal.CardStep
	Sign *terminal.SignStep
	// The menu.
	Menu          *menuView
	Registrations []regChoice
	// Options, fee.
	Order     *pendingOrder
	Years     []yearChoice
	CopyRange []int
	// Printed certificates.
	Printed []printedJob
	// Registration.
	Reg     *regDoc
	RegDone *regDone
	// Tray is how many certificates wait in the tray (start screen).
	Tray int
}

// TerminalScreen is the machine's screen.
func (*view) TerminalScreen() terminal.Screen { return terminal.ScreenKiosk }

func (p *Pages) view(st *Station, ss *web.Session, name string) *view {
	return &view{ID: st.ID(), Name: st.cfg.Terminal.Name, Store: st.cfg.Store, Holder: p.stations.Kit(st.ID()).Holder(ss),
		Steps: stepsFor(name)}
}

func (p *Pages) render(w http.ResponseWriter, r *http.Request, name string, v *view) {
	p.pages.Render(w, r, http.StatusOK, name, v)
}

type kioskItem struct{ ID, Name, Store string }

func (p *Pages) list(w http.ResponseWriter, r *http.Request) {
	var items []kioskItem
	for _, st := range p.Stations() {
		items = append(items, kioskItem{st.ID(), st.cfg.Terminal.Name, st.cfg.Store})
	}
	p.listPage.Render(w, r, http.StatusOK, "kiosks", items)
}

func (p *Pages) to(w http.ResponseWriter, r *http.Request, st *Station, step string) {
	http.Redirect(w, r, "/kiosk/"+st.ID()+"/"+step, http.StatusSeeOther)
}

// flashTo saves the session with a message and redirects.
func (p *Pages) flashTo(w http.ResponseWriter, r *http.Request, st *Station, ss *web.Session, f web.Flash, step string) {
	ss.SetFlash(f)
	p.stations.Save(r, ss)
	p.to(w, r, st, step)
}

// dropJob cancels, at the relay, a job that was rendered but not printed.
func (p *Pages) dropJob(ctx context.Context, st *Station, ss *web.Session, reason string) {
	id := ss.Get(skey(st.ID(), "job"))
	if id == "" {
		return
	}
	ss.Delete(skey(st.ID(), "job"))
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := st.relay.Cancel(ctx, id, reason); err != nil {
		// A job already printed, cancelled or timed out is what we want; a
		// job that could not be cancelled ends at its deadline anyway.
		var ae *jlis.APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusGone {
			p.logger.WarnContext(ctx, "kiosk: cancel job", "kiosk", st.ID(), "job", id, "err", err)
		}
	}
}

// finish ends the person's use of the kiosk: the unprinted job is
// cancelled, the tray emptied of what they printed, the card taken out and
// the session ended. The returned session is a fresh one, for a message.
func (p *Pages) finish(w http.ResponseWriter, r *http.Request, st *Station, ss *web.Session, reason string) *web.Session {
	p.dropJob(r.Context(), st, ss, reason)
	printed, _ := getJSON[[]printedJob](ss, skey(st.ID(), "printed"))
	ids := make([]string, 0, len(printed))
	for _, pj := range printed {
		ids = append(ids, pj.JobID)
	}
	if err := st.TakeFromTray(ids...); err != nil {
		p.logger.ErrorContext(r.Context(), "kiosk: empty the tray", "kiosk", st.ID(), "err", err)
	}
	for _, k := range sessionKeys {
		ss.Delete(skey(st.ID(), k))
	}
	p.stations.Kit(st.ID()).Remove(ss)
	if err := ss.Destroy(r.Context(), w); err != nil {
		p.logger.ErrorContext(r.Context(), "kiosk: end session", "err", err)
		return ss
	}
	fresh, err := p.site.Session(w, r)
	if err != nil {
		p.logger.ErrorContext(r.Context(), "kiosk: new session", "err", err)
		return nil
	}
	return fresh
}

// start is the machine's idle screen.
func (p *Pages) start(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	v := p.view(st, ss, "")
	if ids, err := st.Tray(); err == nil {
		v.Tray = len(ids)
	}
	p.render(w, r, "start", v)
}

// begin is 「行政サービス」: a fresh start (whatever a previous person left
// is ended first).
func (p *Pages) begin(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	if _, err := p.stations.Kit(st.ID()).Placed(r, ss); err == nil || ss.Get(skey(st.ID(), "printed")) != "" {
		if ss = p.finish(w, r, st, ss, "cancelled"); ss == nil {
			p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
			return
		}
		p.stations.Save(r, ss)
	}
	p.to(w, r, st, "card")
}

func (p *Pages) cardPage(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	kit := p.stations.Kit(st.ID())
	if _, err := kit.Placed(r, ss); err == nil {
		p.to(w, r, st, "pin")
		return
	}
	v := p.view(st, ss, "card")
	v.Card = kit.Card(r, ss)
	p.render(w, r, "card", v)
}

// place puts a card on the reader: the demo's choice of a card, or a real
// reader's card.
func (p *Pages) place(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	if res := p.stations.Kit(st.ID()).Place(r, ss); !res.Passed() {
		p.flashTo(w, r, st, ss, res.Flash(), "card")
		return
	}
	p.stations.Save(r, ss)
	p.to(w, r, st, "pin")
}

// placedCard reports whether a card is on the reader; without one the
// person is sent to the card step.
func (p *Pages) placedCard(w http.ResponseWriter, r *http.Request, st *Station, ss *web.Session) bool {
	kit := p.stations.Kit(st.ID())
	if _, err := kit.Placed(r, ss); err != nil {
		kit.Remove(ss)
		p.flashTo(w, r, st, ss, terminal.Result{Outcome: terminal.NoCard}.Flash(), "card")
		return false
	}
	return true
}

func (p *Pages) pinPage(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	kit := p.stations.Kit(st.ID())
	if _, err := kit.LoggedIn(ss); err == nil {
		p.to(w, r, st, "menu")
		return
	}
	if !p.placedCard(w, r, st, ss) {
		return
	}
	v := p.view(st, ss, "pin")
	v.Card = kit.Card(r, ss)
	p.render(w, r, "pin", v)
}

// pin has the card answer the platform's challenge with the PIN; the PIN
// goes from the form to the card only.
func (p *Pages) pin(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	if !p.placedCard(w, r, st, ss) {
		return
	}
	if _, res := p.stations.Kit(st.ID()).Login(r.Context(), r, ss); !res.Passed() {
		// An outcome that ends the flow is shown on the PIN step itself.
		if res.Message().Retry {
			ss.SetFlash(res.Flash())
		}
		p.stations.Save(r, ss)
		p.to(w, r, st, "pin")
		return
	}
	next := "menu"
	// Back from an expired assertion: where the person was.
	if o, ok := getJSON[pendingOrder](ss, skey(st.ID(), "order")); ok && o.Ready && ss.Get(skey(st.ID(), "reqkey")) != "" {
		next = "fee"
	}
	p.stations.Save(r, ss)
	p.to(w, r, st, next)
}

// relayTrouble puts the relay's answer into the session's flash. It
// returns "pin" when the card must be checked again (the assertion expired),
// else "".
func (p *Pages) relayTrouble(st *Station, ss *web.Session, err error) string {
	var ae *jlis.APIError
	if errors.As(err, &ae) {
		if ae.Code == jlis.CodeCardAuth {
			terminal.Logout(ss)
			ss.SetFlash(terminal.Result{Outcome: terminal.LoginExpired}.Flash())
			return "pin"
		}
		if ae.Status >= 500 && ae.Code != jlis.CodeMunicipalityUnreachable && ae.Code != jlis.CodeTryLater {
			p.logger.Error("kiosk: relay", "kiosk", st.ID(), "err", err)
		}
		ss.SetFlash(web.Flash{Kind: "error", JA: ae.MessageJA, EN: ae.MessageEN})
		return ""
	}
	p.logger.Error("kiosk: relay", "kiosk", st.ID(), "err", err)
	ss.SetFlash(web.Flash{Kind: "error", JA: "証明書交付センターに接続できませんでした。しばらくしてからもう一度お試しください（料金はかかりません）。",
		EN: "The certificate centre could not be reached. Try again shortly (nothing is charged)."})
	return ""
}

// assertion is the session's platform assertion, or "" (and a redirect to
// the PIN step).
func (p *Pages) assertion(w http.ResponseWriter, r *http.Request, st *Station, ss *web.Session) string {
	l, err := p.stations.Kit(st.ID()).LoggedIn(ss)
	if errors.Is(err, terminal.ErrLoginExpired) {
		ss.SetFlash(terminal.Result{Outcome: terminal.LoginExpired}.Flash())
		p.stations.Save(r, ss)
	}
	if err != nil {
		p.to(w, r, st, "pin")
		return ""
	}
	return l.Assertion
}

// menuView is the relay's menu, grouped by where the certificates come
// from.
type menuView struct {
	Groups        []menuGroup
	Registrations []regView
	ResidenceName string
}

type menuGroup struct {
	Basis, Name string
	Items       []jlis.MenuItem
}

type regView struct {
	Name, Status string
}

func groupMenu(m *jlis.Menu) *menuView {
	v := &menuView{ResidenceName: m.ResidenceName}
	for _, it := range m.Items {
		if n := len(v.Groups); n == 0 || v.Groups[n-1].Basis != it.Basis || v.Groups[n-1].Items[0].Municipality != it.Municipality {
			v.Groups = append(v.Groups, menuGroup{Basis: it.Basis, Name: it.MunicipalityName})
		}
		g := &v.Groups[len(v.Groups)-1]
		g.Items = append(g.Items, it)
	}
	// In catalogue order within each municipality.
	for _, g := range v.Groups {
		slices.SortStableFunc(g.Items, func(a, b jlis.MenuItem) int {
			return cmp.Compare(slices.Index(municipal.CertTypes(), a.Type), slices.Index(municipal.CertTypes(), b.Type))
		})
	}
	for _, reg := range m.Registrations {
		v.Registrations = append(v.Registrations, regView{Name: jlis.MunicipalityName(reg.Honseki), Status: reg.Status})
	}
	return v
}

func (p *Pages) menuPage(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	a := p.assertion(w, r, st, ss)
	if a == "" {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	m, err := st.relay.Menu(ctx, a)
	v := p.view(st, ss, "menu")
	if err != nil {
		if p.relayTrouble(st, ss, err) == "pin" {
			p.stations.Save(r, ss)
			p.to(w, r, st, "pin")
			return
		}
		// The page shows the flash (Render takes it from the session).
	} else {
		v.Menu = groupMenu(m)
	}
	v.Printed, _ = getJSON[[]printedJob](ss, skey(st.ID(), "printed"))
	p.render(w, r, "menu", v)
}

// choose takes the person's choice of a certificate, as the relay's menu
// offers it now.
func (p *Pages) choose(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	a := p.assertion(w, r, st, ss)
	if a == "" {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	// A new choice replaces the last one, and its job if it was rendered.
	p.dropJob(ctx, st, ss, "cancelled")
	ss.Delete(skey(st.ID(), "order"))
	ss.Delete(skey(st.ID(), "reqkey"))
	m, err := st.relay.Menu(ctx, a)
	if err != nil {
		to := p.relayTrouble(st, ss, err)
		p.stations.Save(r, ss)
		p.to(w, r, st, cmp.Or(to, "menu"))
		return
	}
	want := r.PostFormValue("item")
	i := slices.IndexFunc(m.Items, func(it jlis.MenuItem) bool { return it.Key() == want })
	if i < 0 {
		p.flashTo(w, r, st, ss, web.Flash{Kind: "error", JA: "その証明書は選べません。", EN: "That certificate cannot be chosen."}, "menu")
		return
	}
	it := m.Items[i]
	if !it.Open {
		p.flashTo(w, r, st, ss, web.Flash{Kind: "warn", JA: it.TitleJA + "は、ただいまの時間は交付していません（" + it.HoursJA() + "）。",
			EN: it.TitleEN + " is not available now (" + it.HoursEN() + ")."}, "menu")
		return
	}
	setJSON(ss, skey(st.ID(), "order"), pendingOrder{Municipality: it.Municipality, MunicipalityName: it.MunicipalityName, Basis: it.Basis,
		Type: it.Type, TitleJA: it.TitleJA, TitleEN: it.TitleEN, FeeYen: it.FeeYen, Hours: it.Hours, Copies: 1})
	p.stations.Save(r, ss)
	p.to(w, r, st, "options")
}

// pending is the session's pending order, or false (and a redirect to
// the menu).
func (p *Pages) pending(w http.ResponseWriter, r *http.Request, st *Station, ss *web.Session) (pendingOrder, bool) {
	o, ok := getJSON[pendingOrder](ss, skey(st.ID(), "order"))
	if !ok {
		p.to(w, r, st, "menu")
	}
	return o, ok
}

// yearChoice is a 年度 of a 所得・課税証明書.
type yearChoice struct {
	Year     int // 0: the latest
	JA, EN   string
	Selected bool
}

// taxYears are the 年度 a kiosk offers: the latest, and the last three.
func taxYears(now time.Time, chosen int) []yearChoice {
	now = now.In(wareki.JST())
	fy := now.Year()
	if now.Month() < time.April {
		fy--
	}
	out := []yearChoice{{Year: 0, JA: "最新の年度", EN: "The latest year", Selected: chosen == 0}}
	for y := fy; y > fy-3; y-- {
		ja := strconv.Itoa(y) + "年度"
		if e, n, err := wareki.Of(time.Date(y, 4, 1, 0, 0, 0, 0, wareki.JST())); err == nil {
			ns := strconv.Itoa(n)
			if n == 1 {
				ns = "元"
			}
			ja = e.Name + ns + "年度（" + strconv.Itoa(y) + "年度）"
		}
		out = append(out, yearChoice{Year: y, JA: ja, EN: "Fiscal year " + strconv.Itoa(y), Selected: chosen == y})
	}
	return out
}

func copyRange() []int {
	out := make([]int, municipal.MaxCopies)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

func (p *Pages) optionsPage(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	if p.assertion(w, r, st, ss) == "" {
		return
	}
	o, ok := p.pending(w, r, st, ss)
	if !ok {
		return
	}
	v := p.view(st, ss, "options")
	v.Order, v.CopyRange = &o, copyRange()
	if o.IsTax() {
		v.Years = taxYears(st.now(), o.Options.Year)
	}
	p.render(w, r, "options", v)
}

// options takes the options and the number of copies; only those the
// certificate has are kept.
func (p *Pages) options(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	if p.assertion(w, r, st, ss) == "" {
		return
	}
	o, ok := p.pending(w, r, st, ss)
	if !ok {
		return
	}
	bad := func() {
		p.flashTo(w, r, st, ss, web.Flash{Kind: "error", JA: "選んだ内容を確認してください。", EN: "Check your choices."}, "options")
	}
	copies, err := strconv.Atoi(r.PostFormValue("copies"))
	if err != nil || copies < 1 || copies > municipal.MaxCopies {
		bad()
		return
	}
	var opts jlis.Options
	switch o.Type {
	case municipal.Juminhyo:
		switch r.PostFormValue("household") {
		case "all":
			opts.Household = true
		case "self":
		default:
			bad()
			return
		}
		opts.Honseki = r.PostFormValue("honseki") == "on"
		opts.Relation = r.PostFormValue("relation") == "on"
		opts.MyNumber = r.PostFormValue("my_number") == "on"
	case municipal.Tax:
		y, err := strconv.Atoi(r.PostFormValue("year"))
		if err != nil || !slices.ContainsFunc(taxYears(st.now(), 0), func(c yearChoice) bool { return c.Year == y }) {
			bad()
			return
		}
		opts.Year = y
	}
	o.Options, o.Copies, o.Ready = opts, copies, true
	setJSON(ss, skey(st.ID(), "order"), o)
	// Other options are another order: a new request key when the fee is
	// shown, and the last one's rendered job goes.
	ss.Delete(skey(st.ID(), "reqkey"))
	p.dropJob(r.Context(), st, ss, "cancelled")
	p.stations.Save(r, ss)
	p.to(w, r, st, "fee")
}

// feePage shows the fee and makes the order's request key, kept in the
// session: whatever happens to the confirmation (a double submission, a
// retry after an error), the relay sees one order.
func (p *Pages) feePage(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	if p.assertion(w, r, st, ss) == "" {
		return
	}
	o, ok := p.pending(w, r, st, ss)
	if !ok {
		return
	}
	if !o.Ready {
		p.to(w, r, st, "options")
		return
	}
	if ss.Get(skey(st.ID(), "reqkey")) == "" {
		ss.Set(skey(st.ID(), "reqkey"), "kiosk-"+rand.Text())
		p.stations.Save(r, ss)
	}
	v := p.view(st, ss, "fee")
	v.Order = &o
	if o.IsTax() {
		for _, y := range taxYears(st.now(), o.Options.Year) {
			if y.Selected {
				v.Years = []yearChoice{y}
			}
		}
	}
	p.render(w, r, "fee", v)
}

// confirm orders the certificate and prints it: the relay has the
// municipality render it, then hands out the PDF, which goes to the tray.
// Two submissions of one confirmation run one after the other and end on
// the same page; the relay's request key makes the second a replay.
func (p *Pages) confirm(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	id := st.ID()
	a := p.assertion(w, r, st, ss)
	if a == "" {
		return
	}
	o, ok := p.pending(w, r, st, ss)
	if !ok {
		return
	}
	rk := ss.Get(skey(id, "reqkey"))
	if !o.Ready || rk == "" {
		p.to(w, r, st, "fee")
		return
	}
	defer p.locks.lock(rk)()
	ctx, cancel := context.WithTimeout(r.Context(), 90*time.Second)
	defer cancel()
	job, err := p.orderOnce(ctx, st, a, jlis.Order{RequestKey: rk, Municipality: o.Municipality, Type: o.Type, Options: o.Options, Copies: o.Copies})
	if err != nil {
		to := p.relayTrouble(st, ss, err)
		if to == "" {
			// Refused, failed or gone: nothing was printed or charged; the
			// person chooses again.
			ss.Delete(skey(id, "order"))
			ss.Delete(skey(id, "reqkey"))
			to = "menu"
		}
		p.stations.Save(r, ss)
		p.to(w, r, st, to)
		return
	}
	ss.Set(skey(id, "job"), job.ID)
	switch job.State {
	case jlis.Rendered:
		// Keep the job in the session before printing, so that 「やめる」
		// cancels it if the print fails.
		p.stations.Save(r, ss)
		printed, err := st.Print(ctx, a, job.ID)
		switch {
		case errors.Is(err, jlis.ErrAlreadyPrinted):
			// The other submission printed it.
		case err != nil:
			to := p.relayTrouble(st, ss, err)
			var ae *jlis.APIError
			if errors.As(err, &ae) && ae.Code == jlis.CodeJobGone {
				ss.Delete(skey(id, "job"))
				ss.Delete(skey(id, "order"))
				ss.Delete(skey(id, "reqkey"))
				to = cmp.Or(to, "menu")
			}
			p.stations.Save(r, ss)
			p.to(w, r, st, cmp.Or(to, "fee"))
			return
		default:
			job = printed
		}
	case jlis.Printed:
	default:
		p.flashTo(w, r, st, ss, web.Flash{Kind: "error", JA: "この申請は取り消されました。最初から選び直してください。",
			EN: "This request was cancelled. Please choose again."}, "menu")
		return
	}
	ss.Delete(skey(id, "job"))
	ss.Delete(skey(id, "order"))
	ss.Delete(skey(id, "reqkey"))
	if _, err := st.InTray(job.ID); err != nil {
		p.logger.ErrorContext(r.Context(), "kiosk: a printed job is not in the tray", "kiosk", id, "job", job.ID, "err", err)
		p.flashTo(w, r, st, ss, web.Flash{Kind: "error", JA: "この証明書は印刷済みですが、排出を確認できません。係員にお知らせください。",
			EN: "This certificate was printed, but its output cannot be confirmed. Please tell the staff."}, "menu")
		return
	}
	printed, _ := getJSON[[]printedJob](ss, skey(id, "printed"))
	if !slices.ContainsFunc(printed, func(pj printedJob) bool { return pj.JobID == job.ID }) {
		printed = append(printed, printedJob{JobID: job.ID, TitleJA: o.TitleJA, TitleEN: o.TitleEN, MunicipalityName: o.MunicipalityName,
			Number: job.CertNumber, Copies: o.Copies, FeeYen: job.Fee})
	}
	setJSON(ss, skey(id, "printed"), printed)
	p.stations.Save(r, ss)
	p.to(w, r, st, "printed")
}

// orderOnce orders, waiting while another instance renders the same order
// (the relay answers in_progress until it is done).
func (p *Pages) orderOnce(ctx context.Context, st *Station, assertion string, o jlis.Order) (*jlis.Job, error) {
	for {
		j, err := st.relay.Order(ctx, assertion, o)
		var ae *jlis.APIError
		if !errors.As(err, &ae) || ae.Code != jlis.CodeInProgress {
			return j, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (p *Pages) printedPage(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	printed, _ := getJSON[[]printedJob](ss, skey(st.ID(), "printed"))
	if len(printed) == 0 {
		p.to(w, r, st, "menu")
		return
	}
	v := p.view(st, ss, "printed")
	v.Printed = printed
	p.render(w, r, "printed", v)
}

// trayFile shows a printed certificate, to the session that printed it
// only, while it is in the tray.
func (p *Pages) trayFile(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	job := r.PathValue("job")
	printed, _ := getJSON[[]printedJob](ss, skey(st.ID(), "printed"))
	if !slices.ContainsFunc(printed, func(pj printedJob) bool { return pj.JobID == job }) {
		p.site.NotFound().ServeHTTP(w, r)
		return
	}
	pdf, err := st.InTray(job)
	if err != nil {
		p.site.NotFound().ServeHTTP(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/pdf")
	h.Set("Content-Disposition", `inline; filename="`+job+`.pdf"`)
	h.Set("Cache-Control", "no-store")
	w.Write(pdf)
}

// received is 「受け取りました」: the certificates and the card were taken.
func (p *Pages) received(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	if ss = p.finish(w, r, st, ss, "cancelled"); ss == nil {
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	p.flashTo(w, r, st, ss, web.Flash{Kind: "ok", JA: "ご利用ありがとうございました。", EN: "Thank you."}, "")
}

// cancel is 「やめる」 on any step: a rendered job is cancelled at the
// relay (nothing is printed or charged) and the card comes out.
func (p *Pages) cancel(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	if ss = p.finish(w, r, st, ss, "cancelled"); ss == nil {
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	p.flashTo(w, r, st, ss, web.Flash{Kind: "ok", JA: "取りやめました。カードをお取りください。", EN: "Cancelled. Please take your card."}, "")
}

// keyedLock serialises work on one key (an order's request key) within
// this process.
type keyedLock struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu sync.Mutex
	n  int
}

// lock locks key and returns its unlock.
func (k *keyedLock) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{}
		k.m[key] = e
	}
	e.n++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.n--; e.n == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}
