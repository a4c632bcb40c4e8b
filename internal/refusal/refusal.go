// Package refusal is the one shape of a service's refusals (docs/community-tv.md
// §9 for the community services): a stable reason code with its Japanese
// and English texts, the error that carries it, and its wire form between
// the service's API and its typed client — an RFC 9457 problem (httpapi)
// with status 422 whose code is the reason. A package keeps its own
// reasons, texts and ErrRefused; this is the code they all wrote alike.
//
// A package declares
//
//	var ErrRefused = errors.New("town: refused")
//	type Reason string
//	func (r Reason) Messages() (ja, en string) { … }
//	func (Reason) Refused() error { return ErrRefused }
//	type Refusal = refusal.Of[Reason]
package refusal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// Reason is a package's refusal code.
type Reason interface {
	~string
	// Messages are the reason's Japanese and English texts.
	Messages() (ja, en string)
	// Refused is the package's sentinel that each of its refusals wraps,
	// so that errors.Is(err, town.ErrRefused) tells one package's refusal
	// from another's.
	Refused() error
}

// Of is a refused request and its reason.
type Of[R Reason] struct{ Reason R }

// Error is "town: refused: slot_full": the sentinel's text and the reason.
func (r *Of[R]) Error() string { return fmt.Sprintf("%v: %s", r.Reason.Refused(), string(r.Reason)) }

// Unwrap makes every refusal its package's ErrRefused.
func (r *Of[R]) Unwrap() error { return r.Reason.Refused() }

// ReasonOf is the reason of a refusal of R ("" for another error).
func ReasonOf[R Reason](err error) R {
	if r, ok := errors.AsType[*Of[R]](err); ok {
		return r.Reason
	}
	return ""
}

// Status is a refusal's status on the wire: understood, and refused as it
// stands.
const Status = http.StatusUnprocessableEntity

// Write answers err: a refusal of R as its problem (Status, the reason as
// the code, its texts), any other error through rules.
func Write[R Reason](w http.ResponseWriter, r *http.Request, rules httpapi.Rules, logger *slog.Logger, err error) {
	if ref, ok := errors.AsType[*Of[R]](err); ok {
		ja, en := ref.Reason.Messages()
		httpapi.Write(w, httpapi.New(Status, httpapi.Code(ref.Reason), ja, en))
		return
	}
	rules.Write(w, r, logger, err)
}

// Answer answers v as JSON (200), or err as Write does when it is not nil.
func Answer[R Reason](w http.ResponseWriter, r *http.Request, rules httpapi.Rules, logger *slog.Logger, v any, err error) {
	if err != nil {
		Write[R](w, r, rules, logger, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
}

// Call is api.DoJSON on the client side of such an API: a refusal's answer
// comes back as the *Of[R] it was, any other error as httpapi's.
func Call[R Reason](ctx context.Context, api *httpapi.Client, rq httpapi.Request, out any) error {
	_, err := api.DoJSON(ctx, rq, out)
	if e, ok := errors.AsType[*httpapi.Error](err); ok && e.Status == Status {
		return &Of[R]{Reason: R(e.Code)}
	}
	return err
}
