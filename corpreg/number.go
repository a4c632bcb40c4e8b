package corpreg

import (
	"errors"
	"fmt"
)

// ErrInvalidNumber is a string that is not a 法人番号.
var ErrInvalidNumber = errors.New("corpreg: not a 法人番号 (13 digits with a valid check digit)")

// CheckDigit returns the check digit of a 12-digit 基礎番号 (財務省令第七十号
// §2): 9 − (Σ Pn×Qn mod 9), Pn the n-th digit counted from the right
// (n = 1…12), Qn = 1 for odd n and 2 for even n. The result is 1…9.
func CheckDigit(base string) (byte, error) {
	if len(base) != 12 {
		return 0, fmt.Errorf("%w: the base number has %d characters, not 12", ErrInvalidNumber, len(base))
	}
	sum := 0
	for n := 1; n <= 12; n++ {
		c := base[12-n]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: %q is not a digit", ErrInvalidNumber, c)
		}
		q := 1
		if n%2 == 0 {
			q = 2
		}
		sum += int(c-'0') * q
	}
	return byte('0' + 9 - sum%9), nil
}

// ValidNumber reports whether s is a 法人番号: 13 ASCII digits whose first
// digit is the check digit of the other twelve. A 0 and a 9 swapped in the
// base are not detected (both count 0 modulo 9); nothing else of one digit
// is.
func ValidNumber(s string) error {
	if len(s) != 13 {
		return fmt.Errorf("%w: %d characters", ErrInvalidNumber, len(s))
	}
	want, err := CheckDigit(s[1:])
	if err != nil {
		return err
	}
	if s[0] != want {
		return fmt.Errorf("%w: check digit %q, want %q", ErrInvalidNumber, s[0], want)
	}
	return nil
}
