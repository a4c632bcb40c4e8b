package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/trace"
)

// A disclosure is the OpenID Connect provider (package oidcop) telling the
// platform that it gave an outside service (a relying party) some of a
// person's four attributes, or a signature the person made
// (docs/oidc-provider.md §4.3):
//
//	POST /platform/v1/persons/{id}/disclosures  Disclosure → 204
//
// The provider reads the attributes from the card's signing certificate
// itself; the platform gives nothing here and only writes the audit row, so
// that the holder's /me/audit says which service received what, and when,
// beside who checked them. The row's terminal is the caller
// ("caller:oidc") and its reason the recipient and items (DisclosureReason).
// A refusal (a malformed body, an unknown item, an unknown person) writes
// nothing.

// ActionOIDCDisclosure is the audit action of a disclosure.
const ActionOIDCDisclosure = "oidc-disclosure"

// The items a disclosure names: the four attributes of the signing
// certificate (the provider's scopes of the same names) and a signature
// made through a sign transaction.
const (
	ItemName      = "name"
	ItemAddress   = "address"
	ItemBirthdate = "birthdate"
	ItemGender    = "gender"
	ItemSignature = "signature"
)

// DisclosureItems are the items in the order a person reads them.
var DisclosureItems = []string{ItemName, ItemAddress, ItemBirthdate, ItemGender, ItemSignature}

// MaxRecipient is the longest recipient, in characters: a client's
// registered name (the provider allows 100) and its ID (255 at most by the
// pattern, but 10 in practice) fit.
const MaxRecipient = 200

// Disclosure is what the provider gave to whom.
type Disclosure struct {
	// Recipient names the relying party as the person knows it: the
	// provider sends "<client name> (<client_id>)". 1–200 characters, no
	// control characters.
	Recipient string `json:"recipient"`
	// Items are what it received: one or more of DisclosureItems, each
	// once.
	Items []string `json:"items"`
	// SignTransactionID is the sign transaction (a UUID) the disclosure
	// belongs to, if any; the item ItemSignature needs it.
	SignTransactionID string `json:"sign_transaction_id,omitempty"`
}

// Refusals of a disclosure.
var (
	errDisclosureBody = fmt.Errorf("%w: malformed disclosure", ErrInvalid)
	// ErrUnknownItem is an item outside DisclosureItems.
	ErrUnknownItem = fmt.Errorf("%w: unknown disclosure item", ErrInvalid)
)

// CodeUnknownItem is the problem code of ErrUnknownItem.
const CodeUnknownItem httpapi.Code = "unknown_item"

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// maxDisclosureBody bounds a disclosure's body (200 characters of at most
// 4 bytes, five items, a UUID and the JSON around them).
const maxDisclosureBody = 4 << 10

// ParseDisclosure reads a disclosure: one JSON object with exactly the
// fields of Disclosure, valid as validate says.
func ParseDisclosure(body []byte) (Disclosure, error) {
	var d Disclosure
	if err := httpapi.Decode(bytes.NewReader(body), &d, int64(len(body))); err != nil {
		return Disclosure{}, fmt.Errorf("%w: %v", errDisclosureBody, err)
	}
	if err := d.validate(); err != nil {
		return Disclosure{}, err
	}
	return d, nil
}

func (d Disclosure) validate() error {
	n := utf8.RuneCountInString(d.Recipient)
	switch {
	case !utf8.ValidString(d.Recipient) || strings.TrimSpace(d.Recipient) == "" || n > MaxRecipient:
		return fmt.Errorf("%w: recipient of %d characters, want 1–%d", errDisclosureBody, n, MaxRecipient)
	case strings.ContainsFunc(d.Recipient, unicode.IsControl):
		return fmt.Errorf("%w: a control character in the recipient", errDisclosureBody)
	case len(d.Items) == 0:
		return fmt.Errorf("%w: no items", errDisclosureBody)
	case d.SignTransactionID != "" && !uuidPattern.MatchString(d.SignTransactionID):
		return fmt.Errorf("%w: sign_transaction_id is not a UUID", errDisclosureBody)
	}
	for i, item := range d.Items {
		if !slices.Contains(DisclosureItems, item) {
			return fmt.Errorf("%w: %q (want %s)", ErrUnknownItem, item, strings.Join(DisclosureItems, ", "))
		}
		if slices.Contains(d.Items[:i], item) {
			return fmt.Errorf("%w: %s twice", errDisclosureBody, item)
		}
	}
	if slices.Contains(d.Items, ItemSignature) && d.SignTransactionID == "" {
		return fmt.Errorf("%w: a signature needs its sign_transaction_id", errDisclosureBody)
	}
	return nil
}

// DisclosureReason is the audit row's reason of a disclosure: the
// disclosure as JSON, its items in the order of DisclosureItems. JSON
// because the recipient is free text.
func DisclosureReason(d Disclosure) string {
	d.Items = slices.DeleteFunc(slices.Clone(DisclosureItems), func(item string) bool { return !slices.Contains(d.Items, item) })
	b, _ := json.Marshal(d) // strings only: cannot fail
	return string(b)
}

// ParseDisclosureReason reads DisclosureReason back; ok is false for a
// reason of another action or one that is not valid.
func ParseDisclosureReason(reason string) (d Disclosure, ok bool) {
	d, err := ParseDisclosure([]byte(reason))
	return d, err == nil
}

// Disclose writes the audit row of a disclosure by caller to the holder of
// platform ID personID. An invalid disclosure (ErrInvalid, ErrUnknownItem)
// or an unknown person (ErrNotFound) writes nothing.
func (p *Platform) Disclose(ctx context.Context, caller, personID string, d Disclosure) error {
	if err := d.validate(); err != nil {
		return err
	}
	var n int
	if err := p.db.QueryRowContext(ctx, qPersonExists, personID).Scan(&n); err != nil {
		return fmt.Errorf("platform: find the person of a disclosure: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("%w: platform ID %s", ErrNotFound, personID)
	}
	now := p.now()
	_, err := p.db.Write(ctx, qInsertAudit, newSortableID(now), now.UnixMilli(), personID, "caller:"+caller,
		ActionOIDCDisclosure, "OK", DisclosureReason(d), "", trace.ID(ctx))
	if err != nil {
		return fmt.Errorf("platform: audit a disclosure: %w", err)
	}
	return nil
}

func (p *Platform) serveDisclosure(w http.ResponseWriter, r *http.Request, caller string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxDisclosureBody+1))
	var d Disclosure
	switch {
	case err != nil || len(body) > maxDisclosureBody:
		err = fmt.Errorf("%w: body unreadable or over %d bytes", errDisclosureBody, maxDisclosureBody)
	default:
		d, err = ParseDisclosure(body)
	}
	if err == nil {
		err = p.Disclose(r.Context(), caller, r.PathValue("id"), d)
	}
	if err != nil {
		callerRules.Write(w, r, p.logger, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Disclose tells the platform that the caller gave d's items to d's
// recipient (see Disclosure). It is not sent again on a lost answer: a
// second row would say the items were given twice.
func (c *CallerClient) Disclose(ctx context.Context, personID string, d Disclosure) error {
	_, err := c.API.DoJSON(ctx, httpapi.Request{Method: http.MethodPost,
		Path: "/platform/v1/persons/" + url.PathEscape(personID) + "/disclosures", JSON: d}, nil)
	return sentinel(err)
}
