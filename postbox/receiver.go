package postbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// ErrRefused is a receiver's refusal of an envelope it will never accept
// (the post box keeps retrying anything else).
var ErrRefused = errors.New("postbox: the receiver refused the envelope")

// MaxEnvelope bounds an envelope's JSON: Receive reads no more, and the post
// box queues no larger send.
const MaxEnvelope = 8 * MaxDocument

// Receive is the receiving side of the post box's delivery, for the parties'
// endpoints: it checks the post box's key (auth accepts or refuses the key
// presented with the request), reads the envelope and has handle act on it,
// answering with handle's acknowledgement. handle must be idempotent by
// SendID — the same send may come again — and return the first Ack with
// Duplicate set when it had the send already.
func Receive(auth func(r *http.Request, key string) bool, kind string, handle func(ctx context.Context, r *http.Request, env *Envelope) (*Ack, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || key == "" || !auth(r, key) {
			Rules.Write(w, r, nil, errBoxKey)
			return
		}
		var env Envelope
		if err := httpapi.Decode(r.Body, &env, MaxEnvelope); err != nil {
			Rules.Write(w, r, nil, fmt.Errorf("%w: %w", errEnvelope, err))
			return
		}
		if env.SendID == "" || env.Kind != kind || len(env.Documents) == 0 {
			Rules.Write(w, r, nil, errEnvelopeBad)
			return
		}
		ack, err := handle(r.Context(), r, &env)
		if err != nil && !errors.Is(err, ErrRefused) {
			// Anything but a refusal may pass: the post box sends again.
			err = fmt.Errorf("%w: %w", errTryLater, err)
		}
		if err != nil {
			Rules.Write(w, r, nil, err)
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, ack)
	}
}
