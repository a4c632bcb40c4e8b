package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net/http"

	"github.com/digitorus/timestamp"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// maxReply bounds a TimeStampResp read by the Client.
const maxReply = 1 << 20

// Client asks a TSA for time-stamp tokens over HTTP (RFC 3161 §3.4): a
// cms.Stamper for signers whose TSA runs elsewhere.
type Client struct {
	// URL is the TSA's endpoint, e.g. http://127.0.0.1:8080/tsa.
	URL string
	// HTTP is the client to send with (httpapi.NewHTTPClient); nil is
	// httpapi's default, with its timeout.
	HTTP *http.Client
}

// Stamp asks the TSA for a token over digest, made with h, with a random
// nonce and certReq set, and returns the token (DER ContentInfo) once it has
// checked the answer: status granted, a token whose signature verifies with
// the certificate it carries, the nonce sent, and the imprint asked for.
// Whether the TSA is trusted is for the token's verifier (cms.Verify).
// Errors wrap ErrRejected or ErrBadResponse, or are the transport's.
func (c *Client) Stamp(ctx context.Context, h crypto.Hash, digest []byte) ([]byte, error) {
	if !supported(h) || len(digest) != h.Size() {
		return nil, fmt.Errorf("tsa: client: want a SHA-256, SHA-384 or SHA-512 digest, got %v of %d bytes", h, len(digest))
	}
	// A 64-bit random nonce (RFC 3161 §2.4.1): the answer must carry it.
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	q, err := (&timestamp.Request{HashAlgorithm: h, HashedMessage: digest, Certificates: true, Nonce: nonce}).Marshal()
	if err != nil {
		return nil, fmt.Errorf("tsa: client: %w", err)
	}
	// A rejection is a TimeStampResp too (over HTTP 200 from our TSA, with
	// a 4xx from some others): an answer to read, not a problem. Asking
	// again is harmless (a new token).
	api := &httpapi.Client{Service: "tsa", HTTP: c.HTTP, MaxBody: maxReply}
	resp, err := api.Do(ctx, httpapi.Request{Method: http.MethodPost, Path: c.URL, Body: q, ContentType: queryType,
		Header: http.Header{"Accept": {replyType}}, Idempotent: true,
		Answer: func(_ int, h http.Header) bool { return h.Get("Content-Type") == replyType }})
	if e, ok := errors.AsType[*httpapi.Error](err); ok {
		return nil, fmt.Errorf("%w: HTTP %d: %w", ErrRejected, e.Status, err)
	}
	if err != nil {
		return nil, fmt.Errorf("tsa: client: %w", err)
	}
	body := resp.Body
	status, ok := pkiStatus(body)
	switch {
	case ok && status > 1: // rejection, waiting, revocation
		_, perr := timestamp.ParseResponse(body)
		return nil, fmt.Errorf("%w (HTTP %d): %v", ErrRejected, resp.Status, perr)
	case resp.Status != http.StatusOK:
		return nil, fmt.Errorf("%w: HTTP %d", ErrRejected, resp.Status)
	case !ok:
		return nil, fmt.Errorf("%w: not a TimeStampResp", ErrBadResponse)
	}
	ts, err := timestamp.ParseResponse(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadResponse, err)
	}
	switch {
	case len(ts.Certificates) == 0:
		// certReq was set (§2.4.1), and without the certificate the token's
		// signature has not been checked by ParseResponse.
		return nil, fmt.Errorf("%w: the token carries no TSA certificate", ErrBadResponse)
	case ts.Nonce == nil || ts.Nonce.Cmp(nonce) != 0:
		return nil, fmt.Errorf("%w: the nonce is not the one sent", ErrBadResponse)
	case ts.HashAlgorithm != h || !bytes.Equal(ts.HashedMessage, digest):
		return nil, fmt.Errorf("%w: the imprint is not the one asked for", ErrBadResponse)
	}
	return ts.RawToken, nil
}

// pkiStatus reads the PKIStatus of a TimeStampResp (RFC 3161 §2.4.2).
func pkiStatus(der []byte) (int, bool) {
	s := cryptobyte.String(der)
	var resp, info cryptobyte.String
	var status int
	if !s.ReadASN1(&resp, cbasn1.SEQUENCE) || !resp.ReadASN1(&info, cbasn1.SEQUENCE) || !info.ReadASN1Integer(&status) {
		return 0, false
	}
	return status, true
}
