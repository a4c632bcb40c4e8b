package body

import (
	"context"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/store/storetest"
)

// BenchmarkSubmit is one sealed bid received: checks, receipt signed and
// time-stamped (in-process TSA), stored, replacing the business's
// previous bid (SQLite).
func BenchmarkSubmit(b *testing.B) {
	f := newFixture(b, storetest.SQLite(b), 3)
	tn := f.publish(b, t0.Add(time.Hour))
	env := seal(b, tn, "a signed bid")
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := f.s.Submit(ctx, "kanto", tn.ID, corpA, env, "192.0.2.1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublish is a tender made with 3 officers, 2 to open: the
// opening key, three sealed shares, three sealed passphrases and the
// sealed estimate.
func BenchmarkPublish(b *testing.B) {
	f := newFixture(b, storetest.SQLite(b), 3)
	for b.Loop() {
		f.publish(b, t0.Add(time.Hour))
	}
}
