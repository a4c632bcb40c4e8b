package tsa

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/digitorus/timestamp"
)

// Media types of RFC 3161 §3.4.
const (
	queryType = "application/timestamp-query"
	replyType = "application/timestamp-reply"
)

// maxQuery bounds a TimeStampReq: a SHA-512 imprint, a nonce, a policy and
// a few extensions fit many times over.
const maxQuery = 16 << 10

// Authority is a time-stamp authority with one time-stamping unit.
type Authority struct {
	keys *Keys
	now  func() time.Time
	log  *slog.Logger
}

// New makes an Authority that signs with k's unit and reads genTime from
// now (time.Now when nil).
func New(k *Keys, now func() time.Time, logger *slog.Logger) *Authority {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Authority{keys: k, now: now, log: logger}
}

// supported says whether the TSA stamps imprints made with h: SHA-2 only.
func supported(h crypto.Hash) bool {
	return h == crypto.SHA256 || h == crypto.SHA384 || h == crypto.SHA512
}

// Stamp makes a time-stamp token (the DER ContentInfo of RFC 3161 §2.4.2)
// over digest, made with h, carrying the unit's certificate, without a
// nonce: the in-process cms.Stamper.
func (a *Authority) Stamp(ctx context.Context, h crypto.Hash, digest []byte) ([]byte, error) {
	if !supported(h) || len(digest) != h.Size() {
		return nil, fmt.Errorf("tsa: stamp: want a SHA-256, SHA-384 or SHA-512 digest, got %v of %d bytes", h, len(digest))
	}
	_, ts, err := a.respond(ctx, &timestamp.Request{HashAlgorithm: h, HashedMessage: digest, Certificates: true})
	if err != nil {
		return nil, err
	}
	return ts.RawToken, nil
}

// respond makes a granted TimeStampResp for req, and the token it holds.
func (a *Authority) respond(ctx context.Context, req *timestamp.Request) ([]byte, *timestamp.Timestamp, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	// genTime is GeneralizedTime in UTC ("Z") with whole seconds; the
	// library writes the time's own zone otherwise.
	gen := a.now().UTC().Truncate(time.Second)
	t := timestamp.Timestamp{
		HashAlgorithm:     req.HashAlgorithm,
		HashedMessage:     req.HashedMessage,
		Time:              gen,
		Accuracy:          time.Second,
		Nonce:             req.Nonce,
		Policy:            Policy(),
		AddTSACertificate: req.Certificates,
	}
	resp, err := t.CreateResponseWithOpts(a.keys.Cert, a.keys.Signer, crypto.SHA256)
	if err != nil {
		return nil, nil, fmt.Errorf("tsa: make response: %w", err)
	}
	ts, err := timestamp.ParseResponse(resp)
	if err != nil {
		return nil, nil, fmt.Errorf("tsa: read back response: %w", err)
	}
	a.log.InfoContext(ctx, "tsa: time-stamp granted", "serial", ts.SerialNumber.Text(16),
		"gen_time", gen, "hash", req.HashAlgorithm.String(), "nonce", req.Nonce != nil)
	return resp, ts, nil
}

// Handler serves POST /tsa (RFC 3161 §3.4): a TimeStampReq of
// application/timestamp-query is answered with a TimeStampResp of
// application/timestamp-reply. A request the TSA does not grant is
// answered with a rejection TimeStampResp (PKIStatus rejection and the
// PKIFailureInfo) and HTTP 400 (415 for another media type, 413 for an
// oversized body); a failure of the TSA itself with systemFailure and 500.
func (a *Authority) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /tsa", a.serve)
	return mux
}

func (a *Authority) serve(w http.ResponseWriter, r *http.Request) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != queryType {
		a.reject(w, r, http.StatusUnsupportedMediaType, timestamp.BadDataFormat, "content type is not "+queryType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxQuery))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			a.reject(w, r, http.StatusRequestEntityTooLarge, timestamp.BadDataFormat, "request too large")
			return
		}
		a.reject(w, r, http.StatusBadRequest, timestamp.BadDataFormat, "reading the request: "+err.Error())
		return
	}
	req, err := timestamp.ParseRequest(body)
	switch {
	case errors.Is(err, errUnknownHash):
		a.reject(w, r, http.StatusBadRequest, timestamp.BadAlgorithm, err.Error())
		return
	case err != nil:
		a.reject(w, r, http.StatusBadRequest, timestamp.BadDataFormat, err.Error())
		return
	case !supported(req.HashAlgorithm):
		a.reject(w, r, http.StatusBadRequest, timestamp.BadAlgorithm, "hash algorithm "+req.HashAlgorithm.String()+" is not accepted")
		return
	case len(req.HashedMessage) != req.HashAlgorithm.Size():
		a.reject(w, r, http.StatusBadRequest, timestamp.BadDataFormat, "imprint length does not match its hash algorithm")
		return
	case req.TSAPolicyOID != nil && !req.TSAPolicyOID.Equal(Policy()):
		a.reject(w, r, http.StatusBadRequest, timestamp.UnacceptedPolicy, "policy "+req.TSAPolicyOID.String()+" is not this TSA's")
		return
	case len(req.Extensions) > 0:
		a.reject(w, r, http.StatusBadRequest, timestamp.UnacceptedExtension, "request extensions are not supported")
		return
	case req.Nonce != nil && (req.Nonce.Sign() < 0 || req.Nonce.BitLen() > 512):
		a.reject(w, r, http.StatusBadRequest, timestamp.BadDataFormat, "nonce out of range")
		return
	}
	resp, _, err := a.respond(r.Context(), req)
	if err != nil {
		a.log.ErrorContext(r.Context(), "tsa: cannot stamp", "err", err)
		a.reject(w, r, http.StatusInternalServerError, timestamp.SystemFailure, "")
		return
	}
	w.Header().Set("Content-Type", replyType)
	w.Write(resp)
}

// reject answers with a rejection TimeStampResp (RFC 3161 §2.4.2).
func (a *Authority) reject(w http.ResponseWriter, r *http.Request, status int, fi timestamp.FailureInfo, why string) {
	if status != http.StatusInternalServerError {
		a.log.InfoContext(r.Context(), "tsa: request rejected", "reason", why, "failure_info", fi.String())
	}
	resp, err := timestamp.CreateErrorResponse(timestamp.Rejection, fi)
	if err != nil {
		http.Error(w, "time-stamp response failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", replyType)
	w.WriteHeader(status)
	w.Write(resp)
}

// errUnknownHash is how timestamp.ParseRequest says that it does not know
// the imprint's hash algorithm.
var errUnknownHash = timestamp.ParseError("Time-Stamp request uses unknown hash function")
