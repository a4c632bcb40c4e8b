package postbox

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/mynaplat/mynaplat/internal/apijson"
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
			apijson.WriteProblem(w, http.StatusUnauthorized, "bad_key", "私書箱の認証に失敗しました。", "The post box key is not valid.")
			return
		}
		var env Envelope
		if err := apijson.Decode(r.Body, &env, MaxEnvelope); err != nil {
			apijson.WriteProblem(w, http.StatusBadRequest, "bad_body", "送信内容の形式が正しくありません。", "The envelope is malformed: "+err.Error())
			return
		}
		if env.SendID == "" || env.Kind != kind || len(env.Documents) == 0 {
			apijson.WriteProblem(w, http.StatusBadRequest, "bad_envelope", "送信内容が正しくありません。", "The envelope lacks a send ID, the right kind or documents.")
			return
		}
		ack, err := handle(r.Context(), r, &env)
		if errors.Is(err, ErrRefused) {
			apijson.WriteProblem(w, http.StatusUnprocessableEntity, "refused", "受け付けられません。", err.Error())
			return
		}
		if err != nil {
			apijson.WriteProblem(w, http.StatusServiceUnavailable, "try_later", "一時的に受け付けられません。", "Temporarily unavailable: "+err.Error())
			return
		}
		apijson.Write(w, http.StatusOK, ack)
	}
}
