package platform

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/jpki"
)

// A presence read (docs/community-tv.md §5.5): a gate where a child touches
// a card (the school's, the library's) cannot ask for the PIN, and JPKI has
// no signature without one. What a card gives without its PIN is its
// 利用者証明用 certificate: the read proves that the card was presented, not
// who presented it, and a certificate copied from an earlier read would pass
// too. So a presence read is a different thing from a login: it yields no
// assertion (nothing another service could take for a login), the platform
// answers only with the platform ID and only when it is one the caller
// names (the children registered at that body), and the caller records
// "card presented", never "authenticated".
//
//	POST /platform/v1/presented  {"certificate": DER, "among": [platform IDs]} → {"platform_id"} (caller key)

// AuditCallerPresented is the audit action of a presence read.
const AuditCallerPresented = "caller-presented"

// MaxPresentedAmong bounds the IDs a presence read may name (a school's or
// a library's registered children).
const MaxPresentedAmong = 5000

// PresentedRequest is the body of POST /platform/v1/presented.
type PresentedRequest struct {
	Certificate []byte   `json:"certificate"`
	Among       []string `json:"among"`
}

// PresentedPerson is the platform ID of the holder of a 利用者証明用
// certificate read from a card without its PIN, when that holder is one of
// among; ErrNotFound otherwise (a holder not among them, or one who never
// used the platform: the caller cannot tell which, so a presence read never
// tells a body who else's card was held to its reader). The certificate
// must chain to the 利用者証明用 CA, be valid now and not revoked (no fresh
// revocation data refuses it, as for a login). Only the centre's linkage
// records link it, and a holder is never created by it.
func (p *Platform) PresentedPerson(ctx context.Context, der []byte, among []string) (string, error) {
	if len(among) > MaxPresentedAmong {
		return "", fmt.Errorf("%w: more than %d platform IDs", ErrInvalid, MaxPresentedAmong)
	}
	cert, malformed := p.certificate(der)
	if malformed {
		return "", fmt.Errorf("%w: the certificate cannot be parsed", ErrInvalid)
	}
	if !p.chainOK(der, cert) {
		return "", fmt.Errorf("%w: not a certificate of the 利用者証明用 CA", ErrInvalid)
	}
	now := p.now()
	if now.After(cert.NotAfter) || now.Before(cert.NotBefore) {
		return "", fmt.Errorf("%w: the certificate is not valid now", ErrInvalid)
	}
	rs, err := p.rev.check(ctx, cert)
	if err != nil {
		return "", fmt.Errorf("%w: no fresh revocation data: %w", ErrInvalid, err)
	}
	if rs.Revoked && !rs.RevokedAt.After(now) {
		return "", fmt.Errorf("%w: the certificate is revoked", ErrInvalid)
	}
	serial := jpki.Serial(cert.SerialNumber)
	id, ok := p.persons.get(serial)
	if !ok {
		v, err, _ := p.resolving.Do("presented:"+serial, func() (any, error) {
			return p.resolveLinked(ctx, jpki.LinkageRef{Kind: jpki.Auth, Serial: serial}, false)
		})
		if err != nil {
			return "", err
		}
		id = v.(string)
	}
	if id == "" || !slices.Contains(among, id) {
		return "", fmt.Errorf("%w: no such holder among those named", ErrNotFound)
	}
	return id, nil
}

func (p *Platform) servePresented(w http.ResponseWriter, r *http.Request, caller string) {
	var req PresentedRequest
	if err := httpapi.Decode(r.Body, &req, 512<<10); err != nil {
		callerRules.Write(w, r, p.logger, err)
		return
	}
	id, err := p.PresentedPerson(r.Context(), req.Certificate, req.Among)
	serial := ""
	if c, perr := x509.ParseCertificate(req.Certificate); perr == nil {
		serial = jpki.Serial(c.SerialNumber)
	}
	// A card of no one named is audited under no person: its holder is
	// not the caller's to know.
	if err = p.callerAudited(r, caller, id, AuditCallerPresented, serial, err); err != nil {
		callerRules.Write(w, r, p.logger, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, SignerAnswer{PlatformID: id})
}

// PresentedPerson asks for the platform ID of the holder of a 利用者証明用
// certificate read without a PIN, when it is one of among (ErrNotFound
// otherwise).
func (c *CallerClient) PresentedPerson(ctx context.Context, der []byte, among []string) (string, error) {
	var out SignerAnswer
	// A read: sending it again is harmless.
	if _, err := c.API.DoJSON(ctx, httpapi.Request{Method: http.MethodPost, Path: "/platform/v1/presented",
		JSON: PresentedRequest{Certificate: der, Among: among}, Idempotent: true}, &out); err != nil {
		return "", sentinel(err)
	}
	if out.PlatformID == "" {
		return "", errors.New("platform: a presence read answered no platform ID")
	}
	return out.PlatformID, nil
}
