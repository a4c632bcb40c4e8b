package mynumber

import (
	"fmt"
	"testing"
)

func TestMyNumber(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want bool
	}{
		{"123456789018", true}, // the example in the Digital Agency's explanations
		{"123456789012", false},
		{"12345678901", false},
		{"12345678901a", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Valid(tt.in); got != tt.want {
				t.Errorf("Valid(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
	for range 100 {
		n, err := New()
		if err != nil {
			t.Fatal(err)
		}
		if !Valid(n) {
			t.Fatalf("New() = %q, not valid", n)
		}
	}
	for i := range 100 {
		seed := fmt.Sprint("seed ", i)
		if n := From(seed); !Valid(n) || From(seed) != n {
			t.Fatalf("From(%q) = %q, not valid or not the same twice", seed, n)
		}
	}
}
