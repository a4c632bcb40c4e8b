package card

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/big"
)

// myNumberCheckDigit computes the 12th digit of a My Number from the first 11
// (個人番号 check digit, 番号法施行令 §8): with P(n) the n-th digit counted
// from the right of the 11 and Q(n) = n+1 for n ≤ 6, n−5 for n ≥ 7, the check
// digit is 11 − (ΣP·Q mod 11), or 0 when the remainder is 0 or 1.
func myNumberCheckDigit(first11 string) byte {
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

// ValidMyNumber reports whether s is 12 digits with a correct check digit.
func ValidMyNumber(s string) bool {
	return len(s) == 12 && allOf(s, "0123456789") && myNumberCheckDigit(s[:11]) == s[11]
}

// NewMyNumber draws a random 12-digit number with a valid check digit, for
// emulated cards. It is not a real person's number only by chance, like any
// test data: do not use it outside the emulation.
func NewMyNumber() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000_000))
	if err != nil {
		return "", fmt.Errorf("card: new My Number: %w", err)
	}
	s := fmt.Sprintf("%011d", n)
	return s + string(myNumberCheckDigit(s)), nil
}

// MyNumberFrom derives a 12-digit number with a valid check digit from seed,
// for the demo world, whose card and 住民票 must carry the same number
// although they are seeded apart. Like NewMyNumber, it is not a real
// person's number only by chance.
func MyNumberFrom(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	s := fmt.Sprintf("%011d", binary.BigEndian.Uint64(sum[:8])%100_000_000_000)
	return s + string(myNumberCheckDigit(s))
}
