package httpapi

import "net/http"

// IdempotencyKey reads the Idempotency-Key header of a request that a
// server de-duplicates (the IETF draft makes it a structured-field string,
// "…"; plain tokens, as most APIs take them, are accepted too), and
// reports whether it is usable (ValidIdempotencyKey).
func IdempotencyKey(h http.Header) (string, bool) {
	k := h.Get("Idempotency-Key")
	if len(k) >= 2 && k[0] == '"' && k[len(k)-1] == '"' {
		k = k[1 : len(k)-1]
	}
	return k, ValidIdempotencyKey(k)
}

// ValidIdempotencyKey reports whether k is 1 to 64 printable ASCII
// characters, the keys the roles keep answers under.
func ValidIdempotencyKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}
