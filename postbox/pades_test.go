package postbox_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mynaplat/mynaplat/business"
	"github.com/mynaplat/mynaplat/internal/pbworld"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/verify"
)

// TestResidentReadsPDF: 日本生命's employee issues a 保険料控除証明書 as a PDF
// her card certifies (DocMDP P=1), made PAdES B-LTA before it is sent; the box shows it and
// validates it with the power of attorney of the party that delivered it
// (a PDF's content names no issuer the validator reads), and the report
// names the signature time-stamp and the certification.
func TestResidentReadsPDF(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newResidentEnv(t, db)
		req := pbworld.KojoRequest("kojo-pdf-R8", e.sc.Power.ID, pbworld.Yumi.Name)
		req.PDF, req.Title = true, "令和8年分 個人年金保険料控除証明書"
		id, err := e.w.Issue(e.sc.Yumi, "nissay", req)
		if err != nil {
			t.Fatal(err)
		}
		ichiro := e.client(e.session(t, e.sc.Ichiro.Assertion))
		d, err := ichiro.Document(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		r := d.Report
		if d.Document.Format != verify.FormatPAdES || string(d.Document.Data[:5]) != "%PDF-" {
			t.Fatalf("format %q", d.Document.Format)
		}
		// The firm made it B-LTA before it sent it (business.Service.sign).
		if !r.Passed() || r.Level != "B-LTA" || r.Certification == nil || r.Certification.P != 1 ||
			r.Delegation == nil || r.Delegation.Result != verify.DelegationPassed || r.Delegation.Agent != pbworld.Yumi.Name ||
			len(r.Timestamps) != 2 || r.Timestamps[0].Kind != verify.TimestampSignature || r.Timestamps[1].Kind != verify.TimestampDocument ||
			len(r.Chain) != 2 || r.RevocationData == nil || r.RevocationData.Source != verify.SourceDSSOCSP {
			t.Errorf("report: %s %s %s level %s, certification %+v, delegation %+v, time-stamps %+v",
				r.Indication, r.SubIndication, r.MessageEN, r.Level, r.Certification, r.Delegation, r.Timestamps)
		}
		// The same PDF delivered by a party whose power it is not: refused.
		if rep := e.w.Policy.Validate(ctx, verify.Document{Name: "x", Format: verify.FormatPAdES, Data: d.Document.Data, Power: d.Document.Power,
			Claimed: &verify.Issuer{CorporateNumber: pbworld.JapanPost.Number, Name: pbworld.JapanPost.NameJA}, Type: req.Type}); rep.Passed() {
			t.Error("a PDF claimed by another corporation passed")
		}

		// With the JPKI centre down there is no OCSP answer to put in the
		// DSS: the firm refuses to send, and nothing reaches the box; the
		// same delivery goes through once the centre is back.
		before, err := ichiro.Box(ctx)
		if err != nil {
			t.Fatal(err)
		}
		req.DeliveryID = "kojo-pdf-R8-2"
		e.w.SetJPKIDown(true)
		_, err = e.w.Issue(e.sc.Yumi, "nissay", req)
		e.w.SetJPKIDown(false)
		if !errors.Is(err, business.ErrLongTerm) {
			t.Errorf("issue with the centre down: %v, want business.ErrLongTerm", err)
		}
		after, err := ichiro.Box(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(after.Documents) != len(before.Documents) {
			t.Errorf("a refused issue put a document in the box: %d documents, were %d", len(after.Documents), len(before.Documents))
		}
		if _, err := e.w.Issue(e.sc.Yumi, "nissay", req); err != nil {
			t.Errorf("the same delivery with the centre back: %v", err)
		}
	})
}
