// Package staff is the directory of the people who work at the offices
// (issue 16): a grant says that the holder of a platform ID may work at one
// office, in one role, for a period, until it is revoked. Offices check a
// grant through the directory's API (Client) and keep their clerks'
// sessions with the Gate, which opens a session only for the platform's
// assertion of a card login at a staff terminal. The platform operator
// manages the grants on the Operator's pages (or with the command line).
// The package is the server's side: it never imports the card or the
// terminal.
//
// # Offices on other hosts
//
// The staff terminal may run on another host than an office: it posts the
// card login to the office's base URL (from its configuration) joined to
// LoginPath, a top-level form POST from the terminal's origin. The office
// takes it only with the one-time state of the sign-in that this browser
// started there, kept in the office's session; the session cookie is
// SameSite=Lax, which a browser sends with a top-level POST only when the
// two pages are same-site: the same registrable domain
// (desk.city.example and office.city.example), or one host at other ports
// (then each process needs its own session cookie name, since cookies do
// not tell ports apart: serve --session-cookie). So the terminal and the
// offices must be same-site. Otherwise the browser leaves the cookie out,
// the office finds no state, and the clerk gets the refusal page "state"
// (the sign-in was started elsewhere or has expired), with nothing
// changed. The login endpoints are exempt from the site's cross-origin
// check and CSRF token (Gate.Mount, web.Site.CrossOriginLogin); the state
// and the platform's signed assertion guard them, and the terminal's
// hand-over page may post only to the configured offices' origins
// (web.AllowFormAction).
package staff

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/wareki"
)

//go:embed migrations
var migrations embed.FS

// Role is what a grant lets its holder do at an office.
type Role string

// The roles.
const (
	CounterClerk      Role = "counter-clerk"      // JPKI counter of a town
	CounterSupervisor Role = "counter-supervisor" // approves revocations and PIN resets
	RegistryClerk     Role = "registry-clerk"     // municipal register (住民記録)
	InsurerClerk      Role = "insurer-clerk"
	ClinicStaff       Role = "clinic-staff"
	AgencyStaff       Role = "agency-staff"
	BusinessStaff     Role = "business-staff"
	PostboxOperator   Role = "postbox-operator"
	PlatformOperator  Role = "platform-operator"
	// ProcureOfficer reviews applications at the procurement
	// qualification register (package procure).
	ProcureOfficer Role = "procure-officer"
	// TenderOfficer publishes tenders and holds opening shares at a
	// procuring body (package procure/body).
	TenderOfficer Role = "procure-body-officer"
	// CATVSender sends the CATV operator's own messages to its
	// subscribers (package community/catv): to all or an area.
	CATVSender Role = "catv-sender"
	// CATVTownSender is the town's staff member with a seat at the
	// operator's sender page: the town's messages, to all, an area or one
	// person (docs/community-tv.md §5.2).
	CATVTownSender Role = "catv-town-sender"
	// WatchStaff is a health centre's watch-over staff member: sees the
	// people watched and handles their flags (package community/watch).
	WatchStaff Role = "watch-staff"
	// EvacOfficer is the town's disaster office staff member
	// (community/evac): issues and lifts evacuation orders, sees the board
	// and the drill report (docs/community-tv.md §5.6).
	EvacOfficer Role = "evac-officer"
	// GateStaff is a school's or a library's staff member: sees the day's
	// check-ins of their own body's children (package community/gate).
	GateStaff Role = "gate-staff"
)

// roleInfo is a role's office kind and its names.
type roleInfo struct {
	kind   string
	ja, en string
}

var roles = map[Role]roleInfo{
	CounterClerk:      {"counter", "窓口担当（電子証明書）", "counter clerk (certificates)"},
	CounterSupervisor: {"counter", "窓口責任者（電子証明書）", "counter supervisor (certificates)"},
	RegistryClerk:     {"municipal", "住民記録担当", "registry clerk"},
	InsurerClerk:      {"insurer", "保険者事務担当", "insurer clerk"},
	ClinicStaff:       {"clinic", "医療機関職員", "clinic staff"},
	AgencyStaff:       {"agency", "受付機関職員", "agency staff"},
	BusinessStaff:     {"business", "事業者職員", "business staff"},
	PostboxOperator:   {"postbox-operator", "私書箱運営者", "post-box operator"},
	PlatformOperator:  {"platform-operator", "共通プラットフォーム運営者", "platform operator"},
	ProcureOfficer:    {ProcureOffice, "資格審査担当", "qualification officer"},
	TenderOfficer:     {ProcureBodyKind, "契約担当官等（入札・開札）", "contracting officer (tenders, opening)"},
	CATVSender:        {CATVKind, "お知らせ送信担当（ケーブルテレビ局）", "message sender (the CATV operator)"},
	CATVTownSender:    {CATVKind, "お知らせ送信担当（市町村）", "message sender (the town)"},
	WatchStaff:        {WatchKind, "見守り担当（保健センター）", "watch-over staff (health centre)"},
	EvacOfficer:       {EvacKind, "避難指示担当（危機管理室）", "evacuation officer (disaster office)"},
	GateStaff:         {GateKind, "入退室担当（学校・図書館）", "check-in staff (school, library)"},
}

// Roles are every role, in a stable order.
var Roles = []Role{CounterClerk, CounterSupervisor, RegistryClerk, InsurerClerk, ClinicStaff, AgencyStaff,
	BusinessStaff, PostboxOperator, PlatformOperator, ProcureOfficer, TenderOfficer, CATVSender, CATVTownSender, WatchStaff, EvacOfficer, GateStaff}

// JA and EN are the role's names.
func (r Role) JA() string { return roles[r].ja }

// EN is the role's English name.
func (r Role) EN() string { return roles[r].en }

// Valid reports whether r is a role.
func (r Role) Valid() bool { _, ok := roles[r]; return ok }

// officeKinds with an ID after the colon; the two operators' offices are
// one each and have none.
var officeKinds = map[string]bool{"municipal": true, "counter": true, "insurer": true, "clinic": true,
	"agency": true, "business": true, "postbox-operator": false, "platform-operator": false, ProcureOffice: false, ProcureBodyKind: true, CATVKind: true,
	WatchKind: true, EvacKind: true, GateKind: true}

// ProcureOffice is the office of the procurement qualification register's
// officers (package procure): one per deployment, like the operators'.
const ProcureOffice = "procure-register"

// ProcureBodyKind is the kind of a procuring body's office
// ("procure-body:kanto"; package procure/body).
const ProcureBodyKind = "procure-body"

// CATVKind is the kind of a CATV operator's sender office ("catv:suko";
// package community/catv).
const CATVKind = "catv"

// WatchKind is the kind of a health centre's watch-over office
// ("watch:nambu"; package community/watch).
const WatchKind = "watch"

// EvacKind is the kind of a town's disaster office ("evac:minami";
// package community/evac).
const EvacKind = "evac"

// GateKind is the kind of a school's or a library's check-in office
// ("gate:nambu-school"; package community/gate).
const GateKind = "gate"

// OfficeKind is the kind of an office ID ("municipal" of
// "municipal:062049"), or an error for an ID that is not an office's.
func OfficeKind(office string) (string, error) {
	kind, id, hasID := strings.Cut(office, ":")
	needsID, ok := officeKinds[kind]
	switch {
	case !ok:
		return "", fmt.Errorf("%w: office %q (want one of municipal:, counter:, insurer:, clinic:, agency:, business:, procure-body:, catv:, watch:, gate:, postbox-operator, platform-operator, procure-register)", ErrInvalid, office)
	case needsID != hasID:
		return "", fmt.Errorf("%w: office %q", ErrInvalid, office)
	case hasID && (id == "" || len(id) > 40 || strings.ContainsAny(id, ": /?#")):
		return "", fmt.Errorf("%w: office %q", ErrInvalid, office)
	}
	return kind, nil
}

// Grant is one person's right to work at one office in one role.
type Grant struct {
	ID string `json:"id"`
	// PlatformID is the person's platform ID (never the My Number).
	PlatformID  string    `json:"platform_id"`
	Name        string    `json:"name"`
	Office      string    `json:"office"`
	Role        Role      `json:"role"`
	StaffNumber string    `json:"staff_number"`
	ValidFrom   time.Time `json:"valid_from"`
	ValidUntil  time.Time `json:"valid_until"`
	// RevokedAt is when it was revoked; zero while it stands.
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// Errors of the directory.
var (
	ErrInvalid  = errors.New("staff: invalid")
	ErrNotFound = errors.New("staff: no such grant")
	// ErrNoGrant is a person without a grant at the office (nor any other).
	ErrNoGrant = errors.New("staff: no grant for this office")
	// ErrOtherOffice is a person whose grants are all another office's.
	ErrOtherOffice = errors.New("staff: the grant is another office's")
	// ErrExpired is a grant outside its period (not yet, or no longer).
	ErrExpired = errors.New("staff: the grant is not valid now")
	// ErrRevoked is a revoked grant.
	ErrRevoked = errors.New("staff: the grant was revoked")
	// ErrReplayed is a card login used before.
	ErrReplayed = errors.New("staff: the card login was used before")
	// ErrWrongLogin is a card login for another purpose, or not made at a
	// staff terminal, or too old.
	ErrWrongLogin = errors.New("staff: not a staff card login")
	// ErrOutOfScope is a caller of the directory's API asking about an
	// office it does not serve.
	ErrOutOfScope = errors.New("staff: the office is not the caller's")
)

// Directory is the grant directory, in the database.
type Directory struct {
	db     *store.DB
	now    func() time.Time
	logger *slog.Logger
}

// Open migrates the directory's tables. now is the clock (time.Now when nil).
func Open(ctx context.Context, db *store.DB, now func() time.Time, logger *slog.Logger) (*Directory, error) {
	mfs, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, "staff", mfs); err != nil {
		return nil, fmt.Errorf("staff: migrate: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Directory{db: db, now: now, logger: logger}, nil
}

func newID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// FieldError is a grant the directory refuses because of one field: which
// and why, in Japanese and English, for the operator's form and the
// command line alike. It matches ErrInvalid.
type FieldError struct {
	// Field is the form's name of the field: platform_id, name, office,
	// role, number, from, until.
	Field  string
	JA, EN string
}

func (e *FieldError) Error() string { return "staff: invalid: " + e.Field + ": " + e.EN }

// Unwrap makes a FieldError an ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// validate checks a grant to be added, its fields trimmed, and fills in the
// period: one without a start starts at now, one without an end lasts a
// year.
func (g *Grant) validate(now time.Time) error {
	g.Name, g.StaffNumber, g.PlatformID = strings.TrimSpace(g.Name), strings.TrimSpace(g.StaffNumber), strings.TrimSpace(g.PlatformID)
	g.Office = strings.TrimSpace(g.Office)
	kind, err := OfficeKind(g.Office)
	switch {
	case g.PlatformID == "" || len(g.PlatformID) > 64:
		return &FieldError{"platform_id", "プラットフォームIDを入力してください（64文字まで）。", "enter the platform ID (up to 64 characters)"}
	case g.Name == "" || len([]rune(g.Name)) > 40:
		return &FieldError{"name", "氏名を1〜40文字で入力してください。", "enter the name (1–40 characters)"}
	case err != nil:
		return &FieldError{"office", "事務所は municipal:CODE, counter:CODE, insurer:NUMBER, clinic:FACILITY, agency:ID, business:ID, postbox-operator, platform-operator のいずれかの形で入力してください。",
			fmt.Sprintf("the office %q is not", g.Office) + " one of municipal:CODE, counter:CODE, insurer:NUMBER, clinic:FACILITY, agency:ID, business:ID, postbox-operator, platform-operator"}
	case !g.Role.Valid():
		return &FieldError{"role", "役割を選んでください。", fmt.Sprintf("choose a role (not %q)", g.Role)}
	case roles[g.Role].kind != kind:
		return &FieldError{"role", "「" + g.Role.JA() + "」は " + roles[g.Role].kind + " の事務所の役割です。" + g.Office + " では使えません。",
			fmt.Sprintf("a %s works at a %s office, not %s", g.Role, roles[g.Role].kind, g.Office)}
	case g.StaffNumber == "" || len(g.StaffNumber) > 20:
		return &FieldError{"number", "職員番号を1〜20文字で入力してください。", "enter the staff number (1–20 characters)"}
	}
	if g.ValidFrom.IsZero() {
		g.ValidFrom = now
	}
	if g.ValidUntil.IsZero() {
		g.ValidUntil = g.ValidFrom.AddDate(1, 0, 0)
	}
	if !g.ValidUntil.After(g.ValidFrom) {
		return &FieldError{"until", "終了日は開始日より後にしてください。", "the period ends before it starts"}
	}
	return nil
}

// Add stores a new grant and returns it with its ID. A grant without a
// start starts now; one without an end lasts a year. A refused grant is a
// *FieldError.
func (d *Directory) Add(ctx context.Context, g Grant) (Grant, error) {
	return d.AddBy(ctx, g, "")
}

// AddBy is Add on behalf of by (an operator as Session.Actor names them),
// whom the audit row names.
func (d *Directory) AddBy(ctx context.Context, g Grant, by string) (Grant, error) {
	now := d.now()
	if err := g.validate(now); err != nil {
		return Grant{}, err
	}
	g.ID, g.RevokedAt = newID(), time.Time{}
	g.ValidFrom, g.ValidUntil = g.ValidFrom.Truncate(time.Second), g.ValidUntil.Truncate(time.Second)
	if _, err := d.db.Write(ctx, qInsertGrant, g.ID, g.PlatformID, g.Name, g.Office, string(g.Role), g.StaffNumber,
		g.ValidFrom.Unix(), g.ValidUntil.Unix(), now.Unix()); err != nil {
		return Grant{}, fmt.Errorf("staff: add grant: %w", err)
	}
	return g, d.audit(ctx, g, "grant", "OK", byDetail(by))
}

// byDetail is the audit detail naming who acted on a grant ("" the
// command line, run by whoever has the database).
func byDetail(by string) string {
	if by == "" {
		return ""
	}
	return "by " + by
}

// Revoke revokes a grant at once: every session it opened ends at its next
// request. Revoking a revoked grant changes nothing.
func (d *Directory) Revoke(ctx context.Context, id string) (Grant, error) {
	return d.RevokeBy(ctx, id, "")
}

// RevokeBy is Revoke on behalf of by, whom the audit row names.
func (d *Directory) RevokeBy(ctx context.Context, id, by string) (Grant, error) {
	g, err := d.Get(ctx, id)
	if err != nil {
		return Grant{}, err
	}
	if !g.RevokedAt.IsZero() {
		return g, nil
	}
	now := d.now()
	if _, err := d.db.Write(ctx, qRevokeGrant, now.Unix(), id); err != nil {
		return Grant{}, fmt.Errorf("staff: revoke: %w", err)
	}
	g.RevokedAt = time.Unix(now.Unix(), 0)
	return g, d.audit(ctx, g, "revoke", "OK", byDetail(by))
}

// GrantState is where a grant stands at a moment.
type GrantState string

// The states of a grant.
const (
	StateActive  GrantState = "active"
	StatePending GrantState = "pending" // its period has not begun
	StateExpired GrantState = "expired"
	StateRevoked GrantState = "revoked"
)

// GrantStates are every state, in the order a list offers them.
var GrantStates = []GrantState{StateActive, StatePending, StateExpired, StateRevoked}

// State is where the grant stands at now.
func (g Grant) State(now time.Time) GrantState {
	switch {
	case !g.RevokedAt.IsZero():
		return StateRevoked
	case now.Before(g.ValidFrom):
		return StatePending
	case !now.Before(g.ValidUntil):
		return StateExpired
	}
	return StateActive
}

// JA and EN are the state's names.
func (s GrantState) JA() string {
	return map[GrantState]string{StateActive: "有効", StatePending: "開始前", StateExpired: "期限切れ", StateRevoked: "取消済み"}[s]
}

// EN is the state's English name.
func (s GrantState) EN() string {
	return map[GrantState]string{StateActive: "active", StatePending: "not yet valid", StateExpired: "expired", StateRevoked: "revoked"}[s]
}

// ParseDay reads a day (YYYY-MM-DD) as its start in Japan time, the way
// grants' periods are given; "" is the zero time.
func ParseDay(s string) (time.Time, error) {
	if s = strings.TrimSpace(s); s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, s, wareki.JST())
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: want YYYY-MM-DD: %w", ErrInvalid, err)
	}
	return t, nil
}

// Get is one grant.
func (d *Directory) Get(ctx context.Context, id string) (Grant, error) {
	gs, err := d.query(ctx, qGrant, id)
	if err != nil {
		return Grant{}, err
	}
	if len(gs) == 0 {
		return Grant{}, ErrNotFound
	}
	return gs[0], nil
}

// List is the grants of an office ("" for every office), newest first.
func (d *Directory) List(ctx context.Context, office string) ([]Grant, error) {
	if office == "" {
		return d.query(ctx, qAllGrants)
	}
	return d.query(ctx, qOfficeGrants, office)
}

func (d *Directory) query(ctx context.Context, q string, args ...any) ([]Grant, error) {
	rows, err := d.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("staff: grants: %w", err)
	}
	defer rows.Close()
	var out []Grant
	for rows.Next() {
		var g Grant
		var role string
		var from, until, revoked int64
		if err := rows.Scan(&g.ID, &g.PlatformID, &g.Name, &g.Office, &role, &g.StaffNumber, &from, &until, &revoked); err != nil {
			return nil, err
		}
		g.Role, g.ValidFrom, g.ValidUntil = Role(role), time.Unix(from, 0), time.Unix(until, 0)
		if revoked != 0 {
			g.RevokedAt = time.Unix(revoked, 0)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// Check is the person's grant at office, valid now. Without one the error
// says why, most telling first: revoked, outside its period, only another
// office's, none at all.
func (d *Directory) Check(ctx context.Context, platformID, office string) (Grant, error) {
	if _, err := OfficeKind(office); err != nil {
		return Grant{}, err
	}
	gs, err := d.query(ctx, qPersonGrants, platformID)
	if err != nil {
		return Grant{}, err
	}
	now := d.now()
	var why error = ErrNoGrant
	var seen Grant
	for _, g := range gs {
		if g.Office != office {
			if why == ErrNoGrant {
				why, seen = ErrOtherOffice, g
			}
			continue
		}
		switch {
		case !g.RevokedAt.IsZero():
			why, seen = ErrRevoked, g
		case now.Before(g.ValidFrom) || !now.Before(g.ValidUntil):
			if why != ErrRevoked {
				why, seen = ErrExpired, g
			}
		default:
			return g, nil
		}
	}
	return seen, why
}

// LoginRequest is an office's request to open a staff session for a card
// login whose assertion it verified.
type LoginRequest struct {
	PlatformID string `json:"platform_id"`
	Office     string `json:"office"`
	// AssertionID and AssertionExpiry are the assertion's jti and exp: the
	// directory remembers the jti until then, so it opens one session.
	AssertionID     string    `json:"assertion_id"`
	AssertionExpiry time.Time `json:"assertion_expiry"`
	Terminal        string    `json:"terminal"`
	// For is the request a card login approves (Gate.AskApproval's
	// purpose); "" for a sign-in. The audit says which.
	For string `json:"for,omitempty"`
}

// Login checks the grant of a card login at office and uses up its
// assertion; the login and any refusal leave an audit row naming the
// person.
func (d *Directory) Login(ctx context.Context, req LoginRequest) (Grant, error) {
	if req.PlatformID == "" || req.AssertionID == "" || len(req.AssertionID) > 128 || len(req.For) > 100 {
		return Grant{}, fmt.Errorf("%w: platform ID, assertion ID and purpose", ErrInvalid)
	}
	g, err := d.Check(ctx, req.PlatformID, req.Office)
	if errors.Is(err, ErrInvalid) {
		return Grant{}, err
	}
	if err == nil {
		now := d.now()
		var res sql.Result
		res, err = d.db.Write(ctx, qInsertLogin, req.AssertionID, req.PlatformID, req.Office, now.Unix(), req.AssertionExpiry.Unix())
		switch {
		case store.IsUniqueViolation(err):
			err = ErrReplayed
		case err != nil:
			return Grant{}, fmt.Errorf("staff: login: %w", err)
		case res == nil:
			err = errors.New("staff: login: no result")
		}
	}
	// The audit row names the person as the directory knows them: the
	// grant looked at, or only the platform ID.
	who := g
	if who.PlatformID == "" {
		who = Grant{PlatformID: req.PlatformID}
	}
	who.Office = req.Office
	result := "OK"
	if err != nil {
		result = refusalCode(err)
	}
	action, detail := "login", "terminal "+req.Terminal
	if req.For != "" {
		action, detail = "approve", detail+" for "+req.For
	}
	if aerr := d.audit(ctx, who, action, result, detail); aerr != nil {
		return Grant{}, aerr
	}
	if err != nil {
		return Grant{}, err
	}
	return g, nil
}

// Refused records a refusal the office made itself (a card login for
// another purpose, at another terminal), naming the person.
func (d *Directory) Refused(ctx context.Context, platformID, office string, why error, detail string) error {
	if _, err := OfficeKind(office); err != nil {
		return err
	}
	action := "login"
	if errors.Is(why, ErrSelfApproval) || errors.Is(why, ErrNotApprover) || errors.Is(why, ErrApprovalExpired) {
		action = "approve"
	}
	if errors.Is(why, ErrNotOwnCard) {
		action = "sign"
	}
	return d.audit(ctx, Grant{PlatformID: platformID, Office: office}, action, refusalCode(why), detail)
}

// refusalCode is the audit result of a refusal.
func refusalCode(err error) string {
	for _, r := range apiRules {
		if errors.Is(err, r.Err) {
			return "REFUSED:" + string(r.Code)
		}
	}
	return "FAILED"
}

// PurgeLogins forgets the used assertions that have expired anyway.
func (d *Directory) PurgeLogins(ctx context.Context) error {
	_, err := d.db.Write(ctx, qPurgeLogins, d.now().Unix())
	return err
}

// AuditEntry is a row of the directory's audit.
type AuditEntry struct {
	At                       time.Time
	PlatformID, Name, Office string
	Role                     Role
	Action, Result, Detail   string
}

// Audit is the newest rows of an office ("" every office).
func (d *Directory) Audit(ctx context.Context, office string, limit int) ([]AuditEntry, error) {
	rows, err := d.db.QueryContext(ctx, qAudit, office, limit)
	if err != nil {
		return nil, fmt.Errorf("staff: audit: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		var role string
		if err := rows.Scan(&at, &e.PlatformID, &e.Name, &e.Office, &role, &e.Action, &e.Result, &e.Detail); err != nil {
			return nil, err
		}
		e.At, e.Role = time.UnixMilli(at), Role(role)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (d *Directory) audit(ctx context.Context, g Grant, action, result, detail string) error {
	if _, err := d.db.Write(ctx, qInsertAudit, newID(), d.now().UnixMilli(), g.PlatformID, g.Name, g.Office, string(g.Role),
		action, result, detail); err != nil {
		return fmt.Errorf("staff: audit: %w", err)
	}
	return nil
}
