package corpreg

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// Client is another role's typed client of the registry's HTTP API. Its
// Corporation and RepresentativeAt answer as the Registry's do, so a caller
// can take either.
type Client struct {
	BaseURL string
	// HTTP sends the calls (httpapi.NewHTTPClient); nil is httpapi's
	// default, with its timeout.
	HTTP *http.Client
}

// ErrUnavailable is httpapi's: the registry did not answer (the network, a
// timeout, a 5xx, an answer that is not the API's).
var ErrUnavailable = httpapi.ErrUnavailable

// maxAnswer bounds what the client reads: a corporation with a long history
// of representatives stays far below it.
const maxAnswer = 4 << 20

func (c *Client) api() *httpapi.Client {
	return &httpapi.Client{Service: "corpreg", BaseURL: c.BaseURL, HTTP: c.HTTP, Rules: Rules, MaxBody: maxAnswer}
}

// Corporation fetches a corporation's public record.
func (c *Client) Corporation(ctx context.Context, number string) (*Corporation, error) {
	if err := ValidNumber(number); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnknownCorporation, err)
	}
	var corp Corporation
	if _, err := c.api().DoJSON(ctx, httpapi.Request{Method: http.MethodGet, Path: "/corpreg/v1/corporations/" + url.PathEscape(number)}, &corp); err != nil {
		return nil, err
	}
	return &corp, nil
}

// RepresentativeAt asks the registry whether cert was the corporation's
// representative's at at, with the errors of Registry.RepresentativeAt. The
// question changes nothing, so a lost answer is asked for again.
func (c *Client) RepresentativeAt(ctx context.Context, number string, cert *x509.Certificate, at time.Time) error {
	if cert == nil {
		return fmt.Errorf("%w: no certificate", ErrNotRepresentative)
	}
	var a CheckAnswer
	if _, err := c.api().DoJSON(ctx, httpapi.Request{Method: http.MethodPost, Path: "/corpreg/v1/representative-check", Idempotent: true,
		JSON: CheckRequest{Number: number, Certificate: base64.StdEncoding.EncodeToString(cert.Raw), At: at}}, &a); err != nil {
		return err
	}
	switch {
	case a.OK:
		return nil
	case a.Reason == string(CodeUnknownCorporation):
		return fmt.Errorf("%w: %s", ErrUnknownCorporation, a.MessageEN)
	case a.Reason == reasonClosed:
		return fmt.Errorf("%w: %s", ErrClosed, a.MessageEN)
	case a.Reason == reasonNotRepresentative:
		return fmt.Errorf("%w: %s", ErrNotRepresentative, a.MessageEN)
	}
	return fmt.Errorf("%w: unknown answer %q", ErrUnavailable, a.Reason)
}

// CA fetches the certificate of the registry's CA.
func (c *Client) CA(ctx context.Context) (*x509.Certificate, error) {
	resp, err := c.api().Do(ctx, httpapi.Request{Method: http.MethodGet, Path: "/corpreg/ca.crt"})
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: the CA certificate: %w", ErrUnavailable, err)
	}
	return cert, nil
}
