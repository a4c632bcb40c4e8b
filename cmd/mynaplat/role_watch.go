package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/community/catv"
	"github.com/mynaplat/mynaplat/community/mail"
	"github.com/mynaplat/mynaplat/community/mail/mailbox"
	"github.com/mynaplat/mynaplat/community/watch"
	"github.com/mynaplat/mynaplat/web"
)

// smtpFlags are where the mails go (docs/community-tv.md §8).
type smtpFlags struct {
	addr, from, user, passwordFile string
}

func (f *smtpFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "smtp", os.Getenv("MYNAPLAT_SMTP"),
		"SMTP server host:port for the families' and parents' mails (watch, gate); empty: a mailbox inside this process, shown at "+mailbox.PagePath)
	fs.StringVar(&f.from, "smtp-from", os.Getenv("MYNAPLAT_SMTP_FROM"), "the mails' sender address (with --smtp)")
	fs.StringVar(&f.user, "smtp-user", os.Getenv("MYNAPLAT_SMTP_USER"), "log in at the SMTP server with AUTH PLAIN as this user (TLS needed but to localhost)")
	fs.StringVar(&f.passwordFile, "smtp-password-file", os.Getenv("MYNAPLAT_SMTP_PASSWORD_FILE"), "file with the --smtp-user's password")
}

// config is the sender's configuration, "" addr for the in-process mailbox.
func (f smtpFlags) config() (mail.Config, error) {
	c := mail.Config{Addr: f.addr, From: f.from, Username: f.user}
	if f.passwordFile != "" {
		b, err := os.ReadFile(f.passwordFile)
		if err != nil {
			return c, fmt.Errorf("--smtp-password-file: %w", err)
		}
		c.Password = strings.TrimSpace(string(b))
	}
	return c, nil
}

// watchCentre is the health centre the role serves: the demo's 南部町
// 保健センター (one centre per deployment of the role).
var watchCentre = watch.Centre{ID: "nambu", Name: "南部町 保健センター", Phone: "0859-66-5523"}

// localMailFrom is the sender of the in-process mailbox's mails.
const localMailFrom = "hoken@town.nambu.example"

// watchConfig is the health centre's (docs/community-tv.md §2, §5.4): the
// people watched and their daily checks, with the TV portal's API (which
// believes the person's card login at their TV, checked with the
// platform's JWK set); the power-ons read from the CATV operators under
// its caller key; the families' mails over SMTP; its staff sign in with
// their cards (office watch:{centre}, caller key staff/watch).
type watchConfig struct {
	peers *peers
	keys  callerKeys
	smtp  smtpFlags
}

func (c watchConfig) validate() error {
	var m missing
	m.peer(c.peers, rolePlatform, roleCatv)
	m.key(c.keys, apiStaff, roleWatch)
	m.key(c.keys, apiCatv, roleWatch)
	if c.smtp.addr != "" || c.smtp.from != "" {
		cfg, err := c.smtp.config()
		if err == nil {
			err = cfg.Validate()
		}
		if err != nil {
			m = append(m, err.Error())
		}
	}
	return m.err(roleWatch)
}

// localMailbox is the mailbox inside this process that the roles which
// mail (watch, gate) share when no --smtp is given: one server and one
// page, started by the first role that needs it and closed by it.
type localMailbox struct{ box *mailbox.Server }

// mailTransport is the sender of a role's mails: the --smtp server, or the
// mailbox inside this process (the demo's; a deployment gives --smtp).
// owner reports whether this role started the mailbox, and so serves its
// page and closes it.
func (d *deps) mailTransport(f smtpFlags, role string) (t mail.Transport, box *mailbox.Server, owner bool, err error) {
	cfg, err := f.config()
	if err != nil {
		return nil, nil, false, err
	}
	if cfg.Addr == "" {
		if d.mailbox.box == nil {
			if d.mailbox.box, err = mailbox.Start(); err != nil {
				return nil, nil, false, err
			}
			owner = true
		}
		box = d.mailbox.box
		cfg = mail.Config{Addr: box.Addr(), From: localMailFrom}
		d.logger.Warn(role+": no --smtp: the mails go to the mailbox inside this process", "page", mailbox.PagePath)
	}
	t, err = mail.NewSender(cfg, time.Now)
	if err != nil && owner {
		box.Close()
		d.mailbox.box = nil
	}
	return t, box, owner, err
}

// mailboxLink is the home page's entry of the mailbox inside this process.
var mailboxLink = web.Link{Section: "デモ / Demo", TitleJA: "デモのメール受信箱", TitleEN: "The demo's mailbox",
	DescJA: "見守りのフラグで家族に、子どもの入退室で保護者に送られたメール（このプロセス内の SMTP サーバーが受信）",
	DescEN: "The mails sent to families on a watch-over flag and to parents on a child's check-in (received by the SMTP server inside this process)", Path: mailbox.PagePath}

func (c watchConfig) build(ctx context.Context, d *deps) (*built, error) {
	transport, sharedBox, owner, err := d.mailTransport(c.smtp, roleWatch)
	if err != nil {
		return nil, err
	}
	var box *mailbox.Server
	if owner {
		box = sharedBox
	}
	closeBox := func() error {
		if box != nil {
			return box.Close()
		}
		return nil
	}
	cu, hc := d.at(roleCatv)
	svc, err := watch.New(ctx, watch.Config{DB: d.db, Centre: watchCentre, Mail: transport, Logger: d.logger,
		Signs: &catv.SignsClient{BaseURL: cu, Key: d.keys.key(apiCatv, roleWatch), HTTP: hc}})
	if err != nil {
		closeBox()
		return nil, err
	}
	d.svc.watch = svc
	pages, err := watch.NewPages(svc, d.site)
	if err != nil {
		closeBox()
		return nil, err
	}
	if err := d.gateOffices(roleWatch, pages); err != nil {
		closeBox()
		return nil, err
	}
	api := watch.APIConfig{Keys: d.platformKeys().Keys, Issuer: d.peers.url(rolePlatform)}
	lp := newLoops()
	lp.spawn(func() { svc.Run(lp.ctx, 30*time.Second) })
	return &built{routes: func(mux *http.ServeMux) {
		svc.Routes(mux, api)
		pages.Routes(mux)
		if box != nil {
			if err := box.Routes(mux, d.site); err != nil {
				d.logger.Error("watch: the mailbox page", "err", err)
			}
		}
	}, pages: func(context.Context, *http.ServeMux) ([]web.Link, error) {
		links := []web.Link{pages.Link()}
		if box != nil {
			links = append(links, mailboxLink)
		}
		return links, nil
	}, close: lp.close(closeBox)}, nil
}
