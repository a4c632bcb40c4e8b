package platform

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/mynaplat/mynaplat/jpki"
	"golang.org/x/crypto/ocsp"
)

// errNoFreshData means neither a fresh CRL nor an OCSP answer was to be had.
var errNoFreshData = errors.New("platform: no fresh revocation data")

// revocation reads the 利用者証明用 CA's CRL (jpki.CRLCache, refreshed on
// the server's schedule through RefreshCRL) and falls back to OCSP.
type revocation struct {
	crl    *jpki.CRLCache
	centre *jpki.Client
	ca     *x509.Certificate // the 利用者証明用 CA
	now    func() time.Time
	maxAge time.Duration
}

// check says whether cert is revoked: from the CRL when it is fresh, else by
// asking the centre's OCSP responder. errNoFreshData when neither works.
// It never fetches the CRL itself: the hot path must not wait on the
// centre for it, and a centre that is down is asked once per schedule, not
// once per authentication.
func (rv *revocation) check(ctx context.Context, cert *x509.Certificate) (jpki.RevocationStatus, error) {
	now := rv.now()
	// The CRL says nothing of a certificate expired at now (within the
	// eligibility grace): that one is asked about by OCSP.
	if st, ok := rv.crl.Lookup(cert, now); ok {
		return st, nil
	}
	req, err := ocsp.CreateRequest(cert, rv.ca, nil)
	if err != nil {
		return jpki.RevocationStatus{}, fmt.Errorf("%w: %w", errNoFreshData, err)
	}
	der, err := rv.centre.OCSP(ctx, req)
	if err != nil {
		return jpki.RevocationStatus{}, fmt.Errorf("%w: OCSP: %w", errNoFreshData, err)
	}
	// ParseResponseForCert checks the delegated responder's certificate
	// against the CA and the response signature against the responder.
	resp, err := ocsp.ParseResponseForCert(der, cert, rv.ca)
	if err != nil {
		return jpki.RevocationStatus{}, fmt.Errorf("%w: OCSP response: %w", errNoFreshData, err)
	}
	if now.Sub(resp.ThisUpdate) > rv.maxAge || (!resp.NextUpdate.IsZero() && !now.Before(resp.NextUpdate)) {
		return jpki.RevocationStatus{}, fmt.Errorf("%w: OCSP response of %v is stale", errNoFreshData, resp.ThisUpdate)
	}
	src := "OCSP (" + resp.ProducedAt.UTC().Format(time.RFC3339) + ")"
	switch resp.Status {
	case ocsp.Good:
		return jpki.RevocationStatus{ThisUpdate: resp.ThisUpdate, Source: src}, nil
	case ocsp.Revoked:
		return jpki.RevocationStatus{Revoked: true, Reason: jpki.Reason(resp.RevocationReason), RevokedAt: resp.RevokedAt,
			ThisUpdate: resp.ThisUpdate, Source: src}, nil
	}
	return jpki.RevocationStatus{}, fmt.Errorf("%w: the responder does not know serial %s", errNoFreshData, jpki.Serial(cert.SerialNumber))
}
