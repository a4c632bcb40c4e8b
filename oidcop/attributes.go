package oidcop

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/platform"
)

// The four attributes (§2.3, §4.3): read from the card's verified signing
// certificate after the person consented to each, never typed in, and
// released only to the grant's client through UserInfo, each release
// disclosed to the platform so that the holder sees it on /me/audit.

// PlatformCaller is what the provider asks the platform (the caller pair
// {platform, oidc}): whose a signing certificate is, and the audit of a
// release. *platform.CallerClient is one.
type PlatformCaller interface {
	SignerPerson(ctx context.Context, cert *x509.Certificate) (string, error)
	Disclose(ctx context.Context, personID string, d platform.Disclosure) error
}

// AttributeScopes are the scopes that ask for an attribute, in reading
// order (the platform's DisclosureItems use the same names).
var AttributeScopes = []string{platform.ItemName, platform.ItemAddress, platform.ItemBirthdate, platform.ItemGender}

// The attribute formats of §3 row 12.
const (
	// FormatRaw is the card's own forms: birthdate YYYYMMDD, gender 1/2/3.
	FormatRaw = "raw"
	// FormatOIDC is OpenID Connect's: YYYY-MM-DD, male/female/unknown.
	FormatOIDC = "oidc"
)

// The answers to a card without a signing certificate (§3 row 13).
const (
	// NoSignAsk offers 「ログインだけ続ける」 or 「中止」.
	NoSignAsk = "ask"
	// NoSignRefuse ends the authorization with access_denied.
	NoSignRefuse = "refuse"
)

// askedAttributes are the attribute scopes of a request, in reading order.
func askedAttributes(scopes []string) []string {
	var out []string
	for _, s := range AttributeScopes {
		if slices.Contains(scopes, s) {
			out = append(out, s)
		}
	}
	return out
}

// attributeValues formats the consented attributes of h (§3 row 12).
func attributeValues(h *jpki.Holder, consented []string, format string) map[string]string {
	out := map[string]string{}
	for _, s := range consented {
		switch s {
		case platform.ItemName:
			out[s] = h.Name
		case platform.ItemAddress:
			out[s] = h.Address
		case platform.ItemBirthdate:
			if format == FormatOIDC {
				out[s] = h.BirthDate.Format("2006-01-02")
			} else {
				out[s] = h.BirthDate.Format("20060102")
			}
		case platform.ItemGender:
			if format == FormatOIDC {
				out[s] = map[jpki.Sex]string{jpki.Male: "male", jpki.Female: "female"}[h.Sex]
				if out[s] == "" {
					out[s] = "unknown"
				}
			} else {
				out[s] = strconv.Itoa(int(h.Sex))
			}
		}
	}
	return out
}

// signRefusal is a check of the signing certificate that failed: the error
// and its description for the RP (§3 row 9).
type signRefusal struct {
	code, desc string
	err        error
}

func (e *signRefusal) Error() string { return e.code + " " + e.desc + ": " + e.err.Error() }
func (e *signRefusal) Unwrap() error { return e.err }

// checkSigner checks the signing certificate read at the card page (chain,
// validity and revocation by source), that it is the certificate of the
// person who logged in (personID), and reads their attributes.
func (p *Provider) checkSigner(ctx context.Context, v *jpki.SigningVerifier, cert *x509.Certificate, source jpki.RevocationSource, personID string) (*jpki.Holder, error) {
	if v == nil || p.cfg.Platform == nil {
		return nil, errors.New("oidcop: no signing verifier or platform caller configured")
	}
	if err := v.CheckBy(ctx, cert, p.now(), source); err != nil {
		switch {
		case errors.Is(err, jpki.ErrRevocationUnknown):
			return nil, &signRefusal{"temporarily_unavailable", "revocation_unknown", err}
		case errors.Is(err, jpki.ErrCertRevoked):
			return nil, &signRefusal{"access_denied", "revoked", err}
		case errors.Is(err, jpki.ErrCertExpired):
			return nil, &signRefusal{"access_denied", "expired", err}
		case errors.Is(err, jpki.ErrUntrustedCert):
			return nil, &signRefusal{"access_denied", "unknown_issuer", err}
		}
		return nil, &signRefusal{"temporarily_unavailable", "revocation_unknown", err}
	}
	who, err := p.cfg.Platform.SignerPerson(ctx, cert)
	switch {
	case errors.Is(err, platform.ErrNotFound) || (err == nil && who != personID):
		return nil, &signRefusal{"access_denied", "not_the_login_person", fmt.Errorf("the signing certificate is not the login's person's")}
	case err != nil:
		return nil, &signRefusal{"temporarily_unavailable", "unreachable", err}
	}
	h, err := jpki.SigningHolder(cert)
	if err != nil {
		return nil, &signRefusal{"access_denied", "bad_certificate", err}
	}
	return h, nil
}

// release gives a grant's attributes to its client, after the platform
// recorded the disclosure: an attribute the platform could not record is
// not given.
func (p *Provider) release(ctx context.Context, clientID, personID, attributes, action string) (map[string]string, error) {
	vals := map[string]string{}
	if attributes == "" {
		return vals, nil
	}
	if err := json.Unmarshal([]byte(attributes), &vals); err != nil {
		return nil, fmt.Errorf("oidcop: the grant's attributes: %w", err)
	}
	var items []string
	for _, s := range AttributeScopes {
		if _, ok := vals[s]; ok {
			items = append(items, s)
		}
	}
	if len(items) == 0 {
		return vals, nil
	}
	c, err := p.Client(ctx, clientID)
	if err != nil {
		return nil, err
	}
	if p.cfg.Platform == nil {
		return nil, errors.New("oidcop: no platform caller to record the disclosure")
	}
	if err := p.cfg.Platform.Disclose(ctx, personID, platform.Disclosure{Recipient: c.Name + " (" + c.ID + ")", Items: items}); err != nil {
		return nil, fmt.Errorf("oidcop: disclosure: %w", err)
	}
	if err := p.audit(ctx, p.db, clientID, personID, action, "OK", "released "+fmt.Sprint(items)); err != nil {
		return nil, err
	}
	return vals, nil
}

// idTokenAttributes are the grant's consented attributes within a's scopes
// (a refresh may narrow them), released for an ID token (§3 row 11):
// each ID token that carries any is a disclosure, as a UserInfo answer is.
//
// A code's are its request's (no grant exists before it is redeemed); a
// refresh's (ofGrant) are the grant's.
func (p *Provider) idTokenAttributes(ctx context.Context, a *authRequest, ofGrant bool) (map[string]string, error) {
	attributes := a.Attributes
	if ofGrant {
		if err := p.db.QueryRowContext(ctx, `SELECT attributes FROM oidc_grants WHERE id = $1`, a.ID).Scan(&attributes); err != nil {
			return nil, fmt.Errorf("oidcop: the grant's attributes: %w", err)
		}
	}
	if attributes == "" {
		return nil, nil
	}
	vals := map[string]string{}
	if err := json.Unmarshal([]byte(attributes), &vals); err != nil {
		return nil, fmt.Errorf("oidcop: the grant's attributes: %w", err)
	}
	for k := range vals {
		if !slices.Contains(a.GetScopes(), k) {
			delete(vals, k)
		}
	}
	b, err := json.Marshal(vals)
	if err != nil {
		return nil, err
	}
	return p.release(ctx, a.ClientID, a.PersonID, string(b), "id_token")
}
