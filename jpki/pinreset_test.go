package jpki

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// counterCard is a card on the counter's reader with the store's SAM.
type counterCard struct {
	cd  *card.Card
	sam *card.SAM
}

func (c counterCard) ID() string { return c.cd.ID() }

func (c counterCard) ResetPIN(which PINKind, newPIN string) error {
	ref := map[PINKind]card.PIN{PINAuth: card.AuthPIN, PINSign: card.SignPIN, PINText: card.TextPIN}[which]
	return card.NewClient(c.cd).ResetPIN(ref, newPIN, c.sam.Authenticator(c.cd.ID()))
}

// TestCounterPINReset: the centre records a PIN reset over the counter API
// once per Idempotency-Key, with its approval, and refuses one without an
// approval, of an unknown PIN or card, or of a signing password the card
// cannot have; no PIN is in any request, answer, audit row or log line.
func TestCounterPINReset(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newCounterEnv(t, db)
		cd, _ := e.issued(t)
		lost, _ := e.issued(t)
		if _, err := e.c.ReportLoss(ctx, lost.ID()); err != nil {
			t.Fatal(err)
		}
		ok := e.approval(adult.Municipality)
		raw := func(body string, key string) error {
			hdr := http.Header{}
			if key != "" {
				hdr.Set("Idempotency-Key", key)
			}
			for k, v := range e.client.Actor.header() {
				hdr[k] = v
			}
			_, err := e.client.API.Do(ctx, httpapi.Request{Method: http.MethodPost, Path: "/jpki/counter/v1/cards/" + cd.ID() + "/pin-resets",
				Body: []byte(body), ContentType: "application/json", Header: hdr})
			return err
		}
		refusals := []struct {
			name     string
			call     func() error
			code     httpapi.Code
			sentinel error
			status   int
		}{
			{"no approval", func() error {
				_, err := e.client.RecordPINReset(ctx, PINResetRequest{CardID: cd.ID(), PIN: PINAuth})
				return err
			}, CodeApprovalMissing, ErrNoApproval, 403},
			{"a blank approver", func() error {
				_, err := e.client.RecordPINReset(ctx, PINResetRequest{CardID: cd.ID(), PIN: PINAuth, Approval: Approval{By: " x"}})
				return err
			}, CodeApprovalMissing, ErrNoApproval, 403},
			{"an unknown PIN", func() error {
				_, err := e.client.RecordPINReset(ctx, PINResetRequest{CardID: cd.ID(), PIN: "puk", Approval: ok})
				return err
			}, CodeInvalid, ErrInvalid, 400},
			{"an unknown card", func() error {
				_, err := e.client.RecordPINReset(ctx, PINResetRequest{CardID: "0000000000000000", PIN: PINAuth, Approval: ok})
				return err
			}, CodeCardNotFound, ErrCardNotFound, 404},
			{"the signing password of a card without a signing certificate", func() error {
				_, err := e.client.RecordPINReset(ctx, PINResetRequest{CardID: lost.ID(), PIN: PINSign, Approval: ok})
				return err
			}, CodeNoSigningPassword, ErrNoSigningPassword, 422},
			{"no Idempotency-Key", func() error { return raw(`{"pin":"auth","approval":{"by":"x"}}`, "") },
				CodeIdempotencyKey, ErrIdempotencyKey, 400},
			{"a PIN in the request", func() error { return raw(`{"pin":"auth","approval":{"by":"x"},"new_pin":"2468"}`, "k-pin") },
				CodeInvalid, ErrInvalid, 400},
		}
		for _, tc := range refusals {
			t.Run(tc.name, func(t *testing.T) {
				err := tc.call()
				if !errors.Is(err, tc.code) || !errors.Is(err, tc.sentinel) {
					t.Fatalf("err = %v, want code %s and %v", err, tc.code, tc.sentinel)
				}
				he, isHTTP := errors.AsType[*httpapi.Error](err)
				if !isHTTP || he.Status != tc.status || he.MessageJA == "" || he.MessageEN == "" || he.MessageJA == he.MessageEN {
					t.Errorf("problem %+v, want status %d with Japanese and English text", he, tc.status)
				}
			})
		}

		// The same request twice with one key is recorded once.
		rq := PINResetRequest{IdempotencyKey: "reset-1", CardID: cd.ID(), PIN: PINText, Approval: ok}
		first, err := e.client.RecordPINReset(ctx, rq)
		if err != nil {
			t.Fatal(err)
		}
		again, err := e.client.RecordPINReset(ctx, rq)
		if err != nil || !cmp.Equal(again, first) {
			t.Fatalf("repeated reset = %+v, %v; want %+v", again, err, first)
		}
		rq.PIN = PINAuth
		if _, err := e.client.RecordPINReset(ctx, rq); !errors.Is(err, ErrIdempotencyReused) {
			t.Fatalf("key reused for another PIN: %v", err)
		}

		// A blocked auth PIN reset through the Personaliser: recorded, and
		// the card takes the new PIN.
		cl := card.NewClient(cd)
		for range 3 {
			_ = cl.VerifyPIN(card.AuthPIN, "9999")
		}
		var logs bytes.Buffer
		steps := &Personaliser{Centre: e.client, Now: e.clock.now, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
		const newPIN = "8642"
		got, err := steps.ResetPIN(ctx, counterCard{cd, e.cards.SAM()}, PINAuth, ok, newPIN)
		if err != nil {
			t.Fatal(err)
		}
		if got.PIN != PINAuth || !cmp.Equal(got.Approval, ok) || got.CardID != cd.ID() {
			t.Errorf("reset = %+v", got)
		}
		if err := card.NewClient(cd).VerifyPIN(card.AuthPIN, newPIN); err != nil {
			t.Fatalf("the new PIN: %v", err)
		}
		// A card that refuses (another SAM) after the record: an error, and
		// the record stays (it is logged for the operator).
		other, err := card.NewStore(t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := steps.ResetPIN(ctx, counterCard{cd, other.SAM()}, PINAuth, ok, newPIN); !errors.Is(err, card.ErrNotAuthorised) {
			t.Fatalf("reset with a foreign SAM: %v", err)
		}

		sql := db
		var n int
		super := supervisorAt(adult.Municipality)
		clerk := clerkAt(adult.Municipality)
		// The audit names the counter, the clerk, the supervisor and how
		// the resident was identified.
		if err := sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM jpki_audit WHERE action = 'pin-reset' AND subject = $1 AND actor = $2
AND staff = $3 AND approver = $4 AND identity = 'card'`,
			cd.ID()+" text approved-by:"+super.String(), "counter:202070:town-hall", clerk.String(), super.String()).Scan(&n); err != nil || n != 1 {
			t.Errorf("audit rows of the text PIN reset: %d, %v; want 1", n, err)
		}
		if err := sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM jpki_audit WHERE action = 'pin-reset' AND subject = $1`,
			cd.ID()+" auth approved-by:"+super.String()).Scan(&n); err != nil || n != 2 {
			t.Errorf("audit rows of the auth PIN resets: %d, %v; want 2", n, err)
		}
		if err := sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM jpki_counter_calls WHERE action = 'pin-reset' AND caller = 'town-hall' AND card_id = $1 AND result = 'OK'
AND town = '202070' AND staff_platform_id = $2 AND approver_platform_id = $3 AND identity = 'card'`,
			cd.ID(), clerk.PlatformID, super.PlatformID).Scan(&n); err != nil || n != 4 {
			t.Errorf("counter calls: %d, %v; want 4 (text twice, auth twice)", n, err)
		}
		// No PIN anywhere.
		for _, q := range []string{
			`SELECT COUNT(*) FROM jpki_audit WHERE subject LIKE '%' || $1 || '%' OR actor LIKE '%' || $1 || '%'`,
			`SELECT COUNT(*) FROM jpki_counter_calls WHERE subject LIKE '%' || $1 || '%'`,
		} {
			for _, pin := range []string{newPIN, "2468"} {
				if err := sql.QueryRowContext(ctx, q, pin).Scan(&n); err != nil || n != 0 {
					t.Errorf("%s with %s: %d, %v; want no PIN", q, pin, n, err)
				}
			}
		}
		rows, err := sql.QueryContext(ctx, `SELECT answer FROM jpki_counter_replies WHERE caller = 'town-hall'`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var answer []byte
			if err := rows.Scan(&answer); err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(answer, []byte(newPIN)) {
				t.Errorf("a kept answer holds the PIN: %s", answer)
			}
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(logs.Bytes(), []byte(newPIN)) {
			t.Errorf("the log holds the PIN:\n%s", logs.String())
		}
		if !bytes.Contains(logs.Bytes(), []byte("did not take")) {
			t.Errorf("the card's refusal after the record was not logged:\n%s", logs.String())
		}
	})
}
