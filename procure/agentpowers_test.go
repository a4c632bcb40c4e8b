package procure

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestAgentPowers: the agent's page lists the powers in effect that name
// the signed-in agent and delegate a procurement matter — not another
// agent's, not a revoked one, not one for other matters — over the agent
// API, which believes only the agent's card login.
func TestAgentPowers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newAPIEnv(t, db)
		qualify := e.power(numberA, agentA, 365, MatterQualify, MatterBid, "保険料控除証明書")
		e.clock.add(time.Second) // newest first: the second power is signed a second later
		contract := e.power(numberA, agentA, 30, MatterContract)
		revoked := e.power(numberA, agentA, 365, MatterQualify)
		e.revoke(numberA, revoked)
		e.power(numberA, agentA, 365, "保険料控除証明書")
		e.power(numberA, agentB, 365, MatterQualify)

		got, err := e.client.AgentPowers(e.ctx, e.mint(agentA, nil))
		if err != nil {
			t.Fatal(err)
		}
		rq, rc := must(e.powers.Get(e.ctx, qualify)), must(e.powers.Get(e.ctx, contract))
		want := []AgentPower{
			{PowerID: contract, CorporateNumber: numberA, CorporationName: nameA, Matters: []string{MatterContract},
				NotBefore: rc.Power.NotBefore, NotAfter: rc.Power.NotAfter},
			{PowerID: qualify, CorporateNumber: numberA, CorporationName: nameA, Matters: []string{MatterQualify, MatterBid},
				NotBefore: rq.Power.NotBefore, NotAfter: rq.Power.NotAfter},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("the agent's powers (-want +got):\n%s", diff)
		}
		if !got[1].Has(MatterQualify) || got[0].Has(MatterQualify) || !got[0].Usable() {
			t.Errorf("Has: %+v", got)
		}
		// A company that closes drops out of the list; one that changes its
		// name stays, with its new name, so the agent knows why the power is
		// of no more use.
		e.corporation(numberC, "株式会社閉鎖予定")
		e.power(numberC, agentA, 365, MatterQualify)
		e.clock.add(time.Second)
		if err := e.reg.Close(e.ctx, numberC); err != nil {
			t.Fatal(err)
		}
		if err := e.reg.Rename(e.ctx, numberA, "株式会社新須坂商事", time.Time{}); err != nil {
			t.Fatal(err)
		}
		after, err := e.client.AgentPowers(e.ctx, e.mint(agentA, nil))
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			want[i].CurrentName = "株式会社新須坂商事"
		}
		if diff := cmp.Diff(want, after); diff != "" || after[0].Usable() {
			t.Errorf("after the closure of one company and the change of name of the other (-want +got):\n%s", diff)
		}

		none, err := e.client.AgentPowers(e.ctx, e.mint("pid-nobody", nil))
		if err != nil || len(none) != 0 {
			t.Errorf("a person with no power: %v %+v", err, none)
		}
		for name, assertion := range map[string]string{
			"no login":         "",
			"another terminal": e.mint(agentA, func(c *platform.Claims) { c.Terminal = "kiosk-1" }),
			"for a purpose":    e.mint(agentA, func(c *platform.Claims) { c.Purpose = "oidc" }),
			"not an assertion": "abc.def.ghi",
		} {
			if _, err := e.client.AgentPowers(e.ctx, assertion); !errors.Is(err, ErrAssertion) {
				t.Errorf("%s: %v, want ErrAssertion", name, err)
			}
		}
	})
}
