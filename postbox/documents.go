package postbox

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/verify"
)

// Consent is a person's standing consent to a party.
type Consent struct {
	PartyID     string `json:"party_id"`
	CustomerRef string `json:"customer_ref"`
	// Deliver lets the party deliver documents into the box; AddressNotice
	// lets the person have the party told a new address.
	Deliver       bool      `json:"deliver"`
	AddressNotice bool      `json:"address_notice"`
	CreatedAt     time.Time `json:"created_at"`
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func yesNo(b bool) string {
	if b {
		return "はい"
	}
	return "いいえ"
}

// ConsentContent is the document a person signs to consent to a party: who,
// under which customer number, for what.
func ConsentContent(p *Party, customerRef string, deliver, notice bool, at time.Time) *verify.Content {
	return &verify.Content{Type: ConsentType, Title: p.NameJA + " への同意", IssuedAt: at, To: p.ID,
		Fields: []verify.Field{
			{Label: "事業者", Value: p.NameJA},
			{Label: "お客さま番号", Value: customerRef},
			{Label: "文書を私書箱で受け取る", Value: yesNo(deliver)},
			{Label: "住所変更を通知してよい", Value: yesNo(notice)},
		}}
}

// sameFields reports whether signed content says what was asked.
func sameFields(c *verify.Content, want *verify.Content) bool {
	if c.Type != want.Type || c.To != want.To || len(c.Fields) != len(want.Fields) {
		return false
	}
	for i := range c.Fields {
		if c.Fields[i] != want.Fields[i] {
			return false
		}
	}
	return true
}

// Consent records a consent the owner signed (ConsentContent). A party
// gets nothing from a box without one.
func (s *Service) Consent(ctx context.Context, box *Box, partyID, customerRef string, deliver, notice bool, signed []byte) error {
	p, err := s.Party(ctx, partyID)
	if err != nil {
		return err
	}
	if customerRef == "" || len(customerRef) > 64 {
		return fmt.Errorf("%w: customer number", ErrInvalid)
	}
	if (deliver && !p.Has(RoleDeliver)) || (notice && !p.Has(RoleAddressNotice)) {
		return fmt.Errorf("%w: %s", ErrRole, p.ID)
	}
	rep, err := s.ownSignature(ctx, box, "consent", signed)
	if err != nil {
		return err
	}
	if !sameFields(rep.Content, ConsentContent(p, customerRef, deliver, notice, time.Time{})) {
		return fmt.Errorf("%w: the signed consent does not say what was asked", ErrInvalid)
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, qUpsertConsent, box.ID, p.ID, customerRef, b2i(deliver), b2i(notice), signed, s.now().Unix()); err != nil {
			return err
		}
		return s.audit(ctx, tx, box.ID, "owner", "consent", p.ID)
	})
	if store.IsUniqueViolation(err) {
		return fmt.Errorf("%w: customer number %s at %s is another box's", ErrInvalid, customerRef, p.ID)
	}
	if err != nil {
		return fmt.Errorf("postbox: consent: %w", err)
	}
	return nil
}

// Withdraw ends a consent.
func (s *Service) Withdraw(ctx context.Context, box *Box, partyID string) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, qWithdrawConsent, s.now().Unix(), box.ID, partyID)
		if err != nil {
			return fmt.Errorf("postbox: withdraw: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: consent to %s", ErrNotFound, partyID)
		}
		return s.audit(ctx, tx, box.ID, "owner", "withdraw", partyID)
	})
}

// Consents lists a box's standing consents, by party.
func (s *Service) Consents(ctx context.Context, box *Box) ([]Consent, error) {
	rows, err := s.db.QueryContext(ctx, qConsents, box.ID)
	if err != nil {
		return nil, fmt.Errorf("postbox: consents: %w", err)
	}
	defer rows.Close()
	var out []Consent
	for rows.Next() {
		var c Consent
		var at, deliver, notice int64
		if err := rows.Scan(&c.PartyID, &c.CustomerRef, &deliver, &notice, &at); err != nil {
			return nil, err
		}
		c.Deliver, c.AddressNotice = deliver == 1, notice == 1
		c.CreatedAt = time.Unix(at, 0)
		out = append(out, c)
	}
	return out, rows.Err()
}

// Delivery is a document a party delivers into a box.
type Delivery struct {
	// DeliveryID is the party's ID for this delivery: a retry with the same
	// ID stores nothing new.
	DeliveryID  string `json:"delivery_id"`
	CustomerRef string `json:"customer_ref"`
	Type        string `json:"type"`
	Title       string `json:"title"`
	Format      string `json:"format"`
	Data        []byte `json:"data"`
	Power       []byte `json:"power,omitempty"`
}

// Document is a document in a box.
type Document struct {
	ID         string    `json:"id"`
	PartyID    string    `json:"party_id"` // "" for the owner's own
	Type       string    `json:"type"`
	Title      string    `json:"title"`
	Format     string    `json:"format"`
	Data       []byte    `json:"data"`
	Power      []byte    `json:"power,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
}

// SHA256 is the hex digest of the document's bytes, as attachments name it.
func (d *Document) SHA256() string {
	h := sha256.Sum256(d.Data)
	return hex.EncodeToString(h[:])
}

// Deliver puts a party's document into the box of the person who consented
// to deliveries from it under d.CustomerRef. It returns the document's ID
// (the first one's for a repeated DeliveryID; ErrDuplicate when the
// DeliveryID was used for another person).
func (s *Service) Deliver(ctx context.Context, p *Party, d Delivery) (string, error) {
	if !p.Has(RoleDeliver) {
		return "", fmt.Errorf("%w: %s may not deliver", ErrRole, p.ID)
	}
	switch {
	case d.DeliveryID == "" || len(d.DeliveryID) > 64:
		return "", fmt.Errorf("%w: delivery_id (1 to 64 characters)", ErrInvalid)
	case d.Type == "" || d.Title == "" || len(d.Type) > 100 || len(d.Title) > 200:
		return "", fmt.Errorf("%w: type and title", ErrInvalid)
	case d.Format != verify.FormatCMS && d.Format != verify.FormatPAdES:
		return "", fmt.Errorf("%w: format must be cms or pades", ErrInvalid)
	case len(d.Data) == 0 || len(d.Data) > MaxDocument || len(d.Power) > MaxDocument:
		return "", fmt.Errorf("%w: document size", ErrInvalid)
	}
	var boxID string
	err := s.db.QueryRowContext(ctx, qConsentFor, p.ID, d.CustomerRef).Scan(&boxID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNoConsent
	}
	if err != nil {
		return "", fmt.Errorf("postbox: find box: %w", err)
	}
	id := newID("doc_")
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, qInsertDocument, id, boxID, p.ID, d.DeliveryID, d.Type, d.Title, d.Format,
			d.Data, nullBytes(d.Power), s.now().Unix()); err != nil {
			return err
		}
		return s.audit(ctx, tx, boxID, p.ID, "deliver", d.Type+" "+id)
	})
	if store.IsUniqueViolation(err) {
		// A retry is answered with the first document (the retry may carry
		// a new signature of the same document: business.Issue signs
		// again); the ID used again for another person is the party's
		// mistake, which a success would hide while that person gets
		// nothing.
		var firstBox string
		if err := s.db.QueryRowContext(ctx, qDocumentByDelivery, p.ID, d.DeliveryID).Scan(&id, &firstBox); err != nil {
			return "", fmt.Errorf("postbox: find delivered document: %w", err)
		}
		if firstBox != boxID {
			return "", fmt.Errorf("%w: delivery_id %s was used for another customer", ErrDuplicate, d.DeliveryID)
		}
		return id, nil
	}
	if err != nil {
		return "", fmt.Errorf("postbox: deliver: %w", err)
	}
	return id, nil
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// Documents lists a box's documents, newest first, and audits the read.
func (s *Service) Documents(ctx context.Context, box *Box, actor string) ([]*Document, error) {
	if err := s.audit(ctx, s.db, box.ID, actor, "list", "documents"); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, qDocuments, box.ID)
	if err != nil {
		return nil, fmt.Errorf("postbox: documents: %w", err)
	}
	defer rows.Close()
	var out []*Document
	for rows.Next() {
		d, err := scanDocument(rows)
		if err != nil {
			return nil, fmt.Errorf("postbox: documents: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Document returns one document of a box and audits the read.
func (s *Service) Document(ctx context.Context, box *Box, id, actor string) (*Document, error) {
	d, err := scanDocument(s.db.QueryRowContext(ctx, qDocument, box.ID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: document %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("postbox: document: %w", err)
	}
	if err := s.audit(ctx, s.db, box.ID, actor, "read", d.Type+" "+id); err != nil {
		return nil, err
	}
	return d, nil
}

func scanDocument(sc interface{ Scan(...any) error }) (*Document, error) {
	var d Document
	var at int64
	if err := sc.Scan(&d.ID, &d.PartyID, &d.Type, &d.Title, &d.Format, &d.Data, &d.Power, &at); err != nil {
		return nil, err
	}
	d.ReceivedAt = time.Unix(at, 0)
	return &d, nil
}
