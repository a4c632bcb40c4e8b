package jpki

import (
	"crypto"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// This file encodes and decodes OCSP messages (RFC 6960 §4.1, §4.2) with
// encoding/asn1. golang.org/x/crypto/ocsp cannot echo a nonce in
// responseExtensions (§4.4.1), which openssl ocsp checks, so the responder
// writes its own; x/crypto/ocsp serves as an independent parser in tests.

var (
	oidOCSPBasic     = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}
	oidOCSPNonce     = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}
	oidSHA1          = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA256WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
)

// ocspResponseStatus values (RFC 6960 §4.2.1).
const (
	ocspSuccessful       = 0
	ocspMalformedRequest = 1
	ocspInternalError    = 2
	ocspTryLater         = 3
	ocspUnauthorized     = 6
)

// ErrMalformedOCSP is returned for an OCSP request that cannot be decoded.
var ErrMalformedOCSP = errors.New("jpki: malformed OCSP request")

type certID struct {
	HashAlgorithm  pkix.AlgorithmIdentifier
	IssuerNameHash []byte
	IssuerKeyHash  []byte
	SerialNumber   *big.Int
}

type singleRequest struct {
	Cert       certID
	Extensions []pkix.Extension `asn1:"explicit,tag:0,optional"`
}

type tbsRequest struct {
	Version       int           `asn1:"explicit,tag:0,default:0,optional"`
	RequestorName asn1.RawValue `asn1:"explicit,tag:1,optional"`
	RequestList   []singleRequest
	Extensions    []pkix.Extension `asn1:"explicit,tag:2,optional"`
}

type ocspRequest struct {
	TBS       tbsRequest
	Signature asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

// request is a decoded OCSP request.
type request struct {
	certs []certID
	nonce []byte // the raw extnValue of the nonce extension, echoed as is
}

// hashOf maps a CertID hash algorithm to crypto.Hash; SHA-1 (what openssl and
// most clients send) and SHA-256 are supported.
func hashOf(alg pkix.AlgorithmIdentifier) crypto.Hash {
	switch {
	case alg.Algorithm.Equal(oidSHA1):
		return crypto.SHA1
	case alg.Algorithm.Equal(oidSHA256):
		return crypto.SHA256
	}
	return 0
}

func parseOCSPRequest(der []byte) (*request, error) {
	var req ocspRequest
	rest, err := asn1.Unmarshal(der, &req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedOCSP, err)
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("%w: trailing data", ErrMalformedOCSP)
	}
	if len(req.TBS.RequestList) == 0 {
		return nil, fmt.Errorf("%w: no certificate asked about", ErrMalformedOCSP)
	}
	out := &request{}
	for _, r := range req.TBS.RequestList {
		if r.Cert.SerialNumber == nil || r.Cert.SerialNumber.Sign() < 0 {
			return nil, fmt.Errorf("%w: bad serial number", ErrMalformedOCSP)
		}
		out.certs = append(out.certs, r.Cert)
	}
	for _, e := range req.TBS.Extensions {
		if e.Id.Equal(oidOCSPNonce) {
			// RFC 8954 limits the nonce to 1..32 octets (inside its OCTET STRING).
			if len(e.Value) < 3 || len(e.Value) > 34 {
				return nil, fmt.Errorf("%w: nonce of %d bytes", ErrMalformedOCSP, len(e.Value))
			}
			out.nonce = e.Value
		}
	}
	return out, nil
}

type revokedInfo struct {
	RevocationTime time.Time       `asn1:"generalized"`
	Reason         asn1.Enumerated `asn1:"explicit,tag:0,optional"`
}

type singleResponse struct {
	CertID     certID
	Good       asn1.Flag   `asn1:"tag:0,optional"`
	Revoked    revokedInfo `asn1:"tag:1,optional"`
	Unknown    asn1.Flag   `asn1:"tag:2,optional"`
	ThisUpdate time.Time   `asn1:"generalized"`
	NextUpdate time.Time   `asn1:"generalized,explicit,tag:0,optional"`
}

type responseData struct {
	Version     int           `asn1:"optional,default:0,explicit,tag:0"`
	ResponderID asn1.RawValue // byKey [2] EXPLICIT OCTET STRING
	ProducedAt  time.Time     `asn1:"generalized"`
	Responses   []singleResponse
	Extensions  []pkix.Extension `asn1:"optional,explicit,tag:1"`
}

type basicResponse struct {
	TBSResponseData    responseData
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          asn1.BitString
	Certificates       []asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

type responseBytes struct {
	ResponseType asn1.ObjectIdentifier
	Response     []byte
}

type ocspResponse struct {
	Status   asn1.Enumerated
	Response responseBytes `asn1:"explicit,tag:0,optional"`
}

// ocspError is a response without responseBytes (RFC 6960 §4.2.1).
func ocspError(status int) []byte {
	return mustMarshal(struct{ Status asn1.Enumerated }{asn1.Enumerated(status)})
}

// certStatus is what the responder says about one certificate.
type certStatus struct {
	id        certID
	status    Status
	revokedAt time.Time
	reason    Reason
}

// signOCSP builds and signs a BasicOCSPResponse with the delegated responder
// of a, naming the responder by key hash and carrying its certificate.
func signOCSP(a *authority, items []certStatus, nonce []byte, now, next time.Time) ([]byte, error) {
	now = now.UTC().Truncate(time.Second)
	var rs []singleResponse
	for _, it := range items {
		sr := singleResponse{CertID: it.id, ThisUpdate: now, NextUpdate: next.UTC().Truncate(time.Second)}
		switch it.status {
		case StatusGood:
			sr.Good = true
		case StatusRevoked:
			sr.Revoked = revokedInfo{RevocationTime: it.revokedAt.UTC().Truncate(time.Second), Reason: asn1.Enumerated(it.reason)}
		default:
			sr.Unknown = true
		}
		rs = append(rs, sr)
	}
	spki, err := subjectPublicKeyBits(a.responderCert)
	if err != nil {
		return nil, err
	}
	keyHash := digest(crypto.SHA1, spki)
	rd := responseData{
		ResponderID: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, IsCompound: true, Bytes: mustMarshal(keyHash)},
		ProducedAt:  now,
		Responses:   rs,
	}
	if nonce != nil {
		rd.Extensions = []pkix.Extension{{Id: oidOCSPNonce, Value: nonce}}
	}
	tbs, err := asn1.Marshal(rd)
	if err != nil {
		return nil, fmt.Errorf("jpki: encode OCSP response: %w", err)
	}
	h := crypto.SHA256.New()
	h.Write(tbs)
	sig, err := a.responderSigner.Sign(rand.Reader, h.Sum(nil), crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("jpki: sign OCSP response: %w", err)
	}
	basic := basicResponse{
		TBSResponseData:    responseData{},
		SignatureAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidSHA256WithRSA, Parameters: asn1.NullRawValue},
		Signature:          asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)},
		Certificates:       []asn1.RawValue{{FullBytes: a.responderCert.Raw}},
	}
	// Marshal with the exact TBS bytes that were signed.
	basicDER, err := marshalWithRawTBS(tbs, basic)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(ocspResponse{Status: ocspSuccessful, Response: responseBytes{ResponseType: oidOCSPBasic, Response: basicDER}})
}

// marshalWithRawTBS encodes a BasicOCSPResponse whose first element is the
// already-encoded tbs.
func marshalWithRawTBS(tbs []byte, b basicResponse) ([]byte, error) {
	type raw struct {
		TBS                asn1.RawValue
		SignatureAlgorithm pkix.AlgorithmIdentifier
		Signature          asn1.BitString
		Certificates       []asn1.RawValue `asn1:"explicit,tag:0,optional"`
	}
	return asn1.Marshal(raw{asn1.RawValue{FullBytes: tbs}, b.SignatureAlgorithm, b.Signature, b.Certificates})
}
