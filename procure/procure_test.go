package procure

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

const (
	agentA  = "pid-agent-a"
	agentB  = "pid-agent-b"
	officer = "procure:審査 太郎"
)

// countRows counts the rows of the register's tables, to show a refusal
// wrote nothing but its audit row.
func countRows(t *testing.T, db *store.DB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, tb := range []string{"procure_businesses", "procure_applications", "procure_application_versions", "procure_ratings",
		"procure_qualifications", "procure_qualification_fields", "procure_audit"} {
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM " + tb).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[tb] = n
	}
	return out
}

func TestApplyRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		cardA, cardB := e.person(agentA), e.person(agentB)
		good := e.power(numberA, agentA, 365, MatterQualify, MatterBid)
		bidOnly := e.power(numberA, agentA, 365, MatterBid)
		revoked := e.power(numberA, agentA, 365, MatterQualify)
		e.revoke(numberA, revoked)
		short := e.power(numberA, agentA, 1, MatterQualify)

		with := func(f func(a *Application)) []byte {
			a := application(good)
			a.normalize()
			f(a)
			return raw(a)
		}
		tests := []struct {
			name    string
			agent   string
			card    *signer
			content []byte
			signed  []byte
			before  func()
			want    Reason
		}{
			{name: "not a CMS", agent: agentA, signed: []byte("not a signature"), want: ReasonBadSignature},
			{name: "not an application", agent: agentA, card: cardA, content: []byte(`{"type":"something else"}`), want: ReasonInvalid},
			{name: "not canonical", agent: agentA, card: cardA, content: with(func(a *Application) { a.Regions = []string{"東海・北陸", "関東・甲信越"} }), want: ReasonInvalid},
			{name: "unknown item", agent: agentA, card: cardA, content: with(func(a *Application) { a.Fields[0].Items = []string{"宇宙旅行"} }), want: ReasonInvalid},
			{name: "no field", agent: agentA, card: cardA, content: with(func(a *Application) { a.Fields = nil }), want: ReasonInvalid},
			{name: "bad founding date", agent: agentA, card: cardA, content: with(func(a *Application) { a.Founded = "平成10年" }), want: ReasonInvalid},
			{name: "negative sales", agent: agentA, card: cardA, content: with(func(a *Application) { a.Financials.AverageSalesYen = -1 }), want: ReasonInvalid},
			{name: "no tax declaration", agent: agentA, card: cardA, content: with(func(a *Application) { a.TaxDeclared = false }), want: ReasonTax},
			{name: "unknown corporation", agent: agentA, card: cardA, content: with(func(a *Application) { a.CorporateNumber = numberC }), want: ReasonUnknownCorporation},
			{name: "closed corporation", agent: agentA, card: cardA, content: with(func(a *Application) { a.CorporateNumber = numberB }), want: ReasonCorporationClosed},
			{name: "unknown power", agent: agentA, card: cardA, content: with(func(a *Application) { a.PowerID = "0123456789abcdef0123456789abcdef" }), want: Reason(delegation.UnknownPower)},
			{name: "someone else's power", agent: agentB, card: cardB, content: with(func(*Application) {}), want: ReasonNotSigner},
			{name: "signed with another card", agent: agentA, card: cardB, content: with(func(*Application) {}), want: Reason(delegation.NotAgent)},
			{name: "matter not delegated", agent: agentA, card: cardA, content: with(func(a *Application) { a.PowerID = bidOnly }), want: Reason(delegation.OutOfScope)},
			{name: "revoked power", agent: agentA, card: cardA, content: with(func(a *Application) { a.PowerID = revoked }), want: Reason(delegation.Revoked)},
			{name: "expired power", agent: agentA, card: cardA, content: with(func(a *Application) { a.PowerID = short }),
				before: func() { e.clock.add(48 * time.Hour) }, want: Reason(delegation.Expired)},
			{name: "renewal without qualification", agent: agentA, card: cardA, content: with(func(a *Application) { a.Kind = KindRenewal }), want: ReasonNotRenewable},
		}
		start := e.clock.t
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e.clock.t = start
				if tt.before != nil {
					tt.before()
				}
				signed := tt.signed
				if signed == nil {
					signed = e.sign(tt.content, tt.card)
				}
				before := countRows(t, db)
				_, err := e.svc.Apply(e.ctx, ApplyRequest{AgentPlatformID: tt.agent, Signed: signed})
				if !errors.Is(err, ErrRefused) || ReasonOf(err) != tt.want {
					t.Fatalf("Apply: %v, want reason %s", err, tt.want)
				}
				r, _ := errors.AsType[*Refusal](err)
				if r.MessageJA == "" || r.MessageEN == "" {
					t.Errorf("refusal %s without its texts", r.Reason)
				}
				after := countRows(t, db)
				before["procure_audit"]++
				if diff := cmp.Diff(before, after); diff != "" {
					t.Errorf("a refusal wrote more than its audit row (-want +got):\n%s", diff)
				}
			})
		}
	})
}

func TestApplyStateRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		card := e.person(agentA)
		power := e.power(numberA, agentA, 3*365, MatterQualify)
		f := e.mustApply(agentA, card, application(power))
		if _, err := e.apply(agentA, card, e.canonical(application(power))); ReasonOf(err) != ReasonAlreadyOpen {
			t.Fatalf("second application while one is open: %v", err)
		}
		e.grant(f.ApplicationID, 730)
		if _, err := e.apply(agentA, card, e.canonical(application(power))); ReasonOf(err) != ReasonAlreadyQualified {
			t.Fatalf("new application while qualified: %v", err)
		}
		renewal := application(power)
		renewal.Kind = KindRenewal
		if _, err := e.apply(agentA, card, e.canonical(renewal)); ReasonOf(err) != ReasonAlreadyQualified {
			t.Fatalf("renewal before its window: %v", err)
		}
	})
}

func TestReviewAndRenewal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		card := e.person(agentA)
		power := e.power(numberA, agentA, 3*365, MatterQualify, MatterBid)
		f := e.mustApply(agentA, card, application(power))
		if f.Version != 1 || len(f.Ratings) != 2 {
			t.Fatalf("filed %+v", f)
		}
		list := must(e.svc.Applications(e.ctx, StateSubmitted))
		if len(list) != 1 || list[0].ID != f.ApplicationID || list[0].Name != nameA {
			t.Fatalf("submitted list %+v", list)
		}
		d := must(e.svc.Application(e.ctx, officer, f.ApplicationID))
		if d.Application.PowerID != power || d.Representative != "須坂 一郎" || len(d.Ratings) != 2 {
			t.Fatalf("detail %+v", d)
		}

		// A correction: the agent sees it and signs a new version.
		if err := e.svc.AskCorrection(e.ctx, officer, f.ApplicationID, "営業年数を確認してください。", "Check the years in business."); err != nil {
			t.Fatal(err)
		}
		mine := must(e.svc.AgentApplications(e.ctx, agentA))
		if len(mine) != 1 || mine[0].State != StateCorrection || mine[0].NoteEN != "Check the years in business." {
			t.Fatalf("agent's list %+v", mine)
		}
		if _, err := e.svc.Grant(e.ctx, officer, f.ApplicationID, e.clock.now(), e.clock.days(730)); ReasonOf(err) != ReasonNotOpen {
			t.Fatalf("grant while in correction: %v", err)
		}
		fixed := application(power)
		fixed.Financials.Years = 26
		f2 := e.mustApply(agentA, card, fixed)
		if f2.ApplicationID != f.ApplicationID || f2.Version != 2 {
			t.Fatalf("correction filed as %+v", f2)
		}

		// Refusals of the review.
		for _, tt := range []struct {
			name string
			err  error
			want Reason
		}{
			{"empty period", func() error {
				_, err := e.svc.Grant(e.ctx, officer, f.ApplicationID, e.clock.now(), e.clock.now())
				return err
			}(), ReasonBadPeriod},
			{"period in the past", func() error {
				_, err := e.svc.Grant(e.ctx, officer, f.ApplicationID, e.clock.days(-30), e.clock.days(-1))
				return err
			}(), ReasonBadPeriod},
			{"refusal without a listed reason", e.svc.Refuse(e.ctx, officer, f.ApplicationID, "because", ""), ReasonBadDecision},
			{"other without a note", e.svc.Refuse(e.ctx, officer, f.ApplicationID, RefuseOther, " "), ReasonBadDecision},
			{"correction without English", e.svc.AskCorrection(e.ctx, officer, f.ApplicationID, "直してください。", ""), ReasonBadDecision},
		} {
			if ReasonOf(tt.err) != tt.want {
				t.Errorf("%s: %v, want %s", tt.name, tt.err, tt.want)
			}
		}
		if err := e.svc.Refuse(e.ctx, officer, "no-such-application", RefuseTaxUnpaid, ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("refuse an unknown application: %v", err)
		}

		qid := e.grant(f.ApplicationID, 730)
		q := must(e.svc.Qualification(e.ctx, numberA))
		if q.ID != qid || q.Code != "0000000001" || q.Name != nameA || q.Founded != "1998-04-01" || len(q.Fields) != 2 {
			t.Fatalf("qualification %+v", q)
		}
		want, _ := Rate(FieldService, fixed.Financials.Financials(FieldService))
		if q.Grade(FieldService) != want.Grade || q.Grade(FieldManufacture) != "" {
			t.Errorf("grades %+v, want service %s", q.Fields, want.Grade)
		}
		if err := e.svc.Refuse(e.ctx, officer, f.ApplicationID, RefuseTaxUnpaid, ""); ReasonOf(err) != ReasonNotOpen {
			t.Errorf("refuse a granted application: %v", err)
		}

		// Renewal, in its window: the new qualification starts when the old
		// one ends; until then the old one is the answer.
		e.clock.t = q.ValidUntil.Add(-30 * 24 * time.Hour)
		renewal := application(power)
		renewal.Kind = KindRenewal
		f3 := e.mustApply(agentA, card, renewal)
		qid2, err := e.svc.Grant(e.ctx, officer, f3.ApplicationID, q.ValidUntil.Add(time.Second), q.ValidUntil.AddDate(2, 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		if got := must(e.svc.Qualification(e.ctx, numberA)); got.ID != qid {
			t.Errorf("before the renewal starts: %s, want the old %s", got.ID, qid)
		}
		if got := must(e.svc.QualificationAt(e.ctx, numberA, q.ValidUntil.Add(time.Hour))); got.ID != qid2 || got.Code != q.Code {
			t.Errorf("after: %+v, want %s with the same code", got, qid2)
		}
		if _, err := e.svc.QualificationAt(e.ctx, numberA, q.ValidUntil.AddDate(3, 0, 0)); !errors.Is(err, ErrNotFound) {
			t.Errorf("after both ended: %v", err)
		}

		// Every officer's read and decision is in the audit trail.
		var actions []string
		for _, a := range must(e.svc.Audit(e.ctx, f.ApplicationID)) {
			actions = append(actions, a.Actor+" "+a.Action+" "+a.Outcome)
		}
		wantActions := []string{"agent:" + agentA + " apply filed", officer + " read ok", officer + " correction ok",
			officer + " grant refused", "agent:" + agentA + " apply filed",
			officer + " grant refused", officer + " grant refused", officer + " refuse refused", officer + " refuse refused",
			officer + " correction refused", officer + " grant ok", officer + " refuse refused"}
		if diff := cmp.Diff(wantActions, actions); diff != "" {
			t.Errorf("audit (-want +got):\n%s", diff)
		}
	})
}

func TestCardRenewalKeepsPower(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		power := e.power(numberA, agentA, 365, MatterQualify)
		f := e.mustApply(agentA, e.person(agentA), application(power))
		if err := e.svc.AskCorrection(e.ctx, officer, f.ApplicationID, "確認", "Check"); err != nil {
			t.Fatal(err)
		}
		// A new card: a new signing certificate that the platform resolves
		// to the same platform ID.
		if f2 := e.mustApply(agentA, e.person(agentA), application(power)); f2.Version != 2 {
			t.Fatalf("after the card's renewal: %+v", f2)
		}
	})
}

// TestConcurrentApplications: two agents' applications for one business
// filed at once: one is filed, the other refused already_open, and
// nothing of the refused one is written.
func TestConcurrentApplications(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		var signed [2][]byte
		for i, agent := range []string{agentA, agentB} {
			power := e.power(numberA, agent, 365, MatterQualify)
			signed[i] = e.sign(e.canonical(application(power)), e.person(agent))
		}
		errs := make(chan error, 2)
		for i, agent := range []string{agentA, agentB} {
			go func() {
				_, err := e.svc.Apply(e.ctx, ApplyRequest{AgentPlatformID: agent, Signed: signed[i]})
				errs <- err
			}()
		}
		var filed, open int
		for range 2 {
			switch err := <-errs; {
			case err == nil:
				filed++
			case ReasonOf(err) == ReasonAlreadyOpen:
				open++
			default:
				t.Errorf("Apply: %v", err)
			}
		}
		if filed != 1 || open != 1 {
			t.Fatalf("%d filed, %d refused already_open; want 1 and 1", filed, open)
		}
		rows := countRows(t, db)
		if rows["procure_applications"] != 1 || rows["procure_application_versions"] != 1 || rows["procure_ratings"] != 2 {
			t.Errorf("rows after the race: %v", rows)
		}
	})
}

// TestEquipmentOnlyForManufacture: an application for 物品の製造 and 役務の
// 提供等 with equipment is rated with the equipment in manufacture only
// (Rate refuses it elsewhere), and filed.
func TestEquipmentOnlyForManufacture(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	a := application(e.power(numberA, agentA, 365, MatterQualify))
	a.Fields = []FieldItems{{Field: FieldManufacture, Items: []string{"電子計算機類"}}, {Field: FieldService, Items: []string{"情報処理"}}}
	a.Financials.EquipmentYen = 50_000_000
	f := e.mustApply(agentA, e.person(agentA), a)
	want, err := Rate(FieldManufacture, a.Financials.Financials(FieldManufacture))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Ratings) != 2 || f.Ratings[0].Field != FieldManufacture || f.Ratings[0].Total != want.Total {
		t.Errorf("ratings %+v, want manufacture first with %d points", f.Ratings, want.Total)
	}
}
