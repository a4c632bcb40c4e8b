package body

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/sealedbid"
)

// MaxEnvelope bounds a sealed bid: canonical JSON of a few hundred bytes,
// signed with the card's certificate and chain and a time-stamp token,
// then enveloped, is some 10 KB.
const MaxEnvelope = 256 << 10

// ReceiptType is the "type" of a receipt's JSON.
const ReceiptType = "mynaplat-bid-receipt"

// ReceiptContent is what a receipt says, as canonical JSON: these fields
// in this order, encoding/json's escaping, no spaces (one byte string per
// receipt).
type ReceiptContent struct {
	Type            string `json:"type"`
	Body            string `json:"body"`
	Tender          string `json:"tender"`
	CorporateNumber string `json:"corporate_number"`
	EnvelopeSHA256  string `json:"envelope_sha256"`
	ReceivedAt      string `json:"received_at"`
	BidID           string `json:"bid_id"`
}

// Receipt is the answer to a bid received.
type Receipt struct {
	BidID      string    `json:"bid_id"`
	ReceivedAt time.Time `json:"received_at"`
	// Receipt is the CMS SignedData (DER) over ReceiptContent, signed with
	// the body's receipt key and time-stamped.
	Receipt []byte `json:"receipt"`
	// Replaced is the business's earlier bid that this one replaced.
	Replaced string `json:"replaced,omitempty"`
}

// Submit receives a sealed bid: corp is the bidder's 法人番号 as it says
// (the signature inside, checked at the opening, is what binds it),
// envelope the CMS EnvelopedData. The body checks only what it can see —
// the tender is open, the bid arrived before the deadline by the body's
// clock, the envelope is addressed to the tender's opening certificate and
// within MaxEnvelope — stores it, replaces the business's earlier bid and
// answers a signed, time-stamped receipt. from names the sender (its
// address) in the audit row.
func (s *Service) Submit(ctx context.Context, body, tender, corp string, envelope []byte, from string) (*Receipt, error) {
	received := s.clock()
	h, err := s.body(body)
	if err != nil {
		return nil, err
	}
	actor := "bidder:" + from
	t, err := s.Tender(ctx, body, tender)
	if errors.Is(err, ErrNotFound) {
		return nil, s.refused(ctx, body, actor, "bid", tender, refuse(ReasonNoTender, tender))
	}
	if err != nil {
		return nil, err
	}
	if err := checkBid(t, corp, envelope, received); err != nil {
		return nil, s.refused(ctx, body, actor, "bid", tender, err)
	}
	sum := sha256.Sum256(envelope)
	rc := ReceiptContent{Type: ReceiptType, Body: body, Tender: tender, CorporateNumber: corp,
		EnvelopeSHA256: hex.EncodeToString(sum[:]), ReceivedAt: received.Format(time.RFC3339Nano), BidID: newID()}
	content, err := json.Marshal(rc)
	if err != nil {
		return nil, err
	}
	signed, err := cms.Sign(ctx, content, cms.SignOptions{Signer: h.receipt, Cert: h.receiptCert, Chain: []*x509.Certificate{h.ca}, Stamper: s.stamper})
	if err != nil {
		return nil, fmt.Errorf("body: receipt: %w", err)
	}
	out := &Receipt{BidID: rc.BidID, ReceivedAt: received, Receipt: signed}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		out.Replaced = ""
		// The state may have changed since the check; the deadline, which
		// does not change, was checked against the time of arrival.
		var state string
		if err := s.db.TxQueryRow(ctx, tx, qTenderState, body, tender).Scan(&state); err != nil {
			return err
		}
		if state != StateOpen {
			return refuse(ReasonClosed, state)
		}
		var seq int
		if err := s.db.TxQueryRow(ctx, tx, qLastSeq, body, tender, corp).Scan(&seq); err != nil {
			return err
		}
		if _, err := s.db.TxExec(ctx, tx, qInsertBid, body, rc.BidID, tender, corp, seq+1, envelope, rc.EnvelopeSHA256,
			ms(received), signed); err != nil {
			return err
		}
		// One conditional UPDATE: only the current bid (replaced_by '') is
		// replaced, so each bid is replaced at most once, whatever runs
		// beside this transaction.
		var prev string
		err := s.db.TxQueryRow(ctx, tx, qCurrentBid, body, tender, corp, rc.BidID).Scan(&prev)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			res, err := s.db.TxExec(ctx, tx, qReplaceBid, rc.BidID, body, prev)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return fmt.Errorf("body: bid %s was replaced meanwhile", prev)
			}
			out.Replaced = prev
		}
		detail := corp + " " + rc.BidID
		if out.Replaced != "" {
			detail += " replaces " + out.Replaced
		}
		return s.audit(ctx, tx, body, actor, "bid", tender, "ok", detail)
	})
	if err != nil {
		return nil, s.refused(ctx, body, actor, "bid", tender, err)
	}
	return out, nil
}

// checkBid is what the body can see of a bid.
func checkBid(t *Tender, corp string, envelope []byte, received time.Time) error {
	if corpreg.ValidNumber(corp) != nil {
		return refuse(ReasonBadCorp, corp)
	}
	if t.State != StateOpen {
		return refuse(ReasonClosed, t.State)
	}
	if !t.Open(received) {
		return refuse(ReasonLate, received.Format(time.RFC3339Nano))
	}
	if len(envelope) > MaxEnvelope {
		return refuse(ReasonTooLarge, fmt.Sprint(len(envelope)))
	}
	cert, err := x509.ParseCertificate(t.Certificate)
	if err != nil {
		return err
	}
	if err := sealedbid.Addressed(envelope, cert); err != nil {
		return refuse(ReasonBadEnvelope, err.Error())
	}
	return nil
}

// Bid is a bid as the body holds it.
type Bid struct {
	ID              string
	Tender          string
	CorporateNumber string
	Seq             int
	Envelope        []byte
	EnvelopeSHA256  string
	ReceivedAt      time.Time
	Receipt         []byte
	ReplacedBy      string
}

// Bids are a tender's bids, replaced ones included, in arrival order.
// actor (an officer) is recorded: reading the bids is audited.
func (s *Service) Bids(ctx context.Context, body, tender, actor string) ([]*Bid, error) {
	if _, err := s.body(body); err != nil {
		return nil, err
	}
	out, err := s.bids(ctx, body, tender)
	if err != nil {
		return nil, err
	}
	if err := s.audit(ctx, nil, body, actor, "read-bids", tender, "ok", fmt.Sprint(len(out))); err != nil {
		return nil, err
	}
	return out, nil
}

// bids reads a tender's bids, in arrival order.
func (s *Service) bids(ctx context.Context, body, tender string) ([]*Bid, error) {
	rows, err := s.db.QueryContext(ctx, qBids, body, tender)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Bid
	for rows.Next() {
		var b Bid
		var at int64
		if err := rows.Scan(&b.ID, &b.Tender, &b.CorporateNumber, &b.Seq, &b.Envelope, &b.EnvelopeSHA256, &at, &b.Receipt, &b.ReplacedBy); err != nil {
			return nil, err
		}
		b.ReceivedAt = fromMS(at)
		out = append(out, &b)
	}
	return out, rows.Err()
}

// Bidder is what the register says of a bidder now, for the officers'
// view of the bids received (the validity at the signing time is the
// opening's to check, slice 5).
type Bidder struct {
	CorporateNumber string
	// Name is the business's name at the register, "" when it has no
	// qualification.
	Name string
	// Grade is its grade in the tender's field, "" when none.
	Grade procure.Grade
	// Unknown: the register did not answer.
	Unknown bool
}

// Bidders asks the register (through its API) about each business.
func (s *Service) Bidders(ctx context.Context, field procure.Field, corps []string) map[string]Bidder {
	out := map[string]Bidder{}
	for _, c := range corps {
		if _, ok := out[c]; ok {
			continue
		}
		b := Bidder{CorporateNumber: c}
		q, err := s.register.Qualification(ctx, c)
		switch {
		case err == nil:
			b.Name, b.Grade = q.Name, q.Grade(field)
		case errors.Is(err, procure.ErrNotFound):
		default:
			b.Unknown = true
			s.logger.WarnContext(ctx, "body: register", "corp", c, "err", err)
		}
		out[c] = b
	}
	return out
}

// ErrBadReceipt is a receipt that does not verify: not the body's
// signature, not time-stamped by a trusted TSA, or not a receipt.
var ErrBadReceipt = errors.New("body: the receipt does not verify")

// VerifyReceipt checks a receipt as the bidder keeps it: a CMS SignedData
// whose signature and time-stamp verify (tsaRoots), signed by a
// certificate the body's CA issued for signing (ca, from
// /bodies/{body}/ca.crt), over a receipt's canonical JSON. It returns the
// content and the time-stamp's time. The bidder then compares the
// envelope's SHA-256 and the tender with what it sent.
func VerifyReceipt(der []byte, ca *x509.Certificate, tsaRoots *x509.CertPool) (*ReceiptContent, time.Time, error) {
	sig, err := cms.Verify(der, nil, tsaRoots)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: %w", ErrBadReceipt, err)
	}
	if sig.Timestamp == nil {
		return nil, time.Time{}, fmt.Errorf("%w: no time-stamp", ErrBadReceipt)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := sig.Signer.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: sig.Timestamp.Time,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil || sig.Signer.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return nil, time.Time{}, fmt.Errorf("%w: the signer is not the body's receipt key: %v", ErrBadReceipt, err)
	}
	var rc ReceiptContent
	if err := json.Unmarshal(sig.Content, &rc); err != nil || rc.Type != ReceiptType {
		return nil, time.Time{}, fmt.Errorf("%w: not a receipt", ErrBadReceipt)
	}
	return &rc, sig.Timestamp.Time, nil
}
