package agency_test

import (
	"testing"

	"github.com/mynaplat/mynaplat/internal/pbworld"
	"github.com/mynaplat/mynaplat/postbox"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// BenchmarkSubmission is one submission end to end, on SQLite over HTTP in
// one process: the card signs the application (RSA-2048 in the emulated
// card), the TSA stamps it, the post box checks the owner's signature and
// queues it, delivers it, and the tax office validates both documents (CMS,
// time-stamps, JPKI chain, OCSP, and the power of attorney through the
// delegation register and the corporate registry) and stores them.
func BenchmarkSubmission(b *testing.B) {
	w := pbworld.New(b, storetest.SQLite(b))
	sc := w.Demo()
	kojo := w.Document(sc.Box, sc.KojoID)
	b.ResetTimer()
	for b.Loop() {
		sd, err := w.Submit(sc.Ichiro, sc.Box, "tax-sakata", kojo)
		if err != nil {
			b.Fatal(err)
		}
		if n := w.DeliverDue(); n != 1 {
			b.Fatalf("delivered %d, want 1 (%s)", n, sd.ID)
		}
	}
	b.StopTimer()
	sends, err := w.Postbox.Sends(b.Context(), sc.Box)
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range sends {
		if s.State != postbox.StateDelivered {
			b.Fatalf("send %s is %s", s.ID, s.State)
		}
	}
}
