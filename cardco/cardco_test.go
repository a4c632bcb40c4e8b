package cardco

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

var t0 = time.Date(2026, 3, 9, 10, 30, 0, 0, time.UTC)

const (
	testLimit = 100_000
	testPAN   = "4111111111111111"
	adminKey  = "admin-secret"
)

// env is a company with two merchants (a clinic and a pharmacy) and one
// card, served over a real HTTP server.
type env struct {
	co     *Company
	db     *store.DB
	url    string
	a, b   *Client
	keyA   string
	token  string
	hookMu sync.Mutex
	hook   func(ctx context.Context, op string) error
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	ctx := t.Context()
	co, err := Open(ctx, Config{DB: db, Now: func() time.Time { return t0 }, AdminKey: adminKey})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{co: co, db: db}
	// Tests swap the hook while the server runs; the mutex keeps that race-free.
	co.beforeCommit = func(ctx context.Context, op string) error {
		e.hookMu.Lock()
		h := e.hook
		e.hookMu.Unlock()
		if h == nil {
			return nil
		}
		return h(ctx, op)
	}
	mux := http.NewServeMux()
	co.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	_, e.keyA, err = co.AddMerchant(ctx, "日本海総合病院")
	if err != nil {
		t.Fatal(err)
	}
	_, keyB, err := co.AddMerchant(ctx, "酒田調剤薬局")
	if err != nil {
		t.Fatal(err)
	}
	e.a = &Client{BaseURL: srv.URL, MerchantKey: e.keyA, HTTP: srv.Client()}
	e.b = &Client{BaseURL: srv.URL, MerchantKey: keyB, HTTP: srv.Client()}
	var last4 string
	if e.token, last4, err = co.AddAccount(ctx, testPAN, "SAKATA ICHIRO", testLimit); err != nil {
		t.Fatal(err)
	}
	if last4 != "1111" {
		t.Fatalf("last4 = %q", last4)
	}
	return e
}

func (e *env) setHook(h func(ctx context.Context, op string) error) {
	e.hookMu.Lock()
	e.hook = h
	e.hookMu.Unlock()
}

func (e *env) available(t *testing.T) int64 {
	t.Helper()
	a, err := e.co.Account(t.Context(), e.token)
	if err != nil {
		t.Fatal(err)
	}
	return a.Available
}

func count(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// ledger is what the books say: rows per table and the card's available credit.
type ledger struct {
	Payments, Refunds, Keys int
	Available               int64
}

func (e *env) ledger(t *testing.T) ledger {
	t.Helper()
	return ledger{count(t, e.db, "cardco_payments"), count(t, e.db, "cardco_refunds"), count(t, e.db, "cardco_idempotency"), e.available(t)}
}

func (e *env) checkLedger(t *testing.T, want ledger) {
	t.Helper()
	if diff := cmp.Diff(want, e.ledger(t)); diff != "" {
		t.Errorf("ledger (-want +got):\n%s", diff)
	}
}

// post sends a raw request, for what the typed client cannot send.
func (e *env) post(t *testing.T, path, auth, key, body string) (*webtest.Response, string) {
	t.Helper()
	c := webtest.New(t, e.url).Bearer(auth)
	if key != "" {
		c = c.WithHeader("Idempotency-Key", key)
	}
	// Without a Content-Type, as the original raw request.
	r := c.Send(webtest.Step{Method: http.MethodPost, Path: path, JSON: body, Header: map[string]string{"Content-Type": ""}})
	return r, r.Body
}

func wantErr(t *testing.T, err, want error, status int) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
	if status == 0 {
		return
	}
	ce, ok := errors.AsType[*httpapi.Error](err)
	if !ok {
		t.Fatalf("err = %v, want a *httpapi.Error", err)
	}
	if ce.Status != status || ce.MessageJA == "" || ce.MessageEN == "" {
		t.Fatalf("err = %+v, want status %d with Japanese and English messages", ce, status)
	}
}

var ignoreReplayed = cmpopts.IgnoreFields(Payment{}, "Replayed")

func TestPayAndReplay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := t.Context()
		req := PaymentRequest{Token: e.token, Amount: 3000, Currency: "JPY", Description: "外来診療費"}
		p1, err := e.a.Pay(ctx, "visit-0001", req)
		if err != nil {
			t.Fatal(err)
		}
		want := &Payment{ID: p1.ID, Status: Captured, Amount: 3000, Currency: "JPY", Description: "外来診療費", Last4: "1111", CreatedAt: t0}
		if diff := cmp.Diff(want, p1); diff != "" {
			t.Fatalf("payment (-want +got):\n%s", diff)
		}

		// The retry: same payment, marked replayed, charged once.
		p2, err := e.a.Pay(ctx, "visit-0001", req)
		if err != nil {
			t.Fatal(err)
		}
		if !p2.Replayed {
			t.Error("retry not marked as replayed")
		}
		if diff := cmp.Diff(p1, p2, ignoreReplayed); diff != "" {
			t.Errorf("replayed payment (-first +retry):\n%s", diff)
		}
		e.checkLedger(t, ledger{Payments: 1, Keys: 1, Available: testLimit - 3000})

		// The same request with its fields reordered and spaced is the same request.
		resp, body := e.post(t, "/cardco/v1/payments", e.keyA, "visit-0001",
			fmt.Sprintf(`{ "description":"外来診療費", "currency":"JPY", "amount":3000, "token":%q }`, e.token))
		if resp.Status != http.StatusOK || resp.Header.Get("Idempotent-Replayed") != "true" || !strings.Contains(body, p1.ID) {
			t.Errorf("raw retry: %d %v %s", resp.Status, resp.Header, body)
		}

		// The same key for another request: 422, nothing charged.
		_, err = e.a.Pay(ctx, "visit-0001", PaymentRequest{Token: e.token, Amount: 3001, Currency: "JPY", Description: "外来診療費"})
		wantErr(t, err, ErrIdempotencyMismatch, http.StatusUnprocessableEntity)
		_, err = e.a.Refund(ctx, p1.ID, "visit-0001", 3000)
		wantErr(t, err, ErrIdempotencyMismatch, http.StatusUnprocessableEntity)
		e.checkLedger(t, ledger{Payments: 1, Keys: 1, Available: testLimit - 3000})

		// Keys are per merchant: the pharmacy's "visit-0001" is its own.
		p3, err := e.b.Pay(ctx, "visit-0001", req)
		if err != nil {
			t.Fatal(err)
		}
		if p3.ID == p1.ID || p3.Replayed {
			t.Errorf("another merchant's key replayed the first payment: %+v", p3)
		}
		e.checkLedger(t, ledger{Payments: 2, Keys: 2, Available: testLimit - 6000})

		got, err := e.a.Payment(ctx, p1.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(p1, got); diff != "" {
			t.Errorf("GET payment (-want +got):\n%s", diff)
		}
	})
}

func TestConcurrentSameKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		req := PaymentRequest{Token: e.token, Amount: 4800, Currency: "JPY"}
		const n = 20
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			ids  = map[string]int{}
			errs []error
			nNew int
		)
		for range n {
			wg.Go(func() {
				p, err := e.a.Pay(t.Context(), "same-key", req)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				ids[p.ID]++
				if !p.Replayed {
					nNew++
				}
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("%d of %d requests failed, first: %v", len(errs), n, errs[0])
		}
		if len(ids) != 1 || nNew != 1 {
			t.Errorf("payment IDs %v, %d not replayed; want one ID and one charge", ids, nNew)
		}
		e.checkLedger(t, ledger{Payments: 1, Keys: 1, Available: testLimit - 4800})
	})
}

func TestConcurrentPaymentsNeverOverspend(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		var paid, declined, failed atomic.Int32
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				_, err := e.a.Pay(t.Context(), fmt.Sprintf("k%d", i), PaymentRequest{Token: e.token, Amount: 10_000, Currency: "JPY"})
				switch {
				case err == nil:
					paid.Add(1)
				case errors.Is(err, ErrInsufficientFunds):
					declined.Add(1)
				default:
					failed.Add(1)
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if paid.Load() != 10 || declined.Load() != 10 {
			t.Errorf("paid %d, declined %d, failed %d; want 10 paid and 10 declined", paid.Load(), declined.Load(), failed.Load())
		}
		e.checkLedger(t, ledger{Payments: 10, Keys: 20, Available: 0})
	})
}

func TestDeclinesAndBadRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := t.Context()
		revoked, _, err := e.co.AddAccount(ctx, "5555555555554444", "TOBISHIMA SATORU", 50_000)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.co.RevokeToken(ctx, revoked); err != nil {
			t.Fatal(err)
		}
		if err := e.co.RevokeToken(ctx, revoked); err != nil {
			t.Errorf("revoking twice: %v", err)
		}
		if err := e.co.RevokeToken(ctx, "tok_nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("revoking an unknown token: %v", err)
		}
		pay := func(token string, amount int64) string {
			return fmt.Sprintf(`{"token":%q,"amount":%d,"currency":"JPY"}`, token, amount)
		}
		for _, tc := range []struct {
			name, auth, key, body string
			status                int
			code, reason          string
		}{
			{"insufficient funds", e.keyA, "d1", pay(e.token, testLimit+1), 402, "declined", "insufficient_funds"},
			{"revoked token", e.keyA, "d2", pay(revoked, 100), 402, "declined", "invalid_token"},
			{"unknown token", e.keyA, "d3", pay("tok_unknown", 100), 402, "declined", "invalid_token"},
			{"zero amount", e.keyA, "b1", pay(e.token, 0), 400, "invalid_request", ""},
			{"negative amount", e.keyA, "b2", pay(e.token, -5), 400, "invalid_request", ""},
			{"amount too large", e.keyA, "b3", pay(e.token, MaxAmount+1), 400, "invalid_request", ""},
			{"fractional amount", e.keyA, "b4", `{"token":"t","amount":10.5,"currency":"JPY"}`, 400, "invalid_request", ""},
			{"amount as string", e.keyA, "b5", `{"token":"t","amount":"100","currency":"JPY"}`, 400, "invalid_request", ""},
			{"dollars", e.keyA, "b6", `{"token":"t","amount":100,"currency":"USD"}`, 400, "invalid_request", ""},
			{"unknown field", e.keyA, "b7", `{"token":"t","amount":100,"currency":"JPY","pan":"4111111111111111"}`, 400, "invalid_request", ""},
			{"trailing data", e.keyA, "b8", pay(e.token, 100) + "{}", 400, "invalid_request", ""},
			{"no key", e.keyA, "", pay(e.token, 100), 400, "invalid_idempotency_key", ""},
			{"key too long", e.keyA, strings.Repeat("k", 65), pay(e.token, 100), 400, "invalid_idempotency_key", ""},
			{"no merchant key", "", "u1", pay(e.token, 100), 401, "unauthorized", ""},
			{"wrong merchant key", "cck_wrong", "u2", pay(e.token, 100), 401, "unauthorized", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, body := e.post(t, "/cardco/v1/payments", tc.auth, tc.key, tc.body)
				if resp.Status != tc.status {
					t.Fatalf("status %d, want %d: %s", resp.Status, tc.status, body)
				}
				for _, s := range []string{`"code":"` + tc.code + `"`, `"reason":"` + tc.reason + `"`, `"message_ja":"`, `"message_en":"`} {
					if tc.reason == "" && strings.HasPrefix(s, `"reason"`) {
						continue
					}
					if !strings.Contains(body, s) {
						t.Errorf("body %s lacks %s", body, s)
					}
				}
			})
		}
		// Declines are stored outcomes: the retry gets the same decline, replayed.
		resp, body := e.post(t, "/cardco/v1/payments", e.keyA, "d1", pay(e.token, testLimit+1))
		if resp.Status != 402 || resp.Header.Get("Idempotent-Replayed") != "true" || !strings.Contains(body, "insufficient_funds") {
			t.Errorf("replayed decline: %d %v %s", resp.Status, resp.Header, body)
		}
		// The typed client maps them to sentinels.
		_, err = e.a.Pay(ctx, "d4", PaymentRequest{Token: e.token, Amount: testLimit + 1, Currency: "JPY"})
		wantErr(t, err, ErrInsufficientFunds, http.StatusPaymentRequired)
		wantErr(t, err, ErrDeclined, 0)
		_, err = e.a.Pay(ctx, "d5", PaymentRequest{Token: revoked, Amount: 1, Currency: "JPY"})
		wantErr(t, err, ErrInvalidToken, http.StatusPaymentRequired)
		_, err = e.a.Pay(ctx, "b9", PaymentRequest{Token: e.token, Amount: 0, Currency: "JPY"})
		wantErr(t, err, ErrInvalid, http.StatusBadRequest)

		// Only the declines (d1–d5) stored keys; no money moved.
		e.checkLedger(t, ledger{Keys: 5, Available: testLimit})
		if a, err := e.co.Account(ctx, revoked); err != nil || !a.Revoked || a.Last4 != "4444" {
			t.Errorf("revoked account: %+v, %v", a, err)
		}
	})
}

func TestRefunds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := t.Context()
		p, err := e.a.Pay(ctx, "pay-1", PaymentRequest{Token: e.token, Amount: 10_000, Currency: "JPY"})
		if err != nil {
			t.Fatal(err)
		}
		r1, err := e.a.Refund(ctx, p.ID, "refund-1", 4000)
		if err != nil {
			t.Fatal(err)
		}
		if r1.Amount != 4000 || r1.PaymentID != p.ID || r1.Payment.Status != PartiallyRefunded || r1.Payment.Refunded != 4000 || r1.Replayed {
			t.Errorf("partial refund: %+v %+v", r1, r1.Payment)
		}
		e.checkLedger(t, ledger{Payments: 1, Refunds: 1, Keys: 2, Available: testLimit - 6000})

		// The retry of the refund refunds nothing more.
		again, err := e.a.Refund(ctx, p.ID, "refund-1", 4000)
		if err != nil {
			t.Fatal(err)
		}
		if again.ID != r1.ID || !again.Replayed {
			t.Errorf("refund retry: %+v, want %s replayed", again, r1.ID)
		}
		e.checkLedger(t, ledger{Payments: 1, Refunds: 1, Keys: 2, Available: testLimit - 6000})

		_, err = e.a.Refund(ctx, p.ID, "refund-2", 6001)
		wantErr(t, err, ErrRefundExceedsCaptured, http.StatusConflict)

		r3, err := e.a.Refund(ctx, p.ID, "refund-3", 6000)
		if err != nil {
			t.Fatal(err)
		}
		if r3.Payment.Status != Refunded || r3.Payment.Refunded != 10_000 {
			t.Errorf("full refund: %+v", r3.Payment)
		}
		_, err = e.a.Refund(ctx, p.ID, "refund-4", 1)
		wantErr(t, err, ErrRefundExceedsCaptured, http.StatusConflict)
		_, err = e.a.Refund(ctx, "pay_nonexistent", "refund-5", 1)
		wantErr(t, err, ErrNotFound, http.StatusNotFound)
		_, err = e.a.Refund(ctx, p.ID, "refund-6", 0)
		wantErr(t, err, ErrInvalid, http.StatusBadRequest)

		got, err := e.a.Payment(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != Refunded || got.Refunded != 10_000 {
			t.Errorf("payment after refunds: %+v", got)
		}
		// Keys: pay-1, refund-1, refund-2 (409), refund-3, refund-4 (409).
		e.checkLedger(t, ledger{Payments: 1, Refunds: 2, Keys: 5, Available: testLimit})

		// A full refund in one go.
		p2, err := e.a.Pay(ctx, "pay-2", PaymentRequest{Token: e.token, Amount: 2500, Currency: "JPY"})
		if err != nil {
			t.Fatal(err)
		}
		r, err := e.a.Refund(ctx, p2.ID, "refund-7", 2500)
		if err != nil || r.Payment.Status != Refunded {
			t.Errorf("full refund: %+v, %v", r, err)
		}
		if got := e.available(t); got != testLimit {
			t.Errorf("available = %d, want %d", got, testLimit)
		}
	})
}

func TestMerchantsSeeOnlyTheirOwnPayments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := t.Context()
		p, err := e.a.Pay(ctx, "k", PaymentRequest{Token: e.token, Amount: 1000, Currency: "JPY"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.b.Payment(ctx, p.ID)
		wantErr(t, err, ErrNotFound, http.StatusNotFound)
		_, err = e.b.Refund(ctx, p.ID, "steal", 1000)
		wantErr(t, err, ErrNotFound, http.StatusNotFound)
		_, err = (&Client{BaseURL: e.url, MerchantKey: "cck_nobody"}).Payment(ctx, p.ID)
		wantErr(t, err, ErrUnauthorized, http.StatusUnauthorized)
		// The refused refund stored nothing under the pharmacy's key.
		if _, err := e.b.Pay(ctx, "steal", PaymentRequest{Token: e.token, Amount: 1, Currency: "JPY"}); err != nil {
			t.Errorf("the key of a refused request should be free: %v", err)
		}
		e.checkLedger(t, ledger{Payments: 2, Keys: 2, Available: testLimit - 1001})
	})
}

// TestFailureInsideTheTransaction makes the transaction fail (and time out)
// after the ledger rows and the key row are written: nothing may remain,
// the 500 says so in the company's words, and the client's own retry with
// the same key charges exactly once.
func TestFailureInsideTheTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := t.Context()
		req := PaymentRequest{Token: e.token, Amount: 7700, Currency: "JPY", Description: "入院費"}

		var failures atomic.Int32
		e.setHook(func(context.Context, string) error {
			failures.Add(1)
			return errors.New("injected failure after the ledger writes")
		})
		_, err := e.a.Pay(ctx, "k1", req)
		wantErr(t, err, ErrUnavailable, http.StatusInternalServerError)
		e.checkLedger(t, ledger{Available: testLimit})
		// The 500 keeps the company's words (nothing was done, send it again
		// under the key), and the client did, twice more.
		if ce, _ := errors.AsType[*httpapi.Error](err); ce == nil || !strings.Contains(ce.MessageEN, "nothing was done") ||
			!strings.Contains(ce.MessageJA, "同じ Idempotency-Key") || failures.Load() != 3 {
			t.Errorf("internal answer %+v after %d tries, want the company's own words after 3", ce, failures.Load())
		}

		// A request that runs past its time is cancelled whole (503).
		e.co.timeout = 300 * time.Millisecond
		e.setHook(func(ctx context.Context, _ string) error { <-ctx.Done(); return ctx.Err() })
		_, err = e.a.Pay(ctx, "k1", req)
		wantErr(t, err, ErrUnavailable, http.StatusServiceUnavailable)
		e.checkLedger(t, ledger{Available: testLimit})

		// One failure, then the company works again: Pay's own retry under
		// the key charges once.
		failures.Store(0)
		e.setHook(func(context.Context, string) error {
			if failures.Add(1) == 1 {
				return errors.New("injected failure once")
			}
			return nil
		})
		p, err := e.a.Pay(ctx, "k1", req)
		if err != nil {
			t.Fatal(err)
		}
		if p.Replayed || failures.Load() != 2 {
			t.Errorf("payment %+v after %d tries: want a fresh one on the second", p, failures.Load())
		}
		e.setHook(nil)
		if p2, err := e.a.Pay(ctx, "k1", req); err != nil || p2.ID != p.ID || !p2.Replayed {
			t.Errorf("retry after success: %+v, %v", p2, err)
		}
		e.checkLedger(t, ledger{Payments: 1, Keys: 1, Available: testLimit - 7700})

		// The same for a refund.
		e.setHook(func(context.Context, string) error { return errors.New("injected failure") })
		_, err = e.a.Refund(ctx, p.ID, "r1", 700)
		wantErr(t, err, ErrUnavailable, http.StatusInternalServerError)
		e.checkLedger(t, ledger{Payments: 1, Keys: 1, Available: testLimit - 7700})
		e.setHook(nil)
		if _, err := e.a.Refund(ctx, p.ID, "r1", 700); err != nil {
			t.Fatal(err)
		}
		e.checkLedger(t, ledger{Payments: 1, Refunds: 1, Keys: 2, Available: testLimit - 7000})
	})
}

// TestLostAnswer: the company charged, but its answer never reached the
// client; Pay sends the request again with the same key (the client core's
// retry) and gets the stored answer instead of a second charge.
func TestLostAnswer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		mux := http.NewServeMux()
		e.co.Routes(mux)
		var calls atomic.Int32
		lossy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				mux.ServeHTTP(httptest.NewRecorder(), r) // the charge happens; its answer is lost
				http.Error(w, "bad gateway", http.StatusBadGateway)
				return
			}
			mux.ServeHTTP(w, r)
		}))
		defer lossy.Close()
		c := &Client{BaseURL: lossy.URL, MerchantKey: e.keyA}
		p, err := c.Pay(t.Context(), "lost-1", PaymentRequest{Token: e.token, Amount: 1200, Currency: "JPY"})
		if err != nil {
			t.Fatal(err)
		}
		if !p.Replayed || calls.Load() != 2 {
			t.Errorf("payment %+v after %d calls; want the stored answer on the second", p, calls.Load())
		}
		e.checkLedger(t, ledger{Payments: 1, Keys: 1, Available: testLimit - 1200})
	})
}

func TestEnrolment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		const path = "/cardco/v1/tokens"
		for _, tc := range []struct {
			name, auth, body string
			status           int
			code             string
		}{
			{"new card", adminKey, `{"pan":"4012888888881881","holder":"HONMA HIKARU","expiry":"12/29","credit_limit":200000}`, 201, ""},
			{"known card again", adminKey, `{"pan":"4012888888881881","holder":"HONMA HIKARU","expiry":"12/29"}`, 201, ""},
			{"holder differs", adminKey, `{"pan":"4012888888881881","holder":"HONMA HIKARI","expiry":"12/29"}`, 422, "card_mismatch"},
			{"bad check digit", adminKey, `{"pan":"4012888888881882","holder":"X","expiry":"12/29"}`, 400, "invalid_request"},
			{"15 digits", adminKey, `{"pan":"401288888888188","holder":"X","expiry":"12/29"}`, 400, "invalid_request"},
			{"expired", adminKey, `{"pan":"4242424242424242","holder":"X","expiry":"02/26"}`, 400, "invalid_request"},
			{"bad expiry", adminKey, `{"pan":"4242424242424242","holder":"X","expiry":"2029-12"}`, 400, "invalid_request"},
			{"merchant key", e.keyA, `{"pan":"4242424242424242","holder":"X","expiry":"12/29"}`, 401, "unauthorized"},
			{"no key", "", `{"pan":"4242424242424242","holder":"X","expiry":"12/29"}`, 401, "unauthorized"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, body := e.post(t, path, tc.auth, "", tc.body)
				if resp.Status != tc.status || !strings.Contains(body, `"code":"`+tc.code+`"`) && tc.code != "" {
					t.Fatalf("%d %s, want %d %s", resp.Status, body, tc.status, tc.code)
				}
				if tc.status == 201 && (!strings.Contains(body, `"last4":"1881"`) || strings.Contains(body, "4012888888881881")) {
					t.Errorf("enrolment answer %s: want last4 only", body)
				}
			})
		}
		// Valid through the end of its month.
		if _, err := e.co.Enrol(t.Context(), Enrolment{PAN: "4242424242424242", Holder: "X", Expiry: "03/26"}); err != nil {
			t.Errorf("a card expiring this month: %v", err)
		}
		// Without an admin key the endpoint is closed.
		closed, err := Open(t.Context(), Config{DB: db})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		closed.serveEnrol(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(`{}`)))
		if rec.Code != http.StatusForbidden {
			t.Errorf("enrolment without an admin key configured: %d", rec.Code)
		}
	})
}

func TestValidPAN(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pan string
		ok  bool
	}{
		{"4111111111111111", true},
		{"5555555555554444", true},
		{"4242424242424242", true},
		{"4111111111111112", false},
		{"411111111111111", false},
		{"41111111111111111", false},
		{"4111-11111111111", false},
		{"４１１１111111111111", false},
		{"", false},
	} {
		if err := validPAN(tc.pan); (err == nil) != tc.ok {
			t.Errorf("validPAN(%q) = %v, want ok=%v", tc.pan, err, tc.ok)
		}
	}
}

func TestIdempotencyKeyHeader(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		header, want string
		ok           bool
	}{
		{"abc", "abc", true},
		{`"8e03978e-40d5-43e8-bc93-6894a57f9324"`, "8e03978e-40d5-43e8-bc93-6894a57f9324", true},
		{strings.Repeat("x", 64), strings.Repeat("x", 64), true},
		{"with space", "with space", true},
		{strings.Repeat("x", 65), "", false},
		{"", "", false},
		{`""`, "", false},
		{"領収書", "", false},
		{"tab\there", "", false},
	} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set("Idempotency-Key", tc.header)
		got, err := idempotencyKey(r)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("idempotencyKey(%q) = %q, %v; want %q ok=%v", tc.header, got, err, tc.want, tc.ok)
		}
	}
}

func TestQueriesKeepPlaceholderOrder(t *testing.T) {
	t.Parallel()
	for _, q := range allQueries {
		if err := store.CheckPlaceholders(q); err != nil {
			t.Errorf("%v in %s", err, q)
		}
	}
}

func FuzzPaymentRequest(f *testing.F) {
	for _, s := range []string{
		`{"token":"tok_ABC","amount":3000,"currency":"JPY","description":"外来診療費"}`,
		`{"token":"tok_ABC","amount":1,"currency":"JPY"}`,
		`{"amount":-1}`, `{"amount":1e3}`, `{"amount":9223372036854775808}`, `[]`, `null`, `{}{}`,
		`{"token":"\u0000","amount":1,"currency":"JPY"}`, `{"description":"\ud800"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodePaymentRequest(body)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		if err := req.validate(); err != nil {
			t.Fatalf("accepted an invalid request %+v: %v", req, err)
		}
		// What was accepted survives a round trip unchanged, with the same
		// idempotency hash: a client that re-encodes it is not refused.
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodePaymentRequest(b)
		if err != nil {
			t.Fatalf("re-encoded request refused: %s: %v", b, err)
		}
		if diff := cmp.Diff(req, again); diff != "" {
			t.Fatalf("round trip (-first +again):\n%s", diff)
		}
		if string(requestHash("payment", req)) != string(requestHash("payment", again)) {
			t.Fatal("hash changed across a round trip")
		}
	})
}
