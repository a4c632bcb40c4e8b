package eligibility

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/mynaplat/mynaplat/cardco"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/wareki"
)

//go:embed migrations
var migrations embed.FS

// Errors of the eligibility service.
var (
	ErrInvalid  = errors.New("eligibility: invalid request")
	ErrNotFound = errors.New("eligibility: not found")
)

// Errors of the HTTP APIs only.
var (
	errNoInsurer  = errors.New("eligibility: no insurer credential")
	errNoFacility = errors.New("eligibility: no facility credential")
	errNoCard     = errors.New("eligibility: no card login")
	errCheckBody  = fmt.Errorf("%w: malformed check", ErrInvalid)
	errPaperBody  = fmt.Errorf("%w: malformed paper check", ErrInvalid)
	errBirthDate  = fmt.Errorf("%w: birth_date must be YYYY-MM-DD", ErrInvalid)
	errCSVType    = fmt.Errorf("%w: not CSV", ErrInvalid)
	errCSVRead    = fmt.Errorf("%w: the file could not be read", ErrBadFile)
	errRunning    = errors.New("eligibility: the batch is still running")
)

// The problem codes of the service's APIs (insurer, facility, batch,
// payment, the holder's payment link).
const (
	CodeInvalid              httpapi.Code = "invalid"
	CodeUnauthorized         httpapi.Code = "unauthorized"
	CodeBadAssertion         httpapi.Code = "bad_assertion"
	CodeForeignTerminal      httpapi.Code = "foreign_terminal"
	CodeNotFound             httpapi.Code = "not_found"
	CodeUnsupportedMediaType httpapi.Code = "unsupported_media_type"
	CodeBadFile              httpapi.Code = "bad_file"
	CodeRunning              httpapi.Code = "running"
	// Payment with the card.
	CodeBadSignature         httpapi.Code = "bad_signature"
	CodeUntrustedCertificate httpapi.Code = "untrusted_certificate"
	CodeCertificateExpired   httpapi.Code = "certificate_expired"
	CodeCertificateRevoked   httpapi.Code = "certificate_revoked"
	CodeRevocationUnknown    httpapi.Code = "revocation_unknown"
	CodeNotSamePerson        httpapi.Code = "not_same_person"
	CodeConsentStale         httpapi.Code = "consent_stale"
	CodeNoPaymentLink        httpapi.Code = "no_payment_link"
	CodeCheckExpired         httpapi.Code = "check_expired"
	CodeInsufficientFunds    httpapi.Code = "insufficient_funds"
	CodeCardUnusable         httpapi.Code = "card_unusable"
	CodeDeclined             httpapi.Code = "declined"
	CodeRefundExceeds        httpapi.Code = "refund_exceeds"
	CodeIdempotencyKeyReused httpapi.Code = "idempotency_key_reused"
	CodeCardCompanyDown      httpapi.Code = "card_company_unavailable"
	CodePaymentNotConfigured httpapi.Code = "payment_not_configured"
)

// retryAfter is the pause a 503 of payment asks for: the same request with
// the same Idempotency-Key may then be sent again.
var retryAfter = http.Header{"Retry-After": {"5"}}

// Rules answers the service's errors on every API, and maps the answers
// back to the sentinels in FacilityClient and ResidentClient. The card's
// own errors (a wrong or blocked signing password, no signing certificate)
// never reach the service: the terminal that holds the card words them
// (terminal's outcome table).
var Rules = httpapi.Rules{
	{Err: errNoInsurer, Status: http.StatusUnauthorized, Code: CodeUnauthorized, JA: "保険者の認証情報が必要です。", EN: "An insurer credential is required."},
	{Err: errNoFacility, Status: http.StatusUnauthorized, Code: CodeUnauthorized, JA: "医療機関の認証情報が必要です。", EN: "A facility credential is required."},
	{Err: errNoCard, Status: http.StatusUnauthorized, Code: CodeUnauthorized, JA: "カードでログインしてください。", EN: "Log in with your card first."},
	{Err: errCheckBody, Status: http.StatusBadRequest, Code: CodeInvalid,
		JA: "要求の形式が正しくありません（assertion が必要です）。", EN: "Malformed request: assertion is required."},
	{Err: errPaperBody, Status: http.StatusBadRequest, Code: CodeInvalid, JA: "要求の形式が正しくありません。", EN: "Malformed request."},
	{Err: errBirthDate, Status: http.StatusBadRequest, Code: CodeInvalid,
		JA: "生年月日は YYYY-MM-DD の形で指定してください。", EN: "birth_date must be YYYY-MM-DD."},
	{Err: errCSVType, Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMediaType,
		JA: "予約一覧は Content-Type: text/csv で送ってください。", EN: "Send the reservation list as Content-Type: text/csv."},
	{Err: errCSVRead, Status: http.StatusBadRequest, Code: CodeBadFile, JA: "ファイルを受け取れませんでした。", EN: "The file could not be received."},
	{Err: ErrBadFile, Status: http.StatusBadRequest, Code: CodeBadFile,
		JA: "予約一覧の形式が正しくありません。", EN: "The reservation list is not in the expected form."},
	{Err: errRunning, Status: http.StatusConflict, Code: CodeRunning,
		JA: "照会中です。完了してからダウンロードしてください。", EN: "The batch is still running; download the results when it is done."},
	{Err: ErrBadAssertion, Status: http.StatusUnauthorized, Code: CodeBadAssertion,
		JA: "本人確認の結果を確認できません。もう一度カードで本人確認してください。", EN: "The authentication could not be verified; check the card again."},
	{Err: ErrForeignTerminal, Status: http.StatusForbidden, Code: CodeForeignTerminal,
		JA: "この医療機関の端末で行われた本人確認ではありません。", EN: "The authentication was not made at a terminal of this facility."},
	// Linking: the checks.
	{Err: ErrBadSignature, Status: http.StatusBadRequest, Code: CodeBadSignature,
		JA: "同意書の署名を確認できませんでした。", EN: "The signature of the consent could not be verified."},
	{Err: ErrUntrustedCert, Status: http.StatusBadRequest, Code: CodeUntrustedCertificate,
		JA: "署名用電子証明書が公的個人認証サービスのものではありません。", EN: "The signing certificate was not issued by the JPKI signing CA."},
	{Err: ErrCertExpired, Status: http.StatusBadRequest, Code: CodeCertificateExpired,
		JA: "署名用電子証明書の有効期間外です。市区町村の窓口で更新してください。",
		EN: "The signing certificate is not within its validity; renew it at the municipal office."},
	{Err: ErrCertRevoked, Status: http.StatusBadRequest, Code: CodeCertificateRevoked,
		JA: "署名用電子証明書が失効しています（住所や氏名の変更、紛失など）。市区町村の窓口で再発行を受けてください。",
		EN: "The signing certificate is revoked (a change of address or name, a loss, …); get a new one at the municipal office."},
	{Err: ErrRevocationUnknown, Status: http.StatusServiceUnavailable, Code: CodeRevocationUnknown, Header: retryAfter,
		JA: "署名用電子証明書の失効確認ができませんでした。しばらくしてから再度お試しください。",
		EN: "The status of the signing certificate could not be confirmed; try again shortly."},
	{Err: ErrNotSamePerson, Status: http.StatusForbidden, Code: CodeNotSamePerson,
		JA: "署名用電子証明書が、ログインしたご本人のものではありません。ご自身のカードで登録してください。",
		EN: "The signing certificate is not that of the person logged in; register with your own card."},
	{Err: ErrConsentStale, Status: http.StatusConflict, Code: CodeConsentStale,
		JA: "同意書の表示から時間がたちました。もう一度同意書を確認してください。", EN: "The consent was shown too long ago; review it again."},
	// The holder's own link (resident_http.go).
	{Err: errMyNoPaymentLink, Status: http.StatusNotFound, Code: CodeNoPaymentLink,
		JA: "カードでのお支払いは登録されていません。", EN: "No card is registered for payment."},
	{Err: errPayLinkBody, Status: http.StatusBadRequest, Code: CodeInvalid,
		JA: "登録の要求の形式が正しくありません（同意書の内容・署名用電子証明書・署名が必要です）。",
		EN: "Malformed request: the consent, the signing certificate and the signature are required."},
	// Charging.
	{Err: ErrNoPaymentLink, Status: http.StatusConflict, Code: CodeNoPaymentLink,
		JA: "この方はカードでのお支払いを登録していません。窓口でお支払いください。",
		EN: "This patient has not registered a card for payment; take the payment at the desk."},
	{Err: ErrCheckExpired, Status: http.StatusUnprocessableEntity, Code: CodeCheckExpired,
		JA: "資格確認が本日のものではありません。もう一度資格確認をしてください。", EN: "The eligibility check is not from today; check again."},
	{Err: cardco.ErrInsufficientFunds, Status: http.StatusPaymentRequired, Code: CodeInsufficientFunds,
		JA: "ご利用可能額が不足しているため、カードでお支払いできませんでした。窓口でお支払いください。",
		EN: "Declined: the card's available credit is less than the amount. Take the payment at the desk."},
	{Err: cardco.ErrInvalidToken, Status: http.StatusPaymentRequired, Code: CodeCardUnusable,
		JA: "登録されたカードは現在ご利用いただけません（カード会社で取り消されています）。窓口でお支払いください。",
		EN: "Declined: the registered card can no longer be used (revoked at the card company). Take the payment at the desk."},
	{Err: ErrDeclined, Status: http.StatusPaymentRequired, Code: CodeDeclined,
		JA: "カード会社がお支払いをお受けしませんでした。窓口でお支払いください。", EN: "The card company declined the payment. Take the payment at the desk."},
	{Err: ErrRefundExceeds, Status: http.StatusConflict, Code: CodeRefundExceeds, JA: "返金額が返金可能額を超えています。", EN: "The refund exceeds what is left to refund."},
	{Err: ErrIdempotencyReused, Status: http.StatusUnprocessableEntity, Code: CodeIdempotencyKeyReused,
		JA: "この Idempotency-Key は別の要求に使われています。新しいキーで送ってください。", EN: "This Idempotency-Key was used for another request; send with a new key."},
	{Err: ErrPaymentUnavailable, Status: http.StatusServiceUnavailable, Code: CodeCardCompanyDown, Header: retryAfter,
		JA: "カード会社に接続できませんでした。請求は行われていません。同じ Idempotency-Key でもう一度送ってください（二重に請求されることはありません）。",
		EN: "The card company could not be reached. Nothing was charged; send the request again with the same Idempotency-Key (it is never charged twice)."},
	{Err: ErrPaymentNotConfigured, Status: http.StatusServiceUnavailable, Code: CodePaymentNotConfigured, Header: retryAfter,
		JA: "カードでのお支払いは現在ご利用いただけません。", EN: "Payment with the card is not available."},
	{Err: ErrInvalid, Status: http.StatusBadRequest, Code: CodeInvalid, Detail: true, JA: "入力内容に誤りがあります。", EN: "Invalid request."},
	{Err: ErrNotFound, Status: http.StatusNotFound, Code: CodeNotFound, JA: "該当する記録がありません。", EN: "No such record."},
}

// Service keeps insurers, insured persons and their links to platform IDs.
type Service struct {
	db         *store.DB
	now        func() time.Time
	logger     *slog.Logger
	keys       func(context.Context) (platform.JWKS, error)
	issuer     string
	attributes func(ctx context.Context, platformID string) (*jpki.HolderAttributes, error)
	// facilityKeys (key hash → code) and terminalFacilities (terminal →
	// facility) remember lookups that never change once made.
	facilityKeys, terminalFacilities sync.Map
	cardco                           *cardco.Client // payment with the card (pay.go); nil when not offered
	pay                              PaymentConfig
}

// Config holds what the service needs.
type Config struct {
	DB     *store.DB
	Now    func() time.Time
	Logger *slog.Logger
	// Keys are the platform's assertion keys (its JWKS) and Issuer its name
	// in assertions: the facility API accepts a card holder only on a
	// platform assertion.
	Keys   func(context.Context) (platform.JWKS, error)
	Issuer string
	// Attributes are the JPKI attributes of a platform ID's holder, from the
	// platform, for the five-attribute link.
	Attributes func(ctx context.Context, platformID string) (*jpki.HolderAttributes, error)
	// CardCo is the platform's merchant client at the card company, for
	// payment with the card (pay.go); nil when payment is not offered.
	CardCo *cardco.Client
	// Payment is what linking a card-company token needs (pay.go).
	Payment PaymentConfig
}

// Open migrates the service's tables.
func Open(ctx context.Context, cfg Config) (*Service, error) {
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
	if err := cfg.DB.Migrate(ctx, "eligibility", mfs); err != nil {
		return nil, err
	}
	return &Service{db: cfg.DB, now: cfg.Now, logger: cfg.Logger, keys: cfg.Keys, issuer: cfg.Issuer, attributes: cfg.Attributes,
		cardco: cfg.CardCo, pay: cfg.Payment}, nil
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

var (
	insurerNumber = regexp.MustCompile(`^[0-9]{6}([0-9]{2})?$`) // 6 digits (国保) or 8
	branchPattern = regexp.MustCompile(`^[0-9]{2}$`)
)

// AddInsurer registers an insurer and returns its API key (shown once).
func (s *Service) AddInsurer(ctx context.Context, number, name string) (string, error) {
	if !insurerNumber.MatchString(number) || strings.TrimSpace(name) == "" {
		return "", fmt.Errorf("%w: insurer number must be 6 or 8 digits and the name not empty", ErrInvalid)
	}
	b := make([]byte, 24)
	rand.Read(b)
	key := "insurer_" + base64.RawURLEncoding.EncodeToString(b)
	_, err := s.db.Write(ctx, qInsertInsurer, number, name, hashKey(key), s.now().Unix())
	if store.IsUniqueViolation(err) {
		return "", fmt.Errorf("%w: insurer %s exists", ErrInvalid, number)
	}
	if err != nil {
		return "", fmt.Errorf("eligibility: add insurer: %w", err)
	}
	return key, nil
}

func hashKey(k string) string {
	s := sha256.Sum256([]byte(k))
	return hex.EncodeToString(s[:])
}

// InsurerByKey returns the insurer number an API key belongs to.
func (s *Service) InsurerByKey(ctx context.Context, key string) (string, error) {
	var number string
	err := s.db.QueryRowContext(ctx, qInsurerByKey, hashKey(key)).Scan(&number)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%w: insurer key", ErrNotFound)
	}
	return number, err
}

// Person is who a record or a JPKI record says someone is: the five
// attributes the link rests on.
type Person struct {
	Name      string    `json:"name"`       // 氏名 (kanji)
	Kana      string    `json:"kana"`       // フリガナ
	BirthDate time.Time `json:"birth_date"` // civil date
	Sex       int       `json:"sex"`        // 1 male, 2 female, 3 unknown
	Address   string    `json:"address"`
}

// Insured is one insured record: a person's coverage under one insurer for
// one period.
type Insured struct {
	ID       string `json:"id"`
	Insurer  string `json:"insurer"`  // 保険者番号
	Symbol   string `json:"symbol"`   // 記号
	Number   string `json:"number"`   // 番号
	Branch   string `json:"branch"`   // 枝番, 2 digits
	Relation string `json:"relation"` // "self" (本人) or "family" (家族)
	Person
	CopayPercent    int       `json:"copay_percent"`    // 負担割合: 10, 20 or 30
	ElderlyPercent  int       `json:"elderly_percent"`  // 高齢受給者証の負担割合, 0 if none
	LimitCategory   string    `json:"limit_category"`   // 限度額適用区分, "" if none
	SpecificDisease string    `json:"specific_disease"` // 特定疾病, "" if none
	AcquiredOn      time.Time `json:"acquired_on"`      // 資格取得日
	LostOn          time.Time `json:"lost_on,omitzero"` // 資格喪失日, zero while covered
}

const dateFormat = time.DateOnly

func civil(t time.Time) string { return t.In(wareki.JST()).Format(dateFormat) }

func parseCivil(s string) (time.Time, error) {
	return time.ParseInLocation(dateFormat, s, wareki.JST())
}

func (in *Insured) validate() error {
	var p []string
	if !insurerNumber.MatchString(in.Insurer) {
		p = append(p, "insurer number")
	}
	if in.Symbol == "" && in.Number == "" || len(in.Number) > 20 || len(in.Symbol) > 20 {
		p = append(p, "symbol/number")
	}
	if !branchPattern.MatchString(in.Branch) {
		p = append(p, "branch (2 digits)")
	}
	if in.Relation != "self" && in.Relation != "family" {
		p = append(p, "relation (self or family)")
	}
	if strings.TrimSpace(in.Name) == "" || strings.TrimSpace(in.Kana) == "" || in.BirthDate.IsZero() || strings.TrimSpace(in.Address) == "" {
		p = append(p, "name, kana, birth date and address are all required")
	}
	if in.Sex < 1 || in.Sex > 3 {
		p = append(p, "sex")
	}
	if in.CopayPercent != 10 && in.CopayPercent != 20 && in.CopayPercent != 30 {
		p = append(p, "copay percent (10, 20 or 30)")
	}
	if in.AcquiredOn.IsZero() || (!in.LostOn.IsZero() && in.LostOn.Before(in.AcquiredOn)) {
		p = append(p, "acquired/lost dates")
	}
	if len(p) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(p, "; "))
	}
	return nil
}

// AddInsured records a coverage.
func (s *Service) AddInsured(ctx context.Context, in Insured) (*Insured, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	in.ID = newID()
	now := s.now().Unix()
	var lost any
	if !in.LostOn.IsZero() {
		lost = civil(in.LostOn)
	}
	var elderly any
	if in.ElderlyPercent > 0 {
		elderly = in.ElderlyPercent
	}
	_, err := s.db.Write(ctx, qInsertInsured, in.ID, in.Insurer, in.Symbol, in.Number, in.Branch, in.Relation,
		in.Name, in.Kana, civil(in.BirthDate), in.Sex, in.Address, in.CopayPercent, elderly, in.LimitCategory,
		in.SpecificDisease, civil(in.AcquiredOn), lost, now)
	if store.IsUniqueViolation(err) {
		return nil, fmt.Errorf("%w: this coverage is already recorded", ErrInvalid)
	}
	if err != nil {
		return nil, fmt.Errorf("eligibility: add insured: %w", err)
	}
	return &in, nil
}

// EndCoverage records the day after the last covered day (資格喪失日).
func (s *Service) EndCoverage(ctx context.Context, insuredID string, lostOn time.Time) error {
	res, err := s.db.Write(ctx, qEndCoverage, civil(lostOn), s.now().Unix(), insuredID)
	if err != nil {
		return fmt.Errorf("eligibility: end coverage: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: insured %s (or already ended)", ErrNotFound, insuredID)
	}
	return nil
}

// ChangeJob ends a coverage and starts the new one in one transaction: a job
// change (転職) moves a person from one insurer to another on one day.
func (s *Service) ChangeJob(ctx context.Context, oldID string, next Insured) (*Insured, error) {
	if err := next.validate(); err != nil {
		return nil, err
	}
	next.ID = newID()
	now := s.now().Unix()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, qEndCoverage, civil(next.AcquiredOn), now, oldID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: insured %s (or already ended)", ErrNotFound, oldID)
		}
		var elderly any
		if next.ElderlyPercent > 0 {
			elderly = next.ElderlyPercent
		}
		_, err = tx.ExecContext(ctx, qInsertInsured, next.ID, next.Insurer, next.Symbol, next.Number, next.Branch, next.Relation,
			next.Name, next.Kana, civil(next.BirthDate), next.Sex, next.Address, next.CopayPercent, elderly, next.LimitCategory,
			next.SpecificDisease, civil(next.AcquiredOn), nil, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("eligibility: change job: %w", err)
	}
	return &next, nil
}

// normalize makes two spellings of one value compare equal: NFKC (full-width
// digits and letters, half-width kana), no spaces of either width, one kind
// of hyphen. It does not touch 旧字体 or 外字: a different character is a
// mismatch, and a clerk decides.
func normalize(s string) string {
	s = norm.NFKC.String(s)
	var b strings.Builder
	for _, r := range s {
		switch r {
		case ' ', '\u3000', '\t':
			continue
		case '‐', '‑', '‒', '–', '—', '−', '－':
			r = '-'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mismatches lists which of the five attributes differ.
func mismatches(a, b Person) []string {
	var out []string
	if normalize(a.Name) != normalize(b.Name) {
		out = append(out, "name")
	}
	if normalize(a.Kana) != normalize(b.Kana) {
		out = append(out, "kana")
	}
	if civil(a.BirthDate) != civil(b.BirthDate) {
		out = append(out, "birth_date")
	}
	if a.Sex != b.Sex {
		out = append(out, "sex")
	}
	if normalize(a.Address) != normalize(b.Address) {
		out = append(out, "address")
	}
	return out
}
