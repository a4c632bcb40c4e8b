// Package secret makes the bearer keys that parties and staff present, and
// keeps only their SHA-256: a leaked table gives no key.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// New returns a fresh key: prefix and 192 random bits, URL-safe.
func New(prefix string) string {
	b := make([]byte, 24)
	rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// Hash is what is stored of a key.
func Hash(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// Matches reports, in constant time, whether key hashes to stored. An empty
// key never matches.
func Matches(stored []byte, key string) bool {
	return key != "" && subtle.ConstantTimeCompare(stored, Hash(key)) == 1
}
