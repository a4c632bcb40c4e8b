package body

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/ratelimit"
	"github.com/mynaplat/mynaplat/internal/testutil"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

func serve(t *testing.T, f *fixture, cfg APIConfig) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	f.s.Routes(mux, cfg)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func countBids(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM body_bids`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBidRefusals: every refusal of the intake API, as problem+json with
// its code and both texts, writing only its audit row.
func TestBidRefusals(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	f := newFixture(t, db, 2)
	tn := f.publish(t, t0.Add(time.Hour))
	other := f.publish(t, t0.Add(time.Hour))
	srv := serve(t, f, APIConfig{})
	good := base64.StdEncoding.EncodeToString(seal(t, tn, "bid"))
	foreign := base64.StdEncoding.EncodeToString(seal(t, other, "bid"))
	huge := base64.StdEncoding.EncodeToString(make([]byte, MaxEnvelope+1))
	hugeBody := base64.StdEncoding.EncodeToString(make([]byte, 2*MaxEnvelope))
	post := func(path, body string) (*http.Response, httpapi.Problem) {
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var p httpapi.Problem
		json.NewDecoder(resp.Body).Decode(&p)
		return resp, p
	}
	bids := "/bodies/kanto/v1/tenders/" + tn.ID + "/bids"
	for _, tt := range []struct {
		name, path, body string
		before           func()
		status           int
		code             httpapi.Code
	}{
		{"unknown body", "/bodies/tokyo/v1/tenders/" + tn.ID + "/bids", `{"corporate_number":"` + corpA + `","envelope":"` + good + `"}`, nil, 404, CodeNoBody},
		{"unknown tender", "/bodies/kanto/v1/tenders/nope/bids", `{"corporate_number":"` + corpA + `","envelope":"` + good + `"}`, nil, 404, httpapi.Code(ReasonNoTender)},
		{"another body's tender", "/bodies/suzaka/v1/tenders/" + tn.ID + "/bids", `{"corporate_number":"` + corpA + `","envelope":"` + good + `"}`, nil, 404, httpapi.Code(ReasonNoTender)},
		{"not JSON", bids, `corporate_number=1`, nil, 400, CodeBadRequest},
		{"unknown member", bids, `{"corporate_number":"` + corpA + `","envelope":"` + good + `","price":1}`, nil, 400, CodeBadRequest},
		{"bad corporate number", bids, `{"corporate_number":"4010001000012","envelope":"` + good + `"}`, nil, 422, httpapi.Code(ReasonBadCorp)},
		{"envelope not base64", bids, `{"corporate_number":"` + corpA + `","envelope":"***"}`, nil, 422, httpapi.Code(ReasonBadEnvelope)},
		{"envelope not CMS", bids, `{"corporate_number":"` + corpA + `","envelope":"` + base64.StdEncoding.EncodeToString([]byte("a bid in clear")) + `"}`, nil, 422, httpapi.Code(ReasonBadEnvelope)},
		{"envelope to another tender", bids, `{"corporate_number":"` + corpA + `","envelope":"` + foreign + `"}`, nil, 422, httpapi.Code(ReasonBadEnvelope)},
		{"too large", bids, `{"corporate_number":"` + corpA + `","envelope":"` + huge + `"}`, nil, 413, httpapi.Code(ReasonTooLarge)},
		{"request body too large", bids, `{"corporate_number":"` + corpA + `","envelope":"` + hugeBody + `"}`, nil, 413, httpapi.Code(ReasonTooLarge)},
		{"exactly at the deadline", bids, `{"corporate_number":"` + corpA + `","envelope":"` + good + `"}`,
			func() { f.clock.Set(tn.Deadline) }, 422, httpapi.Code(ReasonLate)},
		{"in the deadline's second", bids, `{"corporate_number":"` + corpA + `","envelope":"` + good + `"}`,
			func() { f.clock.Set(tn.Deadline.Add(999 * time.Millisecond)) }, 422, httpapi.Code(ReasonLate)},
		{"closed", bids, `{"corporate_number":"` + corpA + `","envelope":"` + good + `"}`, func() {
			f.clock.Set(t0)
			if _, err := db.Write(ctx, `UPDATE body_tenders SET state = 'closed' WHERE id = $1`, tn.ID); err != nil {
				t.Fatal(err)
			}
		}, 422, httpapi.Code(ReasonClosed)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.before != nil {
				tt.before()
			}
			before, _ := f.s.Audit(ctx, "kanto", tn.ID)
			resp, p := post(tt.path, tt.body)
			if resp.StatusCode != tt.status || p.Code != tt.code || p.MessageJA == "" || p.MessageEN == "" {
				t.Fatalf("%d %+v, want %d %s with both texts", resp.StatusCode, p, tt.status, tt.code)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
				t.Errorf("content type %q", ct)
			}
			if n := countBids(t, db); n != 0 {
				t.Errorf("a refusal stored %d bids", n)
			}
			after, _ := f.s.Audit(ctx, "kanto", tn.ID)
			if tt.path == bids && tt.code != CodeBadRequest && (len(after) != len(before)+1 || after[len(after)-1].Outcome != "refused") {
				t.Errorf("audit: %d rows before, %d after", len(before), len(after))
			}
		})
	}
	// The deadline's previous millisecond is in time.
	if _, err := db.Write(ctx, `UPDATE body_tenders SET state = 'open' WHERE id = $1`, tn.ID); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(tn.Deadline.Add(-time.Millisecond))
	if resp, p := post(bids, `{"corporate_number":"`+corpA+`","envelope":"`+good+`"}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("a bid a millisecond before the deadline: %d %+v", resp.StatusCode, p)
	}
}

// TestBidRateLimit: one address is limited; another is not.
func TestBidRateLimit(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 2)
	tn := f.publish(t, t0.Add(time.Hour))
	srv := serve(t, f, APIConfig{BidLimit: ratelimit.Limit{Burst: 2, Every: time.Minute}})
	c := &Client{BaseURL: srv.URL}
	env := seal(t, tn, "bid")
	for i := range 2 {
		if _, err := c.Bid(context.Background(), "kanto", tn.ID, corpA, env); err != nil {
			t.Fatalf("bid %d: %v", i, err)
		}
	}
	_, err := c.Bid(context.Background(), "kanto", tn.ID, corpA, env)
	if !errors.Is(err, ratelimit.ErrLimited) {
		t.Fatalf("third bid: %v", err)
	}
}

// TestDeadlineSecond: 50 bids posted while the body's clock crosses the
// deadline: every bid is either received before the deadline (and stored,
// with a receipt) or refused late; none is lost and none received at or
// after the deadline is stored.
func TestDeadlineSecond(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, 2)
		tn := f.publish(t, t0.Add(time.Hour))
		srv := serve(t, f, APIConfig{})
		c := &Client{BaseURL: srv.URL}
		// Each reading of the clock moves it 20 ms on, from 500 ms before
		// the deadline: about half the bids arrive in the deadline second.
		start := tn.Deadline.Add(-500 * time.Millisecond)
		var mu sync.Mutex
		tick := 0
		f.s.now = func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			tick++
			return start.Add(time.Duration(tick) * 20 * time.Millisecond)
		}
		envs := make([][]byte, 50)
		corps := make([]string, 50)
		for i := range envs {
			envs[i] = seal(t, tn, fmt.Sprintf("bid %d", i))
			corps[i] = testNumber(t, i)
		}
		var wg sync.WaitGroup
		var accepted, late, other sync.Map
		for i := range 50 {
			wg.Go(func() {
				r, err := c.Bid(context.Background(), "kanto", tn.ID, corps[i], envs[i])
				switch {
				case err == nil:
					accepted.Store(r.BidID, r.ReceivedAt)
				case ReasonOf(err) == ReasonLate:
					late.Store(i, true)
				default:
					other.Store(i, err)
				}
			})
		}
		wg.Wait()
		count := func(m *sync.Map) (n int) { m.Range(func(any, any) bool { n++; return true }); return }
		other.Range(func(k, v any) bool { t.Errorf("bid %v: %v", k, v); return true })
		nAcc, nLate := count(&accepted), count(&late)
		if nAcc+nLate != 50 || nAcc == 0 || nLate == 0 {
			t.Fatalf("%d accepted, %d late of 50", nAcc, nLate)
		}
		var stored, after int
		if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*), COALESCE(SUM(CASE WHEN received_at >= $1 THEN 1 ELSE 0 END), 0)
  FROM body_bids WHERE body = 'kanto' AND tender = $2`, ms(tn.Deadline), tn.ID).Scan(&stored, &after); err != nil {
			t.Fatal(err)
		}
		if stored != nAcc || after != 0 {
			t.Errorf("stored %d (accepted %d), %d at or after the deadline", stored, nAcc, after)
		}
		accepted.Range(func(_, v any) bool {
			if !v.(time.Time).Before(tn.Deadline) {
				t.Errorf("accepted at %v", v)
			}
			return true
		})
		t.Logf("%d accepted, %d late", nAcc, nLate)
	})
}

// testNumber is the i-th valid 13-digit corporate number of a series.
func testNumber(t *testing.T, i int) string {
	t.Helper()
	base := fmt.Sprintf("01000110%04d", i)
	d, err := corpreg.CheckDigit(base)
	if err != nil {
		t.Fatal(err)
	}
	return string(d) + base
}

// TestReplaceConcurrent: one business's bids sent at once: all stored,
// exactly one current, every other replaced exactly once.
func TestReplaceConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, 2)
		tn := f.publish(t, t0.Add(time.Hour))
		const n = 12
		envs := make([][]byte, n)
		for i := range envs {
			envs[i] = seal(t, tn, fmt.Sprintf("bid %d", i))
		}
		var wg sync.WaitGroup
		errs := make([]error, n)
		replaced := make([]string, n)
		for i := range n {
			wg.Go(func() {
				r, err := f.s.Submit(ctx, "kanto", tn.ID, corpA, envs[i], "192.0.2.1")
				errs[i] = err
				if err == nil {
					replaced[i] = r.Replaced
				}
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("bid %d: %v", i, err)
			}
		}
		bids, err := f.s.Bids(ctx, "kanto", tn.ID, "test")
		if err != nil {
			t.Fatal(err)
		}
		if len(bids) != n {
			t.Fatalf("%d bids stored, want %d", len(bids), n)
		}
		current, by := 0, map[string]int{}
		seqs := map[int]bool{}
		for _, b := range bids {
			seqs[b.Seq] = true
			if b.ReplacedBy == "" {
				current++
			} else {
				by[b.ReplacedBy]++
			}
		}
		if current != 1 || len(seqs) != n {
			t.Errorf("%d current, %d distinct seq", current, len(seqs))
		}
		for id, k := range by {
			if k != 1 {
				t.Errorf("bid %s replaced %d bids", id, k)
			}
		}
		// The answers agree with the rows: each answer's Replaced is a
		// distinct bid, n-1 in all.
		seen := map[string]bool{}
		for _, r := range replaced {
			if r != "" {
				if seen[r] {
					t.Errorf("%s replaced twice", r)
				}
				seen[r] = true
			}
		}
		if len(seen) != n-1 {
			t.Errorf("%d replacements answered, want %d", len(seen), n-1)
		}
	})
}

// TestReceiptOpenSSL: openssl verifies a receipt with the body's CA (from
// /bodies/{body}/ca.crt, through the Client).
func TestReceiptOpenSSL(t *testing.T) {
	bin := testutil.NeedProgram(t, "openssl", "openssl")
	f := newFixture(t, storetest.SQLite(t), 2)
	tn := f.publish(t, t0.Add(time.Hour))
	srv := serve(t, f, APIConfig{})
	c := &Client{BaseURL: srv.URL}
	ctx := context.Background()
	got, err := c.Tender(ctx, "kanto", tn.ID)
	if err != nil || Fingerprint(got.Certificate) != tn.Fingerprint {
		t.Fatalf("tender through the client: %v", err)
	}
	r, err := c.Bid(ctx, "kanto", tn.ID, corpA, seal(t, got, "bid"))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := c.CA(ctx, "kanto")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The receipt's signing time is the test clock's, before openssl's
	// now: -attime checks the chain then.
	args := []string{"cms", "-verify", "-binary", "-inform", "DER", "-in", write("receipt.der", r.Receipt),
		"-CAfile", write("ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})),
		"-attime", fmt.Sprint(t0.Unix()), "-out", filepath.Join(dir, "content.json")}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verification successful") {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	content, _ := os.ReadFile(filepath.Join(dir, "content.json"))
	var rc ReceiptContent
	if err := json.Unmarshal(content, &rc); err != nil || rc.BidID != r.BidID || rc.CorporateNumber != corpA {
		t.Errorf("receipt content %s: %v", content, err)
	}
	// Another body's CA does not verify it.
	other, err := c.CA(ctx, "suzaka")
	if err != nil {
		t.Fatal(err)
	}
	args[8] = write("other.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: other.Raw}))
	if out, err := exec.Command(bin, args...).CombinedOutput(); err == nil {
		t.Errorf("verified under another body's CA:\n%s", out)
	}
	if _, err := c.Tender(ctx, "kanto", "nope"); ReasonOf(err) != ReasonNoTender && !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown tender through the client: %v", err)
	}
	if ts, err := c.Tenders(ctx, "kanto"); err != nil || len(ts) != 1 || !ts[0].Accepting {
		t.Errorf("tenders through the client: %v", err)
	}
	f.clock.Set(tn.Deadline)
	if after, err := c.Tender(ctx, "kanto", tn.ID); err != nil || after.Accepting {
		t.Errorf("at the deadline the tender still says it accepts: %v", err)
	}
	if !bytes.Equal(got.Certificate, tn.Certificate) {
		t.Error("certificate differs")
	}
}

// downStamper is a TSA that does not answer.
type downStamper struct{}

func (downStamper) Stamp(context.Context, crypto.Hash, []byte) ([]byte, error) {
	return nil, errors.New("tsa: connection refused")
}

// TestBidTSADown: without a time-stamp there is no receipt, so the bid is
// not received (500 with the package's own text), and nothing is stored.
func TestBidTSADown(t *testing.T) {
	db := storetest.SQLite(t)
	f := newFixture(t, db, 2)
	tn := f.publish(t, t0.Add(time.Hour))
	f.s.stamper = downStamper{}
	srv := serve(t, f, APIConfig{})
	_, err := (&Client{BaseURL: srv.URL}).Bid(context.Background(), "kanto", tn.ID, corpA, seal(t, tn, "bid"))
	if e, ok := errors.AsType[*httpapi.Error](err); !ok || e.Status != http.StatusInternalServerError || !strings.Contains(e.MessageEN, "not received") {
		t.Fatalf("err = %v", err)
	}
	if n := countBids(t, db); n != 0 {
		t.Errorf("%d bids stored", n)
	}
}
