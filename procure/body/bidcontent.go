package body

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/sealedbid"
)

// BidType is the "type" member of a bid's signed JSON: it keeps a bid from
// being taken for any other document the agent's card signs.
const BidType = "mynaplat-procure-bid/1"

// maxBidContent bounds a bid's signed content.
const maxBidContent = 4 << 10

// ErrInvalidBid is signed content that is not a bid in canonical form.
var ErrInvalidBid = errors.New("body: not a bid")

// BidContent is what the agent signs for a bid (docs/procurement.md §5.5,
// §7): the tender at its body, the business (法人番号 and 商号 as the power
// names it), the price in yen, the power it is signed under and the
// agent's platform ID. The desk makes it, signs it with the agent's card
// (CMS SignedData with a signature time-stamp) and seals it (SealBid);
// only the opening reads it.
type BidContent struct {
	Body            string `json:"body"`
	Tender          string `json:"tender"`
	CorporateNumber string `json:"corporate_number"`
	CorporationName string `json:"corporation_name"`
	PriceYen        int64  `json:"price_yen"`
	PowerID         string `json:"power_id"`
	AgentPlatformID string `json:"agent_platform_id"`
}

type bidJSON struct {
	Type string `json:"type"`
	BidContent
}

// MaxPriceYen bounds a price: a trillion yen.
const MaxPriceYen = 1_000_000_000_000

// token is an ID-like value: 1 to 64 ASCII letters, digits, - and _.
func token(s string) bool {
	return s != "" && len(s) <= 64 && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_'))
	})
}

// Validate reports what is wrong with the bid's entries (ErrInvalidBid).
func (b *BidContent) Validate() error {
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrInvalidBid, what) }
	switch {
	case !token(b.Body) || !token(b.Tender):
		return bad("body or tender")
	case corpreg.ValidNumber(b.CorporateNumber) != nil:
		return bad("corporate number")
	case b.CorporationName == "" || len(b.CorporationName) > 200 || !utf8.ValidString(b.CorporationName) ||
		strings.ContainsFunc(b.CorporationName, func(r rune) bool { return r < 0x20 || r == 0x7f }) ||
		strings.TrimSpace(b.CorporationName) != b.CorporationName:
		return bad("corporation name")
	case b.PriceYen <= 0 || b.PriceYen > MaxPriceYen:
		return bad("price")
	case !token(b.PowerID) || !token(b.AgentPlatformID):
		return bad("power or agent")
	}
	return nil
}

// Canonical is the bid's signed form: JSON with the "type" member first,
// the members in BidContent's order, encoding/json's escaping, no spaces.
func (b *BidContent) Canonical() ([]byte, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(bidJSON{Type: BidType, BidContent: *b})
}

// ParseBid reads a bid's signed form. It accepts only the canonical form,
// so one bid has one byte string.
func ParseBid(raw []byte) (*BidContent, error) {
	if len(raw) > maxBidContent {
		return nil, fmt.Errorf("%w: too long", ErrInvalidBid)
	}
	var w bidJSON
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil || dec.More() || w.Type != BidType {
		return nil, fmt.Errorf("%w: the signed content is not a bid", ErrInvalidBid)
	}
	b := w.BidContent
	c, err := b.Canonical()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(c, raw) {
		return nil, fmt.Errorf("%w: not in canonical form", ErrInvalidBid)
	}
	return &b, nil
}

// SealBid makes a sealed bid as the desk posts it: the canonical content
// signed with opts (the agent's card as Signer with its certificate, the
// TSA as Stamper: CMS SignedData with a signature time-stamp), then sealed
// to the tender's opening certificate (sealedbid.Seal). The desk, the
// tests and the bench make bids with it.
func SealBid(ctx context.Context, b *BidContent, opts cms.SignOptions, opening *x509.Certificate) ([]byte, error) {
	content, err := b.Canonical()
	if err != nil {
		return nil, err
	}
	if opts.Stamper == nil {
		return nil, fmt.Errorf("%w: a bid needs a signature time-stamp", ErrInvalid)
	}
	signed, err := cms.Sign(ctx, content, opts)
	if err != nil {
		return nil, fmt.Errorf("body: sign the bid: %w", err)
	}
	return sealedbid.Seal(signed, opening)
}
