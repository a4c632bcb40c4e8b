package staff

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/web"
)

// The platform operator's pages for the grants, beside the directory in
// the platform role (issue 16): the operator signs in with their own card
// at the staff terminal (office platform-operator, role platform
// operator), lists the grants, grants a role and revokes a grant. They
// are the command line's staff grant|list|revoke as pages, through the
// same Directory methods; every list, grant and revocation leaves a row in
// staff_audit naming the operator (Session.Actor).
//
//	GET  /staff/operator/                    the grants (?office=…&state=…) and the grant form
//	GET  /staff/operator/signin              the sign-in: to the staff terminal
//	POST /staff/operator/login               the staff terminal's card login
//	POST /staff/operator/logout              sign out
//	POST /staff/operator/grants              grant a role (the form)
//	POST /staff/operator/grants/{id}/revoke  revoke a grant: the person's sessions end at their next request

// OperatorOffice is the office of the platform's operators, whose staff
// manage the grants.
const OperatorOffice = "platform-operator"

// operatorHome is the operator's first page.
const operatorHome = "/staff/operator/"

// operatorOfficeName is how the pages name the operator's office.
const operatorOfficeName = "共通プラットフォーム運営 / Platform operations"

// Operator is the platform operator's pages.
type Operator struct {
	dir    *Directory
	gate   *Gate
	site   *web.Site
	pages  *web.Pages
	now    func() time.Time
	logger *slog.Logger
}

// OperatorGate is the gate of the operator's pages: the one office
// platform-operator, whose grants are checked in this directory itself.
// cfg is what every office shares (the site, the platform's keys, the
// staff terminal).
func (d *Directory) OperatorGate(cfg GateConfig) (*Gate, error) {
	cfg.Directory = d
	if cfg.Now == nil {
		cfg.Now = d.now
	}
	if cfg.Logger == nil {
		cfg.Logger = d.logger
	}
	return NewOfficeGate(cfg, Office{ID: OperatorOffice, Home: func(string) string { return operatorHome },
		Name: func(context.Context, string) (string, error) { return operatorOfficeName, nil }})
}

// NewOperator parses the operator's pages; gate is OperatorGate's. Mount Routes on the mux that the site's Protect wraps.
func NewOperator(d *Directory, gate *Gate) (*Operator, error) {
	if d == nil || gate == nil {
		return nil, errors.New("staff: the operator's pages need the directory and a gate")
	}
	pages, err := gate.cfg.Site.Parse(templates, "templates/operator/*.html")
	if err != nil {
		return nil, fmt.Errorf("staff: operator pages: %w", err)
	}
	return &Operator{dir: d, gate: gate, site: gate.cfg.Site, pages: pages, now: gate.cfg.Now, logger: gate.cfg.Logger}, nil
}

// Routes registers the operator's pages.
func (o *Operator) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /staff/operator/{$}", o.gate.Only(o.list))
	o.gate.Mount(mux, operatorHome)
	mux.HandleFunc("POST /staff/operator/grants", o.gate.Only(o.grant))
	mux.HandleFunc("POST /staff/operator/grants/{id}/revoke", o.gate.Only(o.revoke))
}

// Links are the home page's entry.
func (o *Operator) Links() []web.Link {
	return []web.Link{{Section: "職員 / Staff", TitleJA: "職員の権限（共通プラットフォーム運営者）", TitleEN: "Staff grants (platform operator)",
		DescJA: "事務所ごとの職員の役割を登録・取消（運営者がカードでログイン）", DescEN: "Grant and revoke staff roles per office (the operator signs in with their card)",
		Path: operatorHome}}
}

// grantForm is the grant form as it was sent, with its refusal.
type grantForm struct {
	PlatformID, Name, Office, Role, Number, From, Until string
	// Err is the refused field's message.
	Err *FieldError
}

// FieldErr is the form's message for field, if it is the one refused.
func (f grantForm) FieldErr(field string) *FieldError {
	if f.Err != nil && f.Err.Field == field {
		return f.Err
	}
	return nil
}

type grantRow struct {
	Grant
	State GrantState
	// Own is the signed-in operator's own grant, which they cannot revoke
	// here.
	Own bool
}

type roleOption struct {
	Value  Role
	JA, EN string
}

type stateOption struct {
	Value  GrantState
	JA, EN string
}

type operatorPage struct {
	staff   *Session
	Grants  []grantRow
	Offices []string
	// Office and State are the list's filter ("" every one).
	Office string
	State  GrantState
	Roles  []roleOption
	States []stateOption
	Form   grantForm
	// Problem is a refusal that is not about one field.
	Problem *FieldError
}

// StaffStrip is the strip the site's layout shows.
func (p operatorPage) StaffStrip() *web.StaffStrip { return p.staff.Strip(operatorHome + "logout") }

// page is the grants the filter keeps, newest first, with every
// office that has one; it is audited as a read under the operator's name.
func (o *Operator) page(ctx context.Context, s *Session, office string, state GrantState) (operatorPage, error) {
	all, err := o.dir.List(ctx, "")
	if err != nil {
		return operatorPage{}, err
	}
	now := o.now()
	pg := operatorPage{staff: s, Office: office, State: state}
	for _, g := range all {
		if !slices.Contains(pg.Offices, g.Office) {
			pg.Offices = append(pg.Offices, g.Office)
		}
		st := g.State(now)
		if (office != "" && g.Office != office) || (state != "" && st != state) {
			continue
		}
		pg.Grants = append(pg.Grants, grantRow{Grant: g, State: st, Own: g.ID == s.Grant.ID})
	}
	slices.SortFunc(pg.Offices, func(a, b string) int { return cmp.Compare(a, b) })
	for _, r := range Roles {
		pg.Roles = append(pg.Roles, roleOption{r, r.JA(), r.EN()})
	}
	for _, st := range GrantStates {
		pg.States = append(pg.States, stateOption{st, st.JA(), st.EN()})
	}
	// The row names the operator, who read the grants (names and platform
	// IDs of staff).
	detail := fmt.Sprintf("office %q, state %q: %d grants", office, state, len(pg.Grants))
	if err := o.dir.audit(ctx, s.Grant, "list-grants", "OK", detail); err != nil {
		return operatorPage{}, err
	}
	return pg, nil
}

func (o *Operator) list(w http.ResponseWriter, r *http.Request, s *Session) {
	q := r.URL.Query()
	office, state := strings.TrimSpace(q.Get("office")), GrantState(q.Get("state"))
	if state != "" && !slices.Contains(GrantStates, state) {
		state = ""
	}
	pg, err := o.page(r.Context(), s, office, state)
	if err != nil {
		o.fail(w, r, err)
		return
	}
	o.pages.Render(w, r, http.StatusOK, "grants", pg)
}

func (o *Operator) grant(w http.ResponseWriter, r *http.Request, s *Session) {
	f := grantForm{PlatformID: r.PostFormValue("platform_id"), Name: r.PostFormValue("name"), Office: r.PostFormValue("office"),
		Role: r.PostFormValue("role"), Number: r.PostFormValue("number"), From: r.PostFormValue("from"), Until: r.PostFormValue("until")}
	g := Grant{PlatformID: f.PlatformID, Name: f.Name, Office: f.Office, Role: Role(f.Role), StaffNumber: f.Number}
	var err error
	if g.ValidFrom, err = ParseDay(f.From); err != nil {
		err = &FieldError{"from", "開始日は YYYY-MM-DD の形で入力してください。", "enter the first day as YYYY-MM-DD"}
	} else if g.ValidUntil, err = ParseDay(f.Until); err != nil {
		err = &FieldError{"until", "終了日は YYYY-MM-DD の形で入力してください。", "enter the end as YYYY-MM-DD"}
	} else {
		g, err = o.dir.AddBy(r.Context(), g, s.Actor())
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		pg, perr := o.page(r.Context(), s, "", "")
		if perr != nil {
			o.fail(w, r, perr)
			return
		}
		f.Err = fe
		pg.Form = f
		o.pages.Render(w, r, http.StatusBadRequest, "grants", pg)
		return
	}
	if err != nil {
		o.fail(w, r, err)
		return
	}
	o.logger.InfoContext(r.Context(), "staff: granted", "grant", g.ID, "office", g.Office, "role", g.Role, "by", s.Grant.PlatformID)
	o.done(w, r, web.Flash{Kind: "ok",
		JA: fmt.Sprintf("%s（%s）に %s の「%s」を与えました（記録済み）。", g.Name, g.StaffNumber, g.Office, g.Role.JA()),
		EN: fmt.Sprintf("Granted %s (%s) the role %s at %s (recorded).", g.Name, g.StaffNumber, g.Role.EN(), g.Office)})
}

// errOwnGrant is an operator revoking their own grant, which would lock
// them out in the middle of their work; another operator does it.
var errOwnGrant = &FieldError{"id", "自分の権限はここでは取り消せません。ほかの運営者に依頼してください。何も変更されていません。",
	"You cannot revoke your own grant here; ask another operator. Nothing was changed."}

func (o *Operator) revoke(w http.ResponseWriter, r *http.Request, s *Session) {
	id := r.PathValue("id")
	if id == s.Grant.ID {
		pg, err := o.page(r.Context(), s, "", "")
		if err != nil {
			o.fail(w, r, err)
			return
		}
		pg.Problem = errOwnGrant
		o.pages.Render(w, r, http.StatusConflict, "grants", pg)
		return
	}
	g, err := o.dir.RevokeBy(r.Context(), id, s.Actor())
	if err != nil {
		o.fail(w, r, err)
		return
	}
	o.logger.InfoContext(r.Context(), "staff: revoked", "grant", g.ID, "office", g.Office, "by", s.Grant.PlatformID)
	o.done(w, r, web.Flash{Kind: "ok",
		JA: fmt.Sprintf("%s（%s）の %s での権限を取り消しました。その職員のログインは次の操作で終わります（記録済み）。", g.Name, g.StaffNumber, g.Office),
		EN: fmt.Sprintf("Revoked the grant of %s (%s) at %s; their sessions end at their next request (recorded).", g.Name, g.StaffNumber, g.Office)})
}

// done shows f on the list after a change.
func (o *Operator) done(w http.ResponseWriter, r *http.Request, f web.Flash) {
	o.site.Done(w, r, f, operatorHome)
}

func (o *Operator) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrNotFound) {
		o.site.Error(w, r, web.Problem{Status: http.StatusNotFound, TitleJA: "権限が見つかりません", TitleEN: "No such grant",
			WhatJA: "指定された権限はありません。何も変更されていません。", WhatEN: "There is no such grant. Nothing was changed.",
			DoJA: "一覧に戻って選び直してください。", DoEN: "Go back to the list and choose again."})
		return
	}
	o.logger.ErrorContext(r.Context(), "staff operator", "path", r.URL.Path, "err", err)
	o.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
}
