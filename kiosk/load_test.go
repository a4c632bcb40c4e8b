package kiosk

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/internal/testutil"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// Correctness under load (issue 5 §4): the relay's API driven by many
// kiosks at once, every printed PDF read back with pdftotext.

// assertion reads the card at the kiosk (Login without t, for goroutines).
func (k *kioskTerm) assertion(ctx context.Context, cd *card.Card) (string, error) {
	ar, err := k.term.Login(ctx, cd, testPIN)
	if err != nil {
		return "", err
	}
	if ar.Report.Result != platform.Passed {
		return "", fmt.Errorf("login at %s: %+v", k.id, ar.Report)
	}
	return ar.Assertion, nil
}

// loadTypes alternate between the two certificates every resident can have.
var loadTypes = []municipal.CertType{municipal.Juminhyo, municipal.JuminhyoKisai}

// printed is what one person took from a kiosk.
type printed struct {
	h     *holder
	kiosk string
	order *Job
	job   *Job // as printed, with the PDF
	err   error
}

// orderAndPrint is one person's visit: card, order, print.
func orderAndPrint(ctx context.Context, k *kioskTerm, order, print *Client, h *holder, o Order) printed {
	out := printed{h: h, kiosk: k.id}
	a, err := k.assertion(ctx, h.card)
	if err != nil {
		out.err = err
		return out
	}
	if out.order, err = order.Order(ctx, a, o); err != nil {
		out.err = fmt.Errorf("order: %w", err)
		return out
	}
	if out.job, err = print.Print(ctx, a, out.order.ID); err != nil {
		out.err = fmt.Errorf("print: %w", err)
	}
	return out
}

// checkOwn checks that every printed certificate is its requester's: the
// job's facts, the municipality's record of the certificate, and the text
// of the PDF (their name and address, and nobody else's of others).
func (w *world) checkOwn(t *testing.T, got []printed, others []*holder) {
	t.Helper()
	ctx := context.Background()
	bin := testutil.NeedProgram(t, "pdftotext", "poppler-utils")
	dir := t.TempDir()
	texts := make([]string, len(got))
	textErrs := make([]error, len(got))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				texts[i], textErrs[i] = pdfTextIn(bin, dir, got[i].job.PDF)
			}
		})
	}
	start := time.Now()
	for i, g := range got {
		if g.err == nil {
			next <- i
		}
	}
	close(next)
	wg.Wait()
	t.Logf("pdftotext of %d PDFs: %v", len(got), time.Since(start).Round(time.Millisecond))
	for i, g := range got {
		if g.err != nil {
			t.Errorf("%s at %s: %v", g.h.Name, g.kiosk, g.err)
			continue
		}
		if textErrs[i] != nil {
			t.Errorf("%s: %v", g.h.Name, textErrs[i])
			continue
		}
		j := g.job
		if j.ID != g.order.ID || j.Kiosk != g.kiosk || j.State != Printed || j.Municipality != g.h.Municipality ||
			j.CertType != g.order.CertType || j.CertNumber != g.order.CertNumber || j.PDFSHA256 != g.order.PDFSHA256 {
			t.Errorf("%s: ordered %+v, printed %+v", g.h.Name, g.order, j)
		}
		rec, err := w.muni.Issued(ctx, j.Municipality, j.CertNumber)
		if err != nil || rec.PersonID != g.h.PersonID || string(rec.Type) != j.CertType {
			t.Errorf("%s: certificate %s was issued for %+v (%v), not person %s", g.h.Name, j.CertNumber, rec, err, g.h.PersonID)
		}
		text := texts[i]
		if m := missing(text, municipal.CertType(j.CertType).Title(), g.h.Name, g.h.Address, j.CertNumber); m != nil {
			t.Errorf("%s: the PDF lacks %q:\n%s", g.h.Name, m, text)
		}
		var foreign []string
		for _, o := range others {
			if o != g.h {
				foreign = append(foreign, o.Name, o.Address)
			}
		}
		if p := present(text, foreign...); p != nil {
			t.Errorf("%s's PDF shows someone else: %q", g.h.Name, p)
		}
	}
}

// TestManyPeopleAtManyKiosksEachGetOnlyTheirOwn: 200 people at 200 kiosks
// order and print at the same moment; every PDF is its requester's.
func TestManyPeopleAtManyKiosksEachGetOnlyTheirOwn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		people := w.people(t, loadPoolSize)
		kiosks := make([]*kioskTerm, len(people))
		for i := range kiosks {
			kiosks[i] = w.kiosk(t, fmt.Sprintf("kiosk-load-%03d", i))
		}
		got := make([]printed, len(people))
		gate := make(chan struct{})
		var wg sync.WaitGroup
		for i, h := range people {
			wg.Go(func() {
				<-gate
				k := kiosks[i]
				got[i] = orderAndPrint(ctx, k, k.client, k.client, h, Order{RequestKey: key(fmt.Sprint(i)),
					Municipality: h.Municipality, Type: loadTypes[i%len(loadTypes)]})
			})
		}
		start := time.Now()
		close(gate)
		wg.Wait()
		t.Logf("%d people ordered and printed concurrently in %v", len(people), time.Since(start).Round(time.Millisecond))
		w.checkOwn(t, got, people)
	})
}

// TestTimedOutRequestIsCancelledWhole is the Yokohama incident through the
// API: a request whose municipality answers too late is cancelled whole —
// reason timeout, no print, the late render refused — and the next person
// at the same kiosk gets only their own certificate.
func TestTimedOutRequestIsCancelledWhole(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		people := w.people(t, len(poolTowns)+1)
		first, next := people[0], people[len(poolTowns)] // both of 酒田市
		if first.Municipality != next.Municipality {
			t.Fatalf("%s and %s live apart", first.Municipality, next.Municipality)
		}
		code := first.Municipality
		for _, tc := range []struct {
			name string
			// slow is what happens while the municipality works: the
			// relay's timeout runs out, the job's deadline passes by the
			// clock, or the sweep cancels the job.
			timeout time.Duration
			slow    func(p *muniProxy, in *instance)
			want    string
		}{
			{"relay timeout", 300 * time.Millisecond, func(p *muniProxy, _ *instance) { p.hold() }, "municipality_unreachable"},
			{"deadline passed by the clock", 30 * time.Second, func(*muniProxy, *instance) { w.set(w.now().Add(JobTTL + time.Second)) }, "job_gone"},
			{"swept by Expire", 30 * time.Second, func(_ *muniProxy, in *instance) {
				w.set(w.now().Add(JobTTL + time.Second))
				if n, err := in.svc.Expire(context.Background()); n != 1 || err != nil {
					t.Errorf("expire: %d, %v", n, err)
				}
			}, "job_gone"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				w.set(worldNow)
				proxy := newMuniProxy(t, w)
				in := w.instance(t, nil, func(c *RelayConfig) {
					c.Timeout = tc.timeout
					c.Endpoints[code] = Endpoint{BaseURL: proxy.srv.URL, Key: c.Endpoints[code].Key}
				})
				k := w.kiosk(t, "kiosk-slow-"+strings.ToLower(strings.ReplaceAll(tc.name, " ", "-")))
				cl := k.on(in)
				// The first person: the municipality is slow.
				proxy.set(func(*municipal.Request) { tc.slow(proxy, in) }, nil)
				a := k.login(t, first.card)
				_, err := cl.Order(ctx, a, Order{RequestKey: key("first"), Municipality: code, Type: municipal.Juminhyo})
				if ae := apiError(t, err); ae.Code != tc.want {
					t.Fatalf("slow order: %v, want %s", err, tc.want)
				}
				proxy.set(nil, nil)
				proxy.release()
				late := proxy.wait(t) // the municipality's answer, after the relay gave up
				job, err := in.svc.jobByKey(ctx, k.id, key("first"))
				if err != nil {
					t.Fatal(err)
				}
				if job.State != Cancelled || job.Reason != "timeout" {
					t.Errorf("timed-out job: %s (%s), want cancelled (timeout)", job.State, job.Reason)
				}
				if err := in.svc.Rendered(ctx, job.ID, late.facts.Number, late.facts.FeeYen, late.pdf); !errors.Is(err, ErrJobGone) {
					t.Errorf("late render stored: %v", err)
				}
				w.set(worldNow.Add(JobTTL + 2*time.Minute)) // the next person comes
				a = k.login(t, first.card)
				if _, err := cl.Print(ctx, a, job.ID); apiError(t, err).Code != "job_gone" {
					t.Errorf("print of the timed-out job: %v", err)
				}
				// Sent again, the order does not come back to life.
				if _, err := cl.Order(ctx, a, Order{RequestKey: key("first"), Municipality: code, Type: municipal.Juminhyo}); apiError(t, err).Code != "job_gone" {
					t.Errorf("order sent again: %v", err)
				}
				// The next person at the same kiosk.
				b := k.login(t, next.card)
				if _, err := cl.Print(ctx, b, job.ID); err == nil {
					t.Fatal("the next person printed the timed-out job")
				}
				got := orderAndPrint(ctx, k, cl, cl, next, Order{RequestKey: key("next"), Municipality: code, Type: municipal.Juminhyo})
				w.checkOwn(t, []printed{got}, people)
				if late.facts.Number == got.job.CertNumber {
					t.Error("the next person got the late certificate")
				}
			})
		}
	})
}
