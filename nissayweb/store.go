package nissayweb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

const (
	qLink       = `SELECT customer_ref FROM nissayweb_links WHERE sub = $1`
	qUpsertLink = `INSERT INTO nissayweb_links (sub, customer_ref, created_at, last_login_at) VALUES ($1, $2, $3, $3)
ON CONFLICT (sub) DO UPDATE SET last_login_at = excluded.last_login_at`
	qInsertRequest = `INSERT INTO nissayweb_requests (id, sub, customer_ref, new_address, document, digest, state, created_at)
VALUES ($1, $2, $3, $4, $5, $6, 'started', $7)`
	qRequest     = `SELECT sub, customer_ref, new_address, document, digest, state FROM nissayweb_requests WHERE id = $1`
	qSignRequest = `UPDATE nissayweb_requests SET state = 'signed', signature = $1, certificate = $2, signed_at = $3
WHERE id = $4 AND state = 'started'`
	qSignedRequests = `SELECT id, new_address, signed_at FROM nissayweb_requests WHERE customer_ref = $1 AND state = 'signed' ORDER BY signed_at DESC, id`
	qInsertAudit    = `INSERT INTO nissayweb_audit (id, at, sub, action, result, reason) VALUES ($1, $2, $3, $4, $5, $6)`
)

// queries are every query constant, for the placeholder check.
var queries = []string{qLink, qUpsertLink, qInsertRequest, qRequest, qSignRequest, qSignedRequests, qInsertAudit}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// linkOf is the customer number linked to sub, "" when none.
func (p *Page) linkOf(ctx context.Context, sub string) (string, error) {
	var ref string
	err := p.db.QueryRowContext(ctx, qLink, sub).Scan(&ref)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return ref, err
}

// request is an address change asked for.
type request struct {
	Sub, Ref, NewAddress string
	Document, Digest     []byte
	State                string
}

func (p *Page) request(ctx context.Context, id string) (*request, error) {
	var r request
	if err := p.db.QueryRowContext(ctx, qRequest, id).Scan(&r.Sub, &r.Ref, &r.NewAddress, &r.Document, &r.Digest, &r.State); err != nil {
		return nil, err
	}
	return &r, nil
}

// SignedChange is a signed address change, for the customer's list.
type SignedChange struct {
	ID, NewAddress string
	SignedAt       time.Time
}

func (p *Page) signedChanges(ctx context.Context, ref string) ([]SignedChange, error) {
	rows, err := p.db.QueryContext(ctx, qSignedRequests, ref)
	if err != nil {
		return nil, fmt.Errorf("nissayweb: changes: %w", err)
	}
	defer rows.Close()
	var out []SignedChange
	for rows.Next() {
		var c SignedChange
		var at int64
		if err := rows.Scan(&c.ID, &c.NewAddress, &at); err != nil {
			return nil, err
		}
		c.SignedAt = time.UnixMilli(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// audit records what happened; a failure to record is logged.
func (p *Page) audit(ctx context.Context, sub, action, result, reason string) {
	if _, err := p.db.Write(ctx, qInsertAudit, newID(), p.now().UnixMilli(), sub, action, result, reason); err != nil {
		p.log.ErrorContext(ctx, "nissayweb: audit", "err", err)
	}
}
