package jpki

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Respond answers a DER OCSP request (RFC 6960). It always returns a DER
// OCSPResponse: malformedRequest for bytes it cannot decode, unauthorized for
// a certificate of a CA it does not serve, internalError on a database
// failure; otherwise good, revoked (with time and reason) or unknown for
// every certificate asked about. A request with a nonce gets a freshly
// signed response echoing it; one without may get a response signed
// earlier and cached until a quarter of OCSPValidity has passed (it is
// dropped at once on revocation).
func (c *Centre) Respond(ctx context.Context, der []byte) []byte {
	req, err := parseOCSPRequest(der)
	if err != nil {
		c.logger.DebugContext(ctx, "malformed OCSP request", "err", err)
		return ocspError(ocspMalformedRequest)
	}
	resp, err := c.respond(ctx, req)
	if err != nil {
		if errors.Is(err, ErrUnauthorized) {
			return ocspError(ocspUnauthorized)
		}
		c.logger.ErrorContext(ctx, "OCSP", "err", err)
		return ocspError(ocspInternalError)
	}
	return resp
}

func (c *Centre) authorityFor(id certID) (*authority, error) {
	h := hashOf(id.HashAlgorithm)
	if h == 0 {
		return nil, fmt.Errorf("%w: CertID hash algorithm %v", ErrUnauthorized, id.HashAlgorithm.Algorithm)
	}
	for _, k := range Kinds {
		a := c.ca[k]
		if bytes.Equal(a.nameHash[h], id.IssuerNameHash) && bytes.Equal(a.keyHash[h], id.IssuerKeyHash) {
			return a, nil
		}
	}
	return nil, fmt.Errorf("%w: issuer not served here", ErrUnauthorized)
}

func (c *Centre) respond(ctx context.Context, req *request) ([]byte, error) {
	// All certificates in one response must come from one CA: the response
	// is signed by that CA's delegated responder.
	var a *authority
	for _, id := range req.certs {
		ai, err := c.authorityFor(id)
		if err != nil {
			return nil, err
		}
		if a != nil && ai != a {
			return nil, fmt.Errorf("%w: one request asks about two CAs", ErrUnauthorized)
		}
		a = ai
	}
	now := c.now()
	cacheable := req.nonce == nil && len(req.certs) == 1
	serial := Serial(req.certs[0].SerialNumber)
	if cacheable {
		var der []byte
		var this int64
		var cachedRevoked bool
		var revokedAt sql.NullInt64
		err := c.db.QueryRowContext(ctx, qOCSPCached, string(a.kind), serial).Scan(&der, &this, &cachedRevoked, &revokedAt)
		// The cache holds one response per certificate, made for one CertID
		// hash; serve it only to a request with the same CertID, and only
		// while it says what the certificate's record says now: a response
		// signed just before a revocation committed must never outlive it.
		if err == nil && cachedRevoked == revokedAt.Valid &&
			now.Before(time.Unix(this, 0).Add(c.ocspValidity/4)) && cachedFor(der, req.certs[0]) {
			return der, nil
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("jpki: read OCSP cache: %w", err)
		}
	}
	var items []certStatus
	for _, id := range req.certs {
		st := certStatus{id: id, status: StatusUnknown}
		var revokedAt, reason sql.NullInt64
		err := c.db.QueryRowContext(ctx, qCertStatus, string(a.kind), Serial(id.SerialNumber)).Scan(&revokedAt, &reason)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, fmt.Errorf("jpki: read certificate status: %w", err)
		case revokedAt.Valid:
			st.status, st.revokedAt, st.reason = StatusRevoked, time.Unix(revokedAt.Int64, 0), Reason(reason.Int64)
		default:
			st.status = StatusGood
		}
		items = append(items, st)
	}
	der, err := signOCSP(a, items, req.nonce, now, now.Add(c.ocspValidity))
	if err != nil {
		return nil, err
	}
	if cacheable && items[0].status != StatusUnknown {
		if _, err := c.db.Write(ctx, qUpsertOCSPCache, string(a.kind), serial, der, now.Unix(), items[0].status == StatusRevoked); err != nil {
			c.logger.WarnContext(ctx, "could not cache OCSP response", "err", err)
		}
	}
	return der, nil
}

// cachedFor reports whether a cached response was made for the same CertID
// encoding (hash algorithm and hashes) as id.
func cachedFor(der []byte, id certID) bool {
	want := mustMarshal(id)
	return bytes.Contains(der, want)
}
