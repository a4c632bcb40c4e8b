package eligibility

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/wareki"
	"github.com/mynaplat/mynaplat/web"
)

// This file is the insurer's back office under /insurer/{insurer}/: the
// insurer's clerks sign in with their own card at a staff terminal
// (package staff: a grant for office insurer:{insurer}, role insurer
// clerk, checked again on every request). They search their insurer's
// records, open one (all its fields, and whether it is linked to a
// platform ID — never the ID), add a coverage, end one, record a job
// change, and decide the links waiting for a clerk, comparing the record's
// five attributes with the ones the link saw in the person's JPKI record.
// Every access row and every decision names the clerk: platform ID, name,
// office, role and staff number (staff.Session.Actor). Every form posts
// and redirects back with a flash (POST-redirect-GET); a refused one
// renders the form again with the values and a message next to each
// field, in Japanese and English.
//
//	GET  /insurer/{insurer}/                    search and list the records (or to the sign-in)
//	GET  /insurer/{insurer}/signin              the sign-in: to the staff terminal
//	POST /insurer/{insurer}/login               the staff terminal's card login
//	POST /insurer/{insurer}/logout              sign out
//	GET  /insurer/{insurer}/new                 the add form
//	POST /insurer/{insurer}/new                 add a coverage
//	GET  /insurer/{insurer}/records/{id}        one record, with the end and job change forms
//	POST /insurer/{insurer}/records/{id}/end    end the coverage (資格喪失日)
//	POST /insurer/{insurer}/records/{id}/change-job  end it and start the next coverage
//	GET  /insurer/{insurer}/queue               the clerk queue
//	POST /insurer/{insurer}/queue/{id}/decide   decision=approve|reject

// officeQueueLimit is the most queue items the queue page shows at once.
const officeQueueLimit = 50

// OfficePages serves the insurer back office.
type OfficePages struct {
	s      *Service
	site   *web.Site
	pages  *web.Pages
	logger *slog.Logger
	gate   *staff.Gate
}

// OfficePages parses the back office's templates. Mount Routes on the mux
// that site.Protect wraps: the forms rely on its CSRF protection.
func (s *Service) OfficePages(site *web.Site) (*OfficePages, error) {
	pages, err := site.Parse(templates, "templates/office/*.html")
	if err != nil {
		return nil, fmt.Errorf("eligibility: office pages: %w", err)
	}
	return &OfficePages{s: s, site: site, pages: pages, logger: s.logger}, nil
}

// InsurerOffice is the staff directory's ID of an insurer's back office.
func InsurerOffice(number string) string { return "insurer:" + number }

// InsurerHome is the first page of an insurer's back office.
func InsurerHome(number string) string { return "/insurer/" + number + "/" }

// StaffOffice is the back offices as their gate knows them: the office
// of a path is insurer:{insurer}, for a insurer the service knows. Make the
// gate with staff.NewOfficeGate and pass it to SetStaff.
func (p *OfficePages) StaffOffice() staff.Office {
	return staff.Office{Kind: "insurer", PathValue: "insurer", Home: InsurerHome,
		Name: func(ctx context.Context, id string) (string, error) {
			if !insurerNumber.MatchString(id) {
				return "", fmt.Errorf("%w: insurer %q", ErrNotFound, id)
			}
			return p.s.InsurerName(ctx, id)
		}}
}

// SetStaff gives the back office its gate (made of StaffOffice). Without one the back office is not served at all: there
// is no other way in. Call it before Routes.
func (p *OfficePages) SetStaff(g *staff.Gate) { p.gate = g }

// Routes registers the back office's pages.
func (p *OfficePages) Routes(mux *http.ServeMux) {
	if p.gate == nil {
		return
	}
	mux.HandleFunc("GET /insurer/{insurer}/{$}", p.staffOnly(p.list))
	p.gate.Mount(mux, "/insurer/{insurer}/")
	mux.HandleFunc("GET /insurer/{insurer}/new", p.staffOnly(p.newForm))
	mux.HandleFunc("POST /insurer/{insurer}/new", p.staffOnly(p.add))
	mux.HandleFunc("GET /insurer/{insurer}/records/{id}", p.staffOnly(p.record))
	mux.HandleFunc("POST /insurer/{insurer}/records/{id}/end", p.staffOnly(p.end))
	mux.HandleFunc("POST /insurer/{insurer}/records/{id}/change-job", p.staffOnly(p.changeJob))
	mux.HandleFunc("GET /insurer/{insurer}/queue", p.staffOnly(p.queue))
	mux.HandleFunc("POST /insurer/{insurer}/queue/{id}/decide", p.staffOnly(p.decide))
}

// demoInsurer is the insurer whose back office the home page links to:
// the demo's insurer clerk works there.
const demoInsurer = "06230012"

// Links are the home page entries of the back office.
func (p *OfficePages) Links() []web.Link {
	return []web.Link{
		{Section: "保険者 / Insurers", TitleJA: "保険者の事務（被保険者の資格）", TitleEN: "Insurer back office (coverage)",
			DescJA: "被保険者の記録の検索・資格の追加・喪失・転職の記録", DescEN: "Search insured records; add, end and move coverage",
			Path: InsurerHome(demoInsurer)},
		{Section: "保険者 / Insurers", TitleJA: "紐付けの確認待ち", TitleEN: "Links waiting for a clerk",
			DescJA: "5情報が一致しなかった紐付けを、保険者の記録と本人のJPKI情報を並べて判断します", DescEN: "Decide links whose five attributes did not all agree, record and JPKI data side by side",
			Path: InsurerHome(demoInsurer) + "queue"},
	}
}

// msgText is a text in both languages.
type msgText struct{ JA, EN string }

// officeErrors are a form's problems by field name.
type officeErrors map[string]*msgText

// officeChrome is what every signed-in page shows: the insurer and, in the
// staff strip, who is signed in.
type officeChrome struct {
	Insurer, InsurerName string
	Staff                *staff.Session
}

// Home is the back office's first page; every link of its pages starts
// there.
func (c officeChrome) Home() string { return InsurerHome(c.Insurer) }

// StaffStrip is the strip the site's layout shows on every office page.
func (c officeChrome) StaffStrip() *web.StaffStrip { return c.Staff.Strip(c.Home() + "logout") }

// staffOnly runs h for an insurer clerk signed in at the path's insurer
// (the gate checks the grant on every request); anyone else gets the
// sign-in page.
func (p *OfficePages) staffOnly(h func(http.ResponseWriter, *http.Request, *web.Session, officeChrome)) http.HandlerFunc {
	return p.gate.Only(func(w http.ResponseWriter, r *http.Request, st *staff.Session) {
		ss, err := p.site.Session(w, r)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		h(w, r, ss, officeChrome{Insurer: r.PathValue("insurer"), InsurerName: st.OfficeName, Staff: st})
	})
}

// staff is the clerk as the service records them: the actor of every
// access row and the clerk of every decision.
func (c officeChrome) staff() Staff { return Staff{Insurer: c.Insurer, Name: c.Staff.Actor()} }

func (p *OfficePages) save(r *http.Request, ss *web.Session) {
	if err := ss.Save(r.Context()); err != nil {
		p.logger.ErrorContext(r.Context(), "office: save session", "err", err)
	}
}

// fail renders the error page for an error of the service.
func (p *OfficePages) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrOtherInsurer):
		p.site.Error(w, r, web.Problem{Status: http.StatusNotFound,
			TitleJA: "記録が見つかりません", TitleEN: "No such record",
			WhatJA: "この保険者の記録にはありません。", WhatEN: "Your insurer has no such record.",
			DoJA: "一覧に戻って検索してください。", DoEN: "Go back to the list and search."})
	case errors.Is(err, ErrInvalid):
		p.site.Error(w, r, web.Problem{Status: http.StatusBadRequest})
	default:
		p.logger.ErrorContext(r.Context(), "office", "path", r.URL.Path, "err", err)
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
	}
}

// The list.

type officeListPage struct {
	officeChrome
	Query   RecordQuery
	Records []OfficeRecord
	More    bool
	Problem *msgText
}

// Prev and Next are the neighbouring page numbers.
func (pg *officeListPage) Prev() int { return pg.Query.Page - 1 }

// Next is the next page's number.
func (pg *officeListPage) Next() int { return pg.Query.Page + 1 }

// PageURL is the list's URL for another page of the same search.
func (pg *officeListPage) PageURL(page int) string {
	v := url.Values{}
	for k, s := range map[string]string{"symbol": pg.Query.Symbol, "number": pg.Query.Number, "kana": pg.Query.Kana} {
		if s != "" {
			v.Set(k, s)
		}
	}
	v.Set("page", strconv.Itoa(page))
	return pg.Home() + "?" + v.Encode()
}

func (p *OfficePages) list(w http.ResponseWriter, r *http.Request, ss *web.Session, c officeChrome) {
	q := r.URL.Query()
	pg := &officeListPage{officeChrome: c, Query: RecordQuery{Symbol: q.Get("symbol"), Number: q.Get("number"), Kana: q.Get("kana")}}
	pg.Query.Page, _ = strconv.Atoi(q.Get("page"))
	if pg.Query.Page < 1 {
		pg.Query.Page = 1
	}
	recs, more, err := p.s.SearchRecords(r.Context(), c.staff(), pg.Query)
	if errors.Is(err, ErrInvalid) {
		pg.Problem = &msgText{"検索条件が長すぎます（記号・番号は20文字、カナは50文字まで）。", "The search terms are too long (symbol and number 20, kana 50 characters)."}
		p.pages.Render(w, r, http.StatusUnprocessableEntity, "list", pg)
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	pg.Records, pg.More = recs, more
	p.pages.Render(w, r, http.StatusOK, "list", pg)
}

// The coverage form (add, and the next coverage of a job change).

// coverageValues are a coverage form's values as typed.
type coverageValues struct {
	Insurer, Symbol, Number, Branch, Relation string
	Name, Kana, Birth, Sex, Address           string
	Copay, Elderly, Limit, Disease            string
	Acquired, Lost                            string
}

func coverageFrom(r *http.Request) coverageValues {
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	return coverageValues{Insurer: f("insurer"), Symbol: f("symbol"), Number: f("number"), Branch: f("branch"), Relation: f("relation"),
		Name: f("name"), Kana: f("kana"), Birth: f("birth"), Sex: f("sex"), Address: f("address"),
		Copay: f("copay"), Elderly: f("elderly"), Limit: f("limit"), Disease: f("disease"),
		Acquired: f("acquired"), Lost: f("lost")}
}

// valuesOf fills a form from a record (the job change form starts with the
// person's current data).
func valuesOf(in *Insured) coverageValues {
	v := coverageValues{Insurer: in.Insurer, Symbol: in.Symbol, Number: in.Number, Branch: in.Branch, Relation: in.Relation,
		Name: in.Name, Kana: in.Kana, Birth: civil(in.BirthDate), Sex: strconv.Itoa(in.Sex), Address: in.Address,
		Copay: strconv.Itoa(in.CopayPercent), Limit: in.LimitCategory, Disease: in.SpecificDisease}
	if in.ElderlyPercent > 0 {
		v.Elderly = strconv.Itoa(in.ElderlyPercent)
	}
	return v
}

// officeDate reads a civil date typed as 2026-04-01 or 2026/4/1, in
// full-width digits too.
func officeDate(s string) (time.Time, bool) {
	s = strings.ReplaceAll(norm.NFKC.String(strings.TrimSpace(s)), "/", "-")
	parts := strings.Split(s, "-")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return time.Time{}, false
		}
		n[i] = v
	}
	t, err := parseCivil(fmt.Sprintf("%04d-%02d-%02d", n[0], n[1], n[2]))
	return t, err == nil
}

// errDate is the message of a date that cannot be read.
func errDate() *msgText {
	return &msgText{"日付を 2026-04-01 の形（西暦）で入力してください。", "Enter the date as 2026-04-01."}
}

// errNeeded is the message of a required field left empty.
func errNeeded(ja, en string) *msgText {
	return &msgText{ja + "を入力してください。", "Enter the " + en + "."}
}

// check validates the values field by field and builds the record. It
// checks what Insured.validate checks, and more (dates in the future), so
// that each message stands next to its field; validate stays the last word.
func (v coverageValues) check(today time.Time, withLost bool) (Insured, officeErrors) {
	e := officeErrors{}
	in := Insured{Insurer: v.Insurer, Symbol: norm.NFKC.String(v.Symbol), Number: norm.NFKC.String(v.Number), Branch: norm.NFKC.String(v.Branch),
		Relation: v.Relation, Person: Person{Name: v.Name, Kana: v.Kana, Address: v.Address},
		LimitCategory: v.Limit, SpecificDisease: v.Disease}
	if !insurerNumber.MatchString(v.Insurer) {
		e["insurer"] = &msgText{"保険者番号は数字6桁または8桁です。", "The insurer number is 6 or 8 digits."}
	}
	if utf8.RuneCountInString(in.Symbol) > 20 {
		e["symbol"] = &msgText{"記号は20文字までです。", "The symbol is at most 20 characters."}
	}
	switch {
	case in.Symbol == "" && in.Number == "":
		e["number"] = &msgText{"記号か番号の少なくとも一方を入力してください。", "Enter the symbol or the number (at least one)."}
	case utf8.RuneCountInString(in.Number) > 20:
		e["number"] = &msgText{"番号は20文字までです。", "The number is at most 20 characters."}
	}
	if !branchPattern.MatchString(in.Branch) {
		e["branch"] = &msgText{"枝番は数字2桁です（例 00）。", "The branch number is 2 digits (e.g. 00)."}
	}
	if in.Relation != "self" && in.Relation != "family" {
		e["relation"] = &msgText{"本人か家族かを選んでください。", "Choose insured person or family member."}
	}
	if in.Name == "" || utf8.RuneCountInString(in.Name) > 100 {
		e["name"] = errNeeded("氏名（100文字まで）", "name (at most 100 characters)")
	}
	if in.Kana == "" || utf8.RuneCountInString(in.Kana) > 100 {
		e["kana"] = errNeeded("フリガナ（100文字まで）", "name in katakana (at most 100 characters)")
	}
	if b, ok := officeDate(v.Birth); !ok {
		e["birth"] = errDate()
	} else if b.After(today) {
		e["birth"] = &msgText{"生年月日が未来の日付です。", "The date of birth is in the future."}
	} else {
		in.BirthDate = b
	}
	switch v.Sex {
	case "1", "2", "3":
		in.Sex = int(v.Sex[0] - '0')
	default:
		e["sex"] = &msgText{"性別を選んでください。", "Choose the sex."}
	}
	if in.Address == "" || utf8.RuneCountInString(in.Address) > 200 {
		e["address"] = errNeeded("住所（200文字まで）", "address (at most 200 characters)")
	}
	switch v.Copay {
	case "10", "20", "30":
		in.CopayPercent, _ = strconv.Atoi(v.Copay)
	default:
		e["copay"] = &msgText{"負担割合を1割・2割・3割から選んでください。", "Choose a copayment of 10, 20 or 30%."}
	}
	switch v.Elderly {
	case "":
	case "10", "20", "30":
		in.ElderlyPercent, _ = strconv.Atoi(v.Elderly)
	default:
		e["elderly"] = &msgText{"高齢受給者の負担割合を選んでください。", "Choose the elderly copayment."}
	}
	if utf8.RuneCountInString(in.LimitCategory) > 20 {
		e["limit"] = &msgText{"限度額適用区分は20文字までです。", "The limit category is at most 20 characters."}
	}
	if utf8.RuneCountInString(in.SpecificDisease) > 60 {
		e["disease"] = &msgText{"特定疾病は60文字までです。", "The specified disease is at most 60 characters."}
	}
	if a, ok := officeDate(v.Acquired); ok {
		in.AcquiredOn = a
	} else {
		e["acquired"] = errDate()
	}
	if withLost && v.Lost != "" {
		l, ok := officeDate(v.Lost)
		switch {
		case !ok:
			e["lost"] = errDate()
		case !in.AcquiredOn.IsZero() && !l.After(in.AcquiredOn):
			e["lost"] = &msgText{"資格喪失日は資格取得日より後の日付にしてください。", "The end date must be after the start date."}
		default:
			in.LostOn = l
		}
	}
	return in, e
}

// officeField is one field of a form, laid out by the page template.
type officeField struct {
	Name, Type       string // text, select, radio
	LabelJA, LabelEN string
	HintJA, HintEN   string
	Value            string
	Required, Wide   bool
	ReadOnly         bool
	Err              *msgText
	Options          []officeOption
	MaxLength        int
}

type officeOption struct{ Value, JA, EN string }

// officeForm is a laid-out coverage form; Prefix keeps its element ids
// apart from other forms'.
type officeForm struct {
	Prefix string
	Fields []officeField
}

// coverageFields lays out the coverage form. insurerFixed shows the insurer
// number read-only (a new coverage is the staff's own insurer's).
func coverageFields(v coverageValues, e officeErrors, insurerFixed, withLost bool) []officeField {
	dateHint := [2]string{"西暦 例 2026-04-01", "e.g. 2026-04-01"}
	fs := []officeField{
		{Name: "insurer", Type: "text", LabelJA: "保険者番号", LabelEN: "Insurer number", HintJA: "数字6桁（国保）または8桁", HintEN: "6 digits (NHI) or 8",
			Value: v.Insurer, Required: true, ReadOnly: insurerFixed, Err: e["insurer"], MaxLength: 8},
		{Name: "symbol", Type: "text", LabelJA: "記号", LabelEN: "Symbol", Value: v.Symbol, Err: e["symbol"], MaxLength: 20},
		{Name: "number", Type: "text", LabelJA: "番号", LabelEN: "Number", Value: v.Number, Required: true, Err: e["number"], MaxLength: 20},
		{Name: "branch", Type: "text", LabelJA: "枝番", LabelEN: "Branch", HintJA: "数字2桁", HintEN: "2 digits", Value: v.Branch, Required: true, Err: e["branch"], MaxLength: 2},
		{Name: "relation", Type: "radio", LabelJA: "本人・家族", LabelEN: "Relation", Value: v.Relation, Required: true, Err: e["relation"],
			Options: []officeOption{{"self", "本人", "insured person"}, {"family", "家族", "family member"}}},
		{Name: "name", Type: "text", LabelJA: "氏名", LabelEN: "Name (kanji)", HintJA: "住民票のとおり", HintEN: "as on the resident record", Value: v.Name, Required: true, Err: e["name"], MaxLength: 100},
		{Name: "kana", Type: "text", LabelJA: "フリガナ", LabelEN: "Name in katakana", Value: v.Kana, Required: true, Err: e["kana"], MaxLength: 100},
		{Name: "birth", Type: "text", LabelJA: "生年月日", LabelEN: "Date of birth", HintJA: dateHint[0], HintEN: dateHint[1], Value: v.Birth, Required: true, Err: e["birth"], MaxLength: 10},
		{Name: "sex", Type: "radio", LabelJA: "性別", LabelEN: "Sex", Value: v.Sex, Required: true, Err: e["sex"],
			Options: []officeOption{{"1", "男", "male"}, {"2", "女", "female"}, {"3", "不明", "unknown"}}},
		{Name: "address", Type: "text", LabelJA: "住所", LabelEN: "Address", HintJA: "住民票のとおり、都道府県から", HintEN: "as on the resident record, from the prefecture on",
			Value: v.Address, Required: true, Wide: true, Err: e["address"], MaxLength: 200},
		{Name: "copay", Type: "select", LabelJA: "負担割合", LabelEN: "Copayment", Value: v.Copay, Required: true, Err: e["copay"],
			Options: []officeOption{{"", "選んでください", "Choose"}, {"10", "1割", "10%"}, {"20", "2割", "20%"}, {"30", "3割", "30%"}}},
		{Name: "elderly", Type: "select", LabelJA: "高齢受給者証の負担割合", LabelEN: "Elderly recipient copayment", Value: v.Elderly, Err: e["elderly"],
			Options: []officeOption{{"", "なし", "none"}, {"10", "1割", "10%"}, {"20", "2割", "20%"}, {"30", "3割", "30%"}}},
		{Name: "limit", Type: "text", LabelJA: "限度額適用区分", LabelEN: "Limit category", HintJA: "なければ空欄。例 区分ウ", HintEN: "blank if none, e.g. 区分ウ", Value: v.Limit, Err: e["limit"], MaxLength: 20},
		{Name: "disease", Type: "text", LabelJA: "特定疾病", LabelEN: "Specified disease", HintJA: "なければ空欄", HintEN: "blank if none", Value: v.Disease, Err: e["disease"], MaxLength: 60},
		{Name: "acquired", Type: "text", LabelJA: "資格取得日", LabelEN: "Coverage start", HintJA: dateHint[0], HintEN: dateHint[1], Value: v.Acquired, Required: true, Err: e["acquired"], MaxLength: 10},
	}
	if withLost {
		fs = append(fs, officeField{Name: "lost", Type: "text", LabelJA: "資格喪失日", LabelEN: "Coverage end", HintJA: "続いていれば空欄。最後の日の翌日", HintEN: "blank while covered; the day after the last covered day",
			Value: v.Lost, Err: e["lost"], MaxLength: 10})
	}
	return fs
}

// errorList is the messages of a form, for the summary above it.
func errorList(e officeErrors, fields []officeField) []msgText {
	var out []msgText
	for _, f := range fields {
		if m := e[f.Name]; m != nil {
			out = append(out, msgText{f.LabelJA + "：" + m.JA, f.LabelEN + ": " + m.EN})
		}
	}
	return out
}

// today is the civil date of the service's clock.
func (p *OfficePages) today() time.Time {
	t, _ := parseCivil(civil(p.s.now()))
	return t
}

type officeNewPage struct {
	officeChrome
	Form    officeForm
	Summary []msgText
	Problem *msgText
}

func (p *OfficePages) newForm(w http.ResponseWriter, r *http.Request, ss *web.Session, c officeChrome) {
	v := coverageValues{Insurer: c.Insurer, Branch: "00", Relation: "self"}
	p.pages.Render(w, r, http.StatusOK, "new", &officeNewPage{officeChrome: c, Form: officeForm{"n", coverageFields(v, nil, true, true)}})
}

func (p *OfficePages) add(w http.ResponseWriter, r *http.Request, ss *web.Session, c officeChrome) {
	v := coverageFrom(r)
	v.Insurer = c.Insurer // a coverage is added under the staff's own insurer only
	in, e := v.check(p.today(), true)
	var added *Insured
	var problem *msgText
	if len(e) == 0 {
		var err error
		added, err = p.s.AddInsured(r.Context(), in)
		switch {
		case errors.Is(err, ErrInvalid):
			problem = p.invalid(err)
		case err != nil:
			p.fail(w, r, err)
			return
		}
	}
	if len(e) > 0 || problem != nil {
		fields := coverageFields(v, e, true, true)
		p.pages.Render(w, r, http.StatusUnprocessableEntity, "new",
			&officeNewPage{officeChrome: c, Form: officeForm{"n", fields}, Summary: errorList(e, fields), Problem: problem})
		return
	}
	p.logChange(r.Context(), c, ActionAddInsured, added.ID)
	ss.SetFlash(web.Flash{Kind: "ok", JA: "資格を登録しました。", EN: "The coverage was recorded."})
	p.save(r, ss)
	http.Redirect(w, r, c.Home()+"records/"+added.ID, http.StatusSeeOther)
}

// invalid is the message of an ErrInvalid the field checks did not catch:
// the same coverage (insurer, symbol, number, branch, start) already
// recorded, in practice.
func (p *OfficePages) invalid(err error) *msgText {
	if strings.Contains(err.Error(), "already recorded") {
		return &msgText{"同じ保険者番号・記号・番号・枝番・資格取得日の資格がすでに登録されています。何も登録していません。",
			"A coverage with the same insurer, symbol, number, branch and start date is already recorded. Nothing was recorded."}
	}
	return &msgText{"入力内容を受け付けられませんでした。何も登録していません：" + err.Error(),
		"The entry was not accepted. Nothing was recorded: " + err.Error()}
}

// logChange records a change; the change is made, so a failure to log is an
// operator's problem, not the visitor's.
func (p *OfficePages) logChange(ctx context.Context, c officeChrome, action, subject string) {
	if err := p.s.LogAccess(ctx, c.staff(), action, subject); err != nil {
		p.logger.ErrorContext(ctx, "office: access log of a change", "action", action, "subject", subject, "err", err)
	}
}

// The record page.

type officeRecordPage struct {
	officeChrome
	Record    *OfficeRecord
	Lost      string
	EndErr    *msgText
	Form      officeForm // the job change's
	JobErrors []msgText
	Problem   *msgText
	Open      string // the form to show opened: end or job
}

func (p *OfficePages) recordPage(w http.ResponseWriter, r *http.Request, c officeChrome, status int, pg *officeRecordPage) {
	rec, err := p.s.ViewRecord(r.Context(), c.staff(), r.PathValue("id"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	pg.officeChrome, pg.Record = c, rec
	if pg.Form.Fields == nil {
		v := valuesOf(&rec.Insured)
		v.Insurer, v.Symbol, v.Number, v.Branch = "", "", "", "00"
		pg.Form = officeForm{"j", coverageFields(v, nil, false, false)}
	}
	p.pages.Render(w, r, status, "record", pg)
}

// SexName is a sex code in words.
func (*officeRecordPage) SexName(sex int, lang string) string { return sexName(sex, lang) }

// Ratio is a copayment percentage as 3割（30%）.
func (*officeRecordPage) Ratio(percent int) string {
	return fmt.Sprintf("%d割（%d%%）", percent/10, percent)
}

func (p *OfficePages) record(w http.ResponseWriter, r *http.Request, ss *web.Session, c officeChrome) {
	p.recordPage(w, r, c, http.StatusOK, &officeRecordPage{})
}

func (p *OfficePages) end(w http.ResponseWriter, r *http.Request, ss *web.Session, c officeChrome) {
	id := r.PathValue("id")
	rec, err := p.s.recordOf(r.Context(), c.Insurer, id)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	pg := &officeRecordPage{Lost: strings.TrimSpace(r.PostFormValue("lost")), Open: "end"}
	lost, ok := officeDate(pg.Lost)
	switch {
	case !ok:
		pg.EndErr = errDate()
	case !rec.LostOn.IsZero():
		pg.EndErr = &msgText{"この資格はすでに喪失しています。", "This coverage has already ended."}
	case !lost.After(rec.AcquiredOn):
		pg.EndErr = &msgText{"資格喪失日は資格取得日より後の日付にしてください。", "The end date must be after the start date."}
	}
	if pg.EndErr == nil {
		err := p.s.EndCoverage(r.Context(), id, lost)
		switch {
		case errors.Is(err, ErrNotFound):
			pg.EndErr = &msgText{"この資格はすでに喪失しています。", "This coverage has already ended."}
		case err != nil:
			p.fail(w, r, err)
			return
		}
	}
	if pg.EndErr != nil {
		p.recordPage(w, r, c, http.StatusUnprocessableEntity, pg)
		return
	}
	p.logChange(r.Context(), c, ActionEndCoverage, id)
	ss.SetFlash(web.Flash{Kind: "ok", JA: "資格喪失日を記録しました。", EN: "The end of coverage was recorded."})
	p.save(r, ss)
	http.Redirect(w, r, c.Home()+"records/"+id, http.StatusSeeOther)
}

func (p *OfficePages) changeJob(w http.ResponseWriter, r *http.Request, ss *web.Session, c officeChrome) {
	id := r.PathValue("id")
	rec, err := p.s.recordOf(r.Context(), c.Insurer, id)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v := coverageFrom(r)
	next, e := v.check(p.today(), false)
	if e["insurer"] == nil {
		// The next coverage may be another insurer's, but one that exists.
		if _, err := p.s.InsurerName(r.Context(), next.Insurer); errors.Is(err, ErrNotFound) {
			e["insurer"] = &msgText{"この保険者番号は登録されていません。", "No insurer has this number."}
		} else if err != nil {
			p.fail(w, r, err)
			return
		}
	}
	switch {
	case !rec.LostOn.IsZero():
		e["acquired"] = &msgText{"この資格はすでに喪失しています。転職は続いている資格から記録します。", "This coverage has already ended; a job change starts from a current one."}
	case e["acquired"] == nil && !next.AcquiredOn.After(rec.AcquiredOn):
		e["acquired"] = &msgText{"新しい資格の取得日は、今の資格の取得日より後の日付にしてください。", "The new coverage must start after the current one started."}
	}
	var problem *msgText
	var added *Insured
	if len(e) == 0 {
		added, err = p.s.ChangeJob(r.Context(), id, next)
		switch {
		case errors.Is(err, ErrNotFound):
			e["acquired"] = &msgText{"この資格はすでに喪失しています。", "This coverage has already ended."}
		case errors.Is(err, ErrInvalid):
			problem = p.invalid(err)
		case store.IsUniqueViolation(err):
			// ChangeJob's one transaction rolled back: the old coverage
			// still runs.
			problem = p.invalid(fmt.Errorf("%w: this coverage is already recorded", ErrInvalid))
		case err != nil:
			p.fail(w, r, err)
			return
		}
	}
	if len(e) > 0 || problem != nil {
		fields := coverageFields(v, e, false, false)
		p.recordPage(w, r, c, http.StatusUnprocessableEntity,
			&officeRecordPage{Form: officeForm{"j", fields}, JobErrors: errorList(e, fields), Problem: problem, Open: "job"})
		return
	}
	p.logChange(r.Context(), c, ActionChangeJob, id+" -> "+added.ID)
	ss.SetFlash(web.Flash{Kind: "ok",
		JA: fmt.Sprintf("転職を記録しました。この資格は %s に喪失し、新しい資格（保険者番号 %s）が始まります。", civil(next.AcquiredOn), next.Insurer),
		EN: fmt.Sprintf("The job change was recorded: this coverage ends on %s and the new one (insurer %s) starts.", civil(next.AcquiredOn), next.Insurer)})
	p.save(r, ss)
	if added.Insurer == c.Insurer {
		http.Redirect(w, r, c.Home()+"records/"+added.ID, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, c.Home()+"records/"+id, http.StatusSeeOther)
}

// The queue.

type officeQueuePage struct {
	officeChrome
	Items []QueueEntry
	Full  bool // as many as the page shows: there may be more
}

// officeAttr is one of the five attributes, for the side-by-side table.
type officeAttr struct {
	Key, JA, EN string
}

// Attrs are the five attributes in the order the queue page shows them.
func (officeQueuePage) Attrs() []officeAttr {
	return []officeAttr{{"name", "氏名", "Name"}, {"kana", "フリガナ", "Kana"}, {"birth_date", "生年月日", "Date of birth"},
		{"sex", "性別", "Sex"}, {"address", "住所", "Address"}}
}

// RecordAttr is attribute key of the insurer's record, as shown.
func (e QueueEntry) RecordAttr(key, lang string) string { return attrOf(&e.Record.Person, key, lang) }

// SeenAttr is attribute key of the JPKI snapshot, as shown.
func (e QueueEntry) SeenAttr(key, lang string) string { return attrOf(e.Seen, key, lang) }

// attrOf is the value of attribute key of a person, as shown.
func attrOf(p *Person, key, lang string) string {
	if p == nil {
		return ""
	}
	switch key {
	case "name":
		return p.Name
	case "kana":
		return p.Kana
	case "birth_date":
		if w, err := wareki.Long(p.BirthDate); err == nil {
			return civil(p.BirthDate) + "（" + w + "）"
		}
		return civil(p.BirthDate)
	case "sex":
		return sexName(p.Sex, lang)
	case "address":
		return p.Address
	}
	return ""
}

func sexName(sex int, lang string) string {
	names := map[int][2]string{1: {"男", "male"}, 2: {"女", "female"}, 3: {"不明", "unknown"}}
	n, ok := names[sex]
	if !ok {
		return strconv.Itoa(sex)
	}
	if lang == "en" {
		return n[1]
	}
	return n[0]
}

// Reason is a queue reason in words.
func (officeQueuePage) Reason(code, lang string) string {
	names := map[string][2]string{
		"name": {"氏名が違う", "name differs"}, "kana": {"フリガナが違う", "kana differs"},
		"birth_date": {"生年月日が違う", "birth date differs"}, "sex": {"性別が違う", "sex differs"},
		"address":                  {"住所が違う", "address differs"},
		"linked_to_another_person": {"5情報すべて一致する記録が、すでに別の人に紐付いている", "a record agreeing in all five is already linked to someone else"},
		"multiple_candidates":      {"期間の重なる複数の記録が5情報すべて一致（複数該当）", "several overlapping records agree in all five (multiple match)"},
	}
	n, ok := names[code]
	if !ok {
		return code
	}
	if lang == "en" {
		return n[1]
	}
	return n[0]
}

func (p *OfficePages) queue(w http.ResponseWriter, r *http.Request, ss *web.Session, c officeChrome) {
	items, err := p.s.ViewQueue(r.Context(), c.staff(), officeQueueLimit)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.pages.Render(w, r, http.StatusOK, "queue", &officeQueuePage{officeChrome: c, Items: items, Full: len(items) == officeQueueLimit})
}

func (p *OfficePages) decide(w http.ResponseWriter, r *http.Request, ss *web.Session, c officeChrome) {
	var approve bool
	switch r.PostFormValue("decision") {
	case "approve":
		approve = true
	case "reject":
	default:
		p.site.Error(w, r, web.Problem{Status: http.StatusBadRequest})
		return
	}
	err := p.s.DecideFor(r.Context(), c.Insurer, r.PathValue("id"), c.staff().Name, approve)
	switch {
	case err == nil && approve:
		ss.SetFlash(web.Flash{Kind: "ok", JA: "紐付けを承認しました。記録は本人に紐付きました。", EN: "Approved: the record is now linked to the person."})
	case err == nil:
		ss.SetFlash(web.Flash{Kind: "ok", JA: "紐付けを却下しました。記録は紐付いていません。", EN: "Rejected: the record is not linked."})
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrOtherInsurer):
		ss.SetFlash(web.Flash{Kind: "warn", JA: "この確認待ちは見つからないか、すでに判断済みです。何も変わっていません。", EN: "This item does not exist or was already decided. Nothing changed."})
	case errors.Is(err, ErrInvalid):
		ss.SetFlash(web.Flash{Kind: "error", JA: "この記録はすでに別の紐付けがあるため承認できません。何も変わっていません。", EN: "The record is already linked, so it cannot be approved. Nothing changed."})
	default:
		p.fail(w, r, err)
		return
	}
	p.save(r, ss)
	http.Redirect(w, r, c.Home()+"queue", http.StatusSeeOther)
}
