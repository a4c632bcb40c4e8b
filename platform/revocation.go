package platform

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mynaplat/mynaplat/jpki"
	"golang.org/x/crypto/ocsp"
)

// revState is what the revocation check found.
type revState struct {
	revoked   bool
	reason    jpki.Reason
	revokedAt time.Time
	// source says where the answer came from, for the report.
	source string
}

// errNoFreshData means neither a fresh CRL nor an OCSP answer was to be had.
var errNoFreshData = errors.New("platform: no fresh revocation data")

// crlState is one CA's CRL, parsed into a set.
type crlState struct {
	revoked    map[string]x509.RevocationListEntry // by upper-case hex serial
	number     int64
	thisUpdate time.Time
	nextUpdate time.Time
	fetchedAt  time.Time // last time the centre confirmed this CRL is current
	etag       string
	// source names this CRL in reports; made once, not per authentication.
	source string
}

// revocation keeps a CRL per CA and falls back to OCSP.
type revocation struct {
	centre *jpki.Client
	ca     *x509.Certificate // the 利用者証明用 CA
	kind   jpki.Kind
	now    func() time.Time
	maxAge time.Duration
	logger *slog.Logger

	mu  sync.RWMutex
	crl *crlState
}

// refresh fetches the CRL if it changed (a conditional GET), checks its
// signature and number, and swaps it in. A failed fetch leaves the old CRL,
// which ages out after maxAge.
func (rv *revocation) refresh(ctx context.Context) error {
	rv.mu.RLock()
	old := rv.crl
	rv.mu.RUnlock()
	etag := ""
	if old != nil {
		etag = old.etag
	}
	der, newETag, notModified, err := rv.centre.CRL(ctx, rv.kind, etag)
	if err != nil {
		return fmt.Errorf("platform: fetch %s CRL: %w", rv.kind, err)
	}
	now := rv.now()
	if notModified && old != nil {
		rv.mu.Lock()
		if rv.crl == old {
			cp := *old
			cp.fetchedAt = now
			rv.crl = &cp
		}
		rv.mu.Unlock()
		return nil
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return fmt.Errorf("platform: parse %s CRL: %w", rv.kind, err)
	}
	if err := crl.CheckSignatureFrom(rv.ca); err != nil {
		return fmt.Errorf("platform: %s CRL signature: %w", rv.kind, err)
	}
	st := &crlState{revoked: make(map[string]x509.RevocationListEntry, len(crl.RevokedCertificateEntries)),
		thisUpdate: crl.ThisUpdate, nextUpdate: crl.NextUpdate, fetchedAt: now, etag: newETag}
	if crl.Number != nil {
		st.number = crl.Number.Int64()
	}
	if old != nil && st.number < old.number {
		return fmt.Errorf("platform: %s CRL #%d is older than #%d we have", rv.kind, st.number, old.number)
	}
	for _, e := range crl.RevokedCertificateEntries {
		st.revoked[jpki.Serial(e.SerialNumber)] = e
	}
	st.source = fmt.Sprintf("CRL #%d (%s)", st.number, st.thisUpdate.UTC().Format(time.RFC3339))
	rv.mu.Lock()
	rv.crl = st
	rv.mu.Unlock()
	rv.logger.DebugContext(ctx, "CRL refreshed", "kind", rv.kind, "number", st.number, "revoked", len(st.revoked))
	return nil
}

// fresh returns the CRL if it may be relied on now: fetched (or confirmed)
// within maxAge and before its nextUpdate.
func (rv *revocation) fresh(now time.Time) *crlState {
	rv.mu.RLock()
	st := rv.crl
	rv.mu.RUnlock()
	if st == nil || now.Sub(st.fetchedAt) > rv.maxAge || !now.Before(st.nextUpdate) {
		return nil
	}
	return st
}

// check says whether cert is revoked: from the CRL when it is fresh, else by
// asking the centre's OCSP responder. errNoFreshData when neither works.
func (rv *revocation) check(ctx context.Context, cert *x509.Certificate) (revState, error) {
	now := rv.now()
	serial := jpki.Serial(cert.SerialNumber)
	// A CRL lists a revoked certificate only until it expires, so an
	// expired one (within the eligibility grace) is asked about by OCSP.
	if st := rv.fresh(now); st != nil && !now.After(cert.NotAfter) {
		if e, ok := st.revoked[serial]; ok {
			return revState{revoked: true, reason: jpki.Reason(e.ReasonCode), revokedAt: e.RevocationTime, source: st.source}, nil
		}
		return revState{source: st.source}, nil
	}
	req, err := ocsp.CreateRequest(cert, rv.ca, nil)
	if err != nil {
		return revState{}, fmt.Errorf("%w: %w", errNoFreshData, err)
	}
	der, err := rv.centre.OCSP(ctx, req)
	if err != nil {
		return revState{}, fmt.Errorf("%w: OCSP: %w", errNoFreshData, err)
	}
	// ParseResponseForCert checks the delegated responder's certificate
	// against the CA and the response signature against the responder.
	resp, err := ocsp.ParseResponseForCert(der, cert, rv.ca)
	if err != nil {
		return revState{}, fmt.Errorf("%w: OCSP response: %w", errNoFreshData, err)
	}
	if now.Sub(resp.ThisUpdate) > rv.maxAge || (!resp.NextUpdate.IsZero() && !now.Before(resp.NextUpdate)) {
		return revState{}, fmt.Errorf("%w: OCSP response of %v is stale", errNoFreshData, resp.ThisUpdate)
	}
	src := "OCSP (" + resp.ProducedAt.UTC().Format(time.RFC3339) + ")"
	switch resp.Status {
	case ocsp.Good:
		return revState{source: src}, nil
	case ocsp.Revoked:
		return revState{revoked: true, reason: jpki.Reason(resp.RevocationReason), revokedAt: resp.RevokedAt, source: src}, nil
	}
	return revState{}, fmt.Errorf("%w: the responder does not know serial %s", errNoFreshData, serial)
}

// Status describes the CRL cache for /healthz-style reporting.
func (rv *revocation) Status() (number int64, fetchedAt time.Time, ok bool) {
	rv.mu.RLock()
	defer rv.mu.RUnlock()
	if rv.crl == nil {
		return 0, time.Time{}, false
	}
	return rv.crl.number, rv.crl.fetchedAt, true
}
