package postbox_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"

	"github.com/mynaplat/mynaplat/internal/pbworld"
	"github.com/mynaplat/mynaplat/postbox"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/verify"
)

// TestSubmitTooLarge: a submission whose envelope no receiver would take
// (its documents together exceed what postbox.Receive reads) is refused
// when it is made, not retried for ever.
func TestSubmitTooLarge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := pbworld.New(t, db)
		sc := w.Demo()
		var docs []*postbox.Document
		for i := range 7 {
			data := make([]byte, postbox.MaxDocument)
			rand.Read(data)
			id, err := w.Client("nissay").Deliver(ctx, postbox.Delivery{DeliveryID: fmt.Sprintf("large-%d", i),
				CustomerRef: pbworld.IchiroRefs["nissay"], Type: "お知らせ", Title: "大きな文書", Format: verify.FormatCMS, Data: data})
			if err != nil {
				t.Fatal(err)
			}
			docs = append(docs, w.Document(sc.Box, id))
		}
		if _, err := w.Submit(sc.Ichiro, sc.Box, pbworld.TaxSakata.ID, docs...); !errors.Is(err, postbox.ErrInvalid) {
			t.Fatalf("a submission of %d documents of %d bytes: %v, want ErrInvalid", len(docs), postbox.MaxDocument, err)
		}
		if sends, err := w.Postbox.Sends(ctx, sc.Box); err != nil || len(sends) != 0 {
			t.Fatalf("%d sends queued (%v)", len(sends), err)
		}
		// Fewer of them go.
		if _, err := w.Submit(sc.Ichiro, sc.Box, pbworld.TaxSakata.ID, docs[:4]...); err != nil {
			t.Fatal(err)
		}
		if n := w.DeliverDue(); n != 1 {
			sends, _ := w.Postbox.Sends(ctx, sc.Box)
			t.Fatalf("acknowledged %d, want 1: %+v", n, sends[0].Log)
		}
	})
}
