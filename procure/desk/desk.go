package desk

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/internal/fileutil"
	"github.com/mynaplat/mynaplat/internal/keydir"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/wareki"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed templates
var templates embed.FS

// Home is where the desk is served.
const Home = "/desk/"

// The desk's files in its data directory.
const (
	companyFile = "company.json"
	keyFile     = "representative.key"
	grantedFile = "granted.json"
)

// MaxPeriod is the longest power the desk grants: a 全省庁統一資格 runs for
// two years, and a power is not to outlast the qualification it is used
// under (procurement §3.1).
const MaxPeriod = 2

// Corporations is the corporate registry as the desk reads it
// (*corpreg.Client across roles, *corpreg.Registry in tests).
type Corporations interface {
	Corporation(ctx context.Context, number string) (*corpreg.Corporation, error)
}

// Powers is the register of powers (*delegation.Client, or the Service).
type Powers interface {
	Register(ctx context.Context, signedCMS []byte) (*delegation.Record, error)
	Get(ctx context.Context, id string) (*delegation.Record, error)
	Revoke(ctx context.Context, id string, signedCMS []byte) (*delegation.Record, error)
}

var (
	_ Powers       = (*delegation.Client)(nil)
	_ Powers       = (*delegation.Service)(nil)
	_ Corporations = (*corpreg.Client)(nil)
)

// Notice is the register's notice to the representative that it first saw
// an agent acting for the company (procurement §3 rule 4, procure_notices).
type Notice = procure.Notice

// Notices reads the register's notices, newest first, with the
// representative's signed request (procure.SignNoticesRequest): the
// register's (*procure.Client).Notices.
type Notices func(ctx context.Context, signed []byte) ([]Notice, error)

// Config is what the desk needs.
type Config struct {
	Site *web.Site
	// Kit is the card flow of the desk's own terminal (the
	// representative's PC with a card reader): the login, and the signing
	// password that reads the card's signing certificate.
	Kit *terminal.Kit
	// LoggedIn is the card login handed over on the session; nil is the
	// kit's terminal's, for no purpose.
	LoggedIn func(ss *web.Session, now time.Time) (terminal.Login, error)
	// Dir is the desk's data directory (DATA/desk): Setup wrote the
	// company and the representative key there.
	Dir          string
	Corporations Corporations
	Powers       Powers
	// Stamper time-stamps the powers and revocations (the TSA).
	Stamper cms.Stamper
	// Notices are the register's notices of new agents; nil shows none.
	Notices Notices
	Now     func() time.Time
	Logger  *slog.Logger
}

// Desk is one company's desk.
type Desk struct {
	cfg    Config
	number string
	key    crypto.Signer
	log    *slog.Logger
	now    func() time.Time
	// mu serialises the writes of the granted file.
	mu sync.Mutex
}

type company struct {
	CorporateNumber string `json:"corporate_number"`
}

// Setup installs the desk for a company in dir: the 法人番号 and the
// representative key (PKCS #8 PEM, mode 0600), as the company's IT would
// install the software on the representative's PC.
func Setup(dir, number string, key crypto.Signer) error {
	if err := corpreg.ValidNumber(number); err != nil {
		return err
	}
	if err := keydir.WriteKey(filepath.Join(dir, keyFile), key); err != nil {
		return err
	}
	return fileutil.WriteJSON(filepath.Join(dir, companyFile), company{CorporateNumber: number})
}

// ErrNotSetUp is a data directory without a company (Setup never ran).
var ErrNotSetUp = errors.New("desk: no company set up in the data directory")

// Installed reports whether Setup ran in dir.
func Installed(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, companyFile))
	return err == nil
}

// New opens the desk in cfg.Dir.
func New(cfg Config) (*Desk, error) {
	if cfg.Dir == "" || cfg.Corporations == nil || cfg.Powers == nil || cfg.Stamper == nil {
		return nil, errors.New("desk: New needs its data directory, the corporate registry, the register of powers and a TSA")
	}
	var c company
	if err := fileutil.ReadJSON(filepath.Join(cfg.Dir, companyFile), &c); errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotSetUp
	} else if err != nil {
		return nil, err
	}
	key, err := keydir.ReadKey(filepath.Join(cfg.Dir, keyFile), keydir.ECDSA)
	if err != nil {
		return nil, fmt.Errorf("desk: the representative key: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Desk{cfg: cfg, number: c.CorporateNumber, key: key, log: cfg.Logger, now: cfg.Now}, nil
}

// Number is the company's 法人番号.
func (d *Desk) Number() string { return d.number }

// Reason is why the desk refused.
type Reason string

// The desk's reasons.
const (
	// ReasonNotRepresentative: the card's signing certificate names
	// someone other than the registry's current representative.
	ReasonNotRepresentative Reason = "not_representative"
	// ReasonClosed: the registry has closed the company.
	ReasonClosed Reason = "corporation_closed"
	// ReasonKey: the key the desk holds is not the current representative
	// certificate's (a new representative was appointed).
	ReasonKey Reason = "key_not_representative"
	// ReasonSubDelegatedBid: sub-delegation asked for together with 入札.
	ReasonSubDelegatedBid Reason = "sub_delegated_bid"
	// ReasonBadPeriod: the period starts before today, ends before it
	// starts, or is longer than MaxPeriod years.
	ReasonBadPeriod Reason = "bad_period"
	// ReasonBadAgent: the agent's platform ID or name is missing or not
	// text.
	ReasonBadAgent Reason = "bad_agent"
	// ReasonNoMatters: no matter, or one that procurement does not know.
	ReasonNoMatters Reason = "bad_matters"
	// ReasonNotGranted: a revocation of a power this desk did not grant.
	ReasonNotGranted Reason = "not_granted_here"
	// ReasonBadToken: the form's token is not a power ID (a form the desk
	// did not give out).
	ReasonBadToken Reason = "bad_form_token"
	// ReasonRevoked: a revocation of a power already revoked (a second
	// click, or another tab).
	ReasonRevoked Reason = "already_revoked"
)

// Messages are the reason's texts for the person.
func (r Reason) Messages() (ja, en string) {
	switch r {
	case ReasonNotRepresentative:
		return "カードの署名用電子証明書の氏名が、登記上のこの法人の現在の代表者と一致しません。委任状を発行できるのは代表者本人だけです。",
			"The name in your card's signing certificate is not the registry's current representative of this company. Only the representative may grant powers."
	case ReasonClosed:
		return "この法人は閉鎖されています。委任状を発行・失効できません。", "The company has been closed. No power can be granted or revoked."
	case ReasonKey:
		return "この端末が保管している代表者の鍵は、登記上の現在の代表者の証明書の鍵ではありません。代表者の交代後は、新しい代表者の鍵を設定してください。",
			"The representative key this desk holds is not the key of the current representative's certificate. After a change of representative, install the new representative's key."
	case ReasonSubDelegatedBid:
		return "入札を含む委任には復代理を認められません（復代理人は入札できません）。", "Sub-delegation cannot be allowed in a power that includes bidding (入札): a sub-agent may not bid."
	case ReasonBadPeriod:
		return fmt.Sprintf("有効期間が正しくありません。開始日は今日以降、終了日は開始日以降、期間は最長%d年です。", MaxPeriod),
			fmt.Sprintf("The period is not valid: it starts today or later, ends on or after its start, and lasts at most %d years.", MaxPeriod)
	case ReasonBadAgent:
		return "受任者（代理人）のプラットフォームIDと氏名を入力してください。", "Enter the agent's platform ID and name."
	case ReasonNoMatters:
		return "委任事項を一覧から1つ以上選んでください。", "Choose one or more matters from the list."
	case ReasonNotGranted:
		return "この委任状は、この端末で発行したものではありません。", "This power was not granted at this desk."
	case ReasonBadToken:
		return "このフォームは、この端末の画面から送られたものではありません。ページを開き直してください。",
			"This form was not sent from this desk's page. Open the page again."
	case ReasonRevoked:
		return "この委任状はすでに失効しています。", "This power is already revoked."
	}
	return "受け付けられませんでした。", "Refused."
}

// Refusal is a refusal with its reason.
type Refusal struct{ Reason Reason }

func (r *Refusal) Error() string { _, en := r.Reason.Messages(); return "desk: " + en }

func refuse(r Reason) error { return &Refusal{Reason: r} }

// ReasonOf is err's reason, "" when it is no refusal.
func ReasonOf(err error) Reason {
	if r, ok := errors.AsType[*Refusal](err); ok {
		return r.Reason
	}
	return ""
}

// company reads the company at the registry and refuses a closed one.
func (d *Desk) company(ctx context.Context) (*corpreg.Corporation, error) {
	c, err := d.cfg.Corporations.Corporation(ctx, d.number)
	if errors.Is(err, corpreg.ErrClosed) {
		return nil, refuse(ReasonClosed)
	}
	if err != nil {
		return nil, err
	}
	if c.Status == corpreg.Closed {
		return nil, refuse(ReasonClosed)
	}
	return c, nil
}

// Confirm checks that the card's signing certificate names the company's
// current representative, and returns the name. The certificate is read
// from the card on the desk's own reader, the card whose authentication
// certificate the platform has just verified at the login and whose
// signing password was just entered; the desk does not check its chain or
// revocation itself (the register of powers never relies on this check:
// it believes only the representative certificate that signs the power).
func (d *Desk) Confirm(ctx context.Context, signing *x509.Certificate) (string, error) {
	h, err := jpki.SigningHolder(signing)
	if err != nil {
		return "", refuse(ReasonNotRepresentative)
	}
	c, err := d.company(ctx)
	if err != nil {
		return "", err
	}
	if rep := c.Current(); rep == nil || rep.Name != h.Name {
		return "", refuse(ReasonNotRepresentative)
	}
	return h.Name, nil
}

// Form is a grant as the representative fills it in.
type Form struct {
	AgentPlatformID, AgentName string
	Matters                    []string
	// From and Until are civil dates in Japan (YYYY-MM-DD), both included.
	From, Until   string
	SubDelegation bool
	// Token is the form's idempotency key, drawn by the home page
	// (delegation.NewID): it becomes the power's ID, so the same form
	// sent twice (a double click, a resend, two tabs) grants one power.
	// Empty draws a fresh ID.
	Token string
}

// period checks the form's period against today (in Japan) and gives the
// power's bounds: from the start of From (now, when From is today) to the
// end of Until.
func (f Form) period(now time.Time) (time.Time, time.Time, error) {
	jst := wareki.JST()
	from, err1 := time.ParseInLocation(time.DateOnly, f.From, jst)
	until, err2 := time.ParseInLocation(time.DateOnly, f.Until, jst)
	y, m, dd := now.In(jst).Date()
	today := time.Date(y, m, dd, 0, 0, 0, 0, jst)
	if err1 != nil || err2 != nil || from.Before(today) || until.Before(from) || !until.Before(from.AddDate(MaxPeriod, 0, 0)) {
		return time.Time{}, time.Time{}, refuse(ReasonBadPeriod)
	}
	start := from
	if start.Equal(today) {
		start = now.Truncate(time.Second)
	}
	return start, until.AddDate(0, 0, 1).Add(-time.Second), nil
}

// check refuses a form that is no grant, before anything is read or signed.
func (f *Form) check() error {
	// A name typed with a half-width space between surname and given name
	// is written as the card writes it (as `mynaplat delegation grant`).
	if f.Token != "" && !delegation.ValidID(f.Token) {
		return refuse(ReasonBadToken)
	}
	f.AgentPlatformID = strings.TrimSpace(f.AgentPlatformID)
	f.AgentName = strings.Replace(strings.TrimSpace(f.AgentName), " ", "\u3000", 1)
	for _, s := range []string{f.AgentPlatformID, f.AgentName} {
		if s == "" || utf8.RuneCountInString(s) > 200 || strings.ContainsFunc(s, unicode.IsControl) {
			return refuse(ReasonBadAgent)
		}
	}
	if len(f.Matters) == 0 || slices.ContainsFunc(f.Matters, func(m string) bool { return !slices.Contains(procure.Matters, m) }) {
		return refuse(ReasonNoMatters)
	}
	if f.SubDelegation && slices.Contains(f.Matters, procure.MatterBid) {
		return refuse(ReasonSubDelegatedBid)
	}
	return nil
}

// signer is the representative key with the current representative's
// certificate, once the company is open and rep is its representative.
func (d *Desk) signer(ctx context.Context, rep string) (*corpreg.Corporation, *x509.Certificate, error) {
	c, err := d.company(ctx)
	if err != nil {
		return nil, nil, err
	}
	if cur := c.Current(); cur == nil || cur.Name != rep {
		return nil, nil, refuse(ReasonNotRepresentative)
	}
	cert, err := delegation.RepresentativeCert(c, d.key)
	if errors.Is(err, delegation.ErrNotRepresentative) {
		return nil, nil, refuse(ReasonKey)
	}
	return c, cert, err
}

// Granted is a power this desk granted, as it keeps it.
type Granted struct {
	ID        string    `json:"id"`
	AgentID   string    `json:"agent_platform_id"`
	AgentName string    `json:"agent_name"`
	Matters   []string  `json:"matters"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	Sub       bool      `json:"sub_delegation"`
	GrantedAt time.Time `json:"granted_at"`
	// Status and RevokedAt are the register's, read when listed.
	Status    delegation.Status `json:"-"`
	RevokedAt time.Time         `json:"-"`
}

func (d *Desk) readGranted() ([]Granted, error) {
	var gs []Granted
	err := fileutil.ReadJSON(filepath.Join(d.cfg.Dir, grantedFile), &gs)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return gs, err
}

// Grant signs and files the power the form describes, for rep, the
// representative confirmed at sign-in (checked again against the registry
// now). A refusal (*Refusal) signs and writes nothing; so does a refusal
// of the register (its delegation error). again reports a form granted
// before (its token is a power this desk granted): rec is that power, and
// no second one is granted — the register answers a power signed anew
// under a registered ID with the first record, and the desk's list keeps
// an ID once.
func (d *Desk) Grant(ctx context.Context, rep string, f Form) (rec *delegation.Record, again bool, err error) {
	if err := f.check(); err != nil {
		return nil, false, err
	}
	if f.Token != "" {
		gs, err := d.readGranted()
		if err != nil {
			return nil, false, err
		}
		if slices.ContainsFunc(gs, func(g Granted) bool { return g.ID == f.Token }) {
			rec, err := d.cfg.Powers.Get(ctx, f.Token)
			if err != nil {
				return nil, false, err
			}
			return rec, true, nil
		}
	}
	now := d.now()
	from, until, err := f.period(now)
	if err != nil {
		return nil, false, err
	}
	c, cert, err := d.signer(ctx, rep)
	if err != nil {
		return nil, false, err
	}
	// The register answers a power it had (the form's token registered by
	// an earlier send) with the CMS it kept, not the one sent now.
	var sent []byte
	register := func(ctx context.Context, der []byte) (*delegation.Record, error) {
		sent = der
		return d.cfg.Powers.Register(ctx, der)
	}
	rec, err = delegation.Grant(ctx, delegation.GrantRequest{ID: f.Token,
		Principal: delegation.Principal{CorporateNumber: c.Number, CorporationName: c.Name, RepresentativeName: rep},
		Agent:     delegation.Agent{PlatformID: f.AgentPlatformID, Name: f.AgentName},
		Powers:    f.Matters, NotBefore: from, NotAfter: until, SubDelegation: f.SubDelegation}, d.key, cert, d.cfg.Stamper, register)
	if err == nil {
		again = !bytes.Equal(rec.CMS, sent)
	}
	if f.Token != "" && errors.Is(err, delegation.ErrDuplicate) {
		// The form's token is registered for a power that differs from the
		// one signed now (sent again a second later, its start is another
		// second; or edited after going back): the form was spent by the
		// first send, whose power stands.
		if first, gerr := d.cfg.Powers.Get(ctx, f.Token); gerr == nil && first.Power.Principal.CorporateNumber == d.number && first.Power.Parent == "" {
			rec, again, err = first, true, nil
		}
	}
	if err != nil {
		return nil, false, err
	}
	// Two sends of one form that both passed the look above meet here:
	// the list keeps the power once, whichever comes first (the one the
	// register took keeps it too when the other, answered with the first
	// record, came first).
	d.mu.Lock()
	defer d.mu.Unlock()
	gs, err := d.readGranted()
	if err == nil && slices.ContainsFunc(gs, func(g Granted) bool { return g.ID == rec.Power.ID }) {
		d.log.InfoContext(ctx, "desk: power kept already", "power", rec.Power.ID, "again", again)
		return rec, again, nil
	}
	if err == nil {
		p := rec.Power
		gs = append(gs, Granted{ID: p.ID, AgentID: p.Agent.PlatformID, AgentName: p.Agent.Name, Matters: p.Powers, NotBefore: p.NotBefore,
			NotAfter: p.NotAfter, Sub: p.SubDelegation, GrantedAt: rec.RegisteredAt})
		err = fileutil.WriteJSON(filepath.Join(d.cfg.Dir, grantedFile), gs)
	}
	if err != nil {
		// The power is registered: the desk's own list only misses it.
		d.log.ErrorContext(ctx, "desk: keep the granted power", "power", rec.Power.ID, "err", err)
	}
	d.log.InfoContext(ctx, "desk: power granted", "power", rec.Power.ID, "agent", rec.Power.Agent.PlatformID, "again", again)
	return rec, again, nil
}

// Revoke revokes a power this desk granted, for rep (checked again). A
// power already revoked is a refusal (ReasonRevoked), not a failure.
func (d *Desk) Revoke(ctx context.Context, rep, id string) (*delegation.Record, error) {
	gs, err := d.readGranted()
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(gs, func(g Granted) bool { return g.ID == id }) {
		return nil, refuse(ReasonNotGranted)
	}
	// A second click (or another tab) finds the power revoked: say so
	// before signing a revocation the register would refuse.
	if rec, err := d.cfg.Powers.Get(ctx, id); err != nil {
		return nil, err
	} else if rec.Status == delegation.StatusRevoked {
		return nil, refuse(ReasonRevoked)
	}
	c, cert, err := d.signer(ctx, rep)
	if err != nil {
		return nil, err
	}
	rec, err := delegation.Withdraw(ctx, id, c.Number, d.key, cert, d.cfg.Stamper, d.cfg.Powers.Revoke)
	if errors.Is(err, delegation.ErrRevoked) {
		// Revoked between the look and the filing (two clicks at once).
		return nil, refuse(ReasonRevoked)
	}
	if err != nil {
		return nil, err
	}
	d.log.InfoContext(ctx, "desk: power revoked", "power", id)
	return rec, nil
}

// List is the powers this desk granted, newest first, with their status
// at the register (unknown when it does not answer).
func (d *Desk) List(ctx context.Context) ([]Granted, error) {
	gs, err := d.readGranted()
	if err != nil {
		return nil, err
	}
	slices.Reverse(gs)
	for i := range gs {
		if rec, err := d.cfg.Powers.Get(ctx, gs[i].ID); err == nil {
			gs[i].Status, gs[i].RevokedAt = rec.Status, rec.RevokedAt
		} else {
			d.log.WarnContext(ctx, "desk: a power's status", "power", gs[i].ID, "err", err)
		}
	}
	return gs, nil
}

// Notices reads the register's notices of new agents for rep, the
// representative confirmed at sign-in (checked again against the registry
// now): the desk signs the request with the representative key, the
// register answers only its representative.
func (d *Desk) Notices(ctx context.Context, rep string) ([]Notice, error) {
	if d.cfg.Notices == nil {
		return nil, nil
	}
	c, cert, err := d.signer(ctx, rep)
	if err != nil {
		return nil, err
	}
	signed, err := procure.SignNoticesRequest(ctx, c.Number, d.now(), d.key, cert, d.cfg.Stamper)
	if err != nil {
		return nil, err
	}
	return d.cfg.Notices(ctx, signed)
}
