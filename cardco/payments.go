package cardco

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/store"
)

// Status is a payment's state.
type Status string

// The payment statuses. The v1 API captures at once; authorized and voided
// are reserved for a two-step flow.
const (
	Authorized        Status = "authorized"
	Captured          Status = "captured"
	Refunded          Status = "refunded"
	PartiallyRefunded Status = "partially_refunded"
	Voided            Status = "voided"
)

// PaymentRequest is the body of POST /cardco/v1/payments.
type PaymentRequest struct {
	Token string `json:"token"`
	// Amount in yen, 1–MaxAmount.
	Amount int64 `json:"amount"`
	// Currency must be "JPY".
	Currency    string `json:"currency"`
	Description string `json:"description,omitempty"`
}

// validate checks a payment request's fields.
func (r PaymentRequest) validate() error {
	switch {
	case r.Token == "" || len(r.Token) > 100 || !asciiPrintable(r.Token):
		return invalid("token（カードのトークン）を指定してください。", "token is required (up to 100 printable ASCII characters)")
	case r.Amount <= 0 || r.Amount > MaxAmount:
		return invalid(fmt.Sprintf("金額は1円から%d円までの整数で指定してください。", MaxAmount), fmt.Sprintf("amount must be a whole number of yen from 1 to %d", MaxAmount))
	case r.Currency != "JPY":
		return invalid("通貨は JPY を指定してください。", `currency must be "JPY"`)
	case utf8.RuneCountInString(r.Description) > 200 || !printable(r.Description):
		return invalid("摘要（description）は200文字以内で指定してください。", "description is up to 200 printable characters")
	}
	return nil
}

// RefundRequest is the body of POST /cardco/v1/payments/{id}/refunds.
type RefundRequest struct {
	// Amount in yen to refund, 1–MaxAmount.
	Amount int64 `json:"amount"`
}

func (r RefundRequest) validate() error {
	if r.Amount <= 0 || r.Amount > MaxAmount {
		return invalid(fmt.Sprintf("返金額は1円から%d円までの整数で指定してください。", MaxAmount), fmt.Sprintf("amount must be a whole number of yen from 1 to %d", MaxAmount))
	}
	return nil
}

// decodeStrict decodes exactly one JSON object with only known fields.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid("要求の JSON が正しくありません。", "malformed JSON: "+err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("要求の JSON の後ろに余分なデータがあります。", "trailing data after the JSON object")
	}
	return nil
}

// decodePaymentRequest parses and checks a payment request body.
func decodePaymentRequest(body []byte) (PaymentRequest, error) {
	var r PaymentRequest
	if err := decodeStrict(body, &r); err != nil {
		return PaymentRequest{}, err
	}
	if err := r.validate(); err != nil {
		return PaymentRequest{}, err
	}
	return r, nil
}

// requestHash identifies a request for the idempotency check. It hashes the
// operation (so a key used for a payment cannot be replayed as a refund) and
// the decoded request re-encoded, so a retry that only reorders fields or
// changes whitespace still counts as the same request.
func requestHash(op string, req any) []byte {
	b, err := json.Marshal(req)
	if err != nil {
		panic(err) // the request types always marshal
	}
	h := sha256.New()
	h.Write([]byte(op))
	h.Write([]byte{0})
	h.Write(b)
	return h.Sum(nil)
}

// validIdempotencyKey checks an Idempotency-Key: 1–64 printable ASCII
// characters (space included).
func validIdempotencyKey(k string) bool {
	return k != "" && len(k) <= 64 && asciiPrintable(k)
}

func asciiPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Payment is a payment as the merchant sees it.
type Payment struct {
	ID          string    `json:"payment_id"`
	Status      Status    `json:"status"`
	Amount      int64     `json:"amount"`
	Refunded    int64     `json:"refunded"`
	Currency    string    `json:"currency"`
	Description string    `json:"description,omitempty"`
	Last4       string    `json:"last4"`
	CreatedAt   time.Time `json:"created_at"`
	// Replayed is set by the Client when the answer was a stored one
	// (Idempotent-Replayed: true): no new charge was made.
	Replayed bool `json:"-"`
}

// Refund is a refund of (part of) a payment, with the payment as it stands
// after it.
type Refund struct {
	ID        string    `json:"refund_id"`
	PaymentID string    `json:"payment_id"`
	Amount    int64     `json:"amount"`
	CreatedAt time.Time `json:"created_at"`
	Payment   *Payment  `json:"payment"`
	// Replayed: as in Payment.
	Replayed bool `json:"-"`
}

// Decline reasons, the reason member of a decline.
const (
	reasonInsufficientFunds = "insufficient_funds"
	reasonInvalidToken      = "invalid_token"
)

// decline is the stored answer of a declined payment.
func decline(reason string) httpapi.Problem {
	ja, en := "このカードは現在ご利用いただけません（登録が取り消されたか、見つかりません）。",
		"Declined: the card token is unknown or has been revoked."
	if reason == reasonInsufficientFunds {
		ja, en = "ご利用可能額が不足しているため、お支払いをお受けできませんでした。", "Declined: the card's available credit is less than the amount."
	}
	return httpapi.New(http.StatusPaymentRequired, CodeDeclined, ja, en).With("reason", reason)
}

// reply is a response to a money-moving request, exactly as stored under
// its Idempotency-Key.
type reply struct {
	status   int
	body     []byte
	replayed bool
}

// idempotent runs fn — which moves money and returns the status and body of
// the answer — in one transaction together with storing that answer under
// (merchant, key). When the key is already stored, fn does not run: the
// stored answer is returned (replayed) if the request hash matches, and
// ErrIdempotencyMismatch if it does not. An error from fn rolls back
// everything and stores nothing.
func (c *Company) idempotent(ctx context.Context, merchantID, key, op string, hash []byte,
	fn func(tx *sql.Tx, now int64) (int, any, error)) (reply, error) {
	// The whole request, waits included, is bounded; past the bound the
	// transaction is rolled back whole.
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		var rep reply
		// READ COMMITTED is enough and queues instead of aborting: the money
		// moves are conditional UPDATEs (credit left, refund left) that
		// PostgreSQL re-checks on the locked row, and the key row's primary
		// key makes a concurrent request with the same key fail with a
		// unique violation (handled below). SERIALIZABLE made 20 concurrent
		// payments on one account abort past store.Tx's retries under load.
		err := c.db.TxLevel(ctx, sql.LevelReadCommitted, func(tx *sql.Tx) error {
			rep = reply{}
			var storedHash, body []byte
			var status int
			err := tx.QueryRowContext(ctx, qIdempotency, merchantID, key).Scan(&storedHash, &status, &body)
			switch {
			case err == nil:
				if !bytes.Equal(storedHash, hash) {
					return ErrIdempotencyMismatch
				}
				rep = reply{status: status, body: body, replayed: true}
				return nil
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("cardco: read idempotency key: %w", err)
			}
			now := c.now().UnixMilli()
			status, v, err := fn(tx, now)
			if err != nil {
				return err
			}
			if body, err = json.Marshal(v); err != nil {
				return fmt.Errorf("cardco: encode answer: %w", err)
			}
			if _, err := tx.ExecContext(ctx, qInsertIdempotency, merchantID, key, op, hash, status, body, now); err != nil {
				return fmt.Errorf("cardco: store idempotency key: %w", err)
			}
			if c.beforeCommit != nil {
				if err := c.beforeCommit(ctx, op); err != nil {
					return err
				}
			}
			rep = reply{status: status, body: body}
			return nil
		})
		// A concurrent request with the same key committed between our read
		// and our insert (PostgreSQL may report that as a unique violation
		// rather than a serialization failure, which store.Tx retries
		// itself): run again, and the stored answer will be found.
		if err != nil && store.IsUniqueViolation(err) && attempt < 3 {
			continue
		}
		return rep, err
	}
}

// pay charges a card for a merchant under an Idempotency-Key.
func (c *Company) pay(ctx context.Context, m merchant, key string, req PaymentRequest) (reply, error) {
	hash := requestHash("payment", req)
	rep, err := c.idempotent(ctx, m.id, key, "payment", hash, func(tx *sql.Tx, now int64) (int, any, error) {
		var accountID, last4 string
		var revoked sql.NullInt64
		err := tx.QueryRowContext(ctx, qTokenAccount, req.Token).Scan(&accountID, &last4, &revoked)
		if errors.Is(err, sql.ErrNoRows) || err == nil && revoked.Valid {
			return http.StatusPaymentRequired, decline(reasonInvalidToken), nil
		}
		if err != nil {
			return 0, nil, fmt.Errorf("cardco: look up token: %w", err)
		}
		res, err := tx.ExecContext(ctx, qDebit, req.Amount, accountID, req.Amount)
		if err != nil {
			return 0, nil, fmt.Errorf("cardco: debit: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return 0, nil, fmt.Errorf("cardco: debit: %w", err)
		} else if n == 0 {
			return http.StatusPaymentRequired, decline(reasonInsufficientFunds), nil
		}
		p := Payment{ID: newID("pay"), Status: Captured, Amount: req.Amount, Currency: req.Currency,
			Description: req.Description, Last4: last4, CreatedAt: time.UnixMilli(now).UTC()}
		if _, err := tx.ExecContext(ctx, qInsertPayment, p.ID, m.id, req.Token, accountID, last4, p.Amount,
			p.Currency, p.Description, string(p.Status), key, hash, now); err != nil {
			return 0, nil, fmt.Errorf("cardco: record payment: %w", err)
		}
		return http.StatusCreated, p, nil
	})
	if err == nil {
		c.logger.InfoContext(ctx, "payment", "merchant", m.id, "status", rep.status, "amount", req.Amount, "replayed", rep.replayed)
	}
	return rep, err
}

// refund refunds (part of) a merchant's payment under an Idempotency-Key.
func (c *Company) refund(ctx context.Context, m merchant, paymentID, key string, req RefundRequest) (reply, error) {
	hash := requestHash("refund\x00"+paymentID, req)
	rep, err := c.idempotent(ctx, m.id, key, "refund", hash, func(tx *sql.Tx, now int64) (int, any, error) {
		p, accountID, err := scanPayment(tx.QueryRowContext(ctx, qPayment, paymentID, m.id))
		if err != nil {
			return 0, nil, err
		}
		res, err := tx.ExecContext(ctx, qRefundPayment, req.Amount, req.Amount, p.ID, req.Amount)
		if err != nil {
			return 0, nil, fmt.Errorf("cardco: refund: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return 0, nil, fmt.Errorf("cardco: refund: %w", err)
		} else if n == 0 {
			left := p.Amount - p.Refunded
			return http.StatusConflict, httpapi.New(http.StatusConflict, CodeRefundExceedsCaptured,
				fmt.Sprintf("返金額が返金可能額（%d円）を超えています。", left),
				fmt.Sprintf("The refund exceeds what is left to refund (%d yen).", left)), nil
		}
		if _, err := tx.ExecContext(ctx, qCredit, req.Amount, accountID); err != nil {
			return 0, nil, fmt.Errorf("cardco: credit: %w", err)
		}
		r := Refund{ID: newID("re"), PaymentID: p.ID, Amount: req.Amount, CreatedAt: time.UnixMilli(now).UTC()}
		if _, err := tx.ExecContext(ctx, qInsertRefund, r.ID, p.ID, m.id, r.Amount, key, now); err != nil {
			return 0, nil, fmt.Errorf("cardco: record refund: %w", err)
		}
		if r.Payment, _, err = scanPayment(tx.QueryRowContext(ctx, qPayment, paymentID, m.id)); err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, r, nil
	})
	if err == nil {
		c.logger.InfoContext(ctx, "refund", "merchant", m.id, "payment", paymentID, "status", rep.status, "amount", req.Amount, "replayed", rep.replayed)
	}
	return rep, err
}

// payment returns one of a merchant's payments; another merchant's payment
// is not found, exactly like a payment that does not exist.
func (c *Company) payment(ctx context.Context, m merchant, id string) (*Payment, error) {
	p, _, err := scanPayment(c.db.QueryRowContext(ctx, qPayment, id, m.id))
	return p, err
}

func scanPayment(row *sql.Row) (*Payment, string, error) {
	var p Payment
	var status, accountID string
	var created int64
	err := row.Scan(&p.ID, &status, &p.Amount, &p.Refunded, &p.Currency, &p.Description, &p.Last4, &created, &accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", fmt.Errorf("%w: no such payment", ErrNotFound)
	}
	if err != nil {
		return nil, "", fmt.Errorf("cardco: read payment: %w", err)
	}
	p.Status = Status(status)
	p.CreatedAt = time.UnixMilli(created).UTC()
	return &p, accountID, nil
}
