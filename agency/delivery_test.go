package agency_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/internal/pbworld"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/postbox"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// events is a send's log as its events.
func events(log []postbox.LogEntry) []string {
	var out []string
	for _, e := range log {
		out = append(out, e.Event)
	}
	return out
}

// TestAcknowledgementLost: the agency stores a submission but its answer is
// lost; the post box tries again after its backoff, the agency acknowledges
// the send it has with its first receipt, and keeps one submission
// delivered twice.
func TestAcknowledgementLost(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := pbworld.New(t, db)
		sc := w.Demo()
		office := pbworld.TaxSakata.ID
		send, err := w.Submit(sc.Ichiro, sc.Box, office, w.Document(sc.Box, sc.KojoID))
		if err != nil {
			t.Fatal(err)
		}
		w.SetFault(office, pbworld.DropAnswer, 1)
		if n := w.DeliverDue(); n != 0 {
			t.Fatalf("first round acknowledged %d", n)
		}
		first := stored(t, w, send.ID)
		if first.Deliveries != 1 {
			t.Fatalf("deliveries %d after the first attempt", first.Deliveries)
		}
		// Not due again before the backoff.
		if n := w.DeliverDue(); n != 0 || w.Hits(office) != 1 {
			t.Fatalf("retried before the backoff: %d acknowledged, %d requests", n, w.Hits(office))
		}
		w.Clock.Advance(6 * time.Second)
		if n := w.DeliverDue(); n != 1 {
			t.Fatalf("second round acknowledged %d", n)
		}
		sub := stored(t, w, send.ID)
		if sub.ID != first.ID || sub.Deliveries != 2 || sub.Receipt != first.Receipt || !sub.Passed() {
			t.Errorf("after the retry: %+v, first %+v", sub, first)
		}
		sends, err := w.Postbox.Sends(ctx, sc.Box)
		if err != nil {
			t.Fatal(err)
		}
		sd := sends[0]
		if diff := cmp.Diff([]string{"queued", "attempt_failed", "acknowledged"}, events(sd.Log)); diff != "" {
			t.Errorf("log events (-want +got):\n%s", diff)
		}
		if last := sd.Log[len(sd.Log)-1].Detail; !strings.Contains(last, sub.Receipt) || !strings.Contains(last, "already received") {
			t.Errorf("acknowledgement %q, want the receipt and that it was a duplicate", last)
		}
		if sd.State != postbox.StateDelivered || sd.Attempts != 2 || sd.Receipt != sub.Receipt {
			t.Errorf("send %+v", sd)
		}
		// The office reads the same log at the post box.
		o, err := w.Agency.Office(ctx, office)
		if err != nil {
			t.Fatal(err)
		}
		v, err := w.Agency.DeliveryLog(ctx, o, send.ID)
		if err != nil {
			t.Fatal(err)
		}
		if v.State != postbox.StateDelivered || v.Attempts != 2 || !cmp.Equal(events(v.Log), events(sd.Log)) {
			t.Errorf("the office's view of the log: %+v", v)
		}
		// Nothing is due any more.
		w.Clock.Advance(time.Hour)
		if n := w.DeliverDue(); n != 0 || w.Hits(office) != 2 {
			t.Errorf("after delivery: %d acknowledged, %d requests", n, w.Hits(office))
		}
	})
}

// TestConcurrentDeliveries: two post box instances deliver due sends at the
// same time (only one posts each send); and the same envelope reaches the
// agency twice at once (an instance whose lease ran out while another
// delivers): one submission, both acknowledged with its receipt.
func TestConcurrentDeliveries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := pbworld.New(t, db)
		sc := w.Demo()
		office := pbworld.TaxSakata.ID
		kojo := w.Document(sc.Box, sc.KojoID)

		// Two instances, one send.
		send, err := w.Submit(sc.Ichiro, sc.Box, office, kojo)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		acked := make([]int, 2)
		for i := range acked {
			wg.Go(func() {
				n, err := w.Postbox.DeliverDue(context.Background())
				if err != nil {
					t.Error(err)
				}
				acked[i] = n
			})
		}
		wg.Wait()
		if acked[0]+acked[1] != 1 || w.Hits(office) != 1 {
			t.Errorf("two instances acknowledged %v with %d requests, want one send posted once", acked, w.Hits(office))
		}
		if sub := stored(t, w, send.ID); sub.Deliveries != 1 {
			t.Errorf("deliveries %d, want 1", sub.Deliveries)
		}

		// One envelope, twice at once.
		send, err = w.Submit(sc.Ichiro, sc.Box, office, kojo)
		if err != nil {
			t.Fatal(err)
		}
		w.SetFault(office, pbworld.Down, 1)
		w.DeliverDue()
		body := w.LastBody(office)
		acks := make([]postbox.Ack, 2)
		start := make(chan struct{})
		for i := range acks {
			wg.Go(func() {
				<-start
				req, err := http.NewRequest(http.MethodPost, w.Endpoint(office), bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set("Authorization", "Bearer "+w.InboundKeys[office])
				resp, err := w.Srv.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("delivery %d: HTTP %d", i, resp.StatusCode)
				}
				if err := json.NewDecoder(resp.Body).Decode(&acks[i]); err != nil {
					t.Error(err)
				}
			})
		}
		close(start)
		wg.Wait()
		sub := stored(t, w, send.ID)
		if acks[0].Receipt != sub.Receipt || acks[1].Receipt != sub.Receipt || acks[0].Duplicate == acks[1].Duplicate {
			t.Errorf("acknowledgements %+v, want both with receipt %s, one a duplicate", acks, sub.Receipt)
		}
		if sub.Deliveries != 2 {
			t.Errorf("deliveries %d, want 2", sub.Deliveries)
		}
		// The post box's own retry is acknowledged as a duplicate.
		w.Clock.Advance(6 * time.Second)
		if n := w.DeliverDue(); n != 1 {
			t.Fatalf("retry acknowledged %d", n)
		}
		if sub := stored(t, w, send.ID); sub.Deliveries != 3 {
			t.Errorf("deliveries %d, want 3", sub.Deliveries)
		}
	})
}

// TestReceiptsDiffer: two submissions received in the same second have
// their own receipt numbers.
func TestReceiptsDiffer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := pbworld.New(t, db)
		sc := w.Demo()
		kojo := w.Document(sc.Box, sc.KojoID)
		var ids []string
		for range 2 {
			send, err := w.Submit(sc.Ichiro, sc.Box, pbworld.TaxSakata.ID, kojo)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, send.ID)
		}
		if n := w.DeliverDue(); n != 2 {
			t.Fatalf("acknowledged %d, want 2", n)
		}
		a, b := stored(t, w, ids[0]), stored(t, w, ids[1])
		if a.Receipt == b.Receipt {
			t.Errorf("two submissions with receipt %s", a.Receipt)
		}
	})
}

// TestReceiptInJST: the receipt number carries the date and time of receipt
// in Japan, as the office's pages show them.
func TestReceiptInJST(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := pbworld.New(t, db)
		sc := w.Demo()
		// 20:30 UTC, two days after the world's start: 05:30 the next day
		// in Japan.
		day := w.Clock.Now().UTC().Truncate(24 * time.Hour).Add(2 * 24 * time.Hour)
		w.Clock.Set(day.Add(20*time.Hour + 30*time.Minute))
		send, err := w.Submit(sc.Ichiro, sc.Box, pbworld.TaxSakata.ID, w.Document(sc.Box, sc.KojoID))
		if err != nil {
			t.Fatal(err)
		}
		w.DeliverDue()
		want := pbworld.TaxSakata.ID + "-" + day.AddDate(0, 0, 1).Format("20060102") + "-053000-"
		if sub := stored(t, w, send.ID); !strings.HasPrefix(sub.Receipt, want) {
			t.Errorf("receipt %s, want it to begin %s", sub.Receipt, want)
		}
	})
}

// TestApplicationForAnotherOffice: an application signed for another office
// and delivered here (by a mistaken or malicious sender) is stored with its
// report, but its bundle does not hold: it is not meant for this office.
func TestApplicationForAnotherOffice(t *testing.T) {
	w := pbworld.New(t, storetest.SQLite(t))
	sc := w.Demo()
	kojo := w.Document(sc.Box, sc.KojoID)
	app := w.SignAs(sc.Ichiro, w.ApplicationContent("shonai-seiki", kojo))
	env := postbox.Envelope{SendID: "snd_elsewhere", Kind: postbox.KindSubmission, SentAt: w.Clock.Now().UTC(),
		Documents: []postbox.EnvelopeDoc{{Name: "application", Type: pbworld.ApplicationType, Format: "cms", Data: app},
			{Name: kojo.ID, Type: kojo.Type, Format: kojo.Format, Data: kojo.Data, Power: kojo.Power, From: "nissay"}}}
	office := pbworld.TaxSakata.ID
	// As the post box sends it: no Content-Type.
	webtest.New(t, w.Srv.URL).Bearer(w.InboundKeys[office]).Step(webtest.Step{Name: "deliver", Path: strings.TrimPrefix(w.Endpoint(office), w.Srv.URL),
		JSON: env, Header: map[string]string{"Content-Type": ""}})
	sub := stored(t, w, "snd_elsewhere")
	if sub.BundleOK || sub.Passed() {
		t.Errorf("an application for shonai-seiki passed at %s: %+v", office, sub)
	}
}
