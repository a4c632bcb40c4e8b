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
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/testutil"
	"github.com/mynaplat/mynaplat/jlis"
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
	order *jlis.Job
	job   *jlis.Job // as printed, with the PDF
	err   error
}

// orderAndPrint is one person's visit: card, order, print.
func orderAndPrint(ctx context.Context, k *kioskTerm, order, print *jlis.Client, h *holder, o jlis.Order) printed {
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
		if j.ID != g.order.ID || j.Kiosk != g.kiosk || j.State != jlis.Printed || j.Municipality != g.h.Municipality ||
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
				got[i] = orderAndPrint(ctx, k, k.client, k.client, h, jlis.Order{RequestKey: key(fmt.Sprint(i)),
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
			want    httpapi.Code
		}{
			{"relay timeout", 300 * time.Millisecond, func(p *muniProxy, _ *instance) { p.hold() }, jlis.CodeMunicipalityUnreachable},
			{"deadline passed by the clock", 30 * time.Second, func(*muniProxy, *instance) { w.set(w.now().Add(jlis.JobTTL + time.Second)) }, jlis.CodeJobGone},
			{"swept by Expire", 30 * time.Second, func(_ *muniProxy, in *instance) {
				w.set(w.now().Add(jlis.JobTTL + time.Second))
				if n, err := in.svc.Expire(context.Background()); n != 1 || err != nil {
					t.Errorf("expire: %d, %v", n, err)
				}
			}, jlis.CodeJobGone},
		} {
			t.Run(tc.name, func(t *testing.T) {
				w.set(worldNow)
				proxy := newMuniProxy(t, w)
				in := w.instance(t, nil, func(c *jlis.RelayConfig) {
					c.Timeout = tc.timeout
					c.Endpoints[code] = jlis.Endpoint{BaseURL: proxy.srv.URL, Key: c.Endpoints[code].Key}
				})
				k := w.kiosk(t, "kiosk-slow-"+strings.ToLower(strings.ReplaceAll(tc.name, " ", "-")))
				cl := k.on(in)
				// The first person: the municipality is slow.
				proxy.set(func(*municipal.Request) { tc.slow(proxy, in) }, nil)
				a := k.login(t, first.card)
				_, err := cl.Order(ctx, a, jlis.Order{RequestKey: key("first"), Municipality: code, Type: municipal.Juminhyo})
				if ae := apiError(t, err); ae.Code != tc.want {
					t.Fatalf("slow order: %v, want %s", err, tc.want)
				}
				proxy.set(nil, nil)
				proxy.release()
				late := proxy.wait(t) // the municipality's answer, after the relay gave up
				job, err := in.svc.JobByKey(ctx, k.id, key("first"))
				if err != nil {
					t.Fatal(err)
				}
				if job.State != jlis.Cancelled || job.Reason != "timeout" {
					t.Errorf("timed-out job: %s (%s), want cancelled (timeout)", job.State, job.Reason)
				}
				if err := in.svc.Rendered(ctx, job.ID, late.facts.Number, late.facts.FeeYen, late.pdf); !errors.Is(err, jlis.ErrJobGone) {
					t.Errorf("late render stored: %v", err)
				}
				w.set(worldNow.Add(jlis.JobTTL + 2*time.Minute)) // the next person comes
				a = k.login(t, first.card)
				if _, err := cl.Print(ctx, a, job.ID); apiError(t, err).Code != jlis.CodeJobGone {
					t.Errorf("print of the timed-out job: %v", err)
				}
				// Sent again, the order does not come back to life.
				if _, err := cl.Order(ctx, a, jlis.Order{RequestKey: key("first"), Municipality: code, Type: municipal.Juminhyo}); apiError(t, err).Code != jlis.CodeJobGone {
					t.Errorf("order sent again: %v", err)
				}
				// The next person at the same kiosk.
				b := k.login(t, next.card)
				if _, err := cl.Print(ctx, b, job.ID); err == nil {
					t.Fatal("the next person printed the timed-out job")
				}
				got := orderAndPrint(ctx, k, cl, cl, next, jlis.Order{RequestKey: key("next"), Municipality: code, Type: municipal.Juminhyo})
				w.checkOwn(t, []printed{got}, people)
				if late.facts.Number == got.job.CertNumber {
					t.Error("the next person got the late certificate")
				}
			})
		}
	})
}

// issuedCounts counts the certificates the municipalities issued and the
// seal register holds: a render is one of each.
func (w *world) issuedCounts(t testing.TB) (muni, sealed int) {
	t.Helper()
	ctx := context.Background()
	if err := w.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM muni_certificates`).Scan(&muni); err != nil {
		t.Fatal(err)
	}
	if err := w.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM seal_certificates`).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	return muni, sealed
}

// TestRetriesNeitherRenderNorPrintTwice: a kiosk that sends an order or a
// print again — one after the other or many at once — gets the same job;
// the municipality renders once, and the certificate is printed (and
// charged) once.
func TestRetriesNeitherRenderNorPrintTwice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		h := w.people(t, 1)[0]
		k := w.kiosk(t, "kiosk-retries")
		a := k.login(t, h.card)
		o := jlis.Order{RequestKey: key("retried"), Municipality: h.Municipality, Type: municipal.Juminhyo}
		const n = 12
		// The same order sent n times at once: one render; the others wait
		// for it (in_progress) or get its job.
		jobs := make([]*jlis.Job, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { jobs[i], errs[i] = k.client.Order(ctx, a, o) })
		}
		wg.Wait()
		var job *jlis.Job
		for i := range n {
			switch {
			case errs[i] == nil && (job == nil || jobs[i].ID == job.ID):
				job = jobs[i]
			case errs[i] != nil && apiError(t, errs[i]).Code == jlis.CodeInProgress:
			default:
				t.Errorf("order %d: %+v, %v", i, jobs[i], errs[i])
			}
		}
		if job == nil {
			t.Fatal("no order came back rendered")
		}
		if m, s := w.issuedCounts(t); m != 1 || s != 1 {
			t.Fatalf("%d concurrent copies of one order: %d certificates issued, %d sealed; want 1", n, m, s)
		}
		// Sent again after the render: the same job, nothing new.
		again, err := k.client.Order(ctx, a, o)
		if err != nil || again.ID != job.ID || again.CertNumber != job.CertNumber || again.State != jlis.Rendered {
			t.Fatalf("order again: %+v, %v; first %+v", again, err, job)
		}
		// n prints at once: exactly one PDF, the others already_printed.
		pdfs := make(chan []byte, n)
		for range n {
			wg.Go(func() {
				p, err := k.client.Print(ctx, a, job.ID)
				switch {
				case err == nil:
					pdfs <- p.PDF
				case !errors.Is(err, jlis.ErrAlreadyPrinted):
					t.Errorf("print: %v", err)
				}
			})
		}
		wg.Wait()
		close(pdfs)
		var got [][]byte
		for p := range pdfs {
			got = append(got, p)
		}
		if len(got) != 1 {
			t.Fatalf("%d concurrent prints: %d PDFs handed out, want 1", n, len(got))
		}
		if m := missing(pdfText(t, got[0]), h.Name, h.Address); m != nil {
			t.Errorf("printed PDF lacks %q", m)
		}
		if _, err := k.client.Print(ctx, a, job.ID); !errors.Is(err, jlis.ErrAlreadyPrinted) {
			t.Errorf("print after printing: %v", err)
		}
		again, err = k.client.Order(ctx, a, o)
		if err != nil || again.ID != job.ID || again.State != jlis.Printed {
			t.Errorf("order after printing: %+v, %v", again, err)
		}
		if m, s := w.issuedCounts(t); m != 1 || s != 1 {
			t.Errorf("after the retries: %d certificates issued, %d sealed; want 1", m, s)
		}
		j, err := w.svc.Job(ctx, job.ID)
		if err != nil || j.State != jlis.Printed || j.Fee != job.Fee {
			t.Errorf("job %+v, %v", j, err)
		}
	})
}

// TestTwoRelayInstancesNeverCrossJobs is the Takamatsu incident: two relay
// instances on one PostgreSQL database (as two servers of one site) take
// orders and prints of the same kiosks at once — ordered on one, printed
// on the other — and every PDF is its requester's; the deadline sweep of
// one instance cancels the jobs the other made. (It passes on two SQLite
// handles of one file as well, but several instances mean PostgreSQL, and
// the package's test time is better spent elsewhere.)
func TestTwoRelayInstancesNeverCrossJobs(t *testing.T) {
	run := func(t *testing.T, db1, db2 *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db1)
		a, b := w.instance(t, nil, nil), w.instance(t, db2, nil)
		const n, pending = 100, 10
		people := w.people(t, n+pending)
		kiosks := make([]*kioskTerm, len(people))
		for i := range kiosks {
			kiosks[i] = w.kiosk(t, fmt.Sprintf("kiosk-site-%03d", i))
		}
		got := make([]printed, n)
		gate := make(chan struct{})
		var wg sync.WaitGroup
		for i, h := range people[:n] {
			wg.Go(func() {
				<-gate
				k := kiosks[i]
				order, print := k.on(a), k.on(b)
				if i%2 == 1 {
					order, print = print, order
				}
				got[i] = orderAndPrint(ctx, k, order, print, h, jlis.Order{RequestKey: key(fmt.Sprint(i)),
					Municipality: h.Municipality, Type: loadTypes[i%len(loadTypes)]})
			})
		}
		start := time.Now()
		close(gate)
		wg.Wait()
		t.Logf("%d people, ordered on one instance and printed on the other, in %v", n, time.Since(start).Round(time.Millisecond))
		w.checkOwn(t, got, people)

		// Jobs rendered on b and never printed; a's sweep cancels them.
		var jobs []*jlis.Job
		for i, h := range people[n:] {
			k := kiosks[n+i]
			j, err := k.on(b).Order(ctx, k.login(t, h.card), jlis.Order{RequestKey: key("pending"), Municipality: h.Municipality, Type: municipal.Juminhyo})
			if err != nil {
				t.Fatal(err)
			}
			jobs = append(jobs, j)
		}
		w.set(w.now().Add(jlis.JobTTL + time.Second))
		if n, err := a.svc.Expire(ctx); n != pending || err != nil {
			t.Fatalf("expire on a: %d, %v; want %d", n, err, pending)
		}
		for i, j := range jobs {
			k := kiosks[n+i]
			if _, err := k.on(b).Print(ctx, k.login(t, people[n+i].card), j.ID); apiError(t, err).Code != jlis.CodeJobGone {
				t.Errorf("print on b of a job a expired: %v", err)
			}
			got, err := b.svc.Job(ctx, j.ID)
			if err != nil || got.State != jlis.Cancelled || got.Reason != "timeout" {
				t.Errorf("job %s on b: %+v, %v", j.ID, got, err)
			}
		}
	}
	t.Run("postgres", func(t *testing.T) {
		dsn := storetest.PostgresDSN(t)
		db1, db2 := storetest.OpenDSN(t, dsn), storetest.OpenDSN(t, dsn)
		// Two pools of 16, not of store's 32: other packages' tests share
		// the server's 100 connections.
		db1.SetMaxOpenConns(16)
		db2.SetMaxOpenConns(16)
		run(t, db1, db2)
	})
}
