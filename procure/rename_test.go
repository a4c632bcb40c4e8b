package procure

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestNameRuleAcrossRename runs the name rule (docs/procurement.md §3 rule
// 3) against the real registry's change of name: the name that counts is
// the one in effect at the application's time-stamp. A power in the former
// name covers an application signed the second before the change took
// effect, even when it is filed after the change was registered, and is
// refused name_mismatch for one signed at the instant of the change or
// later; a power granted after the change, in the new name (by the
// representative certified again), is accepted.
func TestNameRuleAcrossRename(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		card := e.person(agentA)
		former := e.power(numberA, agentA, 365, MatterQualify)
		const newName = "株式会社新須坂商事"

		e.clock.add(time.Minute)
		change := e.clock.now()
		e.clock.add(-time.Second)
		signedBefore := e.sign(e.canonical(application(former)), card)
		e.clock.add(time.Second)
		signedAt := e.sign(e.canonical(application(former)), card)
		e.clock.add(time.Hour) // registered an hour after it took effect
		if err := e.reg.Rename(e.ctx, numberA, newName, change); err != nil {
			t.Fatal(err)
		}
		signedAfter := e.sign(e.canonical(application(former)), card)

		for name, signed := range map[string][]byte{"at the instant of the change": signedAt, "after the change": signedAfter} {
			before := countRows(t, db)
			_, err := e.svc.Apply(e.ctx, ApplyRequest{AgentPlatformID: agentA, Signed: signed})
			if ReasonOf(err) != ReasonNameMismatch {
				t.Fatalf("power in the former name, application signed %s: %v, want %s", name, err, ReasonNameMismatch)
			}
			before["procure_audit"]++
			if diff := cmp.Diff(before, countRows(t, db)); diff != "" {
				t.Errorf("a refusal wrote more than its audit row (-want +got):\n%s", diff)
			}
		}
		f, err := e.svc.Apply(e.ctx, ApplyRequest{AgentPlatformID: agentA, Signed: signedBefore})
		if err != nil {
			t.Fatalf("power in the former name, application signed the second before the change: %v", err)
		}
		if !f.SignedAt.Equal(change.Add(-time.Second)) {
			t.Errorf("signed at %s, want %s", f.SignedAt, change.Add(-time.Second))
		}

		// The officer asks for a correction; the representative is certified
		// in the new name and grants a new power, under which it is filed.
		if err := e.svc.AskCorrection(e.ctx, officer, f.ApplicationID, "営業年数を確認してください。", "Check the years in business."); err != nil {
			t.Fatal(err)
		}
		if _, err := e.apply(agentA, card, e.canonical(application(former))); ReasonOf(err) != ReasonNameMismatch {
			t.Fatalf("correction under the power in the former name: %v, want %s", err, ReasonNameMismatch)
		}
		e.clock.add(time.Second)
		e.appoint(numberA)
		renamed := e.power(numberA, agentA, 365, MatterQualify)
		rec, err := e.powers.Get(e.ctx, renamed)
		if err != nil || rec.Power.Principal.CorporationName != newName {
			t.Fatalf("the new power: %v %+v", err, rec)
		}
		f2 := e.mustApply(agentA, card, application(renamed))
		if f2.ApplicationID != f.ApplicationID || f2.Version != 2 {
			t.Errorf("correction filed as %s v%d, want %s v2", f2.ApplicationID, f2.Version, f.ApplicationID)
		}
	})
}
