package oidcop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/web"
)

// The operator page of §4.5: the platform operator (office
// platform-operator, as on /staff/operator/) signs in with their own card
// at the staff terminal and registers the provider's clients with the
// same rules as mynaplat oidc client add (ValidateClient, through
// AddClient), adds a client's keys and disables clients or keys. Every
// change, and every refused add, is audited in oidc_audit under the
// operator (staff.Session.Actor).
//
//	GET  /oidc/operator/                                  the clients and the add form
//	GET  /oidc/operator/signin                            the sign-in: to the staff terminal
//	POST /oidc/operator/login, /oidc/operator/logout      the gate's (staff.Gate.Mount)
//	POST /oidc/operator/clients                           register a client
//	POST /oidc/operator/clients/{id}/disable              disable a client
//	POST /oidc/operator/clients/{id}/keys                 add a key (an uploaded or pasted PEM or JWK)
//	POST /oidc/operator/clients/{id}/keys/{kid}/disable   disable a key
//
// The staff terminal posts a platform operator's card login to the
// office's one login path (staff.LoginPath: /staff/operator/login), so a
// sign-in started here lands on /staff/operator/; the session is the
// office's, and this page is open from there in the same site.

// OperatorHome is the operator page's first page.
const OperatorHome = "/oidc/operator/"

// MaxKeyFile bounds an uploaded or pasted key: a JWK or PEM public key of
// the allowed sizes is far below it.
const MaxKeyFile = 16 << 10

// OperatorOffice is the gate's office: the platform operator's, whose
// card sign-in lands on /staff/operator/ (staff.LoginPath).
func OperatorOffice() staff.Office {
	return staff.Office{ID: staff.OperatorOffice, Home: func(string) string { return OperatorHome },
		Name: func(context.Context, string) (string, error) {
			return "共通プラットフォーム運営 / Platform operations", nil
		}}
}

// Operator is the operator page.
type Operator struct {
	p      *Provider
	gate   *staff.Gate
	site   *web.Site
	pages  *web.Pages
	logger *slog.Logger
}

// Operator parses the operator page; gate is a gate of OperatorOffice.
// Mount Routes on the mux that the site's Protect wraps.
func (p *Provider) Operator(site *web.Site, gate *staff.Gate) (*Operator, error) {
	if site == nil || gate == nil {
		return nil, errors.New("oidcop: the operator page needs the site and a staff gate")
	}
	pages, err := site.Parse(templates, "templates/operator/*.html")
	if err != nil {
		return nil, fmt.Errorf("oidcop: operator page: %w", err)
	}
	return &Operator{p: p, gate: gate, site: site, pages: pages, logger: p.logger}, nil
}

// Routes registers the operator page.
func (o *Operator) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /oidc/operator/{$}", o.gate.Only(o.list))
	o.gate.Mount(mux, OperatorHome)
	mux.HandleFunc("POST /oidc/operator/clients", o.gate.Only(o.add))
	mux.HandleFunc("POST /oidc/operator/clients/{id}/disable", o.gate.Only(o.disable))
	mux.HandleFunc("POST /oidc/operator/clients/{id}/keys", o.gate.Only(o.addKey))
	mux.HandleFunc("POST /oidc/operator/clients/{id}/keys/{kid}/disable", o.gate.Only(o.disableKey))
}

// Links are the home page's entry.
func (o *Operator) Links() []web.Link {
	return []web.Link{{Section: "職員 / Staff", TitleJA: "OpenID Connect のクライアント（共通プラットフォーム運営者）", TitleEN: "OpenID Connect clients (platform operator)",
		DescJA: "外部サービス（RP）の登録・公開鍵の追加・停止（運営者がカードでログイン）",
		DescEN: "Register outside services (RPs), add and disable their keys (the operator signs in with their card)",
		Path:   OperatorHome}}
}

// clientForm is the add form as it was sent, with its refusal.
type clientForm struct {
	ID, Name, Sector, RedirectURIs, PostLogoutURIs, KeyText string
	Dev                                                     bool
	Err                                                     *FieldError
}

// FieldErr is the form's message for field, if it is the one refused.
func (f clientForm) FieldErr(field string) *FieldError {
	if f.Err != nil && f.Err.Field == field {
		return f.Err
	}
	return nil
}

type operatorPage struct {
	staff   *staff.Session
	Issuer  string
	Clients []Client
	Form    clientForm
	// KeyFor and KeyErr are a refused key add: the client and why.
	KeyFor string
	KeyErr *FieldError
}

// StaffStrip is the strip the site's layout shows.
func (p operatorPage) StaffStrip() *web.StaffStrip { return p.staff.Strip(OperatorHome + "logout") }

func (o *Operator) render(w http.ResponseWriter, r *http.Request, status int, pg operatorPage) {
	cs, err := o.p.Clients(r.Context())
	if err != nil {
		o.fail(w, r, err)
		return
	}
	pg.Clients, pg.Issuer = cs, o.p.Issuer()
	o.pages.Render(w, r, status, "clients", pg)
}

func (o *Operator) list(w http.ResponseWriter, r *http.Request, s *staff.Session) {
	o.render(w, r, http.StatusOK, operatorPage{staff: s})
}

// keyFiles are the keys a form sends: an uploaded file and a pasted text,
// either or both. A file that cannot be read is a FieldError.
func keyFiles(r *http.Request) ([][]byte, error) {
	var out [][]byte
	if f, _, err := r.FormFile("key_file"); err == nil {
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, MaxKeyFile+1))
		if err != nil || len(b) > MaxKeyFile {
			return nil, &FieldError{"key", "bad_key", "鍵のファイルを読めません（16 KiB まで）。", "the key file cannot be read (16 KiB at most)"}
		}
		if len(strings.TrimSpace(string(b))) > 0 {
			out = append(out, b)
		}
	}
	if t := strings.TrimSpace(r.PostFormValue("key_text")); t != "" {
		if len(t) > MaxKeyFile {
			return nil, &FieldError{"key", "bad_key", "貼り付けた鍵が長すぎます（16 KiB まで）。", "the pasted key is too long (16 KiB at most)"}
		}
		out = append(out, []byte(t))
	}
	return out, nil
}

// formLines are a textarea's lines (one URI each), trimmed, blank ones
// dropped; ValidateClient judges each.
func formLines(s string) []string {
	var out []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (o *Operator) add(w http.ResponseWriter, r *http.Request, s *staff.Session) {
	f := clientForm{ID: r.PostFormValue("id"), Name: r.PostFormValue("name"), Sector: r.PostFormValue("sector"),
		RedirectURIs: r.PostFormValue("redirect_uris"), PostLogoutURIs: r.PostFormValue("post_logout_uris"),
		KeyText: r.PostFormValue("key_text"), Dev: r.PostFormValue("dev") == "on"}
	spec := ClientSpec{ID: f.ID, Name: f.Name, Sector: f.Sector, RedirectURIs: formLines(f.RedirectURIs),
		PostLogoutURIs: formLines(f.PostLogoutURIs), Dev: f.Dev}
	var c Client
	keys, err := keyFiles(r)
	if err != nil {
		// The same audit row as any refused add.
		err = o.p.refuse(r.Context(), strings.TrimSpace(f.ID), "client-add", err, s.Actor())
	} else {
		spec.Keys = keys
		c, err = o.p.AddClient(r.Context(), spec, s.Actor())
	}
	if fe, ok := errors.AsType[*FieldError](err); ok {
		f.Err = fe
		o.render(w, r, http.StatusBadRequest, operatorPage{staff: s, Form: f})
		return
	}
	if err != nil {
		o.fail(w, r, err)
		return
	}
	o.logger.InfoContext(r.Context(), "oidc: client added", "client", c.ID, "by", s.Grant.PlatformID)
	o.done(w, r, web.Flash{Kind: "ok", JA: fmt.Sprintf("クライアント %s（%s）を登録しました（記録済み）。", c.ID, c.Name),
		EN: fmt.Sprintf("Registered the client %s (%s) (recorded).", c.ID, c.Name)})
}

func (o *Operator) disable(w http.ResponseWriter, r *http.Request, s *staff.Session) {
	id := r.PathValue("id")
	if err := o.p.DisableClient(r.Context(), id, s.Actor()); err != nil {
		o.fail(w, r, err)
		return
	}
	o.logger.InfoContext(r.Context(), "oidc: client disabled", "client", id, "by", s.Grant.PlatformID)
	o.done(w, r, web.Flash{Kind: "ok", JA: fmt.Sprintf("クライアント %s を止めました。トークンはすぐに使えなくなります（記録済み）。", id),
		EN: fmt.Sprintf("Disabled the client %s; its tokens stop working at once (recorded).", id)})
}

func (o *Operator) addKey(w http.ResponseWriter, r *http.Request, s *staff.Session) {
	id := r.PathValue("id")
	files, err := keyFiles(r)
	if err == nil && len(files) != 1 {
		err = &FieldError{"key", "no_key", "公開鍵（PEM または JWK）を一つ、ファイルか貼り付けで指定してください。",
			"give one public key (PEM or JWK), as a file or pasted"}
	}
	var k ClientKey
	if err != nil {
		if _, cerr := o.p.Client(r.Context(), id); cerr != nil {
			err = cerr
		} else {
			err = o.p.refuse(r.Context(), id, "client-key-add", err, s.Actor())
		}
	} else {
		k, err = o.p.AddClientKey(r.Context(), id, files[0], s.Actor())
	}
	if fe, ok := errors.AsType[*FieldError](err); ok {
		o.render(w, r, http.StatusBadRequest, operatorPage{staff: s, KeyFor: id, KeyErr: fe})
		return
	}
	if err != nil {
		o.fail(w, r, err)
		return
	}
	o.logger.InfoContext(r.Context(), "oidc: client key added", "client", id, "kid", k.KID, "by", s.Grant.PlatformID)
	o.done(w, r, web.Flash{Kind: "ok", JA: fmt.Sprintf("%s に鍵 %s（%s）を追加しました（記録済み）。", id, k.KID, k.Alg),
		EN: fmt.Sprintf("Added the key %s (%s) to %s (recorded).", k.KID, k.Alg, id)})
}

func (o *Operator) disableKey(w http.ResponseWriter, r *http.Request, s *staff.Session) {
	id, kid := r.PathValue("id"), r.PathValue("kid")
	if err := o.p.DisableClientKey(r.Context(), id, kid, s.Actor()); err != nil {
		o.fail(w, r, err)
		return
	}
	o.logger.InfoContext(r.Context(), "oidc: client key disabled", "client", id, "kid", kid, "by", s.Grant.PlatformID)
	o.done(w, r, web.Flash{Kind: "ok", JA: fmt.Sprintf("%s の鍵 %s を止めました（記録済み）。", id, kid),
		EN: fmt.Sprintf("Disabled the key %s of %s (recorded).", kid, id)})
}

// done shows f on the list after a change.
func (o *Operator) done(w http.ResponseWriter, r *http.Request, f web.Flash) {
	o.site.Done(w, r, f, OperatorHome)
}

func (o *Operator) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrNoClient) || errors.Is(err, ErrNoKey) {
		o.site.Error(w, r, web.Problem{Status: http.StatusNotFound, TitleJA: "クライアントまたは鍵が見つかりません", TitleEN: "No such client or key",
			WhatJA: "指定されたクライアントまたは鍵はありません。何も変更されていません。", WhatEN: "There is no such client or key. Nothing was changed.",
			DoJA: "一覧に戻って選び直してください。", DoEN: "Go back to the list and choose again."})
		return
	}
	o.logger.ErrorContext(r.Context(), "oidc operator", "path", r.URL.Path, "err", err)
	o.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
}
