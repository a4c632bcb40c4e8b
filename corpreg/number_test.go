package corpreg

import (
	"errors"
	"testing"
)

func TestValidNumber(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, number string
		ok           bool
	}{
		// Published 法人番号 (法人番号公表サイト).
		{"国税庁", "7000012050002", true},
		{"日本税理士会連合会", "7010705000725", true},
		{"a company in 東京都", "4011001098993", true},
		// The worked example of the check-digit explanation.
		{"worked example", "7123456789012", true},
		// Σ ≡ 0 (mod 9) gives the check digit 9, never 0.
		{"check digit 9", "9000000000009", true},
		{"check digit 0 never occurs", "0000000000009", false},
		{"wrong check digit", "8000012050002", false},
		{"one base digit changed", "7000012050003", false},
		{"two neighbours swapped", "7000012050020", false},
		{"12 digits", "000012050002", false},
		{"14 digits", "70000120500020", false},
		{"empty", "", false},
		{"letters", "7000012O50002", false},
		{"full-width digits", "７000012050002", false},
		{"spaces", "7 00001205000", false},
		{"sign", "+000012050002", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidNumber(tt.number)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidNumber(%q) = %v, want ok=%v", tt.number, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidNumber) {
				t.Errorf("error %v does not wrap ErrInvalidNumber", err)
			}
		})
	}
}

// TestZeroNineSwapUndetected documents the scheme's one blind spot: 0 and 9
// weigh the same modulo 9.
func TestZeroNineSwapUndetected(t *testing.T) {
	t.Parallel()
	if err := ValidNumber("7000012950002"); err != nil {
		t.Errorf("a 0→9 change is expected to pass the check digit: %v", err)
	}
}

func TestCheckDigit(t *testing.T) {
	t.Parallel()
	for base, want := range map[string]byte{"000012050002": '7', "180301018771": '1', "010401067252": '5', "000000000000": '9'} {
		if got, err := CheckDigit(base); err != nil || got != want {
			t.Errorf("CheckDigit(%s) = %q, %v; want %q", base, got, err, want)
		}
	}
	for _, bad := range []string{"", "00001205000", "0000120500021", "00001205000a"} {
		if _, err := CheckDigit(bad); !errors.Is(err, ErrInvalidNumber) {
			t.Errorf("CheckDigit(%q): %v, want ErrInvalidNumber", bad, err)
		}
	}
}
