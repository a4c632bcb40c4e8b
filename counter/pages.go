package counter

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/mynumber"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/wareki"
	"github.com/mynaplat/mynaplat/web"
)

// Pages are the staff pages of one town's counter (市区町村窓口) under
// /counter/: issuing a card, the list of the town's cards and their
// certificates, and per card renewal, change of name or address, and — with
// a supervisor's approval (requests.go) — loss, death, the revocation of
// one certificate and a PIN reset. Only a clerk of the town's counter,
// signed in with their own card at the staff terminal (staff.Gate for
// office counter:{town}), is served; every call to the centre names them.
// Every action is a plain form that POSTs and redirects back with a flash
// naming what changed (POST-redirect-GET); a refused request renders the
// form again with the entered values, except PINs, which go to the card
// only and are never echoed or logged.
//
//	GET  /counter/                         the town's cards and their certificates
//	GET  /counter/signin                   the staff sign-in (staff.Gate)
//	POST /counter/login|logout             the staff terminal's hand-over, sign out
//	GET  /counter/issue                    the issue form
//	POST /counter/issue                    issue a card
//	GET  /counter/cards/{id}               one card: certificates and actions
//	POST /counter/cards/{id}/renew         renew both certificates
//	POST /counter/cards/{id}/address       change of name, address, municipality
//	POST /counter/cards/{id}/requests      prepare a loss, death, revocation or PIN reset (requests.go)
//	GET  /counter/requests/{rid}           the request, waiting for or with its approval
//	POST /counter/requests/{rid}           run an approved loss, death or revocation
//	POST /counter/requests/{rid}/cancel    drop the request
//	GET  /counter/requests/{rid}/pin       the PIN pad of an approved PIN reset (pinreset.go)
//	POST /counter/requests/{rid}/pin       reset the PIN

//go:embed templates
var templates embed.FS

// counterPages serves the counter's pages.
type counterPages struct {
	centre *jpki.CounterClient
	town   jpki.Municipality
	gate   *staff.Gate
	site   *web.Site
	cards  *card.Store
	pages  *web.Pages
	// pad is the PIN pad screen, in the terminal kit's layout.
	pad    *web.Pages
	sam    *card.SAM
	now    func() time.Time
	logger *slog.Logger
}

// OfficeID is the staff directory's ID of the counter of town.
func OfficeID(town string) string { return "counter:" + town }

// Home is the counter's first page.
const Home = "/counter/"

// StaffOffice is the counter of town as its staff gate knows it: one
// office, counter:{town}, at Home, whose clerks and supervisors the
// directory knows (staff.NewOfficeGate makes the gate, passed as
// PagesConfig.Staff).
func StaffOffice(town string) (staff.Office, error) {
	m, err := jpki.LookupMunicipality(town)
	if err != nil {
		return staff.Office{}, fmt.Errorf("counter: town %q: %w", town, err)
	}
	name := m.Prefecture + m.Name + " 電子証明書窓口"
	return staff.Office{ID: OfficeID(m.Code), Home: func(string) string { return Home },
		Name: func(context.Context, string) (string, error) { return name, nil }}, nil
}

// clerk is the signed-in staff member as the centre names them.
func clerk(s *staff.Session) jpki.CounterStaff {
	g := s.Grant
	return jpki.CounterStaff{PlatformID: g.PlatformID, Name: g.Name, Office: g.Office, Role: string(g.Role), StaffNumber: g.StaffNumber}
}

// client is the centre's client for calls the signed-in clerk makes.
func (p *counterPages) client(s *staff.Session) *jpki.CounterClient { return p.centre.For(clerk(s)) }

// steps runs the card's side of issuance, renewal, change and PIN reset
// for the signed-in clerk.
func (p *counterPages) steps(s *staff.Session) *jpki.Personaliser {
	return &jpki.Personaliser{Centre: p.client(s), Now: p.now, Logger: p.logger}
}

// chrome is what every page of the counter shows: the staff strip.
type chrome struct{ Staff *staff.Session }

// StaffStrip is the strip the site's layout shows.
func (c chrome) StaffStrip() *web.StaffStrip { return c.Staff.Strip(Home + "logout") }

// PagesConfig is what the counter's pages need.
type PagesConfig struct {
	Site *web.Site
	// Cards is the store in which new cards are made and from which cards
	// are put on the counter's "reader" for renewal and change of address.
	Cards *card.Store
	// Centre is the JPKI centre's counter API, under this counter's
	// caller key, for its town (CounterClient.Actor.Town).
	Centre *jpki.CounterClient
	// Staff is the counter's staff gate (made of StaffGate's
	// configuration): every page is its clerks' only, and a supervisor
	// approves through it.
	Staff *staff.Gate
	// SAM proves the cards' management key for a PIN reset (nil: the card
	// store's own, as in the single-machine installation).
	SAM *card.SAM
	// Now is the counter's clock (nil: time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// NewPages returns the handler of the counter's staff pages, to be
// mounted at "/counter/" on the application's mux (inside site.Protect, which
// supplies the CSRF protection the forms rely on).
func NewPages(cfg PagesConfig) (http.Handler, error) {
	if cfg.Centre == nil || cfg.Site == nil || cfg.Cards == nil || cfg.Staff == nil {
		return nil, errors.New("counter: pages need the site, the card store, the centre's client and the staff gate")
	}
	town, err := jpki.LookupMunicipality(cfg.Centre.Actor.Town)
	if err != nil {
		return nil, fmt.Errorf("counter: the centre's client names no town: %w", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	tfs, err := fs.Sub(templates, "templates")
	if err != nil {
		return nil, err
	}
	pages, err := cfg.Site.Parse(tfs, "counter*.html")
	if err != nil {
		return nil, fmt.Errorf("counter: pages: %w", err)
	}
	pad, err := terminal.Parse(cfg.Site, tfs, "pad*.html")
	if err != nil {
		return nil, fmt.Errorf("counter: PIN pad: %w", err)
	}
	if cfg.SAM == nil {
		cfg.SAM = cfg.Cards.SAM()
	}
	p := &counterPages{centre: cfg.Centre, town: town, gate: cfg.Staff, site: cfg.Site, cards: cfg.Cards, pages: pages, pad: pad, sam: cfg.SAM,
		now: cfg.Now, logger: cfg.Logger}
	site, only := cfg.Site, cfg.Staff.Only
	mux := http.NewServeMux()
	mux.HandleFunc("GET /counter/{$}", only(p.list))
	cfg.Staff.Mount(mux, Home)
	mux.HandleFunc("GET /counter/issue", only(p.issueForm))
	mux.HandleFunc("POST /counter/issue", only(p.issue))
	mux.HandleFunc("GET /counter/cards/{id}", only(p.cardPage))
	mux.HandleFunc("POST /counter/cards/{id}/renew", only(p.renew))
	mux.HandleFunc("POST /counter/cards/{id}/address", only(p.changeAddress))
	mux.HandleFunc("POST /counter/cards/{id}/requests", only(p.prepare))
	mux.HandleFunc("GET /counter/requests/{rid}", only(p.requestPage))
	mux.HandleFunc("POST /counter/requests/{rid}", only(p.run))
	mux.HandleFunc("POST /counter/requests/{rid}/cancel", only(p.cancel))
	mux.HandleFunc("GET /counter/requests/{rid}/pin", only(p.padForm))
	mux.HandleFunc("POST /counter/requests/{rid}/pin", only(p.resetPIN))
	mux.Handle("/counter/", site.NotFound())
	return mux, nil
}

// msg is a text in both languages.
type msg struct{ JA, EN string }

// fieldErrors are the problems of a form by field name.
type fieldErrors map[string]*msg

// certRow is a certificate as the pages show it.
type certRow struct {
	Kind               jpki.Kind
	KindJA, KindEN     string
	Serial             string
	State              string // good, revoked, expired: the badge class
	StateJA, StateEN   string
	NotBefore          time.Time
	NotAfter           time.Time
	RevokedAt          time.Time
	ReasonJA, ReasonEN string
	Live               bool
}

// cardRow is one card in the list.
type cardRow struct {
	ID, Label, Holder string
	Demo              bool
	Created           time.Time
	Certs             []certRow
}

// issueValues are the issue form's values kept across a refused submission.
// PINs are deliberately absent.
type issueValues struct {
	Name, Kana, Birth, Sex, Address, Municipality, Label string
	Demo                                                 bool
}

type issuePage struct {
	chrome
	Form    issueValues
	Errors  fieldErrors
	Problem *msg
	town    string
}

// Fields lays out the issue form.
func (pg *issuePage) Fields() []formField {
	f, e := pg.Form, pg.Errors
	return []formField{
		{Name: "name", Type: "text", LabelJA: "氏名", LabelEN: "Name (kanji)", HintJA: "姓と名の間に空白", HintEN: "a space between surname and given name",
			Value: f.Name, Required: true, Err: e["name"], MaxLength: 100},
		{Name: "kana", Type: "text", LabelJA: "フリガナ", LabelEN: "Name in katakana", HintJA: "例 スザカ ハナコ", HintEN: "e.g. スザカ ハナコ",
			Value: f.Kana, Required: true, Err: e["kana"], MaxLength: 100},
		{Name: "birth", Type: "text", LabelJA: "生年月日", LabelEN: "Date of birth", HintJA: "西暦 例 1980-02-29", HintEN: "e.g. 1980-02-29",
			Value: f.Birth, Required: true, Err: e["birth"], InputMode: "numeric", MaxLength: 10},
		{Name: "sex", Type: "radio", LabelJA: "性別", LabelEN: "Sex", Value: f.Sex, Required: true, Err: e["sex"],
			Options: []option{{"1", "男性", "male"}, {"2", "女性", "female"}, {"3", "不明", "unknown"}}},
		{Name: "address", Type: "text", LabelJA: "住所", LabelEN: "Address", HintJA: "都道府県から", HintEN: "from the prefecture on",
			Value: f.Address, Required: true, Err: e["address"], MaxLength: jpki.MaxAddress, Wide: true},
		{Name: "municipality", Type: "select", LabelJA: "住民登録のある市区町村", LabelEN: "Municipality of residence",
			HintJA: "この窓口の市区町村の住民に限ります", HintEN: "residents of this counter's town only",
			Value: f.Municipality, Required: true, Err: e["municipality"], Options: municipalityOptions(pg.town)},
		{Name: "auth_pin", Type: "password", LabelJA: "利用者証明用暗証番号", LabelEN: "Authentication PIN", HintJA: "数字4桁", HintEN: "4 digits",
			Required: true, Err: e["auth_pin"], InputMode: "numeric", MaxLength: 4},
		{Name: "sign_pin", Type: "password", LabelJA: "署名用パスワード", LabelEN: "Signing password",
			HintJA: fmt.Sprintf("%d歳以上は必須。英大文字と数字6〜16文字", jpki.MinSigningAge), HintEN: fmt.Sprintf("required from age %d; 6–16 of A–Z, 0–9", jpki.MinSigningAge),
			Err: e["sign_pin"], MaxLength: 16},
		{Name: "text_pin", Type: "password", LabelJA: "券面事項入力補助用暗証番号", LabelEN: "Text PIN", HintJA: "数字4桁。省略すると利用者証明用と同じ", HintEN: "4 digits; default: the authentication PIN",
			Err: e["text_pin"], InputMode: "numeric", MaxLength: 4},
		{Name: "label", Type: "text", LabelJA: "カードのラベル", LabelEN: "Card label", HintJA: "任意。一覧での目印", HintEN: "optional, shown in lists",
			Value: f.Label, MaxLength: 60},
		{Name: "demo", Type: "checkbox", LabelJA: "デモ用カード（暗証番号を一覧に表示する）", LabelEN: "Demo card (its PINs are shown in the card list)",
			Checked: f.Demo},
	}
}

// formField is one field of a form, laid out by the page template. PIN
// fields never carry a value back.
type formField struct {
	Name, Type       string // text, password, select, radio, checkbox
	LabelJA, LabelEN string
	HintJA, HintEN   string
	Value            string
	Checked          bool
	Required, Wide   bool
	Err              *msg
	Options          []option
	InputMode        string
	MaxLength        int
}

// option is a choice of a select or radio field.
type option struct{ Value, JA, EN string }

// municipalityOptions are the municipalities by code (prefectures in their
// official order); only the counter's town when town is set, which is the
// only one whose residents it serves (a move away is recorded at the
// counter of the town moved to, or here).
func municipalityOptions(town string) []option {
	ms := jpki.Municipalities()
	slices.SortFunc(ms, func(a, b jpki.Municipality) int { return cmp.Compare(a.Code, b.Code) })
	var out []option
	for _, m := range ms {
		if town != "" && m.Code != town {
			continue
		}
		out = append(out, option{m.Code, m.Prefecture + m.Name + "（" + m.Code + "）", m.NameRomaji + ", " + m.PrefectureRomaji + " (" + m.Code + ")"})
	}
	return out
}

// addressValues are the change-of-address form's values.
type addressValues struct{ Name, Address, Municipality string }

type cardPage struct {
	chrome
	ID           string
	Info         card.Info
	OnCard       bool // the card is in the store (not only in the centre's records)
	Resident     jpki.Resident
	Municipality jpki.Municipality
	Certs        []certRow
	Live         []certRow
	Address      addressValues
	Errors       fieldErrors
	Problem      *msg
	Open         string // the action whose form to show opened
	Reasons      []option
	// Identities are how the person asking may have been identified.
	Identities []option
	// PINs are the PINs the counter can reset, with their tries left.
	PINs []pinChoice
}

// pinChoice is a PIN of the card for the reset form.
type pinChoice struct {
	Which               jpki.PINKind
	JA, EN              string
	TriesLeft, MaxTries int
}

// AddressFields lays out the change-of-address form.
func (pg *cardPage) AddressFields() []formField {
	v, e := pg.Address, pg.Errors
	return []formField{
		{Name: "name", Type: "text", LabelJA: "新しい氏名", LabelEN: "New name", HintJA: "変わらなければそのまま", HintEN: "leave as is if unchanged",
			Value: v.Name, Err: e["name"], MaxLength: 100},
		{Name: "address", Type: "text", LabelJA: "新しい住所", LabelEN: "New address", HintJA: "都道府県から", HintEN: "from the prefecture on",
			Value: v.Address, Err: e["address"], MaxLength: jpki.MaxAddress, Wide: true},
		{Name: "municipality", Type: "select", LabelJA: "市区町村", LabelEN: "Municipality",
			Value: v.Municipality, Err: e["municipality"], Options: municipalityOptions("")},
	}
}

// listPage is the town's cards.
type listPage struct {
	chrome
	Town msg
	Rows []cardRow
}

// list shows the cards of the town's residents, newest first, with their
// certificates: the centre's records, with the card store's label.
func (p *counterPages) list(w http.ResponseWriter, r *http.Request, s *staff.Session) {
	recs, err := p.client(s).TownCards(r.Context())
	if err != nil {
		p.fail(w, r, "list the town's cards", err)
		return
	}
	rows := make([]cardRow, 0, len(recs))
	for _, rec := range recs {
		row := cardRow{ID: rec.CardID, Holder: rec.Resident.Name, Certs: p.certRows(rec.Certificates)}
		if cd, err := p.cards.Open(rec.CardID); err == nil {
			in := cd.Info()
			row.Label, row.Demo, row.Created = in.Label, in.Demo, in.Created
		}
		rows = append(rows, row)
	}
	p.pages.Render(w, r, http.StatusOK, "counter", listPage{chrome: chrome{s}, Town: p.townName(), Rows: rows})
}

// townName is the counter's town in both languages.
func (p *counterPages) townName() msg {
	return msg{p.town.Prefecture + p.town.Name, p.town.NameRomaji + ", " + p.town.PrefectureRomaji}
}

func (p *counterPages) issueForm(w http.ResponseWriter, r *http.Request, s *staff.Session) {
	p.pages.Render(w, r, http.StatusOK, "counter_issue", &issuePage{chrome: chrome{s}, Form: issueValues{Municipality: p.town.Code}, town: p.town.Code})
}

// issue creates a card in the store and issues its certificates. The form is
// checked here first, field by field, so that the staff get a message in both
// languages next to the field; the centre checks again.
func (p *counterPages) issue(w http.ResponseWriter, r *http.Request, s *staff.Session) {
	f := issueValues{
		Name: joinSpaced(r.PostFormValue("name")), Kana: joinSpaced(r.PostFormValue("kana")),
		Birth: strings.TrimSpace(r.PostFormValue("birth")), Sex: r.PostFormValue("sex"),
		Address: strings.TrimSpace(r.PostFormValue("address")), Municipality: r.PostFormValue("municipality"),
		Label: strings.TrimSpace(r.PostFormValue("label")), Demo: r.PostFormValue("demo") != "",
	}
	authPIN := r.PostFormValue("auth_pin")
	signPIN := strings.ToUpper(strings.TrimSpace(r.PostFormValue("sign_pin")))
	textPIN := r.PostFormValue("text_pin")
	page := &issuePage{chrome: chrome{s}, Form: f, Errors: fieldErrors{}, town: p.town.Code}
	now := p.now()

	birth, bErr := parseBirth(f.Birth, now)
	if bErr != nil {
		page.Errors["birth"] = bErr
	}
	if f.Name == "" {
		page.Errors["name"] = &msg{"氏名を入力してください。", "Enter the name."}
	}
	if f.Kana == "" {
		page.Errors["kana"] = &msg{"フリガナを入力してください。", "Enter the name in katakana."}
	}
	sex, cardSex := jpki.Sex(0), ""
	switch f.Sex {
	case "1":
		sex, cardSex = jpki.Male, "1"
	case "2":
		sex, cardSex = jpki.Female, "2"
	case "3":
		sex, cardSex = jpki.Unknown, "9"
	default:
		page.Errors["sex"] = &msg{"性別を選んでください。", "Choose the sex."}
	}
	if n := utf8.RuneCountInString(f.Address); n == 0 || n > jpki.MaxAddress {
		page.Errors["address"] = &msg{fmt.Sprintf("住所を%d文字以内で入力してください。", jpki.MaxAddress),
			fmt.Sprintf("Enter the address (at most %d characters).", jpki.MaxAddress)}
	}
	if _, err := jpki.LookupMunicipality(f.Municipality); err != nil {
		page.Errors["municipality"] = &msg{"市区町村を選んでください。", "Choose the municipality."}
	} else if f.Municipality != p.town.Code {
		t := p.townName()
		page.Errors["municipality"] = &msg{"この窓口では" + t.JA + "の住民のカードだけを発行できます。", "This counter issues cards to residents of " + t.EN + " only."}
	}
	if card.ValidatePIN(card.AuthPIN, authPIN) != nil {
		page.Errors["auth_pin"] = &msg{"利用者証明用暗証番号は数字4桁です。", "The authentication PIN is 4 digits."}
	}
	withSign := bErr == nil && jpki.AgeOn(birth, now) >= jpki.MinSigningAge
	switch {
	case withSign && signPIN == "":
		page.Errors["sign_pin"] = &msg{fmt.Sprintf("%d歳以上の方は署名用パスワードが必要です。", jpki.MinSigningAge),
			fmt.Sprintf("A signing password is required from age %d.", jpki.MinSigningAge)}
	case withSign && card.ValidatePIN(card.SignPIN, signPIN) != nil:
		page.Errors["sign_pin"] = &msg{"署名用パスワードは英大文字と数字の6〜16文字です。",
			"The signing password is 6 to 16 letters A–Z and digits."}
	case !withSign:
		signPIN = "" // no signing certificate under 15, so no password
	}
	if textPIN == "" {
		textPIN = authPIN
	} else if card.ValidatePIN(card.TextPIN, textPIN) != nil {
		page.Errors["text_pin"] = &msg{"券面事項入力補助用暗証番号は数字4桁です。", "The text PIN is 4 digits."}
	}
	if len(page.Errors) > 0 {
		page.Problem = &msg{"入力内容を確認してください。", "Please check the marked fields."}
		p.pages.Render(w, r, http.StatusUnprocessableEntity, "counter_issue", page)
		return
	}

	res := jpki.Resident{Name: f.Name, Kana: f.Kana, BirthDate: birth, Sex: sex, Address: f.Address, Municipality: f.Municipality}
	mn, err := mynumber.New()
	if err != nil {
		p.fail(w, r, "draw a My Number", err)
		return
	}
	cd, err := p.cards.Create(card.Spec{Label: f.Label, Demo: f.Demo, AuthPIN: authPIN, SignPIN: signPIN, TextPIN: textPIN,
		MyNumber: mn, Name: res.Name, Address: res.Address, BirthDate: birth.Format("20060102"), Sex: cardSex})
	if err != nil {
		page.Problem = p.explain(r.Context(), err, "create a card")
		p.pages.Render(w, r, statusOf(err), "counter_issue", page)
		return
	}
	is, err := p.steps(s).Issue(r.Context(), res, cd)
	if err != nil {
		// The card never got a certificate: take it away again.
		if rerr := p.cards.Remove(cd.ID()); rerr != nil {
			p.logger.WarnContext(r.Context(), "counter: could not remove the unused card", "card", cd.ID(), "err", rerr)
		}
		page.Problem = p.explain(r.Context(), err, "issue a card")
		p.pages.Render(w, r, statusOf(err), "counter_issue", page)
		return
	}
	p.logger.InfoContext(r.Context(), "counter: issued a card", "card", is.CardID, "auth_serial", serialOf(is.Auth), "sign_serial", serialOf(is.Sign))
	f2 := msg{"カードを発行しました。", "The card was issued."}
	f2 = appendMsg(f2, issuedSerials(is))
	if is.Sign == nil {
		f2 = appendMsg(f2, msg{fmt.Sprintf("%d歳未満のため署名用電子証明書は発行していません。", jpki.MinSigningAge),
			fmt.Sprintf("No signing certificate: the holder is under %d.", jpki.MinSigningAge)})
	}
	p.redirect(w, r, "/counter/cards/"+url.PathEscape(is.CardID), web.Flash{Kind: "ok", JA: f2.JA, EN: f2.EN})
}

// cardPage shows one card.
func (p *counterPages) cardPage(w http.ResponseWriter, r *http.Request, s *staff.Session) {
	page, ok := p.loadCard(w, r, s, r.PathValue("id"))
	if !ok {
		return
	}
	p.pages.Render(w, r, http.StatusOK, "counter_card", page)
}

// loadCard gathers what the card page shows; on failure it has answered.
func (p *counterPages) loadCard(w http.ResponseWriter, r *http.Request, s *staff.Session, id string) (*cardPage, bool) {
	ctx := r.Context()
	rec, err := p.client(s).CardRecord(ctx, id)
	if errors.Is(err, jpki.ErrCardNotFound) {
		p.site.Error(w, r, web.Problem{Status: http.StatusNotFound,
			TitleJA: "カードが見つかりません", TitleEN: "Card not found",
			WhatJA: "このカードIDの記録はこの窓口にありません。", WhatEN: "This counter has no record of that card ID.",
			DoJA: "カード一覧から選び直してください。", DoEN: "Choose the card again from the list."})
		return nil, false
	}
	if errors.Is(err, jpki.ErrOtherTown) {
		p.refusal(w, r, s, err)
		return nil, false
	}
	if err != nil {
		p.fail(w, r, "read the card's record", err)
		return nil, false
	}
	res := rec.Resident
	page := &cardPage{chrome: chrome{s}, ID: id, Identities: identities, Resident: res, Certs: p.certRows(rec.Certificates), Errors: fieldErrors{},
		Address: addressValues{Name: res.Name, Address: res.Address, Municipality: res.Municipality}}
	for _, rs := range counterReasons {
		ja, en := reasonText(rs)
		page.Reasons = append(page.Reasons, option{rs.String(), ja, en})
	}
	page.Municipality, _ = jpki.LookupMunicipality(res.Municipality)
	for _, c := range page.Certs {
		if c.Live {
			page.Live = append(page.Live, c)
		}
	}
	if cd, err := p.cards.Open(id); err == nil {
		page.Info, page.OnCard = cd.Info(), true
		in := page.Info
		left := map[jpki.PINKind]int{jpki.PINAuth: in.AuthTriesLeft, jpki.PINSign: in.SignTriesLeft, jpki.PINText: in.TextTriesLeft}
		for _, k := range jpki.PINKinds {
			if k == jpki.PINSign && !slices.ContainsFunc(page.Live, func(c certRow) bool { return c.Kind == jpki.Sign }) {
				continue // no signing certificate, no signing password
			}
			n := pinName(k)
			page.PINs = append(page.PINs, pinChoice{Which: k, JA: n.JA, EN: n.EN, TriesLeft: left[k], MaxTries: CardPIN(k).MaxTries()})
		}
	} else if !errors.Is(err, card.ErrCardNotFound) {
		p.fail(w, r, "open the card", err)
		return nil, false
	}
	return page, true
}

// refuse renders the card page again with a problem shown at the action that
// caused it.
func (p *counterPages) refuse(w http.ResponseWriter, r *http.Request, s *staff.Session, id, action string, err error, keep func(*cardPage)) {
	if errors.Is(err, jpki.ErrOtherTown) {
		p.refusal(w, r, s, err)
		return
	}
	page, ok := p.loadCard(w, r, s, id)
	if !ok {
		return
	}
	page.Open = action
	page.Problem = p.explain(r.Context(), err, action)
	if keep != nil {
		keep(page)
	}
	p.pages.Render(w, r, statusOf(err), "counter_card", page)
}

// onCard opens the card that is being changed (the counter's reader).
func (p *counterPages) onCard(id string) (*card.Card, error) {
	cd, err := p.cards.Open(id)
	if errors.Is(err, card.ErrCardNotFound) {
		return nil, fmt.Errorf("%w: card %s is not in the card store, so nothing can be written to it", jpki.ErrInvalid, id)
	}
	return cd, err
}

func (p *counterPages) renew(w http.ResponseWriter, r *http.Request, s *staff.Session) {
	id := r.PathValue("id")
	cd, err := p.onCard(id)
	if err != nil {
		p.refuse(w, r, s, id, "renew", err, nil)
		return
	}
	is, err := p.steps(s).Renew(r.Context(), cd)
	if err != nil {
		p.refuse(w, r, s, id, "renew", err, nil)
		return
	}
	p.logger.InfoContext(r.Context(), "counter: renewed", "card", id, "auth_serial", serialOf(is.Auth), "sign_serial", serialOf(is.Sign))
	m := appendMsg(msg{"電子証明書を更新しました。旧証明書は失効（superseded）しました。",
		"The certificates were renewed; the old ones are revoked (superseded)."}, issuedSerials(is))
	p.redirect(w, r, cardPath(id), web.Flash{Kind: "ok", JA: m.JA, EN: m.EN})
}

func (p *counterPages) changeAddress(w http.ResponseWriter, r *http.Request, s *staff.Session) {
	id := r.PathValue("id")
	v := addressValues{Name: joinSpaced(r.PostFormValue("name")), Address: strings.TrimSpace(r.PostFormValue("address")),
		Municipality: r.PostFormValue("municipality")}
	keep := func(pg *cardPage) { pg.Address = v }
	errs := fieldErrors{}
	if n := utf8.RuneCountInString(v.Address); n > jpki.MaxAddress {
		errs["address"] = &msg{fmt.Sprintf("住所は%d文字以内です。", jpki.MaxAddress), fmt.Sprintf("The address has at most %d characters.", jpki.MaxAddress)}
	}
	if v.Municipality != "" {
		if _, err := jpki.LookupMunicipality(v.Municipality); err != nil {
			errs["municipality"] = &msg{"市区町村を選び直してください。", "Choose the municipality again."}
		}
	}
	if len(errs) > 0 {
		page, ok := p.loadCard(w, r, s, id)
		if !ok {
			return
		}
		page.Open, page.Errors, page.Address = "address", errs, v
		page.Problem = &msg{"入力内容を確認してください。", "Please check the marked fields."}
		p.pages.Render(w, r, http.StatusUnprocessableEntity, "counter_card", page)
		return
	}
	cd, err := p.onCard(id)
	if err != nil {
		p.refuse(w, r, s, id, "address", err, keep)
		return
	}
	is, err := p.steps(s).ChangeHolder(r.Context(), cd, v.Name, v.Address, v.Municipality)
	if err != nil {
		p.refuse(w, r, s, id, "address", err, keep)
		return
	}
	p.logger.InfoContext(r.Context(), "counter: changed address", "card", id, "sign_serial", serialOf(is.Sign))
	m := msg{"氏名・住所等の変更を記録しました。", "The change of name or address was recorded."}
	if is.Sign != nil {
		m = appendMsg(m, msg{"旧署名用電子証明書は失効（affiliationChanged）し、新しい署名用電子証明書 シリアル " + is.Sign.Serial + " を書き込みました。利用者証明用電子証明書は変わりません。",
			"The old signing certificate is revoked (affiliationChanged) and a new one, serial " + is.Sign.Serial + ", was written to the card. The authentication certificate stays."})
	}
	p.redirect(w, r, cardPath(id), web.Flash{Kind: "ok", JA: m.JA, EN: m.EN})
}

// redirect sets the flash and sends the browser to path (POST-redirect-GET).
func (p *counterPages) redirect(w http.ResponseWriter, r *http.Request, path string, f web.Flash) {
	ss, err := p.site.Session(w, r)
	if err == nil {
		ss.SetFlash(f)
		err = ss.Save(r.Context())
	}
	if err != nil {
		// The action is done; only its message is lost.
		p.logger.ErrorContext(r.Context(), "counter: keep the flash", "err", err)
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// fail answers an unexpected error: logged for the operator, a generic page
// for the staff.
func (p *counterPages) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	p.logger.ErrorContext(r.Context(), "counter: "+what, "err", err)
	p.site.Error(w, r, web.Problem{Status: http.StatusInternalServerError})
}

// explain turns an error of the centre or the card store into a message for
// the staff: a refusal of the centre in the centre's words (the same
// whether the centre answered it or the card steps checked it first), the
// card store's in its own.
func (p *counterPages) explain(ctx context.Context, err error, what string) *msg {
	if errors.Is(err, card.ErrInvalidSpec) {
		detail := strings.TrimPrefix(err.Error(), "card: ")
		return &msg{"この内容では処理できません。入力内容とカードの状態を確認してください。（" + detail + "）", "This cannot be done: " + detail + "."}
	}
	pr := jpki.CounterProblem(err)
	switch {
	case errors.Is(err, jpki.ErrUnavailable):
		p.logger.WarnContext(ctx, "counter: "+what+": the centre did not answer", "err", err)
		return &msg{"J-LIS（電子証明書の発行元）に接続できませんでした。しばらくしてから同じ手続をもう一度行ってください。",
			"The JPKI centre could not be reached. Try the same procedure again shortly."}
	case pr.Status == http.StatusUnauthorized:
		p.logger.ErrorContext(ctx, "counter: the centre does not accept this counter's caller key", "err", err)
		return &msg{"この窓口端末は J-LIS に接続できません（端末の鍵が認められていません）。管理者に連絡してください。",
			"This counter cannot use the JPKI centre: its caller key is not accepted. Tell the administrator."}
	case pr.Status < 500:
		m := &msg{pr.MessageJA, pr.MessageEN}
		// The centre's detail (what exactly is wrong) is English only.
		if d := pr.Detail; d != "" && d != pr.MessageEN {
			m.EN += " (" + d + ")"
		}
		return m
	}
	p.logger.ErrorContext(ctx, "counter: "+what, "err", err)
	return &msg{"システム内部で問題が発生しました。もう一度お試しください。続く場合は管理者に連絡してください。",
		"An internal problem occurred. Try again; if it persists, tell the administrator."}
}

// statusOf is the HTTP status of a refused action: the centre's for its
// refusals, except that a request it found malformed is a form the staff
// can correct (422).
func statusOf(err error) int {
	if errors.Is(err, card.ErrInvalidSpec) {
		return http.StatusUnprocessableEntity
	}
	switch st := jpki.CounterProblem(err).Status; {
	case errors.Is(err, jpki.ErrUnavailable):
		return http.StatusServiceUnavailable
	case st == http.StatusBadRequest:
		return http.StatusUnprocessableEntity
	case st == http.StatusUnauthorized:
		return http.StatusInternalServerError
	default:
		return st
	}
}

// certRows prepares certificates for display, newest first as given.
func (p *counterPages) certRows(certs []*jpki.CertInfo) []certRow {
	now := p.now()
	out := make([]certRow, 0, len(certs))
	for _, ci := range certs {
		row := certRow{Kind: ci.Kind, KindJA: kindJA(ci.Kind), KindEN: kindEN(ci.Kind), Serial: ci.Serial,
			NotBefore: ci.NotBefore, NotAfter: ci.NotAfter, RevokedAt: ci.RevokedAt}
		switch {
		case ci.Status == jpki.StatusRevoked:
			row.State, row.StateJA, row.StateEN = "revoked", "失効", "revoked"
			row.ReasonJA, row.ReasonEN = reasonText(ci.Reason)
		case !now.Before(ci.NotAfter):
			row.State, row.StateJA, row.StateEN = "expired", "期限切れ", "expired"
		default:
			row.State, row.StateJA, row.StateEN, row.Live = "good", "有効", "valid", true
		}
		out = append(out, row)
	}
	return out
}

// counterReasons are the reasons the counter offers for revoking one
// certificate (RFC 5280 §5.3.1).
var counterReasons = []jpki.Reason{jpki.KeyCompromise, jpki.AffiliationChanged, jpki.Superseded, jpki.CessationOfOperation, jpki.Unspecified}

func reasonText(r jpki.Reason) (ja, en string) {
	switch r {
	case jpki.KeyCompromise:
		return "紛失・盗難等（keyCompromise）", "lost or stolen (keyCompromise)"
	case jpki.AffiliationChanged:
		return "氏名・住所等の変更（affiliationChanged）", "change of name or address (affiliationChanged)"
	case jpki.Superseded:
		return "更新（superseded）", "renewed (superseded)"
	case jpki.CessationOfOperation:
		return "死亡・返納等（cessationOfOperation）", "death or card returned (cessationOfOperation)"
	case jpki.CACompromise:
		return "認証局の危殆化（cACompromise）", "CA compromise (cACompromise)"
	case jpki.CertificateHold:
		return "一時停止（certificateHold）", "on hold (certificateHold)"
	}
	return "理由なし（unspecified）", "no reason given (unspecified)"
}

func kindJA(k jpki.Kind) string {
	if k == jpki.Sign {
		return "署名用電子証明書"
	}
	return "利用者証明用電子証明書"
}

func kindEN(k jpki.Kind) string {
	if k == jpki.Sign {
		return "signing certificate"
	}
	return "authentication certificate"
}

func cardPath(id string) string { return "/counter/cards/" + url.PathEscape(id) }

func serialOf(ci *jpki.CertInfo) string {
	if ci == nil {
		return ""
	}
	return ci.Serial
}

// issuedSerials names the new serials of an issuance or renewal.
func issuedSerials(is *jpki.IssuedCard) msg {
	m := msg{"カードID " + is.CardID, "card ID " + is.CardID}
	for _, ci := range []*jpki.CertInfo{is.Auth, is.Sign} {
		if ci != nil {
			m = appendMsg(m, msg{kindJA(ci.Kind) + " シリアル " + ci.Serial, kindEN(ci.Kind) + " serial " + ci.Serial})
		}
	}
	return m
}

// appendMsg joins sentences or list items of both languages.
func appendMsg(a, b msg) msg {
	sepJA, sepEN := " ", " "
	if !strings.HasSuffix(a.JA, "。") {
		sepJA = "、"
	}
	if !strings.HasSuffix(a.EN, ".") {
		sepEN = ", "
	}
	return msg{a.JA + sepJA + b.JA, a.EN + sepEN + b.EN}
}

// joinSpaced trims a name and joins its parts with one U+3000, the separator
// JPKI uses between surname and given name.
func joinSpaced(s string) string { return strings.Join(strings.Fields(s), "\u3000") }

// parseBirth reads a birth date typed as 1980-02-29, 1980/02/29 or 19800229,
// in half- or full-width digits.
func parseBirth(s string, now time.Time) (time.Time, *msg) {
	s = strings.Map(func(r rune) rune {
		if r >= '０' && r <= '９' || r == '／' || r == '－' {
			return r - 0xFEE0
		}
		return r
	}, strings.TrimSpace(s))
	var t time.Time
	var err error
	for _, layout := range []string{time.DateOnly, "2006/1/2", "20060102", "2006-1-2"} {
		if t, err = time.ParseInLocation(layout, s, wareki.JST()); err == nil {
			break
		}
	}
	switch {
	case s == "":
		return t, &msg{"生年月日を入力してください（例 1980-02-29）。", "Enter the birth date (e.g. 1980-02-29)."}
	case err != nil:
		return t, &msg{"生年月日は 1980-02-29 の形で入力してください。", "Enter the birth date as 1980-02-29."}
	case t.After(now):
		return t, &msg{"生年月日が未来の日付です。", "The birth date is in the future."}
	}
	if _, err := wareki.JPKIDate(t); err != nil {
		return t, &msg{"1873年（明治6年）より前の生年月日は扱えません。", "Birth dates before 1873 (明治6年) are not supported."}
	}
	return t, nil
}
