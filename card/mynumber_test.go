package card

import (
	"errors"
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
			if got := ValidMyNumber(tt.in); got != tt.want {
				t.Errorf("ValidMyNumber(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
	for range 100 {
		n, err := NewMyNumber()
		if err != nil {
			t.Fatal(err)
		}
		if !ValidMyNumber(n) {
			t.Fatalf("NewMyNumber() = %q, not valid", n)
		}
	}
	for i := range 100 {
		seed := fmt.Sprint("seed ", i)
		if n := MyNumberFrom(seed); !ValidMyNumber(n) || MyNumberFrom(seed) != n {
			t.Fatalf("MyNumberFrom(%q) = %q, not valid or not the same twice", seed, n)
		}
	}
}

func TestStoreRemove(t *testing.T) {
	t.Parallel()
	s, err := NewStore(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Create(testSpec())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(c.ID()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(c.ID()); !errors.Is(err, ErrCardNotFound) {
		t.Errorf("Open after Remove = %v, want ErrCardNotFound", err)
	}
	if err := s.Remove(c.ID()); !errors.Is(err, ErrCardNotFound) {
		t.Errorf("second Remove = %v, want ErrCardNotFound", err)
	}
	if l, err := s.List(); err != nil || len(l) != 0 {
		t.Errorf("List after Remove = %v, %v", l, err)
	}
}
