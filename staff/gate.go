package staff

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/internal/ratelimit"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed templates
var templates embed.FS

// Purpose is the purpose of a staff card login at the platform
// (platform.PurposeStaff), and the kind of terminal it is made at.
const Purpose = platform.PurposeStaff

// Session lengths of a staff session: short, because a clerk's desk is
// left alone often, and an absolute end, because a grant can change.
const (
	DefaultIdle = 15 * time.Minute
	DefaultMax  = 8 * time.Hour
	// stateTTL is how long a sign-in the office started waits for the
	// card; maxLoginAge is how old a card login may be when it arrives.
	stateTTL    = 5 * time.Minute
	maxLoginAge = 2 * time.Minute
)

// Checker is the directory as an office reaches it: the Directory itself
// in one process, its Client over HTTP.
type Checker interface {
	Check(ctx context.Context, platformID, office string) (Grant, error)
	Login(ctx context.Context, req LoginRequest) (Grant, error)
	Refused(ctx context.Context, platformID, office string, why error, detail string) error
}

// LoginPath is where a staff terminal posts the card login for office:
// the office's own login endpoint, a path on the host that serves that
// kind of office (the terminal joins it to that host's configured base
// URL). It is a table, not a parameter of the request, so that a terminal
// never posts an assertion where a link told it to. Offices that have not
// moved to card logins yet have none.
func LoginPath(office string) (string, error) {
	kind, err := OfficeKind(office)
	if err != nil {
		return "", err
	}
	_, id, _ := strings.Cut(office, ":")
	switch kind {
	case "municipal":
		return "/municipal/" + id + "/office/login", nil
	case "insurer":
		return "/insurer/" + id + "/login", nil
	case "clinic":
		return "/clinic/" + id + "/login", nil
	case OperatorOffice:
		return operatorHome + "login", nil
	case "counter":
		// One town's JPKI counter per process, under /counter/.
		return "/counter/login", nil
	case "agency":
		return "/agency/" + id + "/inbox/login", nil
	case "business":
		return "/business/" + id + "/office/login", nil
	case ProcureOffice:
		return "/procure/office/login", nil
	case ProcureBodyKind:
		return "/bodies/" + id + "/office/login", nil
	case CATVKind:
		return "/catv/" + id + "/office/login", nil
	case WatchKind:
		return "/watch/" + id + "/office/login", nil
	case EvacKind:
		return "/evac/" + id + "/office/login", nil
	case GateKind:
		return "/gate/" + id + "/office/login", nil
	}
	return "", fmt.Errorf("%w: office %q has no card login yet", ErrInvalid, office)
}

// GateConfig is one kind of office's gate.
type GateConfig struct {
	Site      *web.Site
	Directory Checker
	// Keys are the platform's assertion keys (platform.KeyCache's Keys)
	// and Issuer the platform's issuer ("" accepts any).
	Keys   func(ctx context.Context) (platform.JWKS, error)
	Issuer string
	// Office is the office ID of a request's path (and its display name),
	// or an error for an office that does not exist. NewOfficeGate fills
	// it and Home from an Office.
	Office func(r *http.Request) (id, name string, err error)
	// Home is the office's first page, where a login lands; it ends in
	// "/", and the office mounts SignIn at Home+"signin", Login at
	// Home+"login" (LoginPath) and Logout at Home+"logout".
	Home func(office string) string
	// Desk is the staff terminal's screen (its /staffdesk/ID/ path).
	Desk string
	// SignerPerson is the platform ID of a JPKI signing certificate's
	// holder (the platform's JPKI linkage). With it, a member of staff
	// signs with their own card at the staff terminal they signed in at,
	// by the signing handoff (sign.go, handoff.go); without, the offices
	// do not sign.
	SignerPerson func(ctx context.Context, cert *x509.Certificate) (string, error)
	Idle, Max    time.Duration
	Now          func() time.Time
	Logger       *slog.Logger
}

// Gate keeps the staff sessions of one kind of office: it opens one for a
// verified card login with a grant, bound to the office, and checks the
// grant again on every request.
type Gate struct {
	cfg   GateConfig
	pages *web.Pages
	// signs are the signing handoffs this process started.
	signs handoffs
}

// NewGate parses the gate's pages.
func NewGate(cfg GateConfig) (*Gate, error) {
	if cfg.Site == nil || cfg.Directory == nil || cfg.Keys == nil || cfg.Office == nil || cfg.Home == nil {
		return nil, errors.New("staff: the gate needs a site, the directory, the platform's keys, the office and its home")
	}
	pages, err := cfg.Site.Parse(templates, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("staff: pages: %w", err)
	}
	if cfg.Idle == 0 {
		cfg.Idle = DefaultIdle
	}
	if cfg.Max == 0 {
		cfg.Max = DefaultMax
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Gate{cfg: cfg, pages: pages}, nil
}

// Session is a staff member signed in at an office: what every office page
// shows in its strip and what every audited action carries.
type Session struct {
	Grant      Grant     `json:"grant"`
	OfficeName string    `json:"office_name"`
	Terminal   string    `json:"terminal"`
	Started    time.Time `json:"started"`
	Seen       time.Time `json:"seen"`
}

// Actor names the staff member in an audit row: platform ID, name, office
// and role.
func (s *Session) Actor() string {
	return fmt.Sprintf("staff:%s %s (%s, %s, %s)", s.Grant.PlatformID, s.Grant.Name, s.Grant.Office, s.Grant.Role, s.Grant.StaffNumber)
}

func sessionKey(office string) string  { return "staff:" + office }
func stateKey(office string) string    { return "staff:state:" + office }
func approvalKey(office string) string { return "staff:approval:" + office }

// Only runs h for a staff member signed in at the path's office with a
// grant valid now. Anyone else is sent to the sign-in page (303) from a
// GET, and gets a refusal that changed nothing (403) for anything else.
func (g *Gate) Only(h func(w http.ResponseWriter, r *http.Request, s *Session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		office, _, ss, ok := g.visit(w, r)
		if !ok {
			return
		}
		s, why := g.current(r.Context(), ss, office)
		if s == nil {
			if why != nil {
				ss.Delete(sessionKey(office))
				ss.SetFlash(web.Flash{Kind: "error", JA: why.JA, EN: why.EN})
			}
			g.save(r, ss)
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				g.cfg.Site.Error(w, r, web.Problem{Status: http.StatusForbidden, TitleJA: "ログインしてください", TitleEN: "Please sign in",
					WhatJA: "職員としてログインしていないため、何も行われていません。", WhatEN: "You are not signed in as staff; nothing was done.",
					DoJA: "職員用端末で職員証（マイナンバーカード）でログインしてから、やり直してください。", DoEN: "Sign in with your card at the staff terminal and try again."})
				return
			}
			http.Redirect(w, r, g.cfg.Home(office)+"signin", http.StatusSeeOther)
			return
		}
		g.save(r, ss)
		h(w, r, s)
	}
}

// ended says why a staff session ended.
type ended struct{ JA, EN string }

var (
	endedIdle    = &ended{"一定時間操作がなかったため、ログアウトしました。", "You were signed out after a time without activity."}
	endedMax     = &ended{"ログインの上限時間を過ぎたため、ログアウトしました。", "You were signed out: the session reached its time limit."}
	endedGrant   = &ended{"権限が取り消されたか期限が切れたため、ログアウトしました。", "You were signed out: your grant was revoked or has expired."}
	endedUnknown = &ended{"名簿を確認できないため、ログアウトしました。", "You were signed out: the staff directory could not be reached."}
)

// current is the session's staff member at office, its last use moved on;
// nil with the reason when a session there has just ended.
func (g *Gate) current(ctx context.Context, ss *web.Session, office string) (*Session, *ended) {
	raw := ss.Get(sessionKey(office))
	if raw == "" {
		return nil, nil
	}
	var s Session
	if err := json.Unmarshal([]byte(raw), &s); err != nil || s.Grant.Office != office {
		return nil, endedUnknown
	}
	now := g.cfg.Now()
	switch {
	case !now.Before(s.Started.Add(g.cfg.Max)):
		return nil, endedMax
	case !now.Before(s.Seen.Add(g.cfg.Idle)):
		return nil, endedIdle
	}
	gr, err := g.cfg.Directory.Check(ctx, s.Grant.PlatformID, office)
	switch {
	case errors.Is(err, ErrRevoked), errors.Is(err, ErrExpired), errors.Is(err, ErrNoGrant), errors.Is(err, ErrOtherOffice):
		g.cfg.Logger.InfoContext(ctx, "staff: session ended", "office", office, "platform_id", s.Grant.PlatformID, "err", err)
		return nil, endedGrant
	case err != nil:
		// The directory not answering ends nothing it has not said, but
		// serves nothing either: the grant may be gone.
		g.cfg.Logger.ErrorContext(ctx, "staff: check the grant", "office", office, "err", err)
		return nil, endedUnknown
	case gr.ID != s.Grant.ID:
		return nil, endedGrant
	}
	s.Grant, s.Seen = gr, now
	b, _ := json.Marshal(s)
	ss.Set(sessionKey(office), string(b))
	return &s, nil
}

type signInPage struct {
	Office, Name, DeskURL, Logout string
}

// SignIn is the office's sign-in page (mounted at Home+"signin"): it
// starts a sign-in at the staff terminal, with a state bound to this
// browser's session and office, good once and for a few minutes. A
// staff member signed in already goes to the office's first page.
func (g *Gate) SignIn(w http.ResponseWriter, r *http.Request) {
	office, name, ss, ok := g.visit(w, r)
	if !ok {
		return
	}
	if s, _ := g.current(r.Context(), ss, office); s != nil {
		g.save(r, ss)
		http.Redirect(w, r, g.cfg.Home(office), http.StatusSeeOther)
		return
	}
	b := make([]byte, 16)
	rand.Read(b)
	state := hex.EncodeToString(b)
	ss.Delete(sessionKey(office))
	ss.Set(stateKey(office), state+"|"+strconv.FormatInt(g.cfg.Now().Add(stateTTL).Unix(), 10))
	g.save(r, ss)
	desk := g.cfg.Desk + "?" + url.Values{"office": {office}, "state": {state}}.Encode()
	g.pages.Render(w, r, http.StatusOK, "signin", signInPage{Office: office, Name: name, DeskURL: desk,
		Logout: g.cfg.Home(office) + "logout"})
}

// refusal is the page of a refused sign-in.
type refusal struct {
	Office, Name, Code string
	JA, EN             string
	DoJA, DoEN         string
	PlatformID         string
	// Approval says a supervisor's card login for an approval was refused;
	// Back is the request's page.
	Approval bool
	Back     string
}

// Login is the office's login endpoint: the staff terminal posts the
// platform's assertion of the card login and the state of the sign-in.
// The site's login limiter counts the posts that carry no verified card
// login (a wrong state, a forged or foreign assertion) against the source
// address only: they are cheap to send, and counting them per office would
// let anyone keep the office's staff out. A verified card login was
// counted by the platform (per card and terminal) and costs nothing here,
// whatever the grant says.
func (g *Gate) Login(w http.ResponseWriter, r *http.Request) {
	office, name, ss, ok := g.visit(w, r)
	if !ok {
		return
	}
	source := ratelimit.Source(r)
	if d := g.cfg.Site.Logins().Check("", source); d > 0 {
		g.cfg.Site.TooMany(w, r, d)
		return
	}
	refuse := func(code, platformID string, why error) {
		if platformID == "" {
			g.cfg.Site.Logins().Done("", source, false)
		}
		g.cfg.Logger.InfoContext(r.Context(), "staff: sign-in refused", "office", office, "code", code, "platform_id", platformID, "err", why)
		t := refusalTexts[code]
		g.save(r, ss)
		g.pages.Render(w, r, http.StatusForbidden, "refused", refusal{Office: office, Name: name, Code: code,
			JA: t[0], EN: t[1], DoJA: t[2], DoEN: t[3], PlatformID: platformID})
	}
	// An approval asked for in this session has its own state.
	if ap := g.pending(ss, office); ap != nil && ap.State != "" && r.PostFormValue("state") == ap.State {
		g.approve(w, r, office, name, ss, ap)
		return
	}
	// The state first: it is used up whatever follows.
	want := ss.Get(stateKey(office))
	ss.Delete(stateKey(office))
	st, exp, _ := strings.Cut(want, "|")
	until, _ := strconv.ParseInt(exp, 10, 64)
	if st == "" || r.PostFormValue("state") != st || g.cfg.Now().Unix() >= until {
		refuse("state", "", errors.New("no, another or an expired sign-in state"))
		return
	}
	c, ok := g.cardLogin(w, r, office, refuse)
	if !ok {
		return
	}
	gr, err := g.cfg.Directory.Login(r.Context(), LoginRequest{PlatformID: c.Subject, Office: office, AssertionID: c.ID,
		AssertionExpiry: time.Unix(c.Expiry, 0), Terminal: c.Terminal})
	if err != nil {
		g.loginRefused(w, r, office, c.Subject, err, refuse)
		return
	}
	now := g.cfg.Now()
	b, _ := json.Marshal(Session{Grant: gr, OfficeName: name, Terminal: c.Terminal, Started: now, Seen: now})
	ss.Set(sessionKey(office), string(b))
	ss.SetFlash(web.Flash{Kind: "ok", JA: "ログインしました。閲覧と操作はすべてあなたの名前で記録されます。",
		EN: "Signed in. Every view and action is recorded under your name."})
	g.save(r, ss)
	http.Redirect(w, r, g.cfg.Home(office), http.StatusSeeOther)
}

// cardLogin is the verified card login the staff terminal posted: the
// platform's assertion of a staff login at a staff terminal, made just
// now. false when it has answered (a refusal through refuse).
func (g *Gate) cardLogin(w http.ResponseWriter, r *http.Request, office string, refuse func(code, platformID string, why error)) (*platform.Claims, bool) {
	keys, err := g.cfg.Keys(r.Context())
	if err != nil {
		g.cfg.Logger.ErrorContext(r.Context(), "staff: platform keys", "err", err)
		g.cfg.Site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return nil, false
	}
	c, err := platform.VerifyAssertion(r.PostFormValue("assertion"), keys, g.cfg.Issuer, g.cfg.Now())
	if err != nil {
		refuse("assertion", "", err)
		return nil, false
	}
	if c.Purpose != Purpose || c.TerminalKind != platform.StaffDesk || g.cfg.Now().Sub(time.Unix(c.AuthTime, 0)) > maxLoginAge {
		why := fmt.Errorf("%w: purpose %q at a %s terminal, %ds ago", ErrWrongLogin, c.Purpose, c.TerminalKind, g.cfg.Now().Unix()-c.AuthTime)
		g.audit(r, c.Subject, office, ErrWrongLogin, "terminal "+c.Terminal)
		refuse(string(CodeWrongLogin), c.Subject, why)
		return nil, false
	}
	return c, true
}

// loginRefused answers the directory's refusal of a card login.
func (g *Gate) loginRefused(w http.ResponseWriter, r *http.Request, office, platformID string, err error, refuse func(code, platformID string, why error)) {
	for _, rule := range apiRules {
		if errors.Is(err, rule.Err) && rule.Status == http.StatusForbidden {
			refuse(string(rule.Code), platformID, err)
			return
		}
	}
	g.cfg.Logger.ErrorContext(r.Context(), "staff: card login", "office", office, "err", err)
	g.cfg.Site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
}

// audit records a refusal the gate made itself, naming the person.
func (g *Gate) audit(r *http.Request, platformID, office string, why error, detail string) {
	if err := g.cfg.Directory.Refused(r.Context(), platformID, office, why, detail); err != nil {
		g.cfg.Logger.ErrorContext(r.Context(), "staff: audit a refusal", "err", err)
	}
}

// Logout ends the staff session at the path's office.
func (g *Gate) Logout(w http.ResponseWriter, r *http.Request) {
	office, _, ss, ok := g.visit(w, r)
	if !ok {
		return
	}
	ss.Delete(sessionKey(office))
	ss.SetFlash(web.Flash{Kind: "ok", JA: "ログアウトしました。", EN: "Signed out."})
	g.save(r, ss)
	http.Redirect(w, r, g.cfg.Home(office), http.StatusSeeOther)
}

// visit is the office of the request's path, its name and the browser's
// session; false when the answer (404, 503) is written.
func (g *Gate) visit(w http.ResponseWriter, r *http.Request) (office, name string, ss *web.Session, ok bool) {
	office, name, err := g.cfg.Office(r)
	if err != nil {
		g.cfg.Site.Error(w, r, web.Problem{Status: http.StatusNotFound})
		return "", "", nil, false
	}
	if ss, err = g.cfg.Site.Session(w, r); err != nil {
		g.cfg.Site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return "", "", nil, false
	}
	return office, name, ss, true
}

func (g *Gate) save(r *http.Request, ss *web.Session) {
	if err := ss.Save(r.Context()); err != nil {
		g.cfg.Logger.ErrorContext(r.Context(), "staff: save session", "err", err)
	}
}

// refusalTexts are what a refused sign-in says, by code: what happened
// and what to do, in Japanese and English.
var refusalTexts = map[string][4]string{
	"state": {"ログインの手続きが古いか、別の画面のものです。", "The sign-in was started elsewhere or has expired.",
		"事務所の画面からもう一度ログインしてください。", "Start the sign-in again from the office's page."},
	"assertion": {"カードログインを確認できませんでした（期限切れか、共通プラットフォームのものではありません）。",
		"The card login could not be verified (expired, or not the platform's).",
		"職員用端末でもう一度カードでログインしてください。", "Sign in with your card at the staff terminal again."},
	string(CodeWrongLogin): {"職員用端末での職員ログインではありません。", "This is not a staff sign-in at a staff terminal.",
		"職員用端末でログインしてください。", "Sign in at the staff terminal."},
	string(CodeReplayed): {"このカードログインはすでに使われています。", "This card login has been used before.",
		"職員用端末でもう一度カードでログインしてください。", "Sign in with your card at the staff terminal again."},
	string(CodeNoGrant): {"あなたにはこの事務所で働く権限が登録されていません。", "You have no grant to work at this office.",
		"権限の登録は管理者に依頼してください（下のプラットフォームIDを伝えてください）。", "Ask your administrator for a grant (give them the platform ID below)."},
	string(CodeOtherOffice): {"あなたの権限はほかの事務所のものです。この事務所では使えません。", "Your grant is for another office, not this one.",
		"自分の事務所の画面からログインしてください。", "Sign in from your own office's page."},
	string(CodeExpired): {"あなたの権限は有効期間外です。", "Your grant is not valid at this time.",
		"権限の更新は管理者に依頼してください。", "Ask your administrator to renew the grant."},
	string(CodeRevoked): {"あなたの権限は取り消されています。", "Your grant has been revoked.",
		"管理者に問い合わせてください。", "Ask your administrator."},
	string(CodeSelfApproval): {"申請した職員本人は、自分の申請を承認できません。", "The member of staff who asked cannot approve their own request.",
		"別の責任者に、職員用端末で自分のカードで承認してもらってください。", "Ask another supervisor to approve with their own card at the staff terminal."},
	string(CodeNotApprover): {"あなたの権限では、この申請を承認できません（責任者の権限が必要です）。", "Your grant does not let you approve this request (a supervisor's is needed).",
		"この事務所の責任者に承認してもらってください。", "Ask a supervisor of this office to approve."},
	string(CodeApprovalExpired): {"承認の受付時間を過ぎました。申請は取り消されていません（何も行われていません）。", "The time to approve this request has passed; nothing was done.",
		"申請の画面からもう一度承認を依頼してください。", "Ask for the approval again from the request's page."},
}

// Strip is the staff strip of the session's pages, signing out at logout.
func (s *Session) Strip(logout string) *web.StaffStrip {
	return &web.StaffStrip{Name: s.Grant.Name, Office: s.OfficeName, OfficeID: s.Grant.Office, RoleJA: s.Grant.Role.JA(),
		RoleEN: s.Grant.Role.EN(), StaffNumber: s.Grant.StaffNumber, Logout: logout}
}
