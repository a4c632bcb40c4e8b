// Package inproc lets one role call another role's HTTP API inside one
// process without a socket: the contract stays the HTTP one (the same
// handler, status codes and bodies), only the transport is short-circuited.
package inproc

import (
	"net/http"
	"net/http/httptest"
)

// Transport is an http.RoundTripper that serves every request with Handler.
type Transport struct{ Handler http.Handler }

// RoundTrip serves req with the handler and returns its recorded response.
func (t Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	if req.Body == nil {
		req.Body = http.NoBody
	}
	// The handler sees a server-side request, as it would off a socket.
	sreq := req.Clone(req.Context())
	sreq.RequestURI = req.URL.RequestURI()
	sreq.RemoteAddr = "inproc"
	t.Handler.ServeHTTP(rec, sreq)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// Client is an *http.Client over Transport.
func Client(h http.Handler) *http.Client { return &http.Client{Transport: Transport{h}} }
