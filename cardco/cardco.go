package cardco

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/store"
)

//go:embed migrations
var migrations embed.FS

// Errors the company's operations return. The HTTP layer maps them to status
// codes (see Routes) and the Client maps status codes back to them, so a
// caller tests with errors.Is either way.
var (
	// ErrInvalid: the request is malformed (400).
	ErrInvalid = errors.New("cardco: invalid request")
	// ErrBadIdempotencyKey: a money-moving request without a usable
	// Idempotency-Key (400).
	ErrBadIdempotencyKey = errors.New("cardco: missing or malformed Idempotency-Key")
	// ErrUnauthorized: no or unknown merchant (or admin) key (401).
	ErrUnauthorized = errors.New("cardco: unauthorized")
	// ErrForbidden: enrolment over HTTP is disabled (403).
	ErrForbidden = errors.New("cardco: forbidden")
	// ErrNotFound: no such payment for this merchant, or no such token (404).
	ErrNotFound = errors.New("cardco: not found")
	// ErrDeclined: the card company declined the payment (402); the
	// reason is one of the two below.
	ErrDeclined = errors.New("cardco: declined")
	// ErrInsufficientFunds: the card's available credit is less than the amount.
	ErrInsufficientFunds = errors.New("cardco: insufficient funds")
	// ErrInvalidToken: the token is unknown or revoked.
	ErrInvalidToken = errors.New("cardco: invalid token")
	// ErrRefundExceedsCaptured: a refund larger than what is left to refund (409).
	ErrRefundExceedsCaptured = errors.New("cardco: refund exceeds the captured amount")
	// ErrIdempotencyMismatch: an Idempotency-Key already used for another request (422).
	ErrIdempotencyMismatch = errors.New("cardco: Idempotency-Key reused with a different request")
	// ErrCardMismatch: enrolment details do not match the card on file (422).
	ErrCardMismatch = errors.New("cardco: card details do not match")
	// ErrUnavailable: the company could not be reached or failed (network
	// error, 5xx); httpapi's. The request may be retried with the same
	// Idempotency-Key.
	ErrUnavailable = httpapi.ErrUnavailable
)

// errBusy is a request cancelled whole (its time ran out, or the database
// gave up on it): nothing was kept, so the same request with the same key is
// safe to send again.
var errBusy = errors.New("cardco: busy, nothing was done")

// The API's problem codes.
const (
	CodeInvalidIdempotencyKey httpapi.Code = "invalid_idempotency_key"
	CodeInvalidRequest        httpapi.Code = "invalid_request"
	CodeUnauthorized          httpapi.Code = "unauthorized"
	CodeEnrolmentDisabled     httpapi.Code = "enrolment_disabled"
	CodeNotFound              httpapi.Code = "not_found"
	CodeIdempotencyKeyReused  httpapi.Code = "idempotency_key_reused"
	CodeCardMismatch          httpapi.Code = "card_mismatch"
	CodeUnavailable           httpapi.Code = "unavailable"
	// A decline (402) has a reason member, insufficient_funds or
	// invalid_token.
	CodeDeclined              httpapi.Code = "declined"
	CodeRefundExceedsCaptured httpapi.Code = "refund_exceeds_captured"
)

// Rules answers the company's errors on its API (declines and refunds
// that exceed are stored answers, decline and refund), and maps the answers
// back to the sentinels in Client.
var Rules = httpapi.Rules{
	{Err: ErrBadIdempotencyKey, Status: http.StatusBadRequest, Code: CodeInvalidIdempotencyKey,
		JA: "Idempotency-Key ヘッダ（1〜64文字の半角英数記号）が必要です。", EN: "An Idempotency-Key header of 1–64 printable ASCII characters is required."},
	{Err: ErrInvalid, Status: http.StatusBadRequest, Code: CodeInvalidRequest, JA: "要求の内容に誤りがあります。", EN: "Invalid request."},
	{Err: ErrUnauthorized, Status: http.StatusUnauthorized, Code: CodeUnauthorized, Header: http.Header{"Www-Authenticate": {`Bearer realm="cardco"`}},
		JA: "加盟店の認証に失敗しました。APIキーを確認してください。", EN: "Unauthorized: missing or unknown API key."},
	{Err: ErrForbidden, Status: http.StatusForbidden, Code: CodeEnrolmentDisabled,
		JA: "この窓口ではカードの登録を受け付けていません。", EN: "Card enrolment over HTTP is disabled here."},
	{Err: ErrNotFound, Status: http.StatusNotFound, Code: CodeNotFound, JA: "該当するお支払いが見つかりません。", EN: "No such payment."},
	{Err: ErrIdempotencyMismatch, Status: http.StatusUnprocessableEntity, Code: CodeIdempotencyKeyReused,
		JA: "この Idempotency-Key は別の内容の要求ですでに使われています。新しい要求には新しいキーを使ってください。",
		EN: "This Idempotency-Key was already used for a different request; use a new key for a new request."},
	{Err: ErrCardMismatch, Status: http.StatusUnprocessableEntity, Code: CodeCardMismatch,
		JA: "カード名義または有効期限が登録内容と一致しません。", EN: "The holder name or expiry does not match the card on file."},
	{Err: errBusy, Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Header: http.Header{"Retry-After": {"1"}},
		JA: "混み合っているため処理を取り消しました。同じ Idempotency-Key で再度お送りください。",
		EN: "Busy: the request was cancelled whole; send it again with the same Idempotency-Key."},
	{Err: ErrDeclined, Status: http.StatusPaymentRequired, Code: CodeDeclined,
		JA: "カード会社がお支払いをお受けしませんでした。", EN: "Declined by the card company."},
	{Err: ErrRefundExceedsCaptured, Status: http.StatusConflict, Code: CodeRefundExceedsCaptured,
		JA: "返金額が返金可能額を超えています。", EN: "The refund exceeds what is left to refund."},
	// An internal failure stores nothing (doc.go), so the company says so,
	// and the client's retries send the request again under its key.
	{Err: httpapi.ErrInternal, Status: http.StatusInternalServerError, Code: httpapi.CodeInternal, Header: http.Header{"Retry-After": {"1"}},
		JA: "内部エラーが発生しました。処理は行われていません。同じ Idempotency-Key で再度お送りください。",
		EN: "Internal error; nothing was done. Send the request again with the same Idempotency-Key."},
}

// Limits on amounts, in yen.
const (
	// MaxAmount bounds one payment or refund (1億円).
	MaxAmount = 100_000_000
	// MaxLimit bounds a card's credit limit, keeping every sum far from
	// int64 overflow.
	MaxLimit = 1_000_000_000_000
	// DefaultLimit is the credit limit of a card enrolled over HTTP without one.
	DefaultLimit = 300_000
)

// Config holds a Company's dependencies.
type Config struct {
	DB     *store.DB
	Now    func() time.Time
	Logger *slog.Logger
	// AdminKey, when not empty, is the bearer key of POST /cardco/v1/tokens,
	// the company's own enrolment endpoint. When empty that endpoint answers
	// 403 and cards are enrolled only through AddAccount (the Go API the
	// demo seeding uses).
	AdminKey string
	// Callers are the roles that may enrol cards at POST /cardco/v1/tokens
	// too, each with its own key (the platform operator's payment pages);
	// each enrolment is audited under the caller's name.
	Callers callerkey.Keys
	// RequestTimeout bounds one money-moving request; past it the
	// transaction is rolled back whole. Zero means 10 seconds.
	RequestTimeout time.Duration
}

// Company is the card company: its ledger and its HTTP API.
type Company struct {
	db       *store.DB
	now      func() time.Time
	logger   *slog.Logger
	adminKey [32]byte // SHA-256 of Config.AdminKey
	admin    bool
	callers  callerkey.Keys
	timeout  time.Duration
	// beforeCommit, set only by tests, runs at the end of every
	// money-moving transaction, after the ledger rows and the key row are
	// written and before the commit: a failure (or a kill) there must leave
	// nothing behind.
	beforeCommit func(ctx context.Context, op string) error
}

// Open migrates the company's tables and returns the company.
func Open(ctx context.Context, cfg Config) (*Company, error) {
	if cfg.DB == nil {
		return nil, errors.New("cardco: no database")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	mfs, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if err := cfg.DB.Migrate(ctx, "cardco", mfs); err != nil {
		return nil, err
	}
	c := &Company{db: cfg.DB, now: cfg.Now, logger: cfg.Logger, timeout: cfg.RequestTimeout, callers: cfg.Callers}
	if cfg.AdminKey != "" {
		c.admin = true
		c.adminKey = sha256.Sum256([]byte(cfg.AdminKey))
	}
	return c, nil
}

// AddMerchant registers a merchant and returns its ID and API key. The key
// is shown only here; the company keeps its SHA-256.
func (c *Company) AddMerchant(ctx context.Context, name string) (id, key string, err error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 || !printable(name) {
		return "", "", invalid("加盟店名は1〜100文字で指定してください。", "a merchant name is 1–100 printable characters")
	}
	id = newID("mch")
	key = "cck_" + rand.Text() + rand.Text()
	h := sha256.Sum256([]byte(key))
	if _, err := c.db.Write(ctx, qInsertMerchant, id, name, h[:], c.now().UnixMilli()); err != nil {
		if store.IsUniqueViolation(err) {
			return "", "", invalid("同じ名前の加盟店がすでに登録されています。", fmt.Sprintf("merchant %q already exists", name))
		}
		return "", "", fmt.Errorf("cardco: add merchant: %w", err)
	}
	c.logger.InfoContext(ctx, "merchant added", "merchant", id, "name", name)
	return id, key, nil
}

// invalidError is a refused request with what to tell the person in both
// languages; it is ErrInvalid for errors.Is.
type invalidError struct{ ja, en string }

func invalid(ja, en string) error { return &invalidError{ja, en} }

func (e *invalidError) Error() string { return ErrInvalid.Error() + ": " + e.en }

// Unwrap is ErrInvalid, and the answer with the error's own text.
func (e *invalidError) Unwrap() []error {
	return []error{ErrInvalid, httpapi.New(http.StatusBadRequest, CodeInvalidRequest, e.ja, "Invalid request: "+e.en)}
}

// merchant is an authenticated merchant.
type merchant struct{ id, name string }

// merchantByKey returns the merchant whose API key this is.
func (c *Company) merchantByKey(ctx context.Context, key string) (merchant, error) {
	if key == "" {
		return merchant{}, ErrUnauthorized
	}
	h := sha256.Sum256([]byte(key))
	var m merchant
	err := c.db.QueryRowContext(ctx, qMerchantByKey, h[:]).Scan(&m.id, &m.name)
	if errors.Is(err, sql.ErrNoRows) {
		return merchant{}, ErrUnauthorized
	}
	if err != nil {
		return merchant{}, fmt.Errorf("cardco: look up merchant: %w", err)
	}
	return m, nil
}

// Enrolment is a card to enrol: POST /cardco/v1/tokens.
type Enrolment struct {
	PAN    string `json:"pan"`
	Holder string `json:"holder"`
	// Expiry is MM/YY.
	Expiry string `json:"expiry"`
	// CreditLimit in yen, used only when the card is new to the company;
	// zero means DefaultLimit.
	CreditLimit int64 `json:"credit_limit,omitempty"`
}

// Enrolled is the answer to an enrolment.
type Enrolled struct {
	Token string `json:"token"`
	Last4 string `json:"last4"`
}

// AddAccount opens a card account (valid for five years from now) with a
// credit limit in yen and returns a token for it and the card's last four
// digits. It is the demo seeding's way in.
func (c *Company) AddAccount(ctx context.Context, pan, holder string, limit int64) (token, last4 string, err error) {
	if limit <= 0 {
		return "", "", invalid("利用限度額は1円以上で指定してください。", "the credit limit must be positive")
	}
	e, err := c.Enrol(ctx, Enrolment{PAN: pan, Holder: holder, Expiry: c.now().AddDate(5, 0, 0).Format("01/06"), CreditLimit: limit})
	if err != nil {
		return "", "", err
	}
	return e.Token, e.Last4, nil
}

// Enrol issues a new token for a card: for a card the company knows, the
// holder and expiry must match; a card it does not know is opened as a new
// account (the test company enrols its own customers).
func (c *Company) Enrol(ctx context.Context, e Enrolment) (*Enrolled, error) {
	e.Holder = strings.TrimSpace(e.Holder)
	if err := validPAN(e.PAN); err != nil {
		return nil, err
	}
	if e.Holder == "" || utf8.RuneCountInString(e.Holder) > 100 || !printable(e.Holder) {
		return nil, invalid("カード名義は1〜100文字で指定してください。", "the holder name is 1–100 printable characters")
	}
	exp, err := time.Parse("01/06", e.Expiry)
	if err != nil {
		return nil, invalid("有効期限は MM/YY の形式で指定してください。", "expiry must be MM/YY")
	}
	if !c.now().Before(exp.AddDate(0, 1, 0)) { // valid through the end of its month
		return nil, invalid("このカードは有効期限が切れています。", "the card expired in "+e.Expiry)
	}
	if e.CreditLimit < 0 || e.CreditLimit > MaxLimit {
		return nil, invalid("利用限度額が範囲外です。", fmt.Sprintf("the credit limit must be 0–%d yen", int64(MaxLimit)))
	}
	if e.CreditLimit == 0 {
		e.CreditLimit = DefaultLimit
	}
	token := "tok_" + rand.Text()
	last4 := e.PAN[len(e.PAN)-4:]
	for attempt := 0; ; attempt++ {
		err = c.db.Tx(ctx, func(tx *sql.Tx) error {
			now := c.now().UnixMilli()
			var id, holder, expiry string
			err := tx.QueryRowContext(ctx, qAccountByPAN, e.PAN).Scan(&id, &holder, &expiry)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				id = newID("acct")
				if _, err := tx.ExecContext(ctx, qInsertAccount, id, e.PAN, last4, e.Holder, e.Expiry, e.CreditLimit, now); err != nil {
					return fmt.Errorf("cardco: open account: %w", err)
				}
			case err != nil:
				return fmt.Errorf("cardco: look up card: %w", err)
			case holder != e.Holder || expiry != e.Expiry:
				return ErrCardMismatch
			}
			if _, err := tx.ExecContext(ctx, qInsertToken, token, id, now); err != nil {
				return fmt.Errorf("cardco: issue token: %w", err)
			}
			return nil
		})
		// Two enrolments of one new card at once: the second finds the
		// first one's account when it runs again.
		if err != nil && store.IsUniqueViolation(err) && attempt < 2 {
			continue
		}
		break
	}
	if err != nil {
		return nil, err
	}
	c.logger.InfoContext(ctx, "card enrolled", "last4", last4)
	return &Enrolled{Token: token, Last4: last4}, nil
}

// RevokeToken revokes a token: payments with it are declined from now on
// (invalid_token). Revoking a revoked token is not an error.
func (c *Company) RevokeToken(ctx context.Context, token string) error {
	res, err := c.db.Write(ctx, qRevokeToken, c.now().UnixMilli(), token)
	if err != nil {
		return fmt.Errorf("cardco: revoke token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: no such token", ErrNotFound)
	}
	return nil
}

// Account is what the company shows about the card behind a token.
type Account struct {
	Last4  string
	Holder string
	Expiry string
	Limit  int64
	// Available = limit − authorised − captured + refunded.
	Available int64
	Revoked   bool
}

// Account returns the card account behind a token.
func (c *Company) Account(ctx context.Context, token string) (*Account, error) {
	var a Account
	var revoked sql.NullInt64
	err := c.db.QueryRowContext(ctx, qAccountOfToken, token).Scan(&a.Last4, &a.Holder, &a.Expiry, &a.Limit, &a.Available, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: no such token", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("cardco: account: %w", err)
	}
	a.Revoked = revoked.Valid
	return &a, nil
}

// validPAN checks a card number: 16 digits whose last is the Luhn check
// digit (ISO/IEC 7812-1 Annex B).
func validPAN(pan string) error {
	if len(pan) != 16 {
		return invalid("カード番号は16桁の数字で指定してください。", "a card number has 16 digits")
	}
	sum := 0
	for i := range 16 {
		d := int(pan[15-i]) - '0'
		if d < 0 || d > 9 {
			return invalid("カード番号は16桁の数字で指定してください。", "a card number has 16 digits")
		}
		if i%2 == 1 { // every second digit from the right, check digit excluded
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	if sum%10 != 0 {
		return invalid("カード番号に誤りがあります（チェックデジットが一致しません）。", "the card number's check digit is wrong")
	}
	return nil
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func newID(prefix string) string { return prefix + "_" + strings.ToLower(rand.Text()) }
