package delegation

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/corpreg"
)

// The representative's side: signing a power or a revocation with the
// representative key and filing it. Written once for every program that
// holds such a key (the command line's `delegation grant`, the company
// desk of docs/procurement.md §5.1), so that what a representative signs
// has one form.

// GrantRequest is what a representative grants: the power and, optionally,
// its ID.
type GrantRequest struct {
	// ID, when set, is the power's ID: an idempotency key the caller drew
	// with NewID before (the company desk's form token), so that sending
	// the same grant twice registers one power (Register answers the
	// second with the first's record). Empty draws a fresh one. An ID
	// ValidID refuses is ErrInvalid, and nothing is signed.
	ID        string
	Principal Principal
	Agent     Agent
	// Powers are the 委任事項.
	Powers []string
	// NotBefore and NotAfter bound the period (whole seconds, inclusive).
	NotBefore, NotAfter time.Time
	SubDelegation       bool
}

// Registrar files a signed power: Service.Register in one process,
// Client.Register across.
type Registrar func(ctx context.Context, signedCMS []byte) (*Record, error)

// Revoker files a signed revocation of the power id: Service.Revoke or
// Client.Revoke.
type Revoker func(ctx context.Context, id string, signedCMS []byte) (*Record, error)

// Grant signs the power rq describes with the representative's key and
// certificate (Power.Sign: CMS SignedData over Power.Canonical, with the
// stamper's RFC 3161 signature time-stamp) and files it with register. A request that is
// no power is ErrInvalid and nothing is signed; the register's refusals
// come back as its errors.
func Grant(ctx context.Context, rq GrantRequest, signer crypto.Signer, cert *x509.Certificate, stamper cms.Stamper, register Registrar) (*Record, error) {
	if signer == nil || cert == nil || stamper == nil || register == nil {
		return nil, errors.New("delegation: Grant needs the representative's key and certificate, a time-stamp authority and the register")
	}
	id := rq.ID
	if id == "" {
		var err error
		if id, err = NewID(); err != nil {
			return nil, err
		}
	} else if !ValidID(id) {
		return nil, fmt.Errorf("%w: the power ID must be 16–64 characters of A–Z, a–z, 0–9, _ and -", ErrInvalid)
	}
	p := Power{ID: id, Principal: rq.Principal, Agent: rq.Agent, Powers: rq.Powers, NotBefore: rq.NotBefore, NotAfter: rq.NotAfter,
		SubDelegation: rq.SubDelegation}
	der, err := p.Sign(ctx, signer, cert, stamper)
	if err != nil {
		return nil, err
	}
	return register(ctx, der)
}

// Withdraw signs a revocation of the power id of the corporation number
// with the representative's key and certificate, time-stamped, and files
// it with revoke; the revocation takes effect when filed.
func Withdraw(ctx context.Context, id, number string, signer crypto.Signer, cert *x509.Certificate, stamper cms.Stamper, revoke Revoker) (*Record, error) {
	if signer == nil || cert == nil || stamper == nil || revoke == nil {
		return nil, errors.New("delegation: Withdraw needs the representative's key and certificate, a time-stamp authority and the register")
	}
	der, err := Revocation{PowerID: id, CorporateNumber: number}.Sign(ctx, signer, cert, stamper)
	if err != nil {
		return nil, err
	}
	return revoke(ctx, id, der)
}

// RepresentativeCert is the certificate of c's representative in office
// when key is its key: what a program holding a representative key signs
// with. Otherwise an error wrapping ErrNotRepresentative (no one in office,
// or the key of a former representative or of no one).
func RepresentativeCert(c *corpreg.Corporation, key crypto.Signer) (*x509.Certificate, error) {
	rep := c.Current()
	if rep == nil {
		return nil, fmt.Errorf("%w: corporation %s has no representative in office", ErrNotRepresentative, c.Number)
	}
	cert, err := x509.ParseCertificate(rep.Certificate)
	if err != nil {
		return nil, fmt.Errorf("delegation: %s's representative certificate: %w", c.Number, err)
	}
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if key == nil || !ok || !pub.Equal(key.Public()) {
		return nil, fmt.Errorf("%w: the key is not the key of %s's representative certificate", ErrNotRepresentative, rep.Name)
	}
	return cert, nil
}
