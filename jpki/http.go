package jpki

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// The centre's HTTP API. These paths are relied on by other tools; keep them:
//
//	GET  /jpki/ca/{auth,sign}.crt          CA certificate, DER
//	GET  /jpki/responder/{auth,sign}.crt   delegated OCSP responder certificate, DER
//	GET  /jpki/crl/{auth,sign}.crl         newest CRL, DER
//	POST /jpki/ocsp                        OCSP (RFC 6960 appendix A.1)
//	GET  /jpki/ocsp/{base64}               OCSP by GET; see Wrap
//	GET  /jpki/linkage?kind=&serial=       linkage record (operator token)
//	GET  /jpki/revocations?after=&limit=   revocation feed (operator token)
//	GET  /jpki/attributes?kind=&serial=    the holder's current attributes (operator token)

// maxOCSPRequest bounds the size of an OCSP request body.
const maxOCSPRequest = 16 << 10

// Routes registers the centre's handlers on mux.
func (c *Centre) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /jpki/ca/{file}", c.serveCert(func(k Kind) []byte { return c.CACertificate(k) }, ".crt"))
	mux.HandleFunc("GET /jpki/responder/{file}", c.serveCert(func(k Kind) []byte { return c.ResponderCertificate(k) }, ".crt"))
	mux.HandleFunc("GET /jpki/crl/{file}", c.serveCRL)
	mux.HandleFunc("POST /jpki/ocsp", c.serveOCSPPost)
	mux.HandleFunc("GET /jpki/linkage", c.operatorOnly(c.serveLinkage))
	mux.HandleFunc("GET /jpki/revocations", c.operatorOnly(c.serveRevocations))
	mux.HandleFunc("GET /jpki/attributes", c.operatorOnly(c.serveAttributes))
}

// Wrap answers GET /jpki/ocsp/{base64} before next (normally the ServeMux)
// sees the request: base64 may contain "//", which ServeMux would clean and
// redirect, breaking the request (RFC 6960 appendix A.1).
func (c *Centre) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const prefix = "/jpki/ocsp/"
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.HasPrefix(r.URL.EscapedPath(), prefix) {
			c.serveOCSPGet(w, r, strings.TrimPrefix(r.URL.EscapedPath(), prefix))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func kindFromFile(file, ext string) (Kind, bool) {
	name, ok := strings.CutSuffix(file, ext)
	if !ok {
		return "", false
	}
	k, err := ParseKind(name)
	return k, err == nil
}

func (c *Centre) serveCert(get func(Kind) []byte, ext string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		k, ok := kindFromFile(r.PathValue("file"), ext)
		if !ok {
			c.writeErr(w, r, errNoSuchCert)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-cert")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(get(k))
	}
}

func (c *Centre) serveCRL(w http.ResponseWriter, r *http.Request) {
	k, ok := kindFromFile(r.PathValue("file"), ".crl")
	if !ok {
		c.writeErr(w, r, errNoSuchCRL)
		return
	}
	crl, err := c.LatestCRL(r.Context(), k)
	if err != nil {
		c.logger.ErrorContext(r.Context(), "serve CRL", "kind", k, "err", err)
		c.writeErr(w, r, fmt.Errorf("%w: %w", errNoCRL, err))
		return
	}
	etag := fmt.Sprintf(`"%s-%d"`, k, crl.Number)
	w.Header().Set("ETag", etag)
	// Revocation must be visible at once, so caches revalidate rather than
	// holding the CRL until nextUpdate; a relying party polling often gets a
	// cheap 304 while nothing changed.
	w.Header().Set("Cache-Control", "no-cache")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/pkix-crl")
	w.Header().Set("Last-Modified", crl.ThisUpdate.Format(http.TimeFormat))
	w.Header().Set("Expires", crl.NextUpdate.Format(http.TimeFormat))
	w.Write(crl.DER)
}

func (c *Centre) serveOCSPPost(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxOCSPRequest))
	if err != nil {
		writeOCSP(w, ocspError(ocspMalformedRequest), false)
		return
	}
	writeOCSP(w, c.Respond(r.Context(), body), false)
}

func (c *Centre) serveOCSPGet(w http.ResponseWriter, r *http.Request, escaped string) {
	s, err := url.PathUnescape(escaped)
	if err != nil {
		writeOCSP(w, ocspError(ocspMalformedRequest), false)
		return
	}
	der, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(der) > maxOCSPRequest {
		writeOCSP(w, ocspError(ocspMalformedRequest), false)
		return
	}
	writeOCSP(w, c.Respond(r.Context(), der), true)
}

func writeOCSP(w http.ResponseWriter, der []byte, get bool) {
	w.Header().Set("Content-Type", "application/ocsp-response")
	if get {
		// GET responses may be cached briefly (RFC 5019 §6); revocation must
		// still show within a minute.
		w.Header().Set("Cache-Control", "max-age=60, public, no-transform, must-revalidate")
	} else {
		w.Header().Set("Cache-Control", "no-store")
	}
	w.Write(der)
}

func (c *Centre) operatorOnly(h func(http.ResponseWriter, *http.Request, *Operator)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		var op *Operator
		err := ErrUnauthorized
		if ok {
			op, err = c.Authenticate(r.Context(), strings.TrimSpace(token))
		}
		if err != nil {
			if !errors.Is(err, ErrUnauthorized) {
				c.logger.ErrorContext(r.Context(), "check operator", "err", err)
			}
			c.writeErr(w, r, fmt.Errorf("%w: %w", errNoOperator, err))
			return
		}
		h(w, r, op)
	}
}

func (c *Centre) serveLinkage(w http.ResponseWriter, r *http.Request, op *Operator) {
	q := r.URL.Query()
	k, err := ParseKind(q.Get("kind"))
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	l, err := c.Linkage(r.Context(), op, k, q.Get("serial"))
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, l)
}

// FeedPage is one page of the revocation feed.
type FeedPage struct {
	Revocations []Revocation `json:"revocations"`
	// Next is the cursor for the following page (the last Seq, or the
	// request's cursor when nothing new happened).
	Next int64 `json:"next"`
}

func (c *Centre) serveRevocations(w http.ResponseWriter, r *http.Request, op *Operator) {
	q := r.URL.Query()
	after, limit := int64(0), MaxFeedPage
	var err error
	if s := q.Get("after"); s != "" {
		if after, err = strconv.ParseInt(s, 10, 64); err != nil || after < 0 {
			c.writeErr(w, r, fmt.Errorf("%w: after must be a non-negative integer", ErrInvalid))
			return
		}
	}
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > MaxFeedPage {
			c.writeErr(w, r, fmt.Errorf("%w: limit must be 1..%d", ErrInvalid, MaxFeedPage))
			return
		}
	}
	revs, err := c.Revocations(r.Context(), op, after, limit)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	page := FeedPage{Revocations: revs, Next: after}
	if len(revs) > 0 {
		page.Next = revs[len(revs)-1].Seq
	}
	httpapi.WriteJSON(w, http.StatusOK, page)
}

// writeErr answers an error of the centre through Rules.
func (c *Centre) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	Rules.Write(w, r, c.logger, err)
}
