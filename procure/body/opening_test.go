package body

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/sealedbid"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// lowGrade is a grade of field whose band does not hold estimate.
func lowGrade(t testing.TB, field procure.Field, estimate int64) procure.Grade {
	for _, g := range grades() {
		if !g.Covers(field, estimate) {
			return g
		}
	}
	t.Fatal("every grade covers the estimate")
	return ""
}

// tamperKey flips a byte of the envelope's RSA-OAEP encrypted key (the
// 256-byte OCTET STRING): the key no longer decrypts.
func tamperKey(t testing.TB, env []byte) []byte {
	i := bytes.Index(env, []byte{0x04, 0x82, 0x01, 0x00})
	if i < 0 {
		t.Fatal("no encrypted key in the envelope")
	}
	out := bytes.Clone(env)
	out[i+4+100] ^= 0x01
	return out
}

// TestOpening: a full opening with a valid bid and a bid failing each of
// the opening's checks (a company renamed at corpreg before its bid was
// signed is name_mismatch; one renamed after, valid); the lowest valid price within the estimate wins;
// the result is stored once and published with the tender.
func TestOpening(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, 3)
		ctx := w.ctx
		deadline := t0.Add(time.Hour)
		tn := w.publish(t, deadline)
		grade := tn.Grade
		cert, _ := x509.ParseCertificate(tn.Certificate)
		want := map[string]Reason{} // bid ID → reason ("" valid)

		// Set-up at t0: businesses, powers, revocations.
		win := w.bidder(grade)
		over := w.bidder(grade)
		replaced := w.bidder(grade)
		badEnv := w.bidder(grade)
		tampered := w.bidder(grade)
		late := w.bidder(grade)
		mismatch := w.bidder(grade)
		other := w.bidder(grade)
		revokedCert := w.bidder(grade)
		revokedLater := w.bidder(grade)
		w.revoked[revokedCert.card.cert.SerialNumber.String()] = t0.Add(-time.Minute)
		w.revoked[revokedLater.card.cert.SerialNumber.String()] = t0.Add(30 * time.Minute)
		expired := w.bidder(grade)
		expired.power = w.power(expired.number, expired.name, expired.agent, t0.AddDate(0, 0, -10), t0.AddDate(0, 0, -1), false, procure.MatterBid)
		revokedPower := w.bidder(grade)
		w.revokePower(revokedPower.number, revokedPower.power.ID)
		outOfScope := w.bidder(grade)
		outOfScope.power = w.power(outOfScope.number, outOfScope.name, outOfScope.agent, t0.AddDate(0, 0, -1), t0.AddDate(1, 0, 0), false, procure.MatterContract)
		notAgent := w.bidder(grade)
		stranger := w.person("pid-stranger")
		sub := w.bidder(grade)
		sub.power = w.power(sub.number, sub.name, sub.agent, t0.AddDate(0, 0, -1), t0.AddDate(1, 0, 0), true, procure.MatterBid)
		subAgent := &bidder{number: sub.number, name: sub.name, agent: "pid-subagent"}
		subAgent.card = w.person(subAgent.agent)
		subAgent.power = w.subPower(sub.power, sub.card, subAgent.agent)
		renamed := w.bidder(grade)
		w.clock.Set(t0.Add(30 * time.Second))
		if err := w.reg.Rename(ctx, renamed.number, "株式会社新商号", time.Time{}); err != nil {
			t.Fatal(err)
		}
		renamedLater := w.bidder(grade)
		unqualified := w.bidder("")
		outlasts := w.bidder(grade)
		w.qualify(outlasts.number, outlasts.name, grade, t0.AddDate(0, 0, 30))
		lowG := w.bidder(lowGrade(t, procure.FieldSale, 5_000_000))

		w.clock.Set(t0.Add(time.Minute))
		add := func(rc *Receipt, r Reason) { want[rc.BidID] = r }
		add(w.bid(tn, win.number, win.content(tn, 4_000_000), win.card, nil), "")
		add(w.bid(tn, over.number, over.content(tn, 6_000_000), over.card, nil), ReasonOverEstimate)
		first := w.bid(tn, replaced.number, replaced.content(tn, 3_000_000), replaced.card, nil)
		add(first, ReasonReplaced)
		add(w.bid(tn, replaced.number, replaced.content(tn, 4_500_000), replaced.card, nil), "")
		// The envelope is changed in the database after it was received.
		rcBad := w.bid(tn, badEnv.number, badEnv.content(tn, 1_000_000), badEnv.card, nil)
		add(rcBad, ReasonBadEnvelope)
		var env []byte
		if err := db.QueryRowContext(ctx, `SELECT envelope FROM body_bids WHERE body = $1 AND id = $2`, "kanto", rcBad.BidID).Scan(&env); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Write(ctx, `UPDATE body_bids SET envelope = $1 WHERE body = $2 AND id = $3`, tamperKey(t, env), "kanto", rcBad.BidID); err != nil {
			t.Fatal(err)
		}
		// The signed bid is changed after signing (the price), then sealed.
		content, err := tampered.content(tn, 3_000_000).Canonical()
		if err != nil {
			t.Fatal(err)
		}
		signed, err := cms.Sign(ctx, content, tampered.card.sign(ctx, w.s.stamper))
		if err != nil {
			t.Fatal(err)
		}
		signed = bytes.Replace(signed, []byte(`"price_yen":3000000`), []byte(`"price_yen":1000000`), 1)
		sealedTampered, err := sealedbid.Seal(signed, cert)
		if err != nil {
			t.Fatal(err)
		}
		add(w.submit(tn, tampered.number, sealedTampered), ReasonBadSignature)
		add(w.bid(tn, late.number, late.content(tn, 1_000_000), late.card, w.lateStamper(deadline)), ReasonLate)
		add(w.bid(tn, other.number, mismatch.content(tn, 1_000_000), mismatch.card, nil), ReasonMismatch)
		add(w.bid(tn, revokedCert.number, revokedCert.content(tn, 1_000_000), revokedCert.card, nil), ReasonRevokedCert)
		add(w.bid(tn, revokedLater.number, revokedLater.content(tn, 4_900_000), revokedLater.card, nil), "")
		add(w.bid(tn, expired.number, expired.content(tn, 1_000_000), expired.card, nil), Reason(delegation.Expired))
		add(w.bid(tn, revokedPower.number, revokedPower.content(tn, 1_000_000), revokedPower.card, nil), Reason(delegation.Revoked))
		add(w.bid(tn, outOfScope.number, outOfScope.content(tn, 1_000_000), outOfScope.card, nil), Reason(delegation.OutOfScope))
		add(w.bid(tn, notAgent.number, notAgent.content(tn, 1_000_000), stranger, nil), Reason(delegation.NotAgent))
		add(w.bid(tn, subAgent.number, subAgent.content(tn, 1_000_000), subAgent.card, nil), ReasonSubDelegated)
		add(w.bid(tn, renamed.number, renamed.content(tn, 1_000_000), renamed.card, nil), ReasonNameMismatch)
		add(w.bid(tn, renamedLater.number, renamedLater.content(tn, 4_950_000), renamedLater.card, nil), "")
		add(w.bid(tn, unqualified.number, unqualified.content(tn, 1_000_000), unqualified.card, nil), ReasonNotQualified)
		add(w.bid(tn, outlasts.number, outlasts.content(tn, 1_000_000), outlasts.card, nil), ReasonPowerOutlasts)
		add(w.bid(tn, lowG.number, lowG.content(tn, 1_000_000), lowG.card, nil), ReasonGradeTooLow)

		// A change of name after the bid was signed leaves it valid.
		w.clock.Set(t0.Add(2 * time.Minute))
		if err := w.reg.Rename(ctx, renamedLater.number, "株式会社後の商号", time.Time{}); err != nil {
			t.Fatal(err)
		}
		// Before the deadline nobody opens.
		if _, err := w.s.Present(ctx, "kanto", tn.ID, w.officers[0], w.pass[w.officers[0]]); ReasonOf(err) != ReasonTooEarly {
			t.Fatalf("present before the deadline: %v", err)
		}
		w.clock.Set(deadline.Add(time.Minute))
		p1, err := w.s.Present(ctx, "kanto", tn.ID, w.officers[0], w.pass[w.officers[0]])
		if err != nil || p1.Result != nil || len(p1.Officers) != 1 || p1.Need != 2 {
			t.Fatalf("first officer: %+v %v", p1, err)
		}
		if _, err := w.s.Present(ctx, "kanto", tn.ID, w.officers[1], []byte("not my passphrase at all")); ReasonOf(err) != ReasonWrongPass {
			t.Fatalf("wrong passphrase: %v", err)
		}
		p2, err := w.s.Present(ctx, "kanto", tn.ID, w.officers[1], w.pass[w.officers[1]])
		if err != nil || p2.Result == nil {
			t.Fatalf("second officer: %+v %v", p2, err)
		}
		res := p2.Result
		got := map[string]Reason{}
		for _, b := range res.Bids {
			got[b.BidID] = b.Reason
			if b.Reason != "" && b.Reason != ReasonReplaced {
				if b.MessageJA == "" || b.MessageEN == "" {
					t.Errorf("bid %s: reason %s without its texts", b.BidID, b.Reason)
				}
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("reasons (-want +got):\n%s", diff)
		}
		winner := slices.IndexFunc(res.Bids, func(b BidResult) bool { return b.CorporateNumber == win.number })
		if res.Winner != res.Bids[winner].BidID || res.WinnerPriceYen != 4_000_000 || res.WinnerName != win.name || res.EstimateYen != 5_000_000 || res.Lot != nil {
			t.Errorf("award: %+v", res)
		}
		if !slices.Equal(res.Officers, w.officers[:2]) {
			t.Errorf("officers %v", res.Officers)
		}
		// Stored and published with the tender; a third officer (a double
		// submit) gets the same result.
		stored, err := w.s.Tender(ctx, "kanto", tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.State != StateAwarded || stored.OpenedAt == nil || stored.Result == nil || stored.Result.Winner != res.Winner {
			t.Errorf("stored tender: %+v", stored)
		}
		if diff := cmp.Diff(res, stored.Result, cmp.FilterPath(func(p cmp.Path) bool {
			return slices.Contains([]string{".Detail", ".PowerID", ".WinnerPower"}, p.Last().String())
		}, cmp.Ignore())); diff != "" {
			t.Errorf("stored result (-opened +stored):\n%s", diff)
		}
		p3, err := w.s.Present(ctx, "kanto", tn.ID, w.officers[2], w.pass[w.officers[2]])
		if err != nil || p3.Result == nil || p3.Result.Winner != res.Winner {
			t.Errorf("after the opening: %+v %v", p3, err)
		}
		// The certificate's status was asked once per certificate.
		if w.statusCalls > len(want) {
			t.Errorf("%d status look-ups for %d bids", w.statusCalls, len(want))
		}
		// No bids after the opening.
		if _, err := w.s.Submit(ctx, "kanto", tn.ID, win.number, seal(t, tn, "x"), "192.0.2.1"); ReasonOf(err) == "" {
			t.Error("a bid after the opening was taken")
		}
		audit, err := w.s.Audit(ctx, "kanto", tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		opens := 0
		for _, a := range audit {
			if a.Action == "open" && a.Outcome == "ok" {
				opens++
			}
		}
		if opens != 1 {
			t.Errorf("%d open rows", opens)
		}
	})
}

// TestOpeningLot: equal lowest prices are drawn by lot, the draw recorded.
func TestOpeningLot(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, 2)
		tn := w.publish(t, t0.Add(time.Hour))
		var tied []string
		for range 3 {
			b := w.bidder(tn.Grade)
			tied = append(tied, w.bid(tn, b.number, b.content(tn, 4_200_000), b.card, nil).BidID)
		}
		b := w.bidder(tn.Grade)
		w.bid(tn, b.number, b.content(tn, 4_300_000), b.card, nil)
		w.clock.Set(t0.Add(2 * time.Hour))
		res, err := w.s.OpenTender(w.ctx, "kanto", tn.ID, w.pass)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(tied)
		if res.Lot == nil || !slices.Equal(res.Lot.Tied, tied) || res.Lot.Value < 0 || res.Lot.Value >= 3 ||
			res.Lot.Winner != tied[res.Lot.Value] || res.Winner != res.Lot.Winner || res.WinnerPriceYen != 4_200_000 {
			t.Errorf("lot: %+v in %+v", res.Lot, res)
		}
		audit, _ := w.s.Audit(w.ctx, "kanto", tn.ID)
		if last := audit[len(audit)-1]; last.Action != "open" || !bytes.Contains([]byte(last.Detail), []byte("by lot among 3")) {
			t.Errorf("audit: %+v", last)
		}
	})
}

// TestOpeningNoAward: every valid price above the estimate is 不落.
func TestOpeningNoAward(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, 2)
		tn := w.publish(t, t0.Add(time.Hour))
		b := w.bidder(tn.Grade)
		w.bid(tn, b.number, b.content(tn, 5_000_001), b.card, nil)
		w.clock.Set(t0.Add(2 * time.Hour))
		res, err := w.s.OpenTender(w.ctx, "kanto", tn.ID, w.pass)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := w.s.Tender(w.ctx, "kanto", tn.ID)
		if res.Awarded() || res.Bids[0].Reason != ReasonOverEstimate || !res.Bids[0].Valid || st.State != StateOpened {
			t.Errorf("no award: %+v, state %s", res, st.State)
		}
	})
}

// TestOpeningQuorum: with k-1 officers nothing is decrypted — neither
// through the service nor straight from the database with one officer's
// passphrase — and nothing is stored.
func TestOpeningQuorum(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, 3)
		ctx := w.ctx
		tn := w.publish(t, t0.Add(time.Hour))
		b := w.bidder(tn.Grade)
		rc := w.bid(tn, b.number, b.content(tn, 4_000_000), b.card, nil)
		w.clock.Set(t0.Add(2 * time.Hour))
		one := map[string][]byte{w.officers[0]: w.pass[w.officers[0]]}
		if _, err := w.s.OpenTender(ctx, "kanto", tn.ID, one); ReasonOf(err) != ReasonQuorum {
			t.Fatalf("k-1 officers: %v", err)
		}
		// Straight from the database: the officer's share and the envelope.
		rows, err := w.s.Sealed(ctx, "kanto", tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		sp, err := w.s.SharePassphrase(ctx, "kanto", tn.ID, w.officers[0], w.pass[w.officers[0]])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sealedbid.Open(rows.Certificate, rows.Shares, map[string][]byte{w.officers[0]: sp}); !errors.Is(err, sealedbid.ErrNotEnoughShares) {
			t.Fatalf("one share opened: %v", err)
		}
		var env []byte
		if err := db.QueryRowContext(ctx, `SELECT envelope FROM body_bids WHERE body = $1 AND id = $2`, "kanto", rc.BidID).Scan(&env); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(env, []byte("4000000")) || bytes.Contains(env, []byte(b.number)) {
			t.Error("the stored envelope shows the bid")
		}
		st, _ := w.s.Tender(ctx, "kanto", tn.ID)
		if st.State != StateOpen || st.Result != nil {
			t.Errorf("after a failed opening: %+v", st)
		}
		// A non-officer cannot present.
		if _, err := w.s.Present(ctx, "kanto", tn.ID, "pid-nobody", []byte("whatever passphrase")); err == nil {
			t.Error("a non-officer presented")
		}
	})
}

// TestOpeningRestart: the shares wait in memory only. After a restart the
// first officer's share is gone: the second officer's is one of k, and
// the opening needs the first again. A share waits no longer than Wait.
func TestOpeningRestart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, 2)
		ctx := w.ctx
		tn := w.publish(t, t0.Add(time.Hour))
		b := w.bidder(tn.Grade)
		w.bid(tn, b.number, b.content(tn, 4_000_000), b.card, nil)
		w.clock.Set(t0.Add(2 * time.Hour))
		a, c := w.officers[0], w.officers[1]
		if p, err := w.s.Present(ctx, "kanto", tn.ID, a, w.pass[a]); err != nil || p.Result != nil {
			t.Fatalf("first: %+v %v", p, err)
		}
		// The process restarts: another Service on the same database.
		s2, err := New(ctx, w.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := s2.Waiting("kanto", tn.ID); len(got) != 0 {
			t.Fatalf("waiting after restart: %v", got)
		}
		p, err := s2.Present(ctx, "kanto", tn.ID, c, w.pass[c])
		if err != nil || p.Result != nil || !slices.Equal(p.Officers, []string{c}) {
			t.Fatalf("second after restart: %+v %v", p, err)
		}
		// The wait runs out.
		w.clock.Set(t0.Add(2*time.Hour + DefaultOpeningWait + time.Second))
		p, err = s2.Present(ctx, "kanto", tn.ID, a, w.pass[a])
		if err != nil || p.Result != nil || !slices.Equal(p.Officers, []string{a}) {
			t.Fatalf("after the wait: %+v %v", p, err)
		}
		p, err = s2.Present(ctx, "kanto", tn.ID, c, w.pass[c])
		if err != nil || p.Result == nil || !p.Result.Awarded() {
			t.Fatalf("k present: %+v %v", p, err)
		}
		if got := s2.Waiting("kanto", tn.ID); len(got) != 0 {
			t.Errorf("shares still wait: %v", got)
		}
	})
}

// TestOpeningRace: openings racing store one result; every caller gets it.
func TestOpeningRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, 2)
		tn := w.publish(t, t0.Add(time.Hour))
		for range 2 {
			b := w.bidder(tn.Grade)
			w.bid(tn, b.number, b.content(tn, 4_000_000), b.card, nil) // a tie: each opening draws its own lot
		}
		w.clock.Set(t0.Add(2 * time.Hour))
		const n = 4
		results := make([]*Result, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { results[i], errs[i] = w.s.OpenTender(w.ctx, "kanto", tn.ID, w.pass) })
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if results[i].Winner != results[0].Winner || results[i].Lot.Value != results[0].Lot.Value {
				t.Errorf("opening %d: winner %s, first %s", i, results[i].Winner, results[0].Winner)
			}
		}
		st, _ := w.s.Tender(w.ctx, "kanto", tn.ID)
		if st.Result.Winner != results[0].Winner {
			t.Errorf("stored winner %s, answered %s", st.Result.Winner, results[0].Winner)
		}
	})
}

// TestBidContent: the canonical form round-trips; anything else is refused.
func TestBidContent(t *testing.T) {
	good := &BidContent{Body: "kanto", Tender: "abc123", CorporateNumber: corpA, CorporationName: "株式会社須坂テスト商事", PriceYen: 4_000_000,
		PowerID: "p0123456789abcdef", AgentPlatformID: "pid-agent"}
	c, err := good.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseBid(c)
	if err != nil || *got != *good {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for name, raw := range map[string]string{
		"spaces":       string(bytes.Replace(c, []byte(`,"tender"`), []byte(`, "tender"`), 1)),
		"extra member": string(bytes.Replace(c, []byte(`}`), []byte(`,"x":1}`), 1)),
		"type":         string(bytes.Replace(c, []byte(BidType), []byte("mynaplat-procure-bid/2"), 1)),
		"price":        string(bytes.Replace(c, []byte(`4000000`), []byte(`-4000000`), 1)),
		"number":       string(bytes.Replace(c, []byte(corpA), []byte("4010001000012"), 1)),
		"two":          string(c) + string(c),
		"order":        `{"type":"` + BidType + `","tender":"abc123","body":"kanto"}`,
	} {
		if _, err := ParseBid([]byte(raw)); !errors.Is(err, ErrInvalidBid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzParseBid: whatever ParseBid accepts is canonical.
func FuzzParseBid(f *testing.F) {
	c, _ := (&BidContent{Body: "kanto", Tender: "abc", CorporateNumber: corpA, CorporationName: "株式会社", PriceYen: 1,
		PowerID: "p1", AgentPlatformID: "a1"}).Canonical()
	f.Add(c)
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := ParseBid(raw)
		if err != nil {
			return
		}
		again, err := b.Canonical()
		if err != nil || !bytes.Equal(again, raw) {
			t.Fatalf("accepted %q, canonical %q (%v)", raw, again, err)
		}
	})
}

// openingCost publishes a tender in w, has n valid bids made, and opens
// it: the wall time and the process's CPU time of the opening.
func openingCost(t testing.TB, w *world, n int) (time.Duration, float64, *Result) {
	w.clock.Set(t0)
	tn := w.publish(t, t0.Add(time.Hour))
	for i := range n {
		b := w.bidder(tn.Grade)
		w.bid(tn, b.number, b.content(tn, int64(3_000_000+i)), b.card, nil)
	}
	w.clock.Set(t0.Add(2 * time.Hour))
	start, cpu := time.Now(), cpuSeconds()
	res, err := w.s.OpenTender(context.Background(), "kanto", tn.ID, w.pass)
	if err != nil {
		t.Fatal(err)
	}
	return time.Since(start), cpuSeconds() - cpu, res
}

// TestOpeningCost: openings of 20 and of 200 bids, decrypted and checked
// (signatures, time-stamps, powers, names, qualifications); reports the
// fixed part (the officers' Argon2id unsealing) and the cost a bid, and
// extrapolates to 1,000 bids. First with every role in process, then with
// the delegation register and the corporate registry behind their HTTP
// APIs and clients (as the bodies role reads them; the JPKI status and
// the qualification register stay stand-ins).
func TestOpeningCost(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, 2)
		report := func(how string) {
			const small, large = 20, 200
			d1, c1, _ := openingCost(t, w, small)
			d2, c2, res := openingCost(t, w, large)
			for _, b := range res.Bids {
				if !b.Valid {
					t.Fatalf("bid %+v", b)
				}
			}
			perBid := (d2 - d1) / (large - small)
			fixed := d1 - perBid*small
			cpuBid := (c2 - c1) / (large - small)
			cpuFixed := c1 - cpuBid*small
			t.Logf("%s: wall %v (%d bids), %v (%d); fixed %v, %v a bid; 1,000 bids ≈ %.2f s", how, d1.Round(time.Millisecond), small,
				d2.Round(time.Millisecond), large, fixed.Round(time.Millisecond), perBid.Round(10*time.Microsecond), (fixed + 1000*perBid).Seconds())
			t.Logf("%s: CPU %.2f s, %.2f s; fixed %.2f s, %.2f ms a bid; 1,000 bids ≈ %.2f CPU-s, ≈ %.2f s on 2 idle cores", how,
				c1, c2, cpuFixed, cpuBid*1000, cpuFixed+1000*cpuBid, cpuFixed/2+1000*cpuBid/2)
		}
		report("in process")
		mux := http.NewServeMux()
		w.powers.Routes(mux)
		w.reg.Routes(mux)
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		w.s.opening.Powers = &delegation.Client{BaseURL: srv.URL}
		w.s.opening.Corporations = &corpreg.Client{BaseURL: srv.URL}
		report("over HTTP")
	})
}

// TestOpeningPages: two opening officers, each signed in on their own
// session, enter their passphrases on the tender's office page; the first
// waits, the second opens; the public page, the tender's JSON and the
// Atom feed show the result.
func TestOpeningPages(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t), 2)
	tn := w.publish(t, t0.Add(time.Hour))
	win, lose := w.bidder(tn.Grade), w.bidder(tn.Grade)
	w.bid(tn, win.number, win.content(tn, 4_000_000), win.card, nil)
	w.bid(tn, lose.number, lose.content(tn, 6_000_000), lose.card, nil)
	srv, iss := officeServer(t, w.fixture, w.officers...)
	home := OfficeHome("kanto")
	loc := home + "tenders/" + tn.ID
	var cs []*webtest.Client
	for _, o := range w.officers {
		c := webtest.New(t, srv.URL)
		iss.SignInAs(c, home, o, time.Now())
		cs = append(cs, c)
	}
	cs[0].Step(webtest.Step{Name: "before the deadline", Path: loc, WantNotContains: []string{`id="open-form"`}})
	cs[0].Step(webtest.Step{Name: "open before the deadline", Path: loc + "/open", Form: url.Values{"passphrase": {string(w.pass[w.officers[0]])}},
		WantStatus: http.StatusUnprocessableEntity, WantContains: []string{"期限がまだ来ていない"}})
	w.clock.Set(t0.Add(2 * time.Hour))
	cs[0].Step(webtest.Step{Name: "opening form", Path: loc, WantContains: []string{`id="open-form"`, `data-count="0"`}})
	cs[0].Step(webtest.Step{Name: "wrong passphrase", Path: loc + "/open", Form: url.Values{"passphrase": {"wrong wrong wrong"}},
		WantStatus: http.StatusUnprocessableEntity, WantNotContains: []string{"wrong wrong wrong"}})
	cs[0].Step(webtest.Step{Name: "first officer", Path: loc + "/open", Form: url.Values{"passphrase": {string(w.pass[w.officers[0]])}},
		WantStatus: http.StatusSeeOther})
	cs[1].Step(webtest.Step{Name: "one waits", Path: loc, WantContains: []string{`data-count="1"`, "担当官A"}})
	pub := webtest.New(t, srv.URL)
	pub.Step(webtest.Step{Name: "no result yet", Path: "/bodies/kanto/tenders/" + tn.ID, WantNotContains: []string{`id="result"`, "4,000,000"}})
	cs[1].Step(webtest.Step{Name: "second officer opens", Path: loc + "/open", Form: url.Values{"passphrase": {string(w.pass[w.officers[1]])}},
		WantStatus: http.StatusSeeOther})
	cs[1].Step(webtest.Step{Name: "opened", Path: loc, WantContains: []string{`id="result-link"`}, WantNotContains: []string{`id="open-form"`}})
	pub.Step(webtest.Step{Name: "result", Path: "/bodies/kanto/tenders/" + tn.ID, WantContains: []string{`id="result"`, "5,000,000円",
		"4,000,000円", "6,000,000円", win.name, "入札価格が予定価格を超えています", "開札済み・落札"}})
	pub.Step(webtest.Step{Name: "list", Path: "/bodies/kanto/tenders", WantContains: []string{"落札"}})
	js := pub.Step(webtest.Step{Name: "json", Path: "/bodies/kanto/v1/tenders/" + tn.ID})
	var got Tender
	if err := json.Unmarshal([]byte(js.Body), &got); err != nil {
		t.Fatal(err)
	}
	if got.State != StateAwarded || got.Result == nil || got.Result.WinnerNumber != win.number || len(got.Result.Bids) != 2 {
		t.Errorf("JSON: %+v", got)
	}
	pub.Step(webtest.Step{Name: "feed", Path: "/bodies/kanto/tenders.atom", WantContains: []string{"【落札 awarded】", win.name, "4,000,000円"}})
}

// TestOpeningWaitTimer: a share nobody comes back for is cleared when the
// wait runs out, by a timer, not only when the next officer comes.
func TestOpeningWaitTimer(t *testing.T) {
	w := newWorld(t, storetest.SQLite(t), 2)
	tn := w.publish(t, t0.Add(time.Hour))
	w.clock.Set(t0.Add(2 * time.Hour))
	w.s.opening.Wait = 50 * time.Millisecond
	a := w.officers[0]
	if _, err := w.s.Present(w.ctx, "kanto", tn.ID, a, w.pass[a]); err != nil {
		t.Fatal(err)
	}
	if got := w.s.Waiting("kanto", tn.ID); !slices.Equal(got, []string{a}) {
		t.Fatalf("waiting %v", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		w.s.mu.Lock()
		n := len(w.s.waiting)
		w.s.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the share still waits after the wait ran out")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
