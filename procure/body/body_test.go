package body

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/sealedbid"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestPublishBidReplace: an officer publishes, a business bids and bids
// again; the second replaces the first; the receipt verifies with the
// body's CA and the TSA; the officer's read is audited.
func TestPublishBidReplace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, 3)
		tn := f.publish(t, t0.Add(time.Hour))
		if tn.Grade == "" || tn.State != StateOpen || tn.K != 2 || tn.Officers != 3 || tn.Fingerprint != Fingerprint(tn.Certificate) {
			t.Fatalf("tender %+v", tn)
		}
		got, err := f.s.Tender(ctx, "kanto", tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tn, got); diff != "" {
			t.Errorf("stored tender differs (-published +read):\n%s", diff)
		}
		// Another body does not see it.
		if _, err := f.s.Tender(ctx, "suzaka", tn.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("suzaka reads kanto's tender: %v", err)
		}
		env1 := seal(t, tn, "bid one")
		r1, err := f.s.Submit(ctx, "kanto", tn.ID, corpA, env1, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Set(t0.Add(time.Minute))
		r2, err := f.s.Submit(ctx, "kanto", tn.ID, corpA, seal(t, tn, "bid two"), "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		if r1.Replaced != "" || r2.Replaced != r1.BidID {
			t.Errorf("replaced: first %q, second %q (want %q)", r1.Replaced, r2.Replaced, r1.BidID)
		}
		if _, err := f.s.Submit(ctx, "kanto", tn.ID, corpB, seal(t, tn, "bid of B"), "192.0.2.2"); err != nil {
			t.Fatal(err)
		}
		bids, err := f.s.Bids(ctx, "kanto", tn.ID, "staff:pid-officer-a")
		if err != nil {
			t.Fatal(err)
		}
		current := map[string]string{}
		for _, b := range bids {
			if b.ReplacedBy == "" {
				current[b.CorporateNumber] = b.ID
			}
		}
		if len(bids) != 3 || current[corpA] != r2.BidID || len(current) != 2 {
			t.Errorf("bids %d, current %v", len(bids), current)
		}
		if !bytes.Equal(bids[0].Envelope, env1) || !bytes.Equal(bids[0].Receipt, r1.Receipt) || bids[0].ReplacedBy != r2.BidID {
			t.Errorf("first bid as stored: %+v", bids[0])
		}
		// The receipt: the body's receipt key under its CA, time-stamped.
		roots := x509.NewCertPool()
		roots.AddCert(f.tsaRoot)
		sig, err := cms.Verify(r1.Receipt, nil, roots)
		if err != nil {
			t.Fatal(err)
		}
		ca, _ := f.s.CA("kanto")
		if err := sig.Signer.CheckSignatureFrom(ca); err != nil {
			t.Errorf("receipt signer not under the body's CA: %v", err)
		}
		var rc ReceiptContent
		if err := json.Unmarshal(sig.Content, &rc); err != nil {
			t.Fatal(err)
		}
		want := ReceiptContent{Type: ReceiptType, Body: "kanto", Tender: tn.ID, CorporateNumber: corpA,
			EnvelopeSHA256: bids[0].EnvelopeSHA256, ReceivedAt: t0.Format(time.RFC3339Nano), BidID: r1.BidID}
		if diff := cmp.Diff(want, rc); diff != "" {
			t.Errorf("receipt content (-want +got):\n%s", diff)
		}
		if sig.Timestamp == nil {
			t.Error("receipt not time-stamped")
		}
		// As the bidder checks it; under another body's CA it fails.
		if got, at, err := VerifyReceipt(r1.Receipt, ca, roots); err != nil || *got != want || at.IsZero() {
			t.Errorf("VerifyReceipt: %+v %v %v", got, at, err)
		}
		otherCA, _ := f.s.CA("suzaka")
		if _, _, err := VerifyReceipt(r1.Receipt, otherCA, roots); !errors.Is(err, ErrBadReceipt) {
			t.Errorf("VerifyReceipt under suzaka's CA: %v", err)
		}
		tampered := bytes.Replace(r1.Receipt, []byte(corpA), []byte(corpB), 1)
		if _, _, err := VerifyReceipt(tampered, ca, roots); !errors.Is(err, ErrBadReceipt) {
			t.Errorf("VerifyReceipt of a changed receipt: %v", err)
		}
		// The officer's read is in the audit.
		audit, err := f.s.Audit(ctx, "kanto", tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range audit {
			actions = append(actions, e.Action+"/"+e.Outcome)
		}
		if diff := cmp.Diff([]string{"publish/ok", "bid/ok", "bid/ok", "bid/ok", "read-bids/ok"}, actions); diff != "" {
			t.Errorf("audit (-want +got):\n%s", diff)
		}
	})
}

// TestPublishRefusals: every refusal of Publish, each writing only its
// audit row.
func TestPublishRefusals(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, storetest.SQLite(t), 2)
	ok := TenderRequest{Title: "事務用品の購入", Item: "事務用品", Field: procure.FieldSale, EstimateYen: 5_000_000,
		Deadline: t0.Add(time.Hour), Officers: f.officers, K: 2}
	for _, tt := range []struct {
		name string
		edit func(*TenderRequest)
		want Reason
	}{
		{"no title", func(r *TenderRequest) { r.Title = " " }, ReasonBadTender},
		{"no item", func(r *TenderRequest) { r.Item = "" }, ReasonBadTender},
		{"unknown field", func(r *TenderRequest) { r.Field = "food" }, ReasonBadTender},
		{"no estimate", func(r *TenderRequest) { r.EstimateYen = 0 }, ReasonBadTender},
		{"deadline passed", func(r *TenderRequest) { r.Deadline = t0 }, ReasonBadTender},
		{"k of 1", func(r *TenderRequest) { r.K = 1 }, ReasonBadTender},
		{"k above n", func(r *TenderRequest) { r.K = 3 }, ReasonBadTender},
		{"officer twice", func(r *TenderRequest) { r.Officers = []string{f.officers[0], f.officers[0]} }, ReasonBadTender},
		{"unknown grade", func(r *TenderRequest) { r.Grade = "E" }, ReasonBadTender},
		{"grade whose band misses the estimate", func(r *TenderRequest) { r.Grade = procure.GradeD }, ReasonGradeBand},
		{"officer not enrolled", func(r *TenderRequest) { r.Officers = append(r.Officers[:1:1], "pid-nobody") }, ReasonNotEnrolled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rq := ok
			rq.Officers = append([]string(nil), ok.Officers...)
			tt.edit(&rq)
			_, err := f.s.Publish(ctx, "kanto", f.officers[0], rq)
			if got := ReasonOf(err); got != tt.want {
				t.Fatalf("reason %q (%v), want %q", got, err, tt.want)
			}
			if ja, en := tt.want.Messages(); ja == "" || en == "" {
				t.Error("no texts")
			}
			ts, _ := f.s.Tenders(ctx, "kanto")
			if len(ts) != 0 {
				t.Errorf("a refusal wrote a tender")
			}
			audit, _ := f.s.Audit(ctx, "kanto", "")
			if last := audit[len(audit)-1]; last.Action != "publish" || last.Outcome != "refused" {
				t.Errorf("last audit row %+v", last)
			}
		})
	}
}

// TestEnrollRefusals: a short passphrase, a mistyped confirmation, and a
// second enrollment are refused.
func TestEnrollRefusals(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, storetest.SQLite(t), 1)
	long := []byte("long enough passphrase")
	for _, tt := range []struct {
		name          string
		officer       string
		pass, confirm []byte
		want          Reason
	}{
		{"short", "pid-x", []byte("short"), []byte("short"), ReasonWeakPass},
		{"mistyped", "pid-x", long, []byte("long enough passphrasE"), ReasonPassMismatch},
		{"twice", f.officers[0], long, long, ReasonEnrolled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := f.s.Enroll(ctx, "kanto", tt.officer, "X", tt.pass, tt.confirm)
			if got := ReasonOf(err); got != tt.want {
				t.Fatalf("reason %q (%v), want %q", got, err, tt.want)
			}
		})
	}
	if ok, _ := f.s.Enrolled(ctx, "kanto", "pid-x"); ok {
		t.Error("a refused enrollment enrolled")
	}
	// Enrolled at kanto is not enrolled at suzaka.
	if ok, _ := f.s.Enrolled(ctx, "suzaka", f.officers[0]); ok {
		t.Error("enrollment leaks to another body")
	}
}

// TestSealedRowsNeedK: what the database holds of a tender — the sealed
// shares, the sealed estimate, the envelopes — read straight from its
// tables, does not open with one officer's passphrase; with k officers'
// it does, and a wrong passphrase is named.
func TestSealedRowsNeedK(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, 3)
		tn := f.publish(t, t0.Add(time.Hour))
		if _, err := f.s.Submit(ctx, "kanto", tn.ID, corpA, seal(t, tn, "the bid: 4,800,000 yen"), "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		// Straight from the tables.
		var cert, estimate, envelope []byte
		if err := db.QueryRowContext(ctx, `SELECT certificate, sealed_estimate FROM body_tenders WHERE body = $1 AND id = $2`,
			"kanto", tn.ID).Scan(&cert, &estimate); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, `SELECT envelope FROM body_bids WHERE body = $1 AND tender = $2`, "kanto", tn.ID).Scan(&envelope); err != nil {
			t.Fatal(err)
		}
		rows, err := db.QueryContext(ctx, `SELECT share FROM body_tender_officers WHERE body = $1 AND tender = $2`, "kanto", tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		var shares []sealedbid.SealedShare
		for rows.Next() {
			var raw []byte
			if err := rows.Scan(&raw); err != nil {
				t.Fatal(err)
			}
			sh, err := sealedbid.ParseSealedShare(raw)
			if err != nil {
				t.Fatal(err)
			}
			shares = append(shares, *sh)
		}
		rows.Close()
		if bytes.Contains(estimate, []byte("5000000")) || bytes.Contains(envelope, []byte("4,800,000")) {
			t.Fatal("plaintext in the rows")
		}
		a, b := f.officers[0], f.officers[1]
		// The officer's own passphrase, used directly on the share, opens
		// nothing: shares are sealed under random passphrases.
		if _, err := sealedbid.Open(cert, shares, map[string][]byte{a: f.pass[a], b: f.pass[b]}); !errors.Is(err, sealedbid.ErrWrongPassphrase) {
			t.Errorf("officers' passphrases on the shares: %v", err)
		}
		pa, err := f.s.SharePassphrase(ctx, "kanto", tn.ID, a, f.pass[a])
		if err != nil {
			t.Fatal(err)
		}
		// One officer: not enough.
		if _, err := sealedbid.Open(cert, shares, map[string][]byte{a: pa}); !errors.Is(err, sealedbid.ErrNotEnoughShares) {
			t.Errorf("one officer's share: %v", err)
		}
		// A wrong passphrase is refused, naming the reason.
		if _, err := f.s.SharePassphrase(ctx, "kanto", tn.ID, b, []byte("not the passphrase at all")); ReasonOf(err) != ReasonWrongPass {
			t.Errorf("wrong passphrase: %v", err)
		}
		// k officers open the estimate and the bid.
		pb, err := f.s.SharePassphrase(ctx, "kanto", tn.ID, b, f.pass[b])
		if err != nil {
			t.Fatal(err)
		}
		op, err := sealedbid.Open(cert, shares, map[string][]byte{a: pa, b: pb})
		if err != nil {
			t.Fatal(err)
		}
		defer op.Close()
		est, err := op.Decrypt(estimate)
		if err != nil {
			t.Fatal(err)
		}
		var e Estimate
		if err := json.Unmarshal(est, &e); err != nil || e != (Estimate{Body: "kanto", Tender: tn.ID, Yen: 5_000_000}) {
			t.Errorf("estimate %s: %v", est, err)
		}
		if bid, err := op.Decrypt(envelope); err != nil || string(bid) != "the bid: 4,800,000 yen" {
			t.Errorf("bid %q: %v", bid, err)
		}
	})
}
