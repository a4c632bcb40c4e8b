package jlis

import (
	"context"
	"fmt"
	"strings"

	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/seal"
)

// AntiForgery is the relay's protection of issued certificates, given to the
// issuance servers (municipal.AntiForgery): before a certificate is rendered
// it is entered in the seal register, which gives the signed QR code drawn
// on every page together with the 「複写」 ground pattern; after rendering,
// the PDF is signed with the municipality's seal key (PAdES). The relay
// checks that signature again before a PDF reaches a kiosk (Relay.Order).
type AntiForgery struct {
	Register Sealer
}

// Sealer is the seal register as the issuance servers use it: the
// register itself (*seal.Service) where it runs in the same role, or its
// client (*seal.Client) over HTTP; the contract is the HTTP one.
type Sealer interface {
	Issue(ctx context.Context, req seal.IssueRequest) (*seal.Issued, error)
	SignPDF(ctx context.Context, m seal.Municipality, pdf []byte) ([]byte, error)
}

var (
	_ Sealer = (*seal.Service)(nil)
	_ Sealer = (*seal.Client)(nil)
)

// SealMunicipality names municipality code for the seal register, from the
// JPKI list: its English name is ASCII, as the PDF signature dictionary
// needs.
func SealMunicipality(code string) (seal.Municipality, error) {
	jm, err := jpki.LookupMunicipality(code)
	if err != nil {
		return seal.Municipality{}, err
	}
	return seal.Municipality{Code: code, NameJA: jm.Prefecture + jm.Name, NameEN: jm.NameRomaji + ", " + jm.PrefectureRomaji}, nil
}

// Decorate registers the certificate and returns its QR code.
func (a AntiForgery) Decorate(ctx context.Context, m municipal.Municipality, number string, d *municipal.Document) (municipal.Decorations, error) {
	sm, err := SealMunicipality(m.Code)
	if err != nil {
		return municipal.Decorations{}, err
	}
	is, err := a.Register.Issue(ctx, seal.IssueRequest{Municipality: sm, Number: number, Type: d.Type.Title(),
		Content: strings.Join(d.Text(), "\n")})
	if err != nil {
		return municipal.Decorations{}, fmt.Errorf("jlis: register certificate %s: %w", number, err)
	}
	return municipal.Decorations{QR: is.QRPNG, QRText: "/verify " + number, CopyPattern: true}, nil
}

// Seal signs the rendered PDF with the municipality's seal.
func (a AntiForgery) Seal(ctx context.Context, m municipal.Municipality, pdf []byte) ([]byte, error) {
	sm, err := SealMunicipality(m.Code)
	if err != nil {
		return nil, err
	}
	return a.Register.SignPDF(ctx, sm, pdf)
}
