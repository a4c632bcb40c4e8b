package platform

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/jpki"
)

// CallerClient is another role's typed client of the platform's caller
// API. Its methods have the shape of the platform's own (PersonAttributes,
// SignerPerson), errors included (ErrNotFound, ErrInvalid), so a service
// takes either as the same func.
type CallerClient struct {
	// API is where the platform is, with the caller's key
	// (httpapi.Bearer) as Auth.
	API httpapi.Client
}

// NewCallerClient is a client of the platform at baseURL under key.
func NewCallerClient(baseURL, key string, hc *http.Client) *CallerClient {
	return &CallerClient{API: httpapi.Client{Service: "platform", BaseURL: baseURL, HTTP: hc, Auth: httpapi.Bearer(key)}}
}

// sentinel gives a problem answer the platform's sentinel, so callers
// test it as in one process.
func sentinel(err error) error {
	switch {
	case errors.Is(err, CodeUnknownItem):
		return fmt.Errorf("%w: %w", ErrUnknownItem, err)
	case errors.Is(err, CodeNotFound):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, CodeInvalid):
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return err
}

// PersonAttributes asks for the current JPKI attributes of the holder of
// platform ID personID.
func (c *CallerClient) PersonAttributes(ctx context.Context, personID string) (*jpki.HolderAttributes, error) {
	var out jpki.HolderAttributes
	if _, err := c.API.DoJSON(ctx, httpapi.Request{Method: http.MethodGet,
		Path: "/platform/v1/persons/" + url.PathEscape(personID) + "/attributes"}, &out); err != nil {
		return nil, sentinel(err)
	}
	return &out, nil
}

// PersonCertificates asks for the certificates linked to platform ID
// personID.
func (c *CallerClient) PersonCertificates(ctx context.Context, personID string) ([]jpki.LinkageRef, error) {
	var out PersonCerts
	if _, err := c.API.DoJSON(ctx, httpapi.Request{Method: http.MethodGet,
		Path: "/platform/v1/persons/" + url.PathEscape(personID) + "/certificates"}, &out); err != nil {
		return nil, sentinel(err)
	}
	return out.Certificates, nil
}

// SignerPerson asks for the platform ID of a signing certificate's holder.
func (c *CallerClient) SignerPerson(ctx context.Context, cert *x509.Certificate) (string, error) {
	var out SignerAnswer
	// Resolving is a read: sending it again is harmless.
	if _, err := c.API.DoJSON(ctx, httpapi.Request{Method: http.MethodPost, Path: "/platform/v1/signers",
		JSON: SignerRequest{Certificate: cert.Raw}, Idempotent: true}, &out); err != nil {
		return "", sentinel(err)
	}
	return out.PlatformID, nil
}

// KeyCache is a service's copy of the platform's JWK set, fetched from
// GET /platform/jwks.json and kept for TTL. The platform publishes a key
// KeyPublishLead before it signs with it, so a copy younger than that knows
// every key an assertion can bear. When the platform cannot be reached the
// last copy serves on for MaxStale.
type KeyCache struct {
	API httpapi.Client
	// TTL is how long a copy is used (default and most KeyPublishLead/2).
	TTL time.Duration
	// MaxStale is how long a copy serves past TTL while fetching fails
	// (default 1 hour).
	MaxStale time.Duration
	Now      func() time.Time

	mu      sync.Mutex
	keys    JWKS
	fetched time.Time
}

// NewKeyCache is a key cache of the platform at baseURL (no key: the set is
// public).
func NewKeyCache(baseURL string, hc *http.Client) *KeyCache {
	return &KeyCache{API: httpapi.Client{Service: "platform", BaseURL: baseURL, HTTP: hc}}
}

// Keys is the JWK set, from the copy while it is fresh.
func (k *KeyCache) Keys(ctx context.Context) (JWKS, error) {
	now := time.Now
	if k.Now != nil {
		now = k.Now
	}
	ttl := k.TTL
	if ttl <= 0 || ttl > KeyPublishLead/2 {
		ttl = KeyPublishLead / 2
	}
	maxStale := k.MaxStale
	if maxStale <= 0 {
		maxStale = time.Hour
	}
	// One fetch at a time: a burst of requests after expiry asks once.
	k.mu.Lock()
	defer k.mu.Unlock()
	t := now()
	if !k.fetched.IsZero() && t.Sub(k.fetched) < ttl {
		return k.keys, nil
	}
	resp, err := k.API.Do(ctx, httpapi.Request{Method: http.MethodGet, Path: "/platform/jwks.json"})
	var keys JWKS
	if err == nil {
		if jerr := json.Unmarshal(resp.Body, &keys); jerr != nil {
			err = fmt.Errorf("%w: platform: malformed JWK set: %w", httpapi.ErrUnavailable, jerr)
		}
	}
	if err != nil {
		if !k.fetched.IsZero() && t.Sub(k.fetched) < ttl+maxStale {
			return k.keys, nil
		}
		return JWKS{}, fmt.Errorf("platform: fetch the assertion keys: %w", err)
	}
	k.keys, k.fetched = keys, t
	return keys, nil
}
