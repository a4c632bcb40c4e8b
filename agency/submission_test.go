package agency_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/agency"
	"github.com/mynaplat/mynaplat/internal/pbworld"
	"github.com/mynaplat/mynaplat/postbox"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/verify"
)

// docView is what a test checks of one stored document and its report.
type docView struct {
	Name, Type, From string
	Indication       verify.Indication
	Sub              verify.SubIndication
	Signer           string
	Delegation       *verify.Delegation
}

func viewOf(d *agency.Doc) docView {
	v := docView{Name: d.Name, Type: d.Type, From: d.From, Indication: d.Report.Indication, Sub: d.Report.SubIndication,
		Delegation: d.Report.Delegation}
	if d.Report.Signer != nil {
		v.Signer = d.Report.Signer.Name
	}
	return v
}

// stored is the agency's one submission of a send, as staff see it.
func stored(t *testing.T, w *pbworld.World, sendID string) *agency.Submission {
	t.Helper()
	ctx := context.Background()
	subs, err := w.Agency.Submissions(ctx, pbworld.TaxSakata.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	var found *agency.Submission
	for _, s := range subs {
		if s.SendID == sendID {
			if found != nil {
				t.Fatalf("two submissions of send %s", sendID)
			}
			found = s
		}
	}
	if found == nil {
		t.Fatalf("the agency has no submission of send %s (has %d)", sendID, len(subs))
	}
	sub, err := w.Agency.Submission(ctx, pbworld.TaxSakata.ID, found.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// checkMessages fails unless every report that is not TOTAL_PASSED says why
// in Japanese and in English.
func checkMessages(t *testing.T, sub *agency.Submission) {
	t.Helper()
	for _, d := range sub.Documents {
		r := d.Report
		if r.MessageJA == "" || r.MessageEN == "" {
			t.Errorf("%s: report without a Japanese or English message: %+v", d.Name, r)
		}
		if dl := r.Delegation; dl != nil && dl.Result != verify.DelegationUnavailable && (dl.MessageJA == "" || dl.MessageEN == "") {
			t.Errorf("%s: delegation without a Japanese or English message: %+v", d.Name, dl)
		}
	}
}

// passedDelegation is the delegation part of a report of 日本生命's
// certificate under the scene's power.
func passedDelegation(p *pbworld.Scene) *verify.Delegation {
	ja, en := "委任状は有効です。書類の署名者は、この書類について法人を代理する権限を持っています。",
		"The power of attorney is valid: the document's signer may act for the corporation on this document."
	return &verify.Delegation{Result: verify.DelegationPassed, MessageJA: ja, MessageEN: en, PowerID: p.Power.ID,
		Corporation: pbworld.Nissay.NameJA, CorporateNumber: pbworld.Nissay.Number, Representative: pbworld.Nissay.Representative,
		Agent: pbworld.Yumi.Name, Powers: []string{pbworld.KojoType}, NotBefore: p.Power.NotBefore, NotAfter: p.Power.NotAfter}
}

func TestSubmissionPassed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := pbworld.New(t, db)
		sc := w.Demo()
		kojo := w.Document(sc.Box, sc.KojoID)
		send, err := w.Submit(sc.Ichiro, sc.Box, pbworld.TaxSakata.ID, kojo)
		if err != nil {
			t.Fatal(err)
		}
		if n := w.DeliverDue(); n != 1 {
			t.Fatalf("DeliverDue acknowledged %d sends, want 1", n)
		}
		sub := stored(t, w, send.ID)
		var got []docView
		for _, d := range sub.Documents {
			got = append(got, viewOf(d))
		}
		want := []docView{
			{Name: "application", Type: pbworld.ApplicationType, Indication: verify.TotalPassed, Signer: pbworld.Ichiro.Name},
			{Name: sc.KojoID, Type: pbworld.KojoType, From: "nissay", Indication: verify.TotalPassed, Signer: pbworld.Yumi.Name,
				Delegation: passedDelegation(sc)},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("stored documents (-want +got):\n%s", diff)
		}
		if !sub.BundleOK || sub.Overall != verify.TotalPassed || !sub.Passed() {
			t.Errorf("submission overall %s, bundle %v, want TOTAL_PASSED and a whole bundle", sub.Overall, sub.BundleOK)
		}
		if sub.Applicant != pbworld.Ichiro.Name || sub.Deliveries != 1 || sub.Subject != "令和8年分 所得税の確定申告書" {
			t.Errorf("submission %+v", sub)
		}
		checkMessages(t, sub)
		for _, d := range sub.Documents {
			if r := d.Report; r.SigningTime == nil || r.TSA == "" || !strings.HasPrefix(r.Revocation, "good") {
				t.Errorf("%s: signing time %v, TSA %q, revocation %q", d.Name, r.SigningTime, r.TSA, r.Revocation)
			}
		}
		// The post box's log: queued, then acknowledged with the receipt.
		sends, err := w.Postbox.Sends(context.Background(), sc.Box)
		if err != nil {
			t.Fatal(err)
		}
		if len(sends) != 1 || sends[0].State != postbox.StateDelivered || sends[0].Receipt != sub.Receipt {
			t.Fatalf("sends %+v, want one delivered with receipt %s", sends, sub.Receipt)
		}
	})
}
