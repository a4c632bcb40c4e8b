package postbox

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/internal/trace"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/secret"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/verify"
)

//go:embed migrations
var migrations embed.FS

// Errors of the post box; the HTTP edge and the pages map them.
var (
	ErrInvalid    = errors.New("postbox: invalid request")
	ErrNotFound   = errors.New("postbox: not found")
	ErrNoConsent  = errors.New("postbox: the person has not consented to this party")
	ErrSignature  = errors.New("postbox: the signature is not valid")
	ErrNotOwner   = errors.New("postbox: signed by someone other than the box's owner")
	ErrBadKey     = errors.New("postbox: unknown party key")
	ErrRole       = errors.New("postbox: the party has no agreement for this")
	ErrDuplicate  = errors.New("postbox: already done")
	ErrOldCert    = errors.New("postbox: signed with the revoked certificate")
	ErrStale      = errors.New("postbox: the signed notice is too old")
	ErrUnanswered = errors.New("postbox: no such open change notice")
)

// Errors of the HTTP APIs only (the parties' API, and Receive on the
// parties' endpoints).
var (
	errBody        = fmt.Errorf("%w: malformed body", ErrInvalid)
	errBoxKey      = errors.New("postbox: the post box key is not valid")
	errEnvelope    = fmt.Errorf("%w: malformed envelope", ErrInvalid)
	errEnvelopeBad = fmt.Errorf("%w: no send ID, wrong kind or no documents", ErrInvalid)
	errTryLater    = errors.New("postbox: the receiver cannot take the envelope now")
)

// The problem codes of the post box's API and of Receive.
const (
	CodeBadKey           httpapi.Code = "bad_key"
	CodeBadBody          httpapi.Code = "bad_body"
	CodeBadEnvelope      httpapi.Code = "bad_envelope"
	CodeInvalid          httpapi.Code = "invalid"
	CodeNoRecipient      httpapi.Code = "no_recipient"
	CodeDeliveryIDReused httpapi.Code = "delivery_id_reused"
	CodeNotAllowed       httpapi.Code = "not_allowed"
	CodeNotFound         httpapi.Code = "not_found"
	CodeRefused          httpapi.Code = "refused"
	CodeTryLater         httpapi.Code = "try_later"
	// The resident API's.
	CodeBadAssertion   httpapi.Code = "bad_assertion"
	CodeSessionEnded   httpapi.Code = "session_ended"
	CodeBadSignature   httpapi.Code = "bad_signature"
	CodeNotOwner       httpapi.Code = "not_owner"
	CodeStaleSignature httpapi.Code = "stale_signature"
	CodeOldCertificate httpapi.Code = "old_certificate"
	CodeNotConsented   httpapi.Code = "not_consented"
	CodeNotOffered     httpapi.Code = "not_offered"
	CodeClientIDReused httpapi.Code = "client_id_reused"
)

// bearerChallenge is the resident API's answer to a missing or refused
// login (RFC 6750).
var bearerChallenge = http.Header{"Www-Authenticate": {`Bearer realm="postbox"`}}

// Rules answers the post box's errors on its API and a receiver's on its
// endpoint (Receive), and maps the answers back to the sentinels in
// Client.
var Rules = httpapi.Rules{
	// The resident API's, before the parties' rules their sentinels wrap.
	{Err: ErrAssertion, Status: http.StatusUnauthorized, Code: CodeBadAssertion, Header: bearerChallenge,
		JA: "カードでのログインを確認できませんでした。カードでもう一度ログインしてください。", EN: "Your card login could not be verified. Log in with your card again."},
	{Err: ErrSession, Status: http.StatusUnauthorized, Code: CodeSessionEnded, Header: bearerChallenge,
		JA: "ログインの有効期限が切れました。カードでもう一度ログインしてください。", EN: "Your login has expired. Log in with your card again."},
	{Err: ErrSignature, Status: http.StatusUnprocessableEntity, Code: CodeBadSignature,
		JA: "署名を確認できませんでした。", EN: "The signature could not be verified."},
	{Err: ErrNotOwner, Status: http.StatusUnprocessableEntity, Code: CodeNotOwner,
		JA: "この私書箱の持ち主のカードで署名してください。", EN: "Sign with the card of the box's owner."},
	{Err: ErrStale, Status: http.StatusUnprocessableEntity, Code: CodeStaleSignature,
		JA: "署名から時間が経ちすぎています。もう一度署名してください。", EN: "The signature is too old. Sign again."},
	{Err: ErrOldCert, Status: http.StatusUnprocessableEntity, Code: CodeOldCertificate,
		JA: "失効した署名用電子証明書では届け出られません。新しいカードの証明書で署名してください。",
		EN: "A revoked signing certificate cannot sign a notice. Sign with the new certificate on your card."},
	{Err: errNotConsented, Status: http.StatusUnprocessableEntity, Code: CodeNotConsented,
		JA: "この事業者への同意がありません。", EN: "You have not consented to this business."},
	{Err: errNotOffered, Status: http.StatusUnprocessableEntity, Code: CodeNotOffered,
		JA: "この事業者はその取り扱いをしていません。", EN: "This business does not offer that."},
	{Err: errClientIDReused, Status: http.StatusConflict, Code: CodeClientIDReused,
		JA: "この送信IDは別の送信に使われています。", EN: "This client_id was used for another send."},
	{Err: ErrBadKey, Status: http.StatusUnauthorized, Code: CodeBadKey, JA: "事業者の認証に失敗しました。", EN: "The party key is not valid."},
	{Err: errBoxKey, Status: http.StatusUnauthorized, Code: CodeBadKey, JA: "私書箱の認証に失敗しました。", EN: "The post box key is not valid."},
	{Err: errBody, Status: http.StatusBadRequest, Code: CodeBadBody, Detail: true,
		JA: "リクエストの形式が正しくありません。", EN: "The request body is malformed."},
	{Err: errEnvelope, Status: http.StatusBadRequest, Code: CodeBadBody, Detail: true,
		JA: "送信内容の形式が正しくありません。", EN: "The envelope is malformed."},
	{Err: errEnvelopeBad, Status: http.StatusBadRequest, Code: CodeBadEnvelope,
		JA: "送信内容が正しくありません。", EN: "The envelope lacks a send ID, the right kind or documents."},
	{Err: ErrRefused, Status: http.StatusUnprocessableEntity, Code: CodeRefused, Detail: true, JA: "受け付けられません。", EN: "Refused."},
	{Err: errTryLater, Status: http.StatusServiceUnavailable, Code: CodeTryLater, Detail: true,
		JA: "一時的に受け付けられません。", EN: "Temporarily unavailable."},
	{Err: ErrInvalid, Status: http.StatusBadRequest, Code: CodeInvalid, Detail: true,
		JA: "リクエストの内容が正しくありません。", EN: "The request is not valid."},
	// The same answer whether or not the number exists anywhere: a party
	// learns nothing about who has a box.
	{Err: ErrNoConsent, Status: http.StatusNotFound, Code: CodeNoRecipient,
		JA: "このお客さま番号で受け取りに同意した私書箱はありません。", EN: "No post box has consented to deliveries under this customer number."},
	{Err: ErrDuplicate, Status: http.StatusConflict, Code: CodeDeliveryIDReused,
		JA: "この配達IDは、別のお客さまへの配達にすでに使われています。", EN: "This delivery_id was already used for a delivery to another customer."},
	{Err: ErrRole, Status: http.StatusForbidden, Code: CodeNotAllowed, JA: "この操作は契約に含まれていません。", EN: "Your agreement does not cover this."},
	{Err: ErrNotFound, Status: http.StatusNotFound, Code: CodeNotFound, JA: "見つかりません。", EN: "Not found."},
}

// Party roles.
const (
	RoleDeliver       = "deliver"        // delivers documents into boxes
	RoleSubmission    = "submission"     // receives submissions (an agency)
	RoleAddressNotice = "address_notice" // may be told a new address
)

// Send kinds.
const (
	KindSubmission    = "submission"
	KindAddressNotice = "address_notice"
)

// Document types the post box itself knows.
const (
	// ConsentType is a person's signed consent to a party.
	ConsentType = "提供・受取の同意書"
	// AddressNoticeType is a person's signed request that a business be told
	// the address in their new signing certificate.
	AddressNoticeType = "住所変更届"
)

// MaxDocument bounds a document's size.
const MaxDocument = 2 << 20

// Config holds what the post box needs.
type Config struct {
	DB *store.DB
	// Policy validates signatures: the owner's, and documents shown to them.
	Policy *verify.Policy
	// SignerPerson resolves a signing certificate to its holder's platform
	// ID (platform.Platform's SignerPerson, or its client).
	SignerPerson func(ctx context.Context, cert *x509.Certificate) (string, error)
	// Feed reads the JPKI revocation feed (jpki.Client's Revocations with
	// the post box's operator token); nil disables moving notices.
	Feed func(ctx context.Context, after int64, limit int) (*jpki.FeedPage, error)
	// Linkage reads the centre's linkage records with the same token
	// (jpki.Client's Linkage); nil follows only certificates seen signing.
	Linkage func(ctx context.Context, k jpki.Kind, serial string) (*jpki.Linkage, error)
	// Keys are the platform's assertion keys (platform.KeyCache's Keys) and
	// Issuer its name: the resident API opens a box for the platform's
	// assertion of its owner. Without Keys it opens none.
	Keys   func(context.Context) (platform.JWKS, error)
	Issuer string
	// Terminal is the platform terminal people open their box at (their
	// computer with a card reader): an assertion made at another terminal
	// opens nothing.
	Terminal string
	// HTTP sends to the parties' endpoints.
	HTTP   *http.Client
	Now    func() time.Time
	Logger *slog.Logger
	// Backoff is the first retry delay of a failed send (default 5 s); it
	// doubles per attempt up to 10 minutes.
	Backoff time.Duration
}

// Service is the post box.
type Service struct {
	db      *store.DB
	policy  *verify.Policy
	signer  func(ctx context.Context, cert *x509.Certificate) (string, error)
	feed    func(ctx context.Context, after int64, limit int) (*jpki.FeedPage, error)
	linkage func(ctx context.Context, k jpki.Kind, serial string) (*jpki.Linkage, error)
	keys    func(context.Context) (platform.JWKS, error)
	issuer  string
	term    string
	hc      *http.Client
	now     func() time.Time
	log     *slog.Logger
	backoff time.Duration
	// kick wakes the delivery loop when a send is queued.
	kick chan struct{}
}

// Open migrates the post box's tables.
func Open(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Policy == nil || cfg.SignerPerson == nil {
		return nil, errors.New("postbox: Open needs a database, a validation policy and the signer resolution")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTP == nil {
		cfg.HTTP = httpapi.NewHTTPClient(httpapi.DefaultTimeout)
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 5 * time.Second
	}
	mfs, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if err := cfg.DB.Migrate(ctx, "postbox", mfs); err != nil {
		return nil, err
	}
	return &Service{db: cfg.DB, policy: cfg.Policy, signer: cfg.SignerPerson, feed: cfg.Feed, linkage: cfg.Linkage,
		keys: cfg.Keys, issuer: cfg.Issuer, term: cfg.Terminal, hc: cfg.HTTP,
		now: cfg.Now, log: cfg.Logger, backoff: cfg.Backoff, kick: make(chan struct{}, 1)}, nil
}

// Policy is the validation policy the post box uses.
func (s *Service) Policy() *verify.Policy { return s.policy }

func newID(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Party is an organisation with an agreement with the post box operator.
type Party struct {
	ID              string   `json:"id"`
	NameJA          string   `json:"name_ja"`
	NameEN          string   `json:"name_en"`
	CorporateNumber string   `json:"corporate_number"`
	Roles           []string `json:"roles"`
	// Endpoint is the URL sends to the party are POSTed to; OutKey the
	// bearer key presented there.
	Endpoint string `json:"endpoint,omitempty"`
	OutKey   string `json:"-"`
}

// Has reports whether the party has a role.
func (p *Party) Has(role string) bool { return slices.Contains(p.Roles, role) }

var partyID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// AddParty records a party (or replaces its details) and returns the key it
// presents to the post box.
func (s *Service) AddParty(ctx context.Context, p Party) (string, error) {
	if !partyID.MatchString(p.ID) || p.NameJA == "" || p.NameEN == "" || len(p.Roles) == 0 {
		return "", fmt.Errorf("%w: a party needs an ID (a-z, 0-9, -), names and roles", ErrInvalid)
	}
	for _, r := range p.Roles {
		if r != RoleDeliver && r != RoleSubmission && r != RoleAddressNotice {
			return "", fmt.Errorf("%w: role %q", ErrInvalid, r)
		}
	}
	if (p.Has(RoleSubmission) || p.Has(RoleAddressNotice)) && (p.Endpoint == "" || p.OutKey == "") {
		return "", fmt.Errorf("%w: party %s receives sends and needs an endpoint and its key", ErrInvalid, p.ID)
	}
	key := secret.New("pbk_")
	_, err := s.db.Write(ctx, qUpsertParty, p.ID, p.NameJA, p.NameEN, p.CorporateNumber, strings.Join(p.Roles, ","),
		p.Endpoint, p.OutKey, secret.Hash(key), s.now().Unix())
	if err != nil {
		return "", fmt.Errorf("postbox: add party: %w", err)
	}
	return key, nil
}

func scanParty(sc interface{ Scan(...any) error }) (*Party, error) {
	var p Party
	var roles string
	if err := sc.Scan(&p.ID, &p.NameJA, &p.NameEN, &p.CorporateNumber, &roles, &p.Endpoint, &p.OutKey); err != nil {
		return nil, err
	}
	p.Roles = strings.Split(roles, ",")
	return &p, nil
}

// Parties lists the parties, by ID.
func (s *Service) Parties(ctx context.Context) ([]*Party, error) {
	rows, err := s.db.QueryContext(ctx, qParties)
	if err != nil {
		return nil, fmt.Errorf("postbox: parties: %w", err)
	}
	defer rows.Close()
	var out []*Party
	for rows.Next() {
		p, err := scanParty(rows)
		if err != nil {
			return nil, fmt.Errorf("postbox: parties: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Party returns one party.
func (s *Service) Party(ctx context.Context, id string) (*Party, error) {
	p, err := scanParty(s.db.QueryRowContext(ctx, qParty, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: party %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("postbox: party: %w", err)
	}
	return p, nil
}

// PartyByKey authenticates a party by the key it presents.
func (s *Service) PartyByKey(ctx context.Context, key string) (*Party, error) {
	if key == "" {
		return nil, ErrBadKey
	}
	p, err := scanParty(s.db.QueryRowContext(ctx, qPartyByKey, secret.Hash(key)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrBadKey
	}
	if err != nil {
		return nil, fmt.Errorf("postbox: party by key: %w", err)
	}
	return p, nil
}

// Box is a person's post box.
type Box struct {
	ID         string
	PlatformID string
	CreatedAt  time.Time
}

// OpenBox returns the box of a platform ID, making it on first use.
func (s *Service) OpenBox(ctx context.Context, platformID string) (*Box, error) {
	if platformID == "" {
		return nil, fmt.Errorf("%w: no platform ID", ErrInvalid)
	}
	for attempt := 0; ; attempt++ {
		b, err := s.box(ctx, qBoxOfPerson, platformID)
		if err == nil || !errors.Is(err, ErrNotFound) {
			return b, err
		}
		_, err = s.db.Write(ctx, qInsertBox, newID("box_"), platformID, s.now().Unix())
		if err != nil && (!store.IsUniqueViolation(err) || attempt > 0) {
			return nil, fmt.Errorf("postbox: new box: %w", err)
		}
	}
}

// Box returns a box by its ID.
func (s *Service) Box(ctx context.Context, id string) (*Box, error) { return s.box(ctx, qBox, id) }

func (s *Service) box(ctx context.Context, q, arg string) (*Box, error) {
	var b Box
	var at int64
	err := s.db.QueryRowContext(ctx, q, arg).Scan(&b.ID, &b.PlatformID, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: box", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postbox: box: %w", err)
	}
	b.CreatedAt = time.Unix(at, 0)
	return &b, nil
}

// audit records a read or change of a box's contents.
func (s *Service) audit(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, boxID, actor, action, detail string) error {
	if _, err := q.ExecContext(ctx, qInsertAudit, s.now().Unix(), boxID, actor, action, detail, trace.ID(ctx)); err != nil {
		return fmt.Errorf("postbox: audit: %w", err)
	}
	return nil
}

// AuditEntry is one row of a box's audit trail.
type AuditEntry struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Detail string    `json:"detail"`
}

// Audit lists a box's audit trail, newest first.
func (s *Service) Audit(ctx context.Context, boxID string, limit int) ([]AuditEntry, error) {
	rows, err := s.db.QueryContext(ctx, qAudit, boxID, limit)
	if err != nil {
		return nil, fmt.Errorf("postbox: audit: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&at, &e.Actor, &e.Action, &e.Detail); err != nil {
			return nil, err
		}
		e.At = time.Unix(at, 0)
		out = append(out, e)
	}
	return out, rows.Err()
}

// ownSignature checks that signed is a valid CAdES document signed now by
// the box's owner, and remembers the signing certificate for the
// revocation feed.
func (s *Service) ownSignature(ctx context.Context, box *Box, name string, signed []byte) (*verify.Report, error) {
	rep := s.policy.Validate(ctx, verify.Document{Name: name, Format: verify.FormatCMS, Data: signed})
	if !rep.Passed() {
		return rep, fmt.Errorf("%w: %s %s", ErrSignature, rep.SubIndication, rep.MessageEN)
	}
	if rep.Content == nil {
		return rep, fmt.Errorf("%w: the signed content is not a post-box document", ErrInvalid)
	}
	who, err := s.signer(ctx, rep.SignerCert)
	if err != nil {
		return rep, fmt.Errorf("%w: %w", ErrNotOwner, err)
	}
	if who != box.PlatformID {
		return rep, ErrNotOwner
	}
	_, err = s.db.Write(ctx, qUpsertSigner, jpki.Serial(rep.SignerCert.SerialNumber), box.ID, rep.SignerCert.NotAfter.Unix(), s.now().Unix())
	if err != nil {
		return rep, fmt.Errorf("postbox: remember signer: %w", err)
	}
	return rep, nil
}
