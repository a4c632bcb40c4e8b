package jpki

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/wareki"
)

// HolderAttributes are a certificate holder's current attributes as the
// resident register has them: J-LIS's 最新4情報 (name, birth date, sex,
// address) and, in this test centre, the kana reading — the five attributes
// an insurer's record is matched against. They follow changes of name and
// address (the certificate itself does not).
type HolderAttributes struct {
	Name         string    `json:"name"`
	Kana         string    `json:"kana"`
	BirthDate    time.Time `json:"birth_date"`
	Sex          Sex       `json:"sex"`
	Address      string    `json:"address"`
	Municipality string    `json:"municipality"`
	// Certificate is the status of the certificate asked about.
	Certificate *CertInfo `json:"certificate"`
}

// Attributes returns the current attributes of the holder of a certificate,
// for a platform operator, and audits the read (it is personal data).
func (c *Centre) Attributes(ctx context.Context, op *Operator, k Kind, serial string) (*HolderAttributes, error) {
	ci, err := c.Certificate(ctx, k, serial)
	if err != nil {
		return nil, err
	}
	_, r, err := c.residentOfTx(ctx, c.db, ci.CardID)
	if err != nil {
		return nil, err
	}
	ci.CardID, ci.DER = "", nil
	if err := c.audit(ctx, "operator:"+op.Name, "attributes", string(k)+":"+ci.Serial); err != nil {
		return nil, err
	}
	return &HolderAttributes{Name: r.Name, Kana: r.Kana, BirthDate: r.BirthDate.In(wareki.JST()), Sex: r.Sex,
		Address: r.Address, Municipality: r.Municipality, Certificate: ci}, nil
}

func (c *Centre) serveAttributes(w http.ResponseWriter, r *http.Request, op *Operator) {
	q := r.URL.Query()
	k, err := ParseKind(q.Get("kind"))
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	a, err := c.Attributes(r.Context(), op, k, q.Get("serial"))
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, a)
}

// Attributes fetches the current attributes of a certificate's holder.
func (cl *Client) Attributes(ctx context.Context, k Kind, serial string) (*HolderAttributes, error) {
	q := url.Values{"kind": {string(k)}, "serial": {serial}}
	var a HolderAttributes
	if _, err := cl.api(true).DoJSON(ctx, httpapi.Request{Method: http.MethodGet, Path: "/jpki/attributes?" + q.Encode()}, &a); err != nil {
		return nil, err
	}
	return &a, nil
}
