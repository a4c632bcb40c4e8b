package desk

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/wareki"
	"github.com/mynaplat/mynaplat/web"
)

// Pages are the desk's pages under /desk/.
type Pages struct {
	d     *Desk
	site  *web.Site
	kit   *terminal.Kit
	pages *web.Pages
	in    func(ss *web.Session, now time.Time) (terminal.Login, error)
}

// NewPages parses the desk's templates.
func NewPages(d *Desk) (*Pages, error) {
	cfg := d.cfg
	if cfg.Site == nil || cfg.Kit == nil {
		return nil, errors.New("desk: the pages need a site and the terminal's card flow")
	}
	pages, err := cfg.Site.Parse(templates, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("desk: pages: %w", err)
	}
	in := cfg.LoggedIn
	if in == nil {
		in = func(ss *web.Session, now time.Time) (terminal.Login, error) {
			return terminal.LoggedIn(ss, now, cfg.Kit.Terminal().ID, "")
		}
	}
	return &Pages{d: d, site: cfg.Site, kit: cfg.Kit, pages: pages, in: in}, nil
}

// Routes registers the pages.
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Home+"{$}", p.visit(p.home))
	mux.HandleFunc("POST "+Home+"confirm", p.confirm)
	mux.HandleFunc("POST "+Home+"grant", p.visit(p.grant))
	mux.HandleFunc("POST "+Home+"powers/{id}/revoke", p.visit(p.revoke))
	mux.HandleFunc("POST "+Home+"logout", p.logout)
}

// Links are the home page's entry.
func (p *Pages) Links() []web.Link {
	return []web.Link{{Section: "政府調達 / Procurement", TitleJA: "会社の委任状デスク（代表者）", TitleEN: "Company desk (the representative)",
		DescJA: "法人の代表者がカードでログインし、代理人に調達の電子委任状を発行・失効する",
		DescEN: "A company's representative signs in with their card and grants or revokes procurement powers of attorney",
		Path:   Home}}
}

// Session keys: the login the representative was confirmed for, and the
// name the card's signing certificate gave.
const (
	pidKey  = "desk:pid"
	nameKey = "desk:name"
)

// visit runs h for the confirmed representative; otherwise it shows the
// login or the confirmation (a form sent without them sends nothing).
func (p *Pages) visit(h func(w http.ResponseWriter, r *http.Request, ss *web.Session, rep string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ss, err := p.site.Session(w, r)
		if err != nil {
			p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
			return
		}
		l, err := p.in(ss, p.d.now())
		confirmed := err == nil && ss.Get(pidKey) == l.PlatformID && ss.Get(nameKey) != ""
		if confirmed {
			h(w, r, ss, ss.Get(nameKey))
			return
		}
		if r.Method != http.MethodGet {
			p.site.Error(w, r, web.Problem{Status: http.StatusForbidden, TitleJA: "ログインしてください", TitleEN: "Please sign in",
				WhatJA: "代表者の確認が済んでいないか、ログインの有効期限が切れたため、何も署名・登録していません。",
				WhatEN: "You are not confirmed as the representative, or your login expired; nothing was signed or registered.",
				DoJA:   "カードでもう一度ログインしてください。", DoEN: "Sign in with your card again."})
			return
		}
		if err != nil {
			p.pages.Render(w, r, http.StatusOK, "login", loginView{Terminal: p.kit.Terminal().ID, Next: Home})
			return
		}
		c, err := p.d.cfg.Corporations.Corporation(r.Context(), p.d.number)
		if err != nil {
			p.unavailable(w, r, err)
			return
		}
		p.pages.Render(w, r, http.StatusOK, "confirm", companyView{Number: c.Number, Company: c.Name})
	}
}

type loginView struct{ Terminal, Next string }

type companyView struct{ Number, Company string }

func (p *Pages) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	p.d.log.ErrorContext(r.Context(), "desk: the registries", "err", err)
	p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable, TitleJA: "登記所または委任状の登録簿に接続できません",
		TitleEN: "The registry or the register of powers does not answer",
		WhatJA:  "何も署名・登録していません。", WhatEN: "Nothing was signed or registered.",
		DoJA: "しばらくしてからもう一度お試しください。", DoEN: "Please try again shortly."})
}

// refused is the flash of a refusal; ok is false for an error that is
// none (the caller answers it as a failure).
func refused(err error) (web.Flash, bool) {
	if r := ReasonOf(err); r != "" {
		ja, en := r.Messages()
		return web.Flash{Kind: "error", JA: ja + "何も署名・登録していません。", EN: en + " Nothing was signed or registered."}, true
	}
	if r := delegation.ReasonOf(err); r != "" {
		ja, en := r.Messages()
		return web.Flash{Kind: "error", JA: "委任状の登録簿が受け付けませんでした：" + ja, EN: "The register of powers refused it: " + en}, true
	}
	if errors.Is(err, delegation.ErrInvalid) {
		return web.Flash{Kind: "error", JA: "委任状の内容が正しくありません。何も登録していません。", EN: "The power is not valid. Nothing was registered."}, true
	}
	return web.Flash{}, false
}

// confirm reads the card's signing certificate with the form's password
// and lets the company's current representative in.
func (p *Pages) confirm(w http.ResponseWriter, r *http.Request) {
	ss, err := p.site.Session(w, r)
	if err != nil {
		p.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	l, err := p.in(ss, p.d.now())
	if err != nil {
		p.site.Done(w, r, web.Flash{Kind: "error", JA: "カードでもう一度ログインしてください。", EN: "Sign in with your card again."}, Home)
		return
	}
	var name string
	res, err := p.kit.Sign(r, ss, func(cert *x509.Certificate, _ crypto.Signer) error {
		var err error
		name, err = p.d.Confirm(r.Context(), cert)
		return err
	})
	switch f, ok := refused(err); {
	case ok:
		p.d.log.WarnContext(r.Context(), "desk: refused at sign-in", "who", l.PlatformID, "err", err)
		p.site.Done(w, r, f, Home)
		return
	case err != nil:
		p.unavailable(w, r, err)
		return
	case !res.Passed():
		p.site.Done(w, r, res.Flash(), Home)
		return
	}
	ss.Set(pidKey, l.PlatformID)
	ss.Set(nameKey, name)
	p.site.Done(w, r, web.Flash{Kind: "ok", JA: name + " さんを代表者として確認しました。", EN: "Confirmed: " + name + ", the representative."}, Home)
}

type homeView struct {
	Number, Company, Representative string
	Matters                         []string
	From, Until                     string
	Granted                         []Granted
	// Token is the grant form's idempotency key (Form.Token).
	Token                     string
	Notices                   []Notice
	NoticesOff, NoticesFailed bool
}

func (p *Pages) home(w http.ResponseWriter, r *http.Request, ss *web.Session, rep string) {
	ctx := r.Context()
	c, err := p.d.cfg.Corporations.Corporation(ctx, p.d.number)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	gs, err := p.d.List(ctx)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	token, err := delegation.NewID()
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	today := p.d.now().In(wareki.JST())
	v := homeView{Token: token, Number: c.Number, Company: c.Name, Representative: rep, Matters: procure.Matters, Granted: gs,
		From: today.Format(time.DateOnly), Until: today.AddDate(1, 0, -1).Format(time.DateOnly), NoticesOff: p.d.cfg.Notices == nil}
	if v.Notices, err = p.d.Notices(ctx, rep); err != nil {
		p.d.log.WarnContext(ctx, "desk: the register's notices", "err", err)
		v.NoticesFailed = true
	}
	p.pages.Render(w, r, http.StatusOK, "home", v)
}

func (p *Pages) grant(w http.ResponseWriter, r *http.Request, ss *web.Session, rep string) {
	if err := r.ParseForm(); err != nil {
		p.site.Error(w, r, web.Problem{Status: http.StatusBadRequest})
		return
	}
	f := Form{AgentPlatformID: r.PostFormValue("agent_platform_id"), AgentName: r.PostFormValue("agent_name"), Matters: r.PostForm["matter"],
		From: r.PostFormValue("from"), Until: r.PostFormValue("until"), SubDelegation: r.PostFormValue("sub_delegation") != "",
		Token: r.PostFormValue("token")}
	rec, again, err := p.d.Grant(r.Context(), rep, f)
	if fl, ok := refused(err); ok {
		p.site.Done(w, r, fl, Home)
		return
	} else if err != nil {
		p.unavailable(w, r, err)
		return
	}
	if again {
		p.site.Done(w, r, web.Flash{Kind: "warn", JA: "この委任状は発行済みです。委任状ID: " + rec.Power.ID + "（同じフォームがもう一度送られました。2通目は発行していません）",
			EN: "This power was already granted. Power ID: " + rec.Power.ID + " (the same form was sent again; no second power was granted)."}, Home)
		return
	}
	p.site.Done(w, r, web.Flash{Kind: "ok", JA: "委任状を発行しました。委任状ID: " + rec.Power.ID + "（代理人にお知らせください）",
		EN: "The power was granted. Power ID: " + rec.Power.ID + " (tell it to the agent)."}, Home)
}

func (p *Pages) revoke(w http.ResponseWriter, r *http.Request, ss *web.Session, rep string) {
	id := r.PathValue("id")
	_, err := p.d.Revoke(r.Context(), rep, id)
	if fl, ok := refused(err); ok {
		p.site.Done(w, r, fl, Home)
		return
	} else if err != nil {
		p.unavailable(w, r, err)
		return
	}
	p.site.Done(w, r, web.Flash{Kind: "ok", JA: "委任状 " + id + " を失効させました。ただちに使えなくなります。",
		EN: "Power " + id + " is revoked; it cannot be used from now on."}, Home)
}

func (p *Pages) logout(w http.ResponseWriter, r *http.Request) {
	if ss, err := p.site.Session(w, r); err == nil {
		ss.Delete(pidKey)
		ss.Delete(nameKey)
		p.kit.Remove(ss)
		terminal.Logout(ss)
		if err := ss.Save(r.Context()); err != nil {
			p.d.log.ErrorContext(r.Context(), "desk: save session", "err", err)
		}
	}
	http.Redirect(w, r, Home, http.StatusSeeOther)
}
