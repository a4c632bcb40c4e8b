package jpki

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/store"
)

// Platform operators (プラットフォーム事業者) registered with the centre may read
// linkage records and the revocation feed. They present a bearer token; the
// centre keeps only its SHA-256.

// Operator is a registered platform operator.
type Operator struct {
	ID, Name string
}

const tokenPrefix = "jpkiop_"

func hashToken(token string) string {
	s := sha256.Sum256([]byte(token))
	return hex.EncodeToString(s[:])
}

// AddOperator registers an operator and returns its token, which is shown
// once and not stored.
func (c *Centre) AddOperator(ctx context.Context, name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", fmt.Errorf("%w: operator name is empty", ErrInvalid)
	}
	b := make([]byte, 32)
	rand.Read(b)
	token := tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	_, err := c.db.Write(ctx, qInsertOperator, newID(), name, hashToken(token), c.now().Unix())
	if store.IsUniqueViolation(err) {
		return "", fmt.Errorf("%w: operator %q already exists", ErrInvalid, name)
	}
	if err != nil {
		return "", fmt.Errorf("jpki: add operator: %w", err)
	}
	return token, nil
}

// Authenticate returns the operator a token belongs to.
func (c *Centre) Authenticate(ctx context.Context, token string) (*Operator, error) {
	if !strings.HasPrefix(token, tokenPrefix) {
		return nil, ErrUnauthorized
	}
	var op Operator
	err := c.db.QueryRowContext(ctx, qOperatorByHash, hashToken(token)).Scan(&op.ID, &op.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrUnauthorized
	}
	if err != nil {
		return nil, fmt.Errorf("jpki: check operator: %w", err)
	}
	return &op, nil
}

// Linkage is what the centre tells an operator about one certificate: the
// certificate's status, the other certificate of the same card
// (証明書紐付け情報), and the certificates it replaced and was replaced by
// (証明書新旧紐付け情報).
type Linkage struct {
	Certificate *CertInfo   `json:"certificate"`
	Pair        []issuedRef `json:"pair"`
	Previous    []issuedRef `json:"previous"`
	Next        []issuedRef `json:"next"`
}

// LinkageRef names a certificate in a linkage record.
type LinkageRef = issuedRef

// Linkage returns the linkage record of one certificate for an operator and
// audits the read.
func (c *Centre) Linkage(ctx context.Context, op *Operator, k Kind, serial string) (*Linkage, error) {
	ci, err := c.Certificate(ctx, k, serial)
	if err != nil {
		return nil, err
	}
	l := &Linkage{Certificate: ci, Pair: []issuedRef{}, Previous: []issuedRef{}, Next: []issuedRef{}}
	ci.CardID = "" // the card is the centre's business, not the operator's
	for _, q := range []string{qLinksFrom, qLinksTo} {
		rows, err := c.db.QueryContext(ctx, q, string(k), ci.Serial)
		if err != nil {
			return nil, fmt.Errorf("jpki: read links: %w", err)
		}
		for rows.Next() {
			var link, kind, s string
			if err := rows.Scan(&link, &kind, &s); err != nil {
				rows.Close()
				return nil, err
			}
			ref := issuedRef{Kind(kind), s}
			switch {
			case link == linkPair:
				l.Pair = append(l.Pair, ref)
			case q == qLinksFrom:
				l.Next = append(l.Next, ref)
			default:
				l.Previous = append(l.Previous, ref)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if err := c.audit(ctx, "operator:"+op.Name, "linkage", string(k)+":"+ci.Serial); err != nil {
		return nil, err
	}
	return l, nil
}

// Revocation is one entry of the revocation feed.
type Revocation struct {
	Seq       int64     `json:"seq"`
	Kind      Kind      `json:"kind"`
	Serial    string    `json:"serial"`
	Reason    string    `json:"reason"`
	RevokedAt time.Time `json:"revoked_at"`
}

// MaxFeedPage is the largest page of the revocation feed.
const MaxFeedPage = 1000

// Revocations returns up to limit revocations after the cursor, in the order
// they happened; the last entry's Seq is the cursor for the next page.
func (c *Centre) Revocations(ctx context.Context, op *Operator, after int64, limit int) ([]Revocation, error) {
	if limit <= 0 || limit > MaxFeedPage {
		limit = MaxFeedPage
	}
	rows, err := c.db.QueryContext(ctx, qRevocationsAfter, after, limit)
	if err != nil {
		return nil, fmt.Errorf("jpki: read revocation feed: %w", err)
	}
	defer rows.Close()
	out := []Revocation{}
	for rows.Next() {
		var r Revocation
		var kind string
		var reason int
		var at int64
		if err := rows.Scan(&r.Seq, &kind, &r.Serial, &reason, &at); err != nil {
			return nil, err
		}
		r.Kind, r.Reason, r.RevokedAt = Kind(kind), Reason(reason).String(), time.Unix(at, 0).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := c.audit(ctx, "operator:"+op.Name, "revocation-feed", fmt.Sprintf("after=%d n=%d", after, len(out))); err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Centre) audit(ctx context.Context, actor, action, subject string) error {
	return c.db.Tx(ctx, func(tx *sql.Tx) error { return c.auditTx(ctx, tx, actor, action, subject) })
}

// AuditEntry is one row of the centre's audit log.
type AuditEntry struct {
	At                     time.Time
	Actor, Action, Subject string
}

// AuditSince lists the audit log from a time on.
func (c *Centre) AuditSince(ctx context.Context, since time.Time) ([]AuditEntry, error) {
	rows, err := c.db.QueryContext(ctx, qAuditSince, since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("jpki: read audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&at, &e.Actor, &e.Action, &e.Subject); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}
