package eligibility

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/mynaplat/mynaplat/cardco"
)

// Charging: a facility charges the co-payment of a check it made today
// (JST) to the card linked to the checked holder's platform ID. The platform
// is a merchant at the card company and calls its Pay with an
// Idempotency-Key derived from (facility, the facility's key), so the same
// request sent again — a retry after a timeout, a double click, eight
// duplicates at once — is charged once by the company, which stores the
// key with the charge in one transaction. The elig_payments row is written
// only after the company answered, and (facility, idem_key) is unique, so
// the platform records it once: a request that failed on the way leaves no
// row, and its retry converges to the one charge.

// Errors of charging.
var (
	// ErrCheckExpired: the check was not made today (JST).
	ErrCheckExpired = errors.New("eligibility: the check is not from today")
	// ErrDeclined: the card company declined; errors.Is also matches
	// cardco.ErrInsufficientFunds or cardco.ErrInvalidToken.
	ErrDeclined = errors.New("eligibility: the card company declined the payment")
	// ErrPaymentUnavailable: the card company could not be reached or
	// failed; nothing was recorded, and the same request with the same
	// Idempotency-Key may be sent again.
	ErrPaymentUnavailable = errors.New("eligibility: the card company is unavailable")
	// ErrIdempotencyReused: the Idempotency-Key was used for another request.
	ErrIdempotencyReused = errors.New("eligibility: Idempotency-Key reused with a different request")
	// ErrRefundExceeds: the refund is more than what is left to refund.
	ErrRefundExceeds = errors.New("eligibility: the refund exceeds what is left to refund")
)

// Payment is a charge as the facility sees it: never the token or the card
// number.
type Payment struct {
	ID        string    `json:"payment_id"`
	CheckID   string    `json:"check_id"`
	Amount    int64     `json:"amount"`
	Refunded  int64     `json:"refunded"`
	Status    string    `json:"status"`
	Last4     string    `json:"last4"`
	CreatedAt time.Time `json:"created_at"`
	// Replayed: the request had been made before under the same key and
	// nothing new was charged.
	Replayed bool `json:"-"`

	facility, cardcoID, idemKey string
}

// PaymentRefund is a refund as the facility sees it, with the payment after it.
type PaymentRefund struct {
	ID        string    `json:"refund_id"`
	PaymentID string    `json:"payment_id"`
	Amount    int64     `json:"amount"`
	CreatedAt time.Time `json:"created_at"`
	Payment   *Payment  `json:"payment"`
	Replayed  bool      `json:"-"`
}

// validIdemKey: 1–64 printable ASCII characters, as the card company takes.
func validIdemKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// cardcoKey is the platform's Idempotency-Key at the card company for a
// facility's key: the company scopes keys per merchant (the platform), so
// the facility goes into it.
func cardcoKey(op, facility, key string) string {
	h := sha256.Sum256([]byte(op + "\x00" + facility + "\x00" + key))
	return "elig-" + op + "-" + hex.EncodeToString(h[:24])
}

func (s *Service) payArgs(amount int64, idemKey string) error {
	if s.cardco == nil {
		return ErrPaymentNotConfigured
	}
	if !validIdemKey(idemKey) {
		return fmt.Errorf("%w: Idempotency-Key must be 1–64 printable ASCII characters", ErrInvalid)
	}
	if amount <= 0 || amount > cardco.MaxAmount {
		return fmt.Errorf("%w: amount must be 1–%d yen", ErrInvalid, int64(cardco.MaxAmount))
	}
	return nil
}

// cardcoErr turns the company's answer into the service's errors.
func cardcoErr(err error) error {
	switch {
	case errors.Is(err, cardco.ErrDeclined):
		return fmt.Errorf("%w: %w", ErrDeclined, err)
	case errors.Is(err, cardco.ErrIdempotencyMismatch):
		return fmt.Errorf("%w: %w", ErrIdempotencyReused, err)
	case errors.Is(err, cardco.ErrRefundExceedsCaptured):
		return fmt.Errorf("%w: %w", ErrRefundExceeds, err)
	case errors.Is(err, cardco.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return fmt.Errorf("%w: %w", ErrPaymentUnavailable, err)
	}
	return fmt.Errorf("eligibility: card company: %w", err)
}

// Charge charges amount yen for check checkID of facility to the card linked
// to the checked holder, under the facility's Idempotency-Key idemKey. The
// same request again returns the same payment (Replayed); the same key with
// another check or amount is ErrIdempotencyReused. A check of another
// facility is ErrNotFound, as is one that does not exist.
func (s *Service) Charge(ctx context.Context, facility, checkID string, amount int64, idemKey string) (*Payment, error) {
	if err := s.payArgs(amount, idemKey); err != nil {
		return nil, err
	}
	if p, err := s.paymentByKey(ctx, facility, idemKey); err == nil {
		if p.CheckID != checkID || p.Amount != amount {
			return nil, ErrIdempotencyReused
		}
		p.Replayed = true
		return p, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	var platformID string
	var at int64
	err := s.db.QueryRowContext(ctx, qPayCheck, checkID, facility).Scan(&platformID, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: check %s", ErrNotFound, checkID)
	}
	if err != nil {
		return nil, fmt.Errorf("eligibility: read check: %w", err)
	}
	if civil(time.UnixMilli(at)) != civil(s.now()) {
		return nil, ErrCheckExpired
	}
	if platformID == "" {
		return nil, fmt.Errorf("%w: the check was made without a card", ErrNoPaymentLink)
	}
	link, err := s.PaymentLinkOf(ctx, platformID)
	if err != nil {
		return nil, err
	}
	name, err := s.FacilityName(ctx, facility)
	if err != nil {
		return nil, err
	}
	cp, err := s.cardco.Pay(ctx, cardcoKey("pay", facility, idemKey), cardco.PaymentRequest{Token: link.Token, Amount: amount,
		Currency: "JPY", Description: "医療費自己負担金 " + facility + " " + name})
	if err != nil {
		return nil, cardcoErr(err)
	}
	// The company has charged (or had charged before, cp.Replayed): record
	// it once. A concurrent duplicate that recorded first leaves this
	// insert without effect, and both answer with the recorded row.
	now := s.now()
	res, err := s.db.Write(ctx, qPayInsertPayment, newID(), facility, checkID, cp.ID, cp.Amount, cp.Refunded,
		string(cp.Status), cp.Last4, idemKey, now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("eligibility: record payment %s: %w", cp.ID, err)
	}
	p, err := s.paymentByKey(ctx, facility, idemKey)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 0 || cp.Replayed {
		p.Replayed = true
	}
	if p.cardcoID != cp.ID {
		// Cannot happen while the company keeps its keys: both answers
		// came from one key.
		return nil, fmt.Errorf("eligibility: key %s recorded payment %s, the company answered %s", idemKey, p.cardcoID, cp.ID)
	}
	s.logger.InfoContext(ctx, "payment", "facility", facility, "payment", p.ID, "amount", amount, "replayed", p.Replayed)
	return p, nil
}

func scanPayment(row *sql.Row) (*Payment, error) {
	var p Payment
	var created int64
	err := row.Scan(&p.ID, &p.facility, &p.CheckID, &p.cardcoID, &p.Amount, &p.Refunded, &p.Status, &p.Last4, &p.idemKey, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: payment", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("eligibility: read payment: %w", err)
	}
	p.CreatedAt = time.UnixMilli(created).UTC()
	return &p, nil
}

func (s *Service) paymentByKey(ctx context.Context, facility, idemKey string) (*Payment, error) {
	return scanPayment(s.db.QueryRowContext(ctx, qPayByKey, facility, idemKey))
}

// Payment is one of a facility's payments; another facility's is
// ErrNotFound.
func (s *Service) Payment(ctx context.Context, facility, id string) (*Payment, error) {
	return scanPayment(s.db.QueryRowContext(ctx, qPayByID, id, facility))
}

// Refund refunds amount yen of a facility's payment under the facility's
// Idempotency-Key idemKey, with the same guarantees as Charge. More than
// is left to refund is ErrRefundExceeds.
func (s *Service) Refund(ctx context.Context, facility, paymentID string, amount int64, idemKey string) (*PaymentRefund, error) {
	if err := s.payArgs(amount, idemKey); err != nil {
		return nil, err
	}
	p, err := s.Payment(ctx, facility, paymentID)
	if err != nil {
		return nil, err
	}
	if r, err := s.refundByKey(ctx, facility, idemKey); err == nil {
		if r.PaymentID != paymentID || r.Amount != amount {
			return nil, ErrIdempotencyReused
		}
		r.Payment, r.Replayed = p, true
		return r, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	cr, err := s.cardco.Refund(ctx, p.cardcoID, cardcoKey("refund", facility, idemKey), amount)
	if err != nil {
		return nil, cardcoErr(err)
	}
	now := s.now().UnixMilli()
	var inserted int64
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, qPayInsertRefund, newID(), p.ID, facility, cr.ID, cr.Amount, idemKey, now)
		if err != nil {
			return err
		}
		if inserted, err = res.RowsAffected(); err != nil {
			return err
		}
		if cr.Payment != nil {
			_, err = tx.ExecContext(ctx, qPayUpdateRefunded, cr.Payment.Refunded, string(cr.Payment.Status), now, p.ID)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("eligibility: record refund %s: %w", cr.ID, err)
	}
	r, err := s.refundByKey(ctx, facility, idemKey)
	if err != nil {
		return nil, err
	}
	if r.Payment, err = s.Payment(ctx, facility, paymentID); err != nil {
		return nil, err
	}
	r.Replayed = inserted == 0 || cr.Replayed
	s.logger.InfoContext(ctx, "refund", "facility", facility, "payment", p.ID, "amount", amount, "replayed", r.Replayed)
	return r, nil
}

func (s *Service) refundByKey(ctx context.Context, facility, idemKey string) (*PaymentRefund, error) {
	var r PaymentRefund
	var created int64
	err := s.db.QueryRowContext(ctx, qPayRefundByKey, facility, idemKey).Scan(&r.ID, &r.PaymentID, &r.Amount, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: refund", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("eligibility: read refund: %w", err)
	}
	r.CreatedAt = time.UnixMilli(created).UTC()
	return &r, nil
}
