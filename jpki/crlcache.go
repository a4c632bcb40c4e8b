package jpki

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// CRLCache is a relying party's copy of one CA's newest CRL (RFC 5280 §5),
// parsed into a set of revoked serials. It is refreshed with conditional
// GETs (Refresh: the centre answers 304 while nothing changed), and relied
// on only while fresh: confirmed by the centre within MaxAge and before the
// CRL's nextUpdate. The platform keeps one for the 利用者証明用 CA and
// refreshes it on a schedule; a SigningVerifier keeps one for the 署名用 CA
// and refreshes it when asked (Revocation).
type CRLCache struct {
	// CA is the CA whose CRL this is; its signature on the CRL is checked.
	CA *x509.Certificate
	// Fetch gets the newest CRL, conditionally on etag (Client.CRLFetcher).
	Fetch func(ctx context.Context, etag string) (der []byte, newETag string, notModified bool, err error)
	// MaxAge is the freshness bound (10 minutes when zero).
	MaxAge time.Duration
	// RefreshEvery is how old a copy may be before Revocation asks the
	// centre again, and how often it asks while the centre fails (1
	// minute when zero; at most MaxAge/2).
	RefreshEvery time.Duration
	// Now is the clock (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger

	mu      sync.RWMutex
	st      *crlState
	tried   time.Time  // the last on-demand refresh
	refresh sync.Mutex // one on-demand refresh at a time
}

// crlState is one CRL, parsed.
type crlState struct {
	revoked    map[string]x509.RevocationListEntry // by Serial
	number     int64
	nextUpdate time.Time
	fetchedAt  time.Time // last time the centre confirmed this CRL is current
	etag       string
	// source names this CRL in reports; made once, not per check.
	source string
}

func (c *CRLCache) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c *CRLCache) maxAge() time.Duration {
	if c.MaxAge <= 0 {
		return 10 * time.Minute
	}
	return c.MaxAge
}

// CRLFetcher is a CRLCache's Fetch of the centre's CRL of kind k.
func (c *Client) CRLFetcher(k Kind) func(ctx context.Context, etag string) ([]byte, string, bool, error) {
	return func(ctx context.Context, etag string) ([]byte, string, bool, error) { return c.CRL(ctx, k, etag) }
}

// Refresh fetches the CRL if it changed, checks its signature by the CA and
// that its number does not go back, and swaps it in. A failed refresh
// leaves the old copy, which ages out after MaxAge.
func (c *CRLCache) Refresh(ctx context.Context) error {
	c.mu.RLock()
	old := c.st
	c.mu.RUnlock()
	etag := ""
	if old != nil {
		etag = old.etag
	}
	der, newETag, notModified, err := c.Fetch(ctx, etag)
	if err != nil {
		return fmt.Errorf("jpki: fetch the CRL of %s: %w", c.CA.Subject.CommonName, err)
	}
	now := c.now()
	if notModified && old != nil {
		c.mu.Lock()
		if c.st == old {
			cp := *old
			cp.fetchedAt = now
			c.st = &cp
		}
		c.mu.Unlock()
		return nil
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return fmt.Errorf("jpki: parse the CRL of %s: %w", c.CA.Subject.CommonName, err)
	}
	if err := crl.CheckSignatureFrom(c.CA); err != nil {
		return fmt.Errorf("jpki: the CRL's signature by %s: %w", c.CA.Subject.CommonName, err)
	}
	st := &crlState{revoked: make(map[string]x509.RevocationListEntry, len(crl.RevokedCertificateEntries)),
		nextUpdate: crl.NextUpdate, fetchedAt: now, etag: newETag}
	if crl.Number != nil {
		st.number = crl.Number.Int64()
	}
	if old != nil && st.number < old.number {
		return fmt.Errorf("jpki: CRL #%d of %s is older than #%d we have", st.number, c.CA.Subject.CommonName, old.number)
	}
	for _, e := range crl.RevokedCertificateEntries {
		st.revoked[Serial(e.SerialNumber)] = e
	}
	st.source = fmt.Sprintf("CRL #%d (%s)", st.number, crl.ThisUpdate.UTC().Format(time.RFC3339))
	c.mu.Lock()
	c.st = st
	c.mu.Unlock()
	if c.Logger != nil {
		c.Logger.DebugContext(ctx, "CRL refreshed", "ca", c.CA.Subject.CommonName, "number", st.number, "revoked", len(st.revoked))
	}
	return nil
}

// Lookup says what the copy says of cert at now, without asking the
// centre; ok is false when the copy may not be relied on (none, or not
// fresh), and for a certificate of another CA or one expired at now: a CRL
// lists a revoked certificate only until it expires (RFC 5280 §3.3), so
// its silence says nothing of an expired one.
func (c *CRLCache) Lookup(cert *x509.Certificate, now time.Time) (st RevocationStatus, ok bool) {
	c.mu.RLock()
	s := c.st
	c.mu.RUnlock()
	if s == nil || now.Sub(s.fetchedAt) > c.maxAge() || !now.Before(s.nextUpdate) ||
		now.After(cert.NotAfter) || !bytes.Equal(cert.RawIssuer, c.CA.RawSubject) {
		return RevocationStatus{}, false
	}
	if e, revoked := s.revoked[Serial(cert.SerialNumber)]; revoked {
		return RevocationStatus{Revoked: true, RevokedAt: e.RevocationTime, Reason: Reason(e.ReasonCode), ThisUpdate: s.fetchedAt, Source: s.source}, true
	}
	return RevocationStatus{ThisUpdate: s.fetchedAt, Source: s.source}, true
}

// Revocation is Lookup after refreshing a copy older than RefreshEvery;
// when there is still no fresh copy the error wraps ErrRevocationUnknown.
// While the centre fails it is asked at most once per RefreshEvery.
func (c *CRLCache) Revocation(ctx context.Context, cert *x509.Certificate, now time.Time) (RevocationStatus, error) {
	every := c.RefreshEvery
	if every <= 0 {
		every = time.Minute
	}
	every = min(every, c.maxAge()/2)
	var rerr error
	if c.age(now) >= every {
		c.refresh.Lock()
		// Another check may have refreshed it while this one waited.
		if c.age(now) >= every && now.Sub(c.lastTry()) >= every {
			c.mu.Lock()
			c.tried = now
			c.mu.Unlock()
			rerr = c.Refresh(ctx)
		}
		c.refresh.Unlock()
	}
	st, ok := c.Lookup(cert, now)
	if !ok {
		if rerr != nil {
			return RevocationStatus{}, fmt.Errorf("%w: no fresh CRL: %w", ErrRevocationUnknown, rerr)
		}
		return RevocationStatus{}, fmt.Errorf("%w: no fresh CRL for the certificate", ErrRevocationUnknown)
	}
	return st, nil
}

// age is how long ago the centre last confirmed the copy (forever when
// there is none).
func (c *CRLCache) age(now time.Time) time.Duration {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.st == nil {
		return 1<<63 - 1
	}
	return now.Sub(c.st.fetchedAt)
}

func (c *CRLCache) lastTry() time.Time {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.tried
}

// Status describes the copy for health reporting: its number and when the
// centre last confirmed it; ok is false when there is none.
func (c *CRLCache) Status() (number int64, fetchedAt time.Time, ok bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.st == nil {
		return 0, time.Time{}, false
	}
	return c.st.number, c.st.fetchedAt, true
}
