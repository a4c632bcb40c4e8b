package demo

import (
	"testing"

	"github.com/mynaplat/mynaplat/demo/people"
)

// TestEveryCardHolderIsInsured: everyone in Japan is covered by some
// insurer (国民皆保険), so every demo card holder has a coverage of their
// own at a demo insurer, and every coverage names a card holder.
func TestEveryCardHolderIsInsured(t *testing.T) {
	insurers := map[string]bool{}
	for _, in := range Insurers {
		insurers[in.Number] = true
	}
	covered := map[string]bool{}
	for _, c := range coverages() {
		if _, ok := people.Named(c.resident); !ok {
			t.Errorf("coverage of %s, who is not a demo card holder", c.resident)
		}
		if !insurers[c.insurer] {
			t.Errorf("coverage of %s at %s, not a demo insurer", c.resident, c.insurer)
		}
		if c.person == nil {
			covered[c.resident] = true
		}
	}
	for _, r := range people.Residents {
		if !covered[r.Name] {
			t.Errorf("%s has no coverage", r.Name)
		}
	}
}
