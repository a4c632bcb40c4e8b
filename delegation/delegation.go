package delegation

import (
	"bytes"
	"context"
	"crypto/x509"
	"database/sql"
	"embed"
	"encoding/asn1"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/store"
)

//go:embed migrations
var migrations embed.FS

// Errors of Register, Revoke and Get. Those that match a Reason of Check
// wrap the same refusal; ReasonOf gives it.
var (
	// ErrInvalid is a request or content that is not what this package
	// takes: not a power in canonical form, a revocation naming another
	// power, no signing time.
	ErrInvalid = errors.New("delegation: invalid")
	// ErrForged is a CMS that does not verify.
	ErrForged = errors.New("delegation: the signature does not verify")
	// ErrNotFound is a power ID that is not registered.
	ErrNotFound = errors.New("delegation: no such power")
	// ErrDuplicate is a power ID already registered for another power.
	ErrDuplicate = errors.New("delegation: power ID already registered")
	// ErrUnknownCorporation is a principal the corporate registry does not
	// hold.
	ErrUnknownCorporation = errors.New("delegation: unknown corporation")
	// ErrClosed is a principal that is closed.
	ErrClosed = errors.New("delegation: the corporation is closed")
	// ErrNotRepresentative is a power or revocation not signed by someone
	// entitled to: the corporation's representative at the signing time (or,
	// for a sub-delegation's revocation, its parent's agent).
	ErrNotRepresentative = errors.New("delegation: not signed by the corporation's representative")
	// ErrSubDelegation is a sub-delegation its parent does not allow or
	// exceeds.
	ErrSubDelegation = errors.New("delegation: sub-delegation not allowed")
	// ErrRevoked is a power already revoked, or a sub-delegation of a
	// revoked power.
	ErrRevoked = errors.New("delegation: the power is revoked")
	// ErrUnknownSigner is what SignerPerson returns (wrapped) for a
	// certificate that is no person's on the platform.
	ErrUnknownSigner = errors.New("delegation: the signing certificate is no person's")
)

// Errors of the HTTP API only.
var (
	errSignedBody = fmt.Errorf("%w: the body is not {\"cms\": …}", ErrInvalid)
	errCheckBody  = fmt.Errorf("%w: the body is not a check request", ErrInvalid)
	errCMS        = fmt.Errorf("%w: cms is not base64 DER", ErrInvalid)
	errPower      = fmt.Errorf("%w: power is not base64 DER", ErrInvalid)
	errSigner     = fmt.Errorf("%w: signer is not base64 DER", ErrInvalid)
	errSignerCert = fmt.Errorf("%w: signer is not a certificate", ErrInvalid)
	errNoAt       = fmt.Errorf("%w: no signing time", ErrInvalid)
	// errNoParent is a registration whose parent power is not registered:
	// the request itself is fine.
	errNoParent = fmt.Errorf("%w: the parent power", ErrNotFound)
)

// The register API's problem codes: the reasons of a refusal, and these.
const (
	CodeBadRequest  httpapi.Code = "bad_request"
	CodeInvalid     httpapi.Code = "invalid"
	CodeDuplicate   httpapi.Code = "duplicate"
	CodeUnavailable httpapi.Code = "unavailable"
)

// base64Rule is the answer to a field that is not DER in base64.
func base64Rule(err error, field string) httpapi.Rule {
	return httpapi.Rule{Err: err, Status: http.StatusBadRequest, Code: CodeBadRequest,
		JA: field + " は標準のbase64で表したDERにしてください（256 KiBまで）。", EN: field + " must be DER in standard base64 (at most 256 KiB)."}
}

// Rules answers the register's errors on its API, and maps the answers
// back to the sentinels in Client.
var Rules = httpapi.Rules{
	{Err: errSignedBody, Status: http.StatusBadRequest, Code: CodeBadRequest,
		JA: `本文は {"cms": "（署名済みCMSのbase64）"} のJSONにしてください。`, EN: `The body must be JSON {"cms": "(the signed CMS in base64)"}.`},
	{Err: errCheckBody, Status: http.StatusBadRequest, Code: CodeBadRequest,
		JA: `本文は {"power", "corporate_number", "doc_type", "signer", "at"} のJSONにしてください。`,
		EN: `The body must be JSON {"power", "corporate_number", "doc_type", "signer", "at"}.`},
	base64Rule(errCMS, "cms"), base64Rule(errPower, "power"), base64Rule(errSigner, "signer"),
	{Err: errSignerCert, Status: http.StatusBadRequest, Code: CodeBadRequest,
		JA: "signer を証明書として読み取れません。", EN: "signer cannot be parsed as an X.509 certificate."},
	{Err: errNoAt, Status: http.StatusBadRequest, Code: CodeBadRequest,
		JA: "at（書類の署名時刻）を指定してください。", EN: "at (the document's signing time) is required."},
	{Err: errNoParent, Status: http.StatusUnprocessableEntity, Code: httpapi.Code(UnknownPower),
		JA: "元の委任状（親）が登録されていません。", EN: "The parent power of attorney is not registered."},
	{Err: ErrInvalid, Status: http.StatusUnprocessableEntity, Code: CodeInvalid,
		JA: "委任状または撤回の内容が正しい形式ではありません。", EN: "The power of attorney or revocation is not in the expected form."},
	{Err: ErrForged, Status: http.StatusUnprocessableEntity, Code: httpapi.Code(Forged),
		JA: "電子署名を検証できません。改ざんされたか、署名が正しくありません。", EN: "The signature does not verify: the data was altered or the signature is broken."},
	{Err: ErrNotFound, Status: http.StatusNotFound, Code: httpapi.Code(UnknownPower),
		JA: "この委任状（またはその元の委任状）は登録されていません。", EN: "This power of attorney (or the one it derives from) is not registered."},
	{Err: ErrDuplicate, Status: http.StatusConflict, Code: CodeDuplicate,
		JA: "このIDの別の委任状がすでに登録されています。", EN: "Another power of attorney is already registered under this ID."},
	{Err: ErrUnknownCorporation, Status: http.StatusUnprocessableEntity, Code: httpapi.Code(UnknownCorporation),
		JA: "委任者の法人は、法人の登記にありません。", EN: "The principal corporation is not in the corporate register."},
	{Err: ErrClosed, Status: http.StatusUnprocessableEntity, Code: httpapi.Code(CorporationClosed),
		JA: "委任者の法人は閉鎖されています。", EN: "The principal corporation has been closed."},
	{Err: ErrNotRepresentative, Status: http.StatusForbidden, Code: httpapi.Code(NotRepresentative),
		JA: "署名者は、署名の時点のこの法人の代表者（または復代理をした受任者）ではありません。",
		EN: "The signer was not the corporation's representative (or the agent who sub-delegated) when signing."},
	{Err: ErrSubDelegation, Status: http.StatusUnprocessableEntity, Code: httpapi.Code(SubDelegationNotAllowed),
		JA: "この復代理（再委任）は認められていないか、元の委任の範囲を超えています。",
		EN: "This sub-delegation is not allowed by the original power of attorney, or goes beyond it."},
	{Err: ErrRevoked, Status: http.StatusConflict, Code: httpapi.Code(Revoked),
		JA: "この委任状（またはその元の委任状）は撤回されています。", EN: "This power of attorney (or the one it derives from) has been revoked."},
	{Err: corpreg.ErrUnavailable, Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
		JA: "法人の登記を照会できません。しばらくしてからもう一度お試しください。", EN: "The corporate register cannot be reached. Please try again later."},
}

// Queries, in the PostgreSQL dialect that both engines accept (store doc).
const (
	qInsertPower = `INSERT INTO delegation_powers (id, corporate_number, parent, cms, content, signed_at, registered_at, agent_platform_id)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	qPower  = `SELECT cms, content, signed_at, registered_at, revoked_at FROM delegation_powers WHERE id = $1`
	qRevoke = `UPDATE delegation_powers SET revoked_at = $1, revocation = $2 WHERE id = $3 AND revoked_at IS NULL`
)

// maxChain bounds a chain of sub-delegations (the power and its ancestors).
const maxChain = 8

// Corporations answers for the corporate registry. Both *corpreg.Registry
// (in process) and *corpreg.Client (over HTTP) satisfy it; their errors
// wrap corpreg.ErrUnknownCorporation, corpreg.ErrClosed and
// corpreg.ErrNotRepresentative.
type Corporations interface {
	Corporation(ctx context.Context, number string) (*corpreg.Corporation, error)
	RepresentativeAt(ctx context.Context, number string, cert *x509.Certificate, at time.Time) error
}

var (
	_ Corporations = (*corpreg.Registry)(nil)
	_ Corporations = (*corpreg.Client)(nil)
)

// SignatureVerifier verifies an enveloping CMS SignedData with one signer
// (RFC 5652 §5) and returns its content, the signer's certificate and the
// trusted signing time (the RFC 3161 time-stamp's genTime). Any error means
// the CMS is not to be believed. It need not check the signer's chain: for
// a power from a representative the corporate registry answers for the
// certificate itself, and for a sub-delegation SignerPerson does.
type SignatureVerifier func(der []byte) (content []byte, signer *x509.Certificate, signedAt time.Time, err error)

// SignerPerson resolves a JPKI signing certificate to its holder's platform
// ID. It must resolve only certificates it trusts (chain to the JPKI signing
// CA, not revoked), and return an error wrapping ErrUnknownSigner for any
// other; other errors are failures.
type SignerPerson func(ctx context.Context, cert *x509.Certificate) (string, error)

// SignerRevoked says whether a JPKI signing certificate had been revoked at
// or before a time (at the JPKI centre's responder: JPKIRevocation); an
// error when that cannot be known now.
type SignerRevoked func(ctx context.Context, cert *x509.Certificate, at time.Time) (bool, error)

// Config is what the Service needs.
type Config struct {
	DB           *store.DB
	Corporations Corporations
	Verify       SignatureVerifier
	SignerPerson SignerPerson
	// SignerRevoked checks that the JPKI certificate a sub-delegation was
	// signed with was not revoked by its signing time (a lost card's key
	// must sign no powers). nil leaves it unchecked: SignerPerson resolves
	// the certificate without asking about revocation.
	SignerRevoked SignerRevoked
	// Now is the clock (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger
}

// Service is the register of powers of attorney and their check.
type Service struct {
	db           *store.DB
	corps        Corporations
	verify       SignatureVerifier
	signerPerson SignerPerson
	revoked      SignerRevoked
	now          func() time.Time
	logger       *slog.Logger
}

// New migrates the register's tables.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Corporations == nil || cfg.Verify == nil || cfg.SignerPerson == nil {
		return nil, errors.New("delegation: New needs a database, the corporate registry, a signature verifier and SignerPerson")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	mfs, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if err := cfg.DB.Migrate(ctx, "delegation", mfs); err != nil {
		return nil, err
	}
	return &Service{db: cfg.DB, corps: cfg.Corporations, verify: cfg.Verify, signerPerson: cfg.SignerPerson,
		revoked: cfg.SignerRevoked, now: cfg.Now, logger: cfg.Logger}, nil
}

// Status is a registered power's state.
type Status string

// The states of a registered power.
const (
	StatusActive  Status = "active"
	StatusRevoked Status = "revoked"
)

// Record is a registered power.
type Record struct {
	Power Power `json:"power"`
	// CMS is the signed power as registered.
	CMS []byte `json:"cms"`
	// SignedAt is the power's trusted signing time.
	SignedAt     time.Time `json:"signed_at"`
	RegisteredAt time.Time `json:"registered_at"`
	Status       Status    `json:"status"`
	// RevokedAt is when the revocation was registered; zero while active.
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// signed is a CMS that verified and holds a power or a revocation.
type signed struct {
	der      []byte
	content  []byte
	signer   *x509.Certificate
	signedAt time.Time
	power    *Power
}

// verifySigned runs the injected verifier. Its input comes from outside, so
// a panic in it is taken for a failed verification rather than a crash.
func (s *Service) verifySigned(der []byte) (sg *signed, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.logger.Error("delegation: the signature verifier panicked", "panic", p)
			sg, err = nil, fmt.Errorf("%w: the CMS could not be read", ErrForged)
		}
	}()
	// One DER element and nothing after it: a CMS parser that stops at the
	// end of the first element (smallstep/pkcs7 does) would otherwise let
	// one power have many byte strings, and the register compares bytes.
	var rest []byte
	if rest, err = asn1.Unmarshal(der, &asn1.RawValue{}); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: not one DER element", ErrForged)
	}
	content, signer, at, err := s.verify(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrForged, err)
	}
	if signer == nil {
		return nil, fmt.Errorf("%w: no signer certificate", ErrForged)
	}
	if at.IsZero() {
		return nil, fmt.Errorf("%w: the signature carries no trusted signing time", ErrInvalid)
	}
	return &signed{der: der, content: content, signer: signer, signedAt: at}, nil
}

// open verifies a signed power: errors wrap ErrForged or ErrInvalid.
func (s *Service) open(der []byte) (*signed, error) {
	sg, err := s.verifySigned(der)
	if err != nil {
		return nil, err
	}
	if sg.power, err = ParsePower(sg.content); err != nil {
		return nil, err
	}
	return sg, nil
}

// stored is a row of delegation_powers.
type stored struct {
	cms, content           []byte
	signedAt, registeredAt time.Time
	revokedAt              time.Time
}

// record reads a registered power; ErrNotFound when there is none.
func (s *Service) record(ctx context.Context, id string) (*stored, error) {
	var st stored
	var signedAt, registeredAt int64
	var revokedAt sql.NullInt64
	err := s.db.QueryRowContext(ctx, qPower, id).Scan(&st.cms, &st.content, &signedAt, &registeredAt, &revokedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("delegation: read power %s: %w", id, err)
	}
	st.signedAt, st.registeredAt = time.UnixMilli(signedAt).UTC(), time.UnixMilli(registeredAt).UTC()
	if revokedAt.Valid {
		st.revokedAt = time.UnixMilli(revokedAt.Int64).UTC()
	}
	return &st, nil
}

func (st *stored) toRecord() (*Record, error) {
	p, err := ParsePower(st.content)
	if err != nil {
		return nil, fmt.Errorf("delegation: a stored power does not parse: %w", err)
	}
	r := &Record{Power: *p, CMS: st.cms, SignedAt: st.signedAt, RegisteredAt: st.registeredAt, Status: StatusActive, RevokedAt: st.revokedAt}
	if !st.revokedAt.IsZero() {
		r.Status = StatusRevoked
	}
	return r, nil
}

// Get returns a registered power, or an error wrapping ErrNotFound.
func (s *Service) Get(ctx context.Context, id string) (*Record, error) {
	if !idPattern.MatchString(id) {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	st, err := s.record(ctx, id)
	if err != nil {
		return nil, err
	}
	return st.toRecord()
}

// Register verifies a signed power and keeps it. The power must be signed
// by the corporation's representative in office at the signing time, or,
// for a sub-delegation, by the agent of a registered, unrevoked parent that
// allows sub-delegation, within the parent's matters and period. Sending
// the same power again, as the same CMS or signed anew (the same canonical
// content under the same ID, as a desk's resent form gives), returns the
// record first registered and writes nothing: a power ID is an idempotency
// key. Another power under a registered ID is ErrDuplicate. Refusals wrap
// the errors of this package (ReasonOf).
func (s *Service) Register(ctx context.Context, der []byte) (*Record, error) {
	rec, _, err := s.register(ctx, der)
	return rec, err
}

// register is Register; fresh is false when the power was registered
// before (the API answers 200 instead of 201).
func (s *Service) register(ctx context.Context, der []byte) (rec *Record, fresh bool, err error) {
	sg, err := s.open(der)
	if err != nil {
		return nil, false, err
	}
	now := s.now()
	chain, ref, err := s.authority(ctx, sg, now)
	if err != nil {
		return nil, false, err
	}
	if ref.reason != "" {
		return nil, false, ref.err()
	}
	for _, l := range chain[1:] {
		if !l.st.revokedAt.IsZero() {
			return nil, false, fmt.Errorf("%w: the parent power %s was revoked", ErrRevoked, l.sg.power.ID)
		}
	}
	p := sg.power
	_, err = s.db.Write(ctx, qInsertPower, p.ID, p.Principal.CorporateNumber, p.Parent, der, sg.content,
		sg.signedAt.UnixMilli(), now.UnixMilli(), p.Agent.PlatformID)
	if store.IsUniqueViolation(err) {
		// Both signatures verified and passed authority: the same content
		// is the same power, whoever's copy arrived first.
		st, err := s.record(ctx, p.ID)
		if err != nil {
			return nil, false, err
		}
		if !bytes.Equal(st.content, sg.content) {
			return nil, false, fmt.Errorf("%w: %s", ErrDuplicate, p.ID)
		}
		s.logger.InfoContext(ctx, "power already registered", "power", p.ID, "number", p.Principal.CorporateNumber)
		rec, err := st.toRecord()
		return rec, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("delegation: register %s: %w", p.ID, err)
	}
	s.logger.InfoContext(ctx, "power registered", "power", p.ID, "number", p.Principal.CorporateNumber, "parent", p.Parent)
	rec, err = s.Get(ctx, p.ID)
	return rec, err == nil, err
}

// Revoke revokes a registered power from now on. revocation is a CMS over a
// Revocation naming the power and its corporation, signed by the
// corporation's representative in office at the signing time (the one who
// granted the power or a successor) or, for a sub-delegation, by the parent
// power's agent who made it. A power already revoked is ErrRevoked.
func (s *Service) Revoke(ctx context.Context, id string, revocation []byte) (*Record, error) {
	rec, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if rec.Status == StatusRevoked {
		return nil, fmt.Errorf("%w: %s since %s", ErrRevoked, id, rec.RevokedAt.Format(time.RFC3339))
	}
	sg, err := s.verifySigned(revocation)
	if err != nil {
		return nil, err
	}
	rv, err := ParseRevocation(sg.content)
	if err != nil {
		return nil, err
	}
	if rv.PowerID != id || rv.CorporateNumber != rec.Power.Principal.CorporateNumber {
		return nil, fmt.Errorf("%w: the revocation names power %s of %s", ErrInvalid, rv.PowerID, rv.CorporateNumber)
	}
	if err := s.mayRevoke(ctx, rec, sg); err != nil {
		return nil, err
	}
	now := s.now()
	res, err := s.db.Write(ctx, qRevoke, now.UnixMilli(), revocation, id)
	if err != nil {
		return nil, fmt.Errorf("delegation: revoke %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, fmt.Errorf("%w: %s", ErrRevoked, id)
	}
	s.logger.InfoContext(ctx, "power revoked", "power", id, "number", rec.Power.Principal.CorporateNumber)
	return s.Get(ctx, id)
}

// mayRevoke reports whether the revocation's signer may revoke the power.
func (s *Service) mayRevoke(ctx context.Context, rec *Record, sg *signed) error {
	number := rec.Power.Principal.CorporateNumber
	err := s.corps.RepresentativeAt(ctx, number, sg.signer, sg.signedAt)
	if err == nil {
		return nil
	}
	if r := registryReason(err); r == "" {
		return fmt.Errorf("delegation: ask the corporate registry: %w", err)
	} else if r != NotRepresentative || rec.Power.Parent == "" {
		return fmt.Errorf("%w: %w", r.sentinel(), err)
	}
	// A sub-delegation may also be revoked by the agent who made it.
	parent, err := s.Get(ctx, rec.Power.Parent)
	if err != nil {
		return err
	}
	id, err := s.signerPerson(ctx, sg.signer)
	switch {
	case errors.Is(err, ErrUnknownSigner):
	case err != nil:
		return fmt.Errorf("delegation: resolve the revocation's signer: %w", err)
	case id == parent.Power.Agent.PlatformID:
		return nil
	}
	return fmt.Errorf("%w: the revocation is signed neither by the corporation's representative nor by the agent who sub-delegated", ErrNotRepresentative)
}

// link is one power of a chain: the power checked, then its ancestors.
type link struct {
	sg *signed
	st *stored // nil for the power checked
}

// authority checks who signed a power and its ancestors: the root by the
// corporation's representative at its signing time, each sub-delegation by
// its parent's agent within the parent. at is the time the corporation
// must not be closed by. It returns the chain (the power first), or the
// refusal; the error is for failures only.
func (s *Service) authority(ctx context.Context, leaf *signed, at time.Time) ([]link, refusal, error) {
	chain := []link{{sg: leaf}}
	for cur := leaf.power; cur.Parent != ""; {
		if len(chain) == maxChain {
			return nil, refuse(SubDelegationNotAllowed, "more than %d levels of sub-delegation", maxChain-1), nil
		}
		st, err := s.record(ctx, cur.Parent)
		if errors.Is(err, ErrNotFound) {
			return nil, refuse(UnknownPower, "the parent power %s is not registered", cur.Parent), nil
		}
		if err != nil {
			return nil, refusal{}, err
		}
		sg, err := s.open(st.cms)
		if err != nil || sg.power.ID != cur.Parent {
			s.logger.ErrorContext(ctx, "delegation: a registered power no longer verifies", "power", cur.Parent, "err", err)
			return nil, refuse(Forged, "the parent power %s does not verify", cur.Parent), nil
		}
		chain = append(chain, link{sg: sg, st: st})
		cur = sg.power
	}
	root := chain[len(chain)-1].sg
	number := root.power.Principal.CorporateNumber
	corp, err := s.corps.Corporation(ctx, number)
	if err != nil {
		if r := registryReason(err); r != "" {
			return nil, refuse(r, "%v", err), nil
		}
		return nil, refusal{}, fmt.Errorf("delegation: ask the corporate registry: %w", err)
	}
	if corp.Status == corpreg.Closed && !at.Before(corp.ClosedAt) {
		return nil, refuse(CorporationClosed, "%s was closed on %s", number, corp.ClosedAt.Format(time.DateOnly)), nil
	}
	if err := s.corps.RepresentativeAt(ctx, number, root.signer, root.signedAt); err != nil {
		if r := registryReason(err); r != "" {
			return nil, refuse(r, "%v", err), nil
		}
		return nil, refusal{}, fmt.Errorf("delegation: ask the corporate registry: %w", err)
	}
	if p := root.power.Principal; p.RepresentativeName != root.signer.Subject.CommonName ||
		len(root.signer.Subject.Organization) != 1 || p.CorporationName != root.signer.Subject.Organization[0] {
		return nil, refuse(NotRepresentative, "the power names %s of %s, but %s signed it", p.RepresentativeName, p.CorporationName, root.signer.Subject), nil
	}
	for i := len(chain) - 2; i >= 0; i-- {
		if r, err := s.subDelegation(ctx, chain[i+1].sg, chain[i].sg); err != nil || r.reason != "" {
			return nil, r, err
		}
	}
	return chain, refusal{}, nil
}

// subDelegation checks a child power against its parent.
func (s *Service) subDelegation(ctx context.Context, parent, child *signed) (refusal, error) {
	pp, cp := parent.power, child.power
	switch {
	case !pp.SubDelegation:
		return refuse(SubDelegationNotAllowed, "power %s does not allow sub-delegation", pp.ID), nil
	case cp.Principal != pp.Principal:
		return refuse(SubDelegationNotAllowed, "power %s names another principal than its parent", cp.ID), nil
	case cp.NotBefore.Before(pp.NotBefore) || cp.NotAfter.After(pp.NotAfter):
		return refuse(SubDelegationNotAllowed, "power %s outlasts its parent's period", cp.ID), nil
	case child.signedAt.Before(pp.NotBefore) || child.signedAt.After(pp.NotAfter):
		return refuse(SubDelegationNotAllowed, "power %s was signed outside its parent's period", cp.ID), nil
	}
	for _, m := range cp.Powers {
		if _, ok := slices.BinarySearch(pp.Powers, m); !ok {
			return refuse(SubDelegationNotAllowed, "power %s delegates %q, which its parent does not", cp.ID, m), nil
		}
	}
	id, err := s.signerPerson(ctx, child.signer)
	switch {
	case errors.Is(err, ErrUnknownSigner):
		return refuse(SubDelegationNotAllowed, "power %s is signed by no person of the platform", cp.ID), nil
	case err != nil:
		return refusal{}, fmt.Errorf("delegation: resolve the signer of %s: %w", cp.ID, err)
	case id != pp.Agent.PlatformID:
		return refuse(SubDelegationNotAllowed, "power %s is not signed by its parent's agent", cp.ID), nil
	}
	if s.revoked != nil {
		revoked, err := s.revoked(ctx, child.signer, child.signedAt)
		if err != nil {
			return refusal{}, fmt.Errorf("delegation: revocation of the certificate %s was signed with: %w", cp.ID, err)
		}
		if revoked {
			return refuse(SubDelegationNotAllowed, "power %s was signed with a certificate revoked by %s", cp.ID,
				child.signedAt.UTC().Format(time.RFC3339)), nil
		}
	}
	return refusal{}, nil
}

// registryReason maps the corporate registry's refusals to a Reason, ""
// for a failure.
func registryReason(err error) Reason {
	switch {
	case errors.Is(err, corpreg.ErrUnknownCorporation):
		return UnknownCorporation
	case errors.Is(err, corpreg.ErrClosed):
		return CorporationClosed
	case errors.Is(err, corpreg.ErrNotRepresentative):
		return NotRepresentative
	}
	return ""
}
