// Package callerkey is how a role lets other roles onto its operator API
// (the calls one role makes on another's behalf: a holder's attributes, a
// certificate's seal, the 本籍地's queue): each calling role has its own
// bearer key, given to both sides in their configuration, so that every
// call is refused without one and audited under the caller's name.
//
// Only the keys' SHA-256 is kept. Keys are configured as "name=key,…"
// (a flag or an environment variable); in one process serve makes fresh
// ones at start, as nothing outside the process needs them.
package callerkey

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/secret"
)

// Prefix starts every key that New makes.
const Prefix = "mpcall_"

// New returns a fresh caller key.
func New() string { return secret.New(Prefix) }

// ErrUnauthorized is a call without a key, or with a key of no caller.
var ErrUnauthorized = errors.New("callerkey: no or unknown caller key")

// CodeUnauthorized is the problem code of ErrUnauthorized.
const CodeUnauthorized httpapi.Code = "caller_unauthorized"

// Rules answers ErrUnauthorized; a role puts it in its own table.
var Rules = httpapi.Rules{
	{Err: ErrUnauthorized, Status: http.StatusUnauthorized, Code: CodeUnauthorized,
		JA: "呼び出し元の認証に失敗しました（鍵がないか、登録されていない鍵です）。",
		EN: "The caller is not authenticated: no key, or a key of no registered caller."},
}

type caller struct {
	name string
	hash []byte
}

// Keys are the callers a role accepts. The zero Keys accepts nobody.
type Keys struct{ callers []caller }

// Add returns k with caller name accepted under key.
func (k Keys) Add(name, key string) Keys {
	out := Keys{callers: slices.Clone(k.callers)}
	out.callers = append(out.callers, caller{name: name, hash: secret.Hash(key)})
	return out
}

// Parse reads "name=key,name=key". An empty spec is no callers.
func Parse(spec string) (Keys, error) {
	var k Keys
	var bad []string
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, key, ok := strings.Cut(item, "=")
		name, key = strings.TrimSpace(name), strings.TrimSpace(key)
		if !ok || name == "" || key == "" {
			bad = append(bad, fmt.Sprintf("%q", strings.SplitN(item, "=", 2)[0]))
			continue
		}
		k = k.Add(name, key)
	}
	if len(bad) > 0 {
		return Keys{}, fmt.Errorf("caller keys: want name=key, got %s", strings.Join(bad, ", "))
	}
	return k, nil
}

// Names lists the accepted callers.
func (k Keys) Names() []string {
	out := make([]string, 0, len(k.callers))
	for _, c := range k.callers {
		out = append(out, c.name)
	}
	return out
}

// Empty reports whether no caller is accepted.
func (k Keys) Empty() bool { return len(k.callers) == 0 }

// Caller is the caller whose key r bears (Authorization: Bearer), or
// ErrUnauthorized.
func (k Keys) Caller(r *http.Request) (string, error) {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	key = strings.TrimSpace(key)
	if !ok || key == "" {
		return "", ErrUnauthorized
	}
	for _, c := range k.callers {
		if secret.Matches(c.hash, key) {
			return c.name, nil
		}
	}
	return "", ErrUnauthorized
}

// Only serves h to known callers, with the caller's name; others get the
// 401 problem.
func (k Keys) Only(h func(w http.ResponseWriter, r *http.Request, caller string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name, err := k.Caller(r)
		if err != nil {
			httpapi.Write(w, Rules.Problem(err))
			return
		}
		h(w, r, name)
	}
}

// Audited records a call through write, with the result "OK" or "FAILED"
// as err says, and returns err, or the audit's own failure when the call
// succeeded: a call whose audit row could not be written is not answered.
func Audited(err error, write func(result string) error) error {
	result := "OK"
	if err != nil {
		result = "FAILED"
	}
	if aerr := write(result); aerr != nil && err == nil {
		return fmt.Errorf("audit the call: %w", aerr)
	}
	return err
}
