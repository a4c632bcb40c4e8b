// Package mynumber makes and checks 個人番号 (My Numbers): the 12-digit number
// whose last digit is a check digit over the first 11. The rule is 行政手続に
// おける特定の個人を識別するための番号の利用等に関する法律施行令 (番号法施行令)
// 第8条 and the Digital Agency's explanation of it (example 123456789018).
//
// It is a package of its own so that the card emulator, the municipal
// registers and the demo world draw numbers the same way without the
// municipal (server) side importing the card.
package mynumber

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/big"
)

// CheckDigit computes the 12th digit of a My Number from the first 11
// (番号法施行令 §8): with P(n) the n-th digit counted from the right of the 11
// and Q(n) = n+1 for n ≤ 6, n−5 for n ≥ 7, the check digit is
// 11 − (ΣP·Q mod 11), or 0 when the remainder is 0 or 1. first11 must be 11
// ASCII digits.
func CheckDigit(first11 string) byte {
	sum := 0
	for n := 1; n <= 11; n++ {
		p := int(first11[11-n] - '0')
		q := n + 1
		if n >= 7 {
			q = n - 5
		}
		sum += p * q
	}
	r := sum % 11
	if r <= 1 {
		return '0'
	}
	return byte('0' + 11 - r)
}

// Valid reports whether s is 12 digits with a correct check digit.
func Valid(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return CheckDigit(s[:11]) == s[11]
}

// New draws a random 12-digit number with a valid check digit, for emulated
// cards. It is not a real person's number only by chance, like any test data:
// do not use it outside the emulation.
func New() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000_000))
	if err != nil {
		return "", fmt.Errorf("mynumber: new: %w", err)
	}
	s := fmt.Sprintf("%011d", n)
	return s + string(CheckDigit(s)), nil
}

// From derives a 12-digit number with a valid check digit from seed, for the
// demo world, whose card and 住民票 must carry the same number although they
// are seeded apart. Like New, it is not a real person's number only by chance.
func From(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	s := fmt.Sprintf("%011d", binary.BigEndian.Uint64(sum[:8])%100_000_000_000)
	return s + string(CheckDigit(s))
}
