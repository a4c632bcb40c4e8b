package reception

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/eligibility"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

// templates are the stations' screens and their list.
//
//go:embed templates
var templates embed.FS

// Pages are the screens of the facilities' reception and mobile
// terminals (/reception/…): place the card → PIN → consent → the answer;
// the 資格確認書 path for a patient without a card; and, when the network
// is gone, the offline mode with its queue.
type Pages struct {
	site *web.Site
	// pages are the stations' screens (the terminal kit's layout), list
	// the list of stations (the site's).
	pages    *web.Pages
	listPage *web.Pages
	cards    *card.Store
	// stations are the stations with the kits that run their card steps.
	stations *terminal.Stations[*Station]
	logger   *slog.Logger
}

// NewPages parses the templates of the stations' screens.
func NewPages(site *web.Site, cards *card.Store, stations []*Station, logger *slog.Logger) (*Pages, error) {
	list, err := site.Parse(templates, "templates/stations.html")
	if err != nil {
		return nil, err
	}
	pages, err := terminal.Parse(site, templates, "templates/consent.html", "templates/paper.html",
		"templates/result.html", "templates/screen.html")
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &Pages{site: site, pages: pages, listPage: list, cards: cards, stations: terminal.NewStations[*Station](site, logger), logger: logger}
	for _, st := range stations {
		base := "/reception/" + st.ID() + "/"
		if err := p.stations.Add(st.ID(), st, terminal.KitConfig{Terminal: st.term, Reader: st.reader, Cards: cards,
			Purpose: platform.PurposeEligibility, Now: st.now,
			Actions: terminal.Actions{Place: base + "place", PIN: base + "pin", Remove: base + "remove"}}); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Routes registers the screens.
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /reception/{$}", p.list)
	mux.HandleFunc("GET /reception/{id}/{$}", p.screen)
	mux.HandleFunc("POST /reception/{id}/place", p.place)
	mux.HandleFunc("POST /reception/{id}/remove", p.remove)
	mux.HandleFunc("POST /reception/{id}/pin", p.pin)
	mux.HandleFunc("GET /reception/{id}/consent", p.consentPage)
	mux.HandleFunc("POST /reception/{id}/consent", p.consent)
	mux.HandleFunc("GET /reception/{id}/result", p.result)
	mux.HandleFunc("GET /reception/{id}/paper", p.paperPage)
	mux.HandleFunc("POST /reception/{id}/paper", p.paper)
	mux.HandleFunc("POST /reception/{id}/pay", p.pay)
	mux.HandleFunc("POST /reception/{id}/network", p.network)
	mux.HandleFunc("POST /reception/{id}/sync", p.sync)
}

// Links are the home page entries.
func (p *Pages) Links() []web.Link {
	var out []web.Link
	for _, st := range p.stations.All() {
		id := st.ID()
		ja, en := "受付：保険証の資格確認（マイナ保険証）", "Reception: health-insurance check with the card"
		if st.cfg.Terminal.Kind == platform.Mobile {
			ja, en = "モバイル端末：訪問先での資格確認", "Mobile: eligibility check on a home visit"
		}
		out = append(out, web.Link{Section: "医療機関 / Clinics", TitleJA: st.cfg.Terminal.Name, TitleEN: st.cfg.Terminal.Name,
			DescJA: ja, DescEN: en, Path: "/reception/" + id + "/"})
	}
	return out
}

// Stations are the pages' stations.
func (p *Pages) Stations() []*Station { return p.stations.All() }

// Provisional lists the queued offline checks of a facility's stations, for
// the facility's back office.
func (p *Pages) Provisional(_ context.Context, facility string) ([]eligibility.ProvisionalCheck, error) {
	var out []eligibility.ProvisionalCheck
	for _, st := range p.Stations() {
		if st.cfg.Facility != facility {
			continue
		}
		pending, err := st.Pending()
		if err != nil {
			return nil, err
		}
		refused, err := st.Refused()
		if err != nil {
			return nil, err
		}
		for _, c := range pending {
			out = append(out, eligibility.ProvisionalCheck{ClientID: c.ClientID, Terminal: c.Terminal, At: c.At, Holder: c.Holder, LastError: c.LastError})
		}
		for _, c := range refused {
			out = append(out, eligibility.ProvisionalCheck{ClientID: c.ClientID, Terminal: c.Terminal, At: c.At, Holder: c.Holder, LastError: "refused: " + c.Refused})
		}
	}
	return out, nil
}

// Sync sends every station's offline queue and refreshes the kept CA and
// CRL; serve runs it on a timer.
func (p *Pages) Sync(ctx context.Context) {
	for _, st := range p.Stations() {
		if !st.Online() {
			continue
		}
		if err := st.RefreshTrust(ctx); err != nil && ctx.Err() == nil {
			p.logger.WarnContext(ctx, "station: refresh CA and CRL", "terminal", st.ID(), "err", err)
		}
		res, err := st.Sync(ctx)
		if err != nil && ctx.Err() == nil {
			p.logger.ErrorContext(ctx, "station: send offline checks", "terminal", st.ID(), "err", err)
		}
		if res != nil && len(res.Confirmed)+len(res.Refused) > 0 {
			p.logger.InfoContext(ctx, "station: offline checks sent", "terminal", st.ID(), "confirmed", len(res.Confirmed), "refused", len(res.Refused))
		}
	}
}

type stationItem struct {
	ID, Name, Facility string
	Mobile             bool
}

func (p *Pages) list(w http.ResponseWriter, r *http.Request) {
	var items []stationItem
	for _, st := range p.Stations() {
		items = append(items, stationItem{st.ID(), st.cfg.Terminal.Name, st.cfg.FacilityName, st.cfg.Terminal.Kind == platform.Mobile})
	}
	p.listPage.Render(w, r, http.StatusOK, "stations", items)
}

// The session keys of a station's screen.
func rcKey(id, what string) string { return "rc:" + id + ":" + what }

func (p *Pages) to(w http.ResponseWriter, r *http.Request, st *Station, step string) {
	http.Redirect(w, r, "/reception/"+st.ID()+"/"+step, http.StatusSeeOther)
}

// reset forgets the patient: card, login, answer.
func (p *Pages) reset(ss *web.Session, id string) {
	for _, k := range []string{"offline", "crl", "result", "provisional", "paykey", "payment"} {
		ss.Delete(rcKey(id, k))
	}
	p.stations.Kit(id).Remove(ss)
}

// screenView is what every station screen shares.
type screenView struct {
	ID, Name, Facility string
	Mobile, Virtual    bool
	Online             bool
	Queued             int
	Holder             string
	// Card is the card step (place the card, the PIN, or why not).
	Card *terminal.CardStep
	// Step is the screen: place, pin, stop, consent, result, paper.
	Step        string
	Result      *eligibility.CheckResult
	Provisional *OfflineCheck
	Paper       eligibility.PaperCheckRequest
	Payment     *eligibility.Payment
	// PayKey is the idempotency key of the charge form, made once per check
	// so that a double submission or a retry charges once.
	PayKey string
}

// TerminalScreen is the station's screen: a phone for the mobile one.
func (v screenView) TerminalScreen() terminal.Screen {
	if v.Mobile {
		return terminal.ScreenPhone
	}
	return terminal.ScreenDesk
}

func (p *Pages) view(st *Station, ss *web.Session, r *http.Request, step string) screenView {
	v := screenView{ID: st.ID(), Name: st.cfg.Terminal.Name, Facility: st.cfg.FacilityName,
		Mobile: st.cfg.Terminal.Kind == platform.Mobile, Virtual: st.reader.Virtual(), Online: st.Online(), Step: step,
		Holder: p.stations.Kit(st.ID()).Holder(ss)}
	if q, err := st.Pending(); err == nil {
		v.Queued = len(q)
	}
	return v
}

func (p *Pages) screen(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	v := p.view(st, ss, r, "place")
	v.Card = p.stations.Kit(st.ID()).Card(r, ss)
	v.Step = v.Card.Step()
	p.pages.Render(w, r, http.StatusOK, "screen", v)
}

func (p *Pages) place(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	p.reset(ss, st.ID())
	if res := p.stations.Kit(st.ID()).Place(r, ss); !res.Passed() {
		ss.SetFlash(res.Flash())
	}
	p.stations.Save(r, ss)
	p.to(w, r, st, "")
}

func (p *Pages) remove(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	p.reset(ss, st.ID())
	p.stations.Save(r, ss)
	p.to(w, r, st, "")
}

// pin runs the card flow: online through the platform; when the platform
// cannot be reached, offline against the kept CA and CRL.
func (p *Pages) pin(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	kit := p.stations.Kit(st.ID())
	_, res := kit.Login(r.Context(), r, ss)
	if res.Outcome == terminal.Unreachable {
		if tr, err := kit.Placed(r, ss); err == nil {
			// The PIN goes from the form to the card and nowhere else.
			p.offline(w, r, st, ss, tr, r.PostFormValue("pin"))
			return
		}
	}
	if !res.Passed() {
		// An outcome that ends the flow is shown on the screen itself.
		if res.Message().Retry {
			ss.SetFlash(res.Flash())
		}
		p.stations.Save(r, ss)
		p.to(w, r, st, "")
		return
	}
	p.stations.Save(r, ss)
	p.to(w, r, st, "consent")
}

func (p *Pages) offline(w http.ResponseWriter, r *http.Request, st *Station, ss *web.Session, tr card.Transport, pin string) {
	a, crlAt, err := st.SignOffline(tr, pin)
	var refusal *OfflineRefusal
	switch {
	case errors.Is(err, ErrNoTrust):
		ss.SetFlash(web.Flash{Kind: "error", JA: "回線につながらず、この端末にはまだ認証局の証明書と失効リストがないため、オフラインでも確認できません。資格確認書で確認してください。",
			EN: "The network is down and this terminal has no CA certificate and CRL yet, so it cannot check offline either. Use the 資格確認書."})
	case errors.As(err, &refusal):
		// The terminal's own check refused the card: the flow ends as it
		// would online.
		p.logger.InfoContext(r.Context(), "reception: offline check refused", "terminal", st.ID(), "err", err)
		p.stations.Kit(st.ID()).Stop(ss, refusal.Outcome)
	case err != nil:
		res := terminal.Of(card.AuthPIN, err, nil)
		if res.Outcome == terminal.CardUnreadable {
			p.logger.ErrorContext(r.Context(), "reception: offline card flow", "terminal", st.ID(), "err", err)
		}
		if res.Message().Retry {
			ss.SetFlash(res.Flash())
		} else {
			p.stations.Kit(st.ID()).Stop(ss, res.Outcome)
		}
	default:
		b, _ := json.Marshal(a)
		ss.Set(rcKey(st.ID(), "offline"), string(b))
		ss.Set(rcKey(st.ID(), "crl"), crlAt.Format(time.RFC3339))
		p.stations.Save(r, ss)
		p.to(w, r, st, "consent")
		return
	}
	p.stations.Save(r, ss)
	p.to(w, r, st, "")
}

func (p *Pages) consentPage(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	if _, err := p.stations.Kit(st.ID()).LoggedIn(ss); err != nil && ss.Get(rcKey(st.ID(), "offline")) == "" {
		p.to(w, r, st, "")
		return
	}
	v := p.view(st, ss, r, "consent")
	p.pages.Render(w, r, http.StatusOK, "consent", v)
}

func (p *Pages) consent(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	c := eligibility.Consent{Medical: r.PostFormValue("medical") == "on", Drug: r.PostFormValue("drug") == "on",
		Checkup: r.PostFormValue("checkup") == "on", Limit: r.PostFormValue("limit") == "on"}
	id := st.ID()
	if off := ss.Get(rcKey(id, "offline")); off != "" {
		var a platform.DeferredAuthRequest
		crlAt, _ := time.Parse(time.RFC3339, ss.Get(rcKey(id, "crl")))
		if err := json.Unmarshal([]byte(off), &a); err != nil {
			p.to(w, r, st, "")
			return
		}
		q, err := st.Enqueue(a, crlAt, p.stations.Kit(id).Holder(ss), c)
		if err != nil {
			p.logger.ErrorContext(r.Context(), "enqueue offline check", "err", err)
			ss.SetFlash(web.Flash{Kind: "error", JA: "端末に記録できませんでした。もう一度お試しください。", EN: "The terminal could not record the check; try again."})
			p.stations.Save(r, ss)
			p.to(w, r, st, "consent")
			return
		}
		b, _ := json.Marshal(q)
		ss.Delete(rcKey(id, "offline"))
		ss.Set(rcKey(id, "provisional"), string(b))
		p.stations.Save(r, ss)
		p.to(w, r, st, "result")
		return
	}
	login, err := p.stations.Kit(id).LoggedIn(ss)
	if errors.Is(err, terminal.ErrLoginExpired) {
		ss.SetFlash(terminal.Result{Outcome: terminal.LoginExpired}.Flash())
		p.stations.Save(r, ss)
	}
	if err != nil {
		p.to(w, r, st, "")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	res, err := st.Check(ctx, login.Assertion, c)
	if err != nil {
		if errors.Is(err, eligibility.ErrBadAssertion) {
			terminal.Logout(ss)
			ss.SetFlash(terminal.Result{Outcome: terminal.LoginExpired}.Flash())
		} else {
			p.logger.ErrorContext(r.Context(), "eligibility check", "err", err)
			ss.SetFlash(web.Flash{Kind: "error", JA: "資格確認ができませんでした。しばらくしてからもう一度お試しください。", EN: "The eligibility check failed; try again shortly."})
		}
		p.stations.Save(r, ss)
		p.to(w, r, st, "")
		return
	}
	b, _ := json.Marshal(res)
	// The login is used up: the next check needs the card again.
	terminal.Logout(ss)
	ss.Set(rcKey(id, "result"), string(b))
	p.stations.Save(r, ss)
	p.to(w, r, st, "result")
}

func (p *Pages) result(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	v := p.view(st, ss, r, "result")
	if b := ss.Get(rcKey(st.ID(), "result")); b != "" {
		v.Result = &eligibility.CheckResult{}
		json.Unmarshal([]byte(b), v.Result)
	} else if b := ss.Get(rcKey(st.ID(), "provisional")); b != "" {
		v.Provisional = &OfflineCheck{}
		json.Unmarshal([]byte(b), v.Provisional)
	} else {
		p.to(w, r, st, "")
		return
	}
	if b := ss.Get(rcKey(st.ID(), "payment")); b != "" {
		v.Payment = &eligibility.Payment{}
		json.Unmarshal([]byte(b), v.Payment)
	}
	if v.Result != nil && v.Result.Mode == eligibility.ModeCard && v.Payment == nil {
		v.PayKey = ss.Get(rcKey(st.ID(), "paykey"))
		if v.PayKey == "" {
			v.PayKey = rand.Text()
			ss.Set(rcKey(st.ID(), "paykey"), v.PayKey)
			p.stations.Save(r, ss)
		}
	}
	p.pages.Render(w, r, http.StatusOK, "result", v)
}

// pay charges the co-payment to the patient's card through the platform;
// the clinic never sees the card number.
func (p *Pages) pay(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	var res eligibility.CheckResult
	if err := json.Unmarshal([]byte(ss.Get(rcKey(st.ID(), "result"))), &res); err != nil || res.ID == "" {
		p.to(w, r, st, "")
		return
	}
	amount, err := strconv.ParseInt(strings.TrimSpace(r.PostFormValue("amount")), 10, 64)
	key := r.PostFormValue("key")
	if err != nil || amount <= 0 || key == "" {
		ss.SetFlash(web.Flash{Kind: "error", JA: "金額（円）を正しく入力してください。", EN: "Enter the amount in yen."})
		p.stations.Save(r, ss)
		p.to(w, r, st, "result")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	pm, err := st.Charge(ctx, res.ID, amount, key)
	if err != nil {
		var ae *eligibility.APIError
		if errors.As(err, &ae) {
			ss.SetFlash(web.Flash{Kind: "error", JA: ae.Problem.MessageJA, EN: ae.Problem.MessageEN})
		} else {
			p.logger.ErrorContext(r.Context(), "charge", "err", err)
			ss.SetFlash(web.Flash{Kind: "error", JA: "決済サービスに接続できませんでした。もう一度お試しください（二重に請求されることはありません）。",
				EN: "The payment service could not be reached; try again (you will not be charged twice)."})
		}
		p.stations.Save(r, ss)
		p.to(w, r, st, "result")
		return
	}
	b, _ := json.Marshal(pm)
	ss.Set(rcKey(st.ID(), "payment"), string(b))
	ss.SetFlash(web.Flash{Kind: "ok", JA: "お支払いが完了しました。", EN: "Paid."})
	p.stations.Save(r, ss)
	p.to(w, r, st, "result")
}

func (p *Pages) paperPage(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	p.pages.Render(w, r, http.StatusOK, "paper", p.view(st, ss, r, "paper"))
}

func (p *Pages) paper(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	req := eligibility.PaperCheckRequest{Insurer: strings.TrimSpace(r.PostFormValue("insurer")), Symbol: strings.TrimSpace(r.PostFormValue("symbol")),
		Number: strings.TrimSpace(r.PostFormValue("number")), Branch: strings.TrimSpace(r.PostFormValue("branch")),
		BirthDate: strings.TrimSpace(r.PostFormValue("birth_date"))}
	v := p.view(st, ss, r, "paper")
	v.Paper = req
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	res, err := st.Paper(ctx, req)
	if err != nil {
		var ae *eligibility.APIError
		switch {
		case errors.As(err, &ae) && ae.Status == http.StatusBadRequest:
			ss.SetFlash(web.Flash{Kind: "error", JA: "入力内容を確認してください：" + ae.Problem.MessageJA, EN: "Check the entries: " + ae.Problem.MessageEN})
		default:
			p.logger.ErrorContext(r.Context(), "paper check", "err", err)
			ss.SetFlash(web.Flash{Kind: "error", JA: "資格確認ができませんでした。回線を確認して、もう一度お試しください。", EN: "The check failed; check the network and try again."})
		}
		p.stations.Save(r, ss)
		p.pages.Render(w, r, http.StatusUnprocessableEntity, "paper", v)
		return
	}
	p.reset(ss, st.ID())
	b, _ := json.Marshal(res)
	ss.Set(rcKey(st.ID(), "result"), string(b))
	p.stations.Save(r, ss)
	p.to(w, r, st, "result")
}

func (p *Pages) network(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	on := r.PostFormValue("online") == "on"
	st.SetOnline(on)
	if on {
		ss.SetFlash(web.Flash{Kind: "ok", JA: "回線を復旧しました。仮確認の送信を始めます。", EN: "The network is back; sending provisional checks."})
		ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
		defer cancel()
		if _, err := st.Sync(ctx); err != nil {
			p.logger.ErrorContext(r.Context(), "station sync", "err", err)
		}
	} else {
		ss.SetFlash(web.Flash{Kind: "warn", JA: "回線を切断しました（デモ）。この端末はオフラインで確認を続けます。", EN: "The network is cut (demo). The terminal goes on checking offline."})
	}
	p.stations.Save(r, ss)
	p.to(w, r, st, "")
}

func (p *Pages) sync(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	res, err := st.Sync(ctx)
	switch {
	case err != nil:
		p.logger.ErrorContext(r.Context(), "station sync", "err", err)
		ss.SetFlash(web.Flash{Kind: "error", JA: "送信できませんでした。", EN: "Sending failed."})
	default:
		ss.SetFlash(web.Flash{Kind: "ok",
			JA: "確定 " + strconv.Itoa(len(res.Confirmed)) + " 件、確認不可 " + strconv.Itoa(len(res.Refused)) + " 件、未送信 " + strconv.Itoa(res.Waiting) + " 件",
			EN: strconv.Itoa(len(res.Confirmed)) + " confirmed, " + strconv.Itoa(len(res.Refused)) + " refused, " + strconv.Itoa(res.Waiting) + " waiting"})
	}
	p.stations.Save(r, ss)
	p.to(w, r, st, "")
}
