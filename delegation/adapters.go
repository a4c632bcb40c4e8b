package delegation

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/verify"
)

// The adapters that wire the register to the rest of mynaplat.

// VerifyCMS is the SignatureVerifier of package cms: an enveloping
// SignedData with an RFC 3161 signature time-stamp from a TSA under
// tsaRoots, whose time is the signing time. A power without a time-stamp
// is not believed: nothing else says when the representative signed it.
func VerifyCMS(tsaRoots *x509.CertPool) SignatureVerifier {
	return func(der []byte) ([]byte, *x509.Certificate, time.Time, error) {
		sig, err := cms.Verify(der, nil, tsaRoots)
		if err != nil {
			return nil, nil, time.Time{}, err
		}
		if sig.Timestamp == nil {
			return nil, nil, time.Time{}, errors.New("delegation: the signature has no time-stamp")
		}
		return sig.Content, sig.Signer, sig.Timestamp.Time, nil
	}
}

// PlatformSigner is the SignerPerson of the common platform
// (platform.Platform.SignerPerson, which checks the certificate against the
// 署名用 CA): a certificate it does not know or trust is ErrUnknownSigner.
func PlatformSigner(resolve func(ctx context.Context, cert *x509.Certificate) (string, error)) SignerPerson {
	return func(ctx context.Context, cert *x509.Certificate) (string, error) {
		id, err := resolve(ctx, cert)
		if errors.Is(err, platform.ErrNotFound) || errors.Is(err, platform.ErrInvalid) {
			return "", fmt.Errorf("%w: %w", ErrUnknownSigner, err)
		}
		return id, err
	}
}

// JPKIRevocation is the SignerRevoked of the JPKI centre: a fresh OCSP
// answer (v.Revocation at now) that the certificate was revoked at or
// before at. A certificate revoked later (its holder moved, or lost the
// card afterwards) signed validly.
func JPKIRevocation(v *jpki.SigningVerifier, now func() time.Time) SignerRevoked {
	if now == nil {
		now = time.Now
	}
	return func(ctx context.Context, cert *x509.Certificate, at time.Time) (bool, error) {
		st, err := v.Revocation(ctx, cert, now())
		if err != nil {
			return false, err
		}
		return st.Revoked && !at.Before(st.RevokedAt), nil
	}
}

// Checker is a Check (the Service's in one process, the Client's across)
// as package verify asks it: a failure to check is an error, a refusal a
// FAILED result with its reason.
func Checker(check func(ctx context.Context, q Query) (Result, error)) verify.DelegationChecker {
	return func(ctx context.Context, q verify.DelegationQuery) (*verify.Delegation, error) {
		r, err := check(ctx, Query{Power: q.Power, CorporateNumber: q.CorporateNumber, DocType: q.DocType, Signer: q.Signer, At: q.At})
		if err != nil {
			return nil, err
		}
		d := &verify.Delegation{Result: verify.DelegationPassed, Reason: string(r.Reason), MessageJA: r.MessageJA, MessageEN: r.MessageEN}
		if !r.OK {
			d.Result = verify.DelegationFailed
		}
		if p := r.Power; p != nil {
			d.PowerID, d.Corporation, d.CorporateNumber = p.ID, p.Principal.CorporationName, p.Principal.CorporateNumber
			d.Representative, d.Agent, d.Powers = p.Principal.RepresentativeName, p.Agent.Name, p.Powers
			d.NotBefore, d.NotAfter = p.NotBefore, p.NotAfter
		}
		return d, nil
	}
}

// Sign is the representative's (or, for a sub-delegation, the parent's
// agent's) signature of the power: its canonical form in an enveloping
// CMS SignedData, time-stamped by st (package cms), as Register takes it.
// One piece of code for every signer: the CLI, the company desk and the
// demo.
func (p *Power) Sign(ctx context.Context, signer crypto.Signer, cert *x509.Certificate, st cms.Stamper) ([]byte, error) {
	body, err := p.Canonical()
	if err != nil {
		return nil, err
	}
	return cms.Sign(ctx, body, cms.SignOptions{Signer: signer, Cert: cert, Stamper: st})
}

// Sign is the signature of a revocation, as Revoke takes it.
func (r Revocation) Sign(ctx context.Context, signer crypto.Signer, cert *x509.Certificate, st cms.Stamper) ([]byte, error) {
	body, err := r.Canonical()
	if err != nil {
		return nil, err
	}
	return cms.Sign(ctx, body, cms.SignOptions{Signer: signer, Cert: cert, Stamper: st})
}
