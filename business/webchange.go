package business

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/internal/secret"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/wareki"
)

// The firm's customer page (package nissayweb, an outside relying party of
// the OpenID provider) reaches the customer records through these two
// methods only, passed to it as an interface, so that the page imports no
// package of the platform.

// ErrNoMatch is a logged-in person who is none of the firm's customers, or
// more than one of them.
var ErrNoMatch = errors.New("business: no single customer matches")

// MatchCustomer finds the firm's one customer with this name and birth
// date, both read by the provider from the person's card (never typed). It
// matches as the moving-notice path does, on the birth date, and on the
// name with its spaces ignored (the card writes a full-width space).
func (s *Service) MatchCustomer(ctx context.Context, firmID, name string, birth time.Time) (Customer, error) {
	rows, err := s.db.QueryContext(ctx, qCustomers, firmID)
	if err != nil {
		return Customer{}, fmt.Errorf("business: match: %w", err)
	}
	defer rows.Close()
	var found []Customer
	for rows.Next() {
		c, err := scanCustomer(rows)
		if err != nil {
			return Customer{}, err
		}
		if squash(c.Name) == squash(name) && sameDay(c.BirthDate, birth) {
			found = append(found, *c)
		}
	}
	if err := rows.Err(); err != nil {
		return Customer{}, err
	}
	if len(found) != 1 {
		return Customer{}, fmt.Errorf("%w (%d found)", ErrNoMatch, len(found))
	}
	return found[0], nil
}

// CustomerByRef returns one customer of the firm.
func (s *Service) CustomerByRef(ctx context.Context, firmID, ref string) (Customer, error) {
	c, err := scanCustomer(s.db.QueryRowContext(ctx, qCustomer, firmID, ref))
	if errors.Is(err, sql.ErrNoRows) {
		return Customer{}, fmt.Errorf("%w: customer %s", ErrNotFound, ref)
	}
	if err != nil {
		return Customer{}, err
	}
	return *c, nil
}

func squash(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '　' }), "")
}

// ChangeAddress applies a signed address change made on the customer page
// once: it is recorded as a notice under changeID (the sign transaction),
// so that a second call with the same changeID changes nothing and returns
// false. The signature was checked by the page before.
func (s *Service) ChangeAddress(ctx context.Context, firmID, ref, changeID, newAddress, signerSerial string, signedAt time.Time) (bool, error) {
	if changeID == "" || newAddress == "" {
		return false, fmt.Errorf("%w: a change needs its ID and the new address", ErrInvalid)
	}
	sendID := "web-" + changeID
	now := s.now()
	receipt := fmt.Sprintf("%s-%s-%s", firmID, now.In(wareki.JST()).Format("20060102"), strings.ToUpper(hex.EncodeToString(secret.Hash(firmID + "/" + sendID)[:4])))
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		cu, err := scanCustomer(tx.QueryRowContext(ctx, qCustomer, firmID, ref))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: customer %s", ErrNotFound, ref)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, qInsertNotice, firmID, sendID, receipt, ref, cu.Address, newAddress,
			signerSerial, signedAt.Unix(), now.Unix()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, qUpdateAddress, cu.Name, newAddress, now.Unix(), firmID, ref); err != nil {
			return err
		}
		return s.audit(ctx, tx, firmID, "customer-web", "address-change", ref+" "+sendID)
	})
	if store.IsUniqueViolation(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("business: change address: %w", err)
	}
	return true, nil
}
