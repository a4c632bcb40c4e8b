package body

import (
	"bytes"
	"cmp"
	"context"
	"embed"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed templates
var templates embed.FS

// Pages are the bodies' pages (docs/procurement.md §8):
//
//	GET  /bodies/{body}/tenders                the public list of tenders
//	GET  /bodies/{body}/tenders/{tender}       a tender's public page (fingerprint of its opening certificate)
//	GET  /bodies/{body}/tenders.atom           the body's Atom feed (RFC 4287)
//	GET  /bodies/{body}/office/                the officers' page (staff card sign-in: office procure-body:{body})
//	GET  /bodies/{body}/office/signin|POST login|logout   staff.Gate
//	POST /bodies/{body}/office/enroll          set one's opening passphrase
//	POST /bodies/{body}/office/tenders         publish a tender
//	GET  /bodies/{body}/office/tenders/{tender}   a tender with its bids received (audited)
//	POST /bodies/{body}/office/tenders/{tender}/open   an opening officer presents their passphrase (§5.6)
//	POST /bodies/{body}/office/tenders/{tender}/contract   prepare the contract of an awarded tender (§5.7)
//	GET  /bodies/{body}/office/contracts/{id}              the contract's timeline, each element verified
//	GET  /bodies/{body}/office/contracts/{id}/contract.pdf the current PDF
//	GET  /bodies/{body}/office/contracts/{id}/bundle       the timeline as the ZIP `mynaplat verify` reads
//	GET|POST /bodies/{body}/office/contracts/{id}/sign     the officer signs with their card at the staff terminal (staff.Gate.SendToSign, SignedAtDesk)
//	GET|POST /bodies/{body}/office/contracts/{id}/inspect?result=passed|failed&note=…   the inspection, signed the same way
//	POST /bodies/{body}/office/sign/desk                   staff.Gate: the signing handoff's desk API (the staff terminals' server)
type Pages struct {
	s     *Service
	site  *web.Site
	pages *web.Pages
	gate  *staff.Gate
}

// NewPages parses the templates.
func NewPages(s *Service, site *web.Site) (*Pages, error) {
	pages, err := site.Parse(templates, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("body: pages: %w", err)
	}
	return &Pages{s: s, site: site, pages: pages}, nil
}

// OfficeID is the staff directory's ID of a body's office.
func OfficeID(body string) string { return staff.ProcureBodyKind + ":" + body }

// OfficeHome is the first page of a body's office.
func OfficeHome(body string) string { return "/bodies/" + body + "/office/" }

// StaffOffice is the bodies' offices as their gate knows them.
func (p *Pages) StaffOffice() staff.Office {
	return staff.Office{Kind: staff.ProcureBodyKind, PathValue: "body", Home: OfficeHome,
		Name: func(_ context.Context, id string) (string, error) {
			b, err := p.s.Body(id)
			return b.NameJA, err
		}}
}

// SetStaff gives the offices their gate; without one the office pages are
// not served. Call it before Routes.
func (p *Pages) SetStaff(g *staff.Gate) { p.gate = g }

// Routes registers the pages.
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /bodies/{body}/tenders", p.list)
	mux.HandleFunc("GET /bodies/{body}/tenders/{tender}", p.tender)
	mux.HandleFunc("GET /bodies/{body}/tenders.atom", p.atom)
	if p.gate == nil {
		return
	}
	p.gate.Mount(mux, "/bodies/{body}/office/")
	mux.HandleFunc("GET /bodies/{body}/office/{$}", p.gate.Only(p.office))
	mux.HandleFunc("POST /bodies/{body}/office/enroll", p.gate.Only(p.enroll))
	mux.HandleFunc("POST /bodies/{body}/office/tenders", p.gate.Only(p.publish))
	mux.HandleFunc("GET /bodies/{body}/office/tenders/{tender}", p.gate.Only(p.officeTender))
	mux.HandleFunc("POST /bodies/{body}/office/tenders/{tender}/open", p.gate.Only(p.open))
	p.contractRoutes(mux)
}

// Links are the home page entries: each body's tenders and office.
func (p *Pages) Links() []web.Link {
	var out []web.Link
	for _, b := range p.s.Bodies() {
		out = append(out, web.Link{Section: "調達機関 / Procuring bodies", TitleJA: b.NameJA + " 入札情報", TitleEN: b.NameEN + " tenders",
			DescJA: "公告中の案件、開札用証明書の指紋、フィード", DescEN: "Published tenders, their opening certificates' fingerprints, the feed",
			Path: "/bodies/" + b.ID + "/tenders"})
		if p.gate != nil {
			out = append(out, web.Link{Section: "調達機関 / Procuring bodies", TitleJA: b.NameJA + " 契約担当官", TitleEN: b.NameEN + " officers",
				DescJA: "職員カードでログインし、案件を公告し、開札用パスフレーズを設定します", DescEN: "Sign in with a staff card to publish tenders and set the opening passphrase",
				Path: OfficeHome(b.ID)})
		}
	}
	return out
}

// fail answers a page's error: a refusal as a 422 page with its texts.
func (p *Pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch ref, ok := errors.AsType[*Refusal](err); {
	case ok:
		p.site.Error(w, r, web.Problem{Status: http.StatusUnprocessableEntity, WhatJA: ref.MessageJA, WhatEN: ref.MessageEN})
	case errors.Is(err, ErrNoBody), errors.Is(err, ErrNotFound):
		p.site.Error(w, r, web.Problem{Status: http.StatusNotFound})
	default:
		p.s.logger.ErrorContext(r.Context(), "body: page", "path", r.URL.Path, "err", err)
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
	}
}

// TenderView is a tender on a page.
type TenderView struct {
	*Tender
}

// FieldJA and FieldEN are the field's names.
func (v TenderView) FieldJA() string { ja, _ := v.Field.Names(); return ja }

// FieldEN is the field's English name.
func (v TenderView) FieldEN() string { _, en := v.Field.Names(); return en }

// ResultRow is a bid of the published result.
type ResultRow struct {
	BidResult
	Price  string
	Winner bool
}

// Rows are the result's bids for the page, "" prices for bids whose
// content could not be read.
func (v TenderView) Rows() []ResultRow {
	if v.Result == nil {
		return nil
	}
	out := make([]ResultRow, len(v.Result.Bids))
	for i, b := range v.Result.Bids {
		out[i] = ResultRow{BidResult: b, Winner: b.BidID == v.Result.Winner}
		if b.PriceYen > 0 {
			out[i].Price = Yen(b.PriceYen)
		}
	}
	return out
}

// Estimate is the estimate opened, as the page shows it.
func (v TenderView) Estimate() string {
	if v.Result == nil {
		return ""
	}
	return Yen(v.Result.EstimateYen)
}

// WinnerPrice is the winning price as the page shows it.
func (v TenderView) WinnerPrice() string {
	if v.Result == nil || !v.Result.Awarded() {
		return ""
	}
	return Yen(v.Result.WinnerPriceYen)
}

// Yen writes an amount with thousands separators and the yen sign.
func Yen(v int64) string {
	s := strconv.FormatInt(v, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String() + "円"
	}
	return b.String() + "円"
}

type listView struct {
	Body    Body
	Tenders []TenderView
}

func (p *Pages) views(ts []*Tender) []TenderView {
	out := make([]TenderView, len(ts))
	for i, t := range ts {
		out[i] = TenderView{Tender: t}
	}
	return out
}

func (p *Pages) list(w http.ResponseWriter, r *http.Request) {
	b, err := p.s.Body(r.PathValue("body"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	ts, err := p.s.Tenders(r.Context(), b.ID)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.pages.Render(w, r, http.StatusOK, "tenders", listView{Body: b, Tenders: p.views(ts)})
}

type tenderView struct {
	Body   Body
	Tender TenderView
}

func (p *Pages) tender(w http.ResponseWriter, r *http.Request) {
	b, err := p.s.Body(r.PathValue("body"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	t, err := p.s.Tender(r.Context(), b.ID, r.PathValue("tender"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.pages.Render(w, r, http.StatusOK, "tender", tenderView{Body: b, Tender: p.views([]*Tender{t})[0]})
}

// The Atom feed (RFC 4287).
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Author  atomAuthor  `xml:"author"`
	Link    []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomEntry struct {
	ID      string   `xml:"id"`
	Title   string   `xml:"title"`
	Updated string   `xml:"updated"`
	Link    atomLink `xml:"link"`
	Summary string   `xml:"summary"`
}

func (p *Pages) atom(w http.ResponseWriter, r *http.Request) {
	b, err := p.s.Body(r.PathValue("body"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	ts, err := p.s.Tenders(r.Context(), b.ID)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	self := "/bodies/" + b.ID + "/tenders"
	f := atomFeed{ID: "urn:mynaplat:bodies:" + b.ID + ":tenders", Title: b.NameJA + " 入札公告 / " + b.NameEN + " tenders",
		Updated: time.Unix(0, 0).UTC().Format(time.RFC3339), Author: atomAuthor{Name: b.NameJA},
		Link: []atomLink{{Rel: "self", Href: self + ".atom"}, {Rel: "alternate", Href: self}}}
	for _, t := range ts {
		ja, en := t.Field.Names()
		up := t.PublishedAt.Format(time.RFC3339)
		summary := fmt.Sprintf("%s / %s (%s・等級 grade %s)。締切 deadline %s。開札用証明書 SHA-256: %s",
			t.Item, ja, en, t.Grade, t.Deadline.In(jst).Format("2006-01-02 15:04:05 MST"), t.Fingerprint)
		title := t.Title
		if r := t.Result; r != nil {
			// The entry is updated at the opening, with the result.
			up = r.OpenedAt.Format(time.RFC3339)
			summary += fmt.Sprintf("。開札 opened %s、予定価格 estimate %s、入札 %d 件 bids。", r.OpenedAt.In(jst).Format("2006-01-02 15:04:05 MST"),
				Yen(r.EstimateYen), len(r.Bids))
			if r.Awarded() {
				title = "【落札 awarded】" + title
				summary += fmt.Sprintf("落札者 winner: %s（法人番号 %s）%s", r.WinnerName, r.WinnerNumber, Yen(r.WinnerPriceYen))
				if r.Lot != nil {
					summary += fmt.Sprintf("（くじ by lot among %d）", len(r.Lot.Tied))
				}
			} else {
				title = "【不落 no award】" + title
				summary += "予定価格以下の有効な入札はありませんでした (no valid bid within the estimate)。"
			}
		}
		if up > f.Updated {
			f.Updated = up
		}
		f.Entries = append(f.Entries, atomEntry{ID: "urn:mynaplat:bodies:" + b.ID + ":tender:" + t.ID, Title: title,
			Updated: up, Link: atomLink{Href: self + "/" + t.ID}, Summary: summary})
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", " ")
	if err := enc.Encode(f); err != nil {
		p.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	w.Write(buf.Bytes())
}

var jst = time.FixedZone("JST", 9*60*60)

// fieldOption is a field in the form's list.
type fieldOption struct {
	Value  procure.Field
	JA, EN string
}

type officeView struct {
	Body     Body
	Staff    *staff.Session
	Enrolled bool
	Officers []Officer
	Tenders  []TenderView
	Fields   []fieldOption
	Grades   []procure.Grade
	Min      int
}

// StaffStrip is the strip the site's layout shows on every office page.
func (v officeView) StaffStrip() *web.StaffStrip {
	return v.Staff.Strip(OfficeHome(v.Body.ID) + "logout")
}

func (p *Pages) office(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	ctx := r.Context()
	b, err := p.s.Body(r.PathValue("body"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v := officeView{Body: b, Staff: st, Grades: grades(), Min: MinPassphrase}
	for _, f := range procure.Fields() {
		ja, en := f.Names()
		v.Fields = append(v.Fields, fieldOption{Value: f, JA: ja, EN: en})
	}
	if v.Enrolled, err = p.s.Enrolled(ctx, b.ID, st.Grant.PlatformID); err != nil {
		p.fail(w, r, err)
		return
	}
	if v.Officers, err = p.s.Officers(ctx, b.ID); err != nil {
		p.fail(w, r, err)
		return
	}
	ts, err := p.s.Tenders(ctx, b.ID)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v.Tenders = p.views(ts)
	p.pages.Render(w, r, http.StatusOK, "office", v)
}

func (p *Pages) enroll(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	body := r.PathValue("body")
	// The passphrase is read from the form and used; it is not logged,
	// not kept, and not put back into the page.
	pass, confirm := []byte(r.PostFormValue("passphrase")), []byte(r.PostFormValue("confirm"))
	err := p.s.Enroll(r.Context(), body, st.Grant.PlatformID, st.Grant.Name, pass, confirm)
	clear(pass)
	clear(confirm)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.site.Done(w, r, web.Flash{Kind: "ok", JA: "開札用パスフレーズを設定しました。開札のときに入力します。忘れないでください。",
		EN: "Your opening passphrase is set. You will type it at the opening: do not forget it."}, OfficeHome(body))
}

func (p *Pages) publish(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	body := r.PathValue("body")
	if err := r.ParseForm(); err != nil {
		p.fail(w, r, refuse(ReasonBadTender, "form"))
		return
	}
	f := r.PostForm
	est, err1 := strconv.ParseInt(strings.ReplaceAll(f.Get("estimate"), ",", ""), 10, 64)
	k, err2 := strconv.Atoi(f.Get("k"))
	deadline, err3 := time.ParseInLocation("2006-01-02T15:04", f.Get("deadline"), jst)
	if err1 != nil || err2 != nil || err3 != nil {
		p.fail(w, r, p.s.refused(r.Context(), body, st.Actor(), "publish", "", refuse(ReasonBadTender, "estimate, k or deadline")))
		return
	}
	t, err := p.s.Publish(r.Context(), body, st.Grant.PlatformID, TenderRequest{Title: f.Get("title"), Item: f.Get("item"),
		Field: procure.Field(f.Get("field")), Grade: procure.Grade(f.Get("grade")), EstimateYen: est, Deadline: deadline,
		Officers: f["officer"], K: k})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.site.Done(w, r, web.Flash{Kind: "ok", JA: "案件を公告しました。予定価格は開札用証明書あてに封印され、平文は残っていません。",
		EN: "The tender is published. The estimate is sealed to the opening certificate; no plain copy is kept."},
		OfficeHome(body)+"tenders/"+t.ID)
}

type officeTenderView struct {
	Body    Body
	Staff   *staff.Session
	Tender  TenderView
	Bids    []*Bid
	Bidders map[string]Bidder
	// Openable: the deadline has passed and the tender is not opened;
	// Waiting are the names of the officers whose shares wait (in memory).
	Openable bool
	Waiting  []string
	// Contract is the tender's contract once prepared; Contracts says
	// whether this deployment prepares contracts.
	Contract  *Contract
	Contracts bool
}

// waitingNames are the names of the officers whose shares wait.
func (p *Pages) waitingNames(ctx context.Context, body, tender string) ([]string, error) {
	ids := p.s.Waiting(body, tender)
	if len(ids) == 0 {
		return nil, nil
	}
	officers, err := p.s.Officers(ctx, body)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, o := range officers {
		names[o.ID] = o.Name
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = cmp.Or(names[id], id)
	}
	return out, nil
}

// StaffStrip is the strip the site's layout shows.
func (v officeTenderView) StaffStrip() *web.StaffStrip {
	return v.Staff.Strip(OfficeHome(v.Body.ID) + "logout")
}

func (p *Pages) officeTender(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	b, err := p.s.Body(r.PathValue("body"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	t, err := p.s.Tender(r.Context(), b.ID, r.PathValue("tender"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	bids, err := p.s.Bids(r.Context(), b.ID, t.ID, st.Actor())
	if err != nil {
		p.fail(w, r, err)
		return
	}
	corps := make([]string, len(bids))
	for i, b := range bids {
		corps[i] = b.CorporateNumber
	}
	waiting, err := p.waitingNames(r.Context(), b.ID, t.ID)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	ctr, err := p.s.ContractOf(r.Context(), b.ID, t.ID)
	if errors.Is(err, ErrNotFound) {
		ctr, err = nil, nil
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.pages.Render(w, r, http.StatusOK, "office_tender", officeTenderView{Body: b, Staff: st, Tender: p.views([]*Tender{t})[0], Bids: bids,
		Bidders: p.s.Bidders(r.Context(), t.Field, corps), Openable: t.Result == nil && !p.s.clock().Before(t.Deadline),
		Waiting: waiting, Contract: ctr, Contracts: p.s.contract != nil})
}

// open is an opening officer's part of the ceremony (Service.Present).
func (p *Pages) open(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	body, tender := r.PathValue("body"), r.PathValue("tender")
	// The passphrase is read from the form and used; it is not logged,
	// not kept, and not put back into the page.
	pass := []byte(r.PostFormValue("passphrase"))
	pr, err := p.s.Present(r.Context(), body, tender, st.Grant.PlatformID, pass)
	clear(pass)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	back := OfficeHome(body) + "tenders/" + tender
	if pr.Result == nil {
		left := pr.Need - len(pr.Officers)
		p.site.Done(w, r, web.Flash{Kind: "ok",
			JA: fmt.Sprintf("あなたの分を受け付けました。あと %d 人の開札担当官が %s までに入力すると開札します（それまで鍵はメモリ上にだけあります）。", left, pr.Until.In(jst).Format("15:04")),
			EN: fmt.Sprintf("Your share is in. The opening happens when %d more opening officer(s) enter theirs before %s (until then it is held in memory only).", left, pr.Until.In(jst).Format("15:04"))},
			back)
		return
	}
	p.site.Done(w, r, web.Flash{Kind: "ok", JA: "開札しました。結果は案件の公開ページに載っています。",
		EN: "The tender is opened. The result is on its public page."}, back)
}
