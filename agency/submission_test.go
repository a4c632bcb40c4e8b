package agency_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/agency"
	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/internal/pbworld"
	"github.com/mynaplat/mynaplat/jpki"
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

// foreignRepresentative is a key with a certificate that names 日本生命's
// representative but was not issued by the corporate registry.
func foreignRepresentative(t *testing.T, now time.Time) (crypto.Signer, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(4242), Subject: pkix.Name{CommonName: pbworld.Nissay.Representative,
		Organization: []string{pbworld.Nissay.NameJA}}, NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

// issueKojo has 酒井 由美 issue another certificate under a power and
// returns it from the box.
func issueKojo(t *testing.T, w *pbworld.World, sc *pbworld.Scene, deliveryID, powerID, docType string) *postbox.Document {
	t.Helper()
	req := pbworld.KojoRequest(deliveryID, powerID, pbworld.Yumi.Name)
	req.Type = docType
	id, err := w.Issue(sc.Yumi, "nissay", req)
	if err != nil {
		t.Fatal(err)
	}
	return w.Document(sc.Box, id)
}

// TestSubmissionReports submits 酒田 一郎's application with a certificate
// from 日本生命 that is wrong in one way each, and checks the agency's report
// of the certificate.
func TestSubmissionReports(t *testing.T) {
	tests := []struct {
		name string
		// attach makes the certificate to submit.
		attach     func(t *testing.T, w *pbworld.World, sc *pbworld.Scene) *postbox.Document
		indication verify.Indication
		sub        verify.SubIndication
		// reason is the delegation's reason, "" when the delegation is
		// not what fails.
		reason string
		// revocation is a part of the report's revocation line.
		revocation string
	}{{
		name: "tampered after signing",
		attach: func(t *testing.T, w *pbworld.World, sc *pbworld.Scene) *postbox.Document {
			kojo := w.Document(sc.Box, sc.KojoID)
			id, err := w.Client("nissay").Deliver(context.Background(), postbox.Delivery{DeliveryID: "kojo-tampered",
				CustomerRef: pbworld.IchiroRefs["nissay"], Type: kojo.Type, Title: kojo.Title, Format: kojo.Format,
				Data: pbworld.Tamper(t, kojo.Data, "96,000"), Power: kojo.Power})
			if err != nil {
				t.Fatal(err)
			}
			return w.Document(sc.Box, id)
		},
		indication: verify.TotalFailed, sub: verify.HashFailure,
	}, {
		name: "signer revoked after the time-stamp",
		attach: func(t *testing.T, w *pbworld.World, sc *pbworld.Scene) *postbox.Document {
			w.Clock.Advance(time.Minute)
			revokeSigning(t, w, sc.Yumi)
			w.Clock.Advance(time.Minute)
			return w.Document(sc.Box, sc.KojoID)
		},
		indication: verify.TotalPassed, revocation: "after the time-stamp",
	}, {
		name: "signer revoked before the time-stamp",
		attach: func(t *testing.T, w *pbworld.World, sc *pbworld.Scene) *postbox.Document {
			w.Clock.Advance(time.Minute)
			revokeSigning(t, w, sc.Yumi)
			w.Clock.Advance(time.Minute)
			return issueKojo(t, w, sc, "kojo-after-revocation", sc.Power.ID, pbworld.KojoType)
		},
		indication: verify.TotalFailed, sub: verify.Revoked, revocation: "before the time-stamp",
	}, {
		name: "power expired",
		attach: func(t *testing.T, w *pbworld.World, sc *pbworld.Scene) *postbox.Document {
			now := w.Clock.Now()
			p, _ := w.EmpowerFor("nissay", pbworld.Nissay, sc.Yumi, now.Add(-time.Hour), now.Add(time.Hour), pbworld.KojoType)
			w.Clock.Advance(3 * time.Hour)
			return issueKojo(t, w, sc, "kojo-expired", p.ID, pbworld.KojoType)
		},
		indication: verify.Indeterminate, sub: verify.SigConstraintsFailure, reason: "expired",
	}, {
		name: "out of scope",
		attach: func(t *testing.T, w *pbworld.World, sc *pbworld.Scene) *postbox.Document {
			return issueKojo(t, w, sc, "withholding", sc.Power.ID, "源泉徴収票")
		},
		indication: verify.Indeterminate, sub: verify.SigConstraintsFailure, reason: "out_of_scope",
	}, {
		name: "power revoked",
		attach: func(t *testing.T, w *pbworld.World, sc *pbworld.Scene) *postbox.Document {
			w.RevokePower(pbworld.Nissay, sc.Power)
			w.Clock.Advance(time.Minute)
			return issueKojo(t, w, sc, "kojo-revoked-power", sc.Power.ID, pbworld.KojoType)
		},
		indication: verify.Indeterminate, sub: verify.SigConstraintsFailure, reason: "revoked",
	}, {
		name: "power tampered",
		attach: func(t *testing.T, w *pbworld.World, sc *pbworld.Scene) *postbox.Document {
			p := *sc.Power
			p.ID += "-tampered"
			w.GivePower("nissay", &p, pbworld.Tamper(t, sc.PowerCMS, pbworld.KojoType))
			return issueKojo(t, w, sc, "kojo-tampered-power", p.ID, pbworld.KojoType)
		},
		indication: verify.Indeterminate, sub: verify.SigConstraintsFailure, reason: "forged",
	}, {
		name: "power signed by another key",
		attach: func(t *testing.T, w *pbworld.World, sc *pbworld.Scene) *postbox.Document {
			now := w.Clock.Now()
			p := w.NewPower(pbworld.Nissay, sc.Yumi, []string{pbworld.KojoType}, now.Add(-time.Hour), now.AddDate(1, 0, 0))
			key, cert := foreignRepresentative(t, now)
			w.GivePower("nissay", p, w.SignPower(p, key, cert))
			return issueKojo(t, w, sc, "kojo-foreign-power", p.ID, pbworld.KojoType)
		},
		indication: verify.Indeterminate, sub: verify.SigConstraintsFailure, reason: "not_representative",
	}, {
		name: "signed by someone other than the agent",
		attach: func(t *testing.T, w *pbworld.World, sc *pbworld.Scene) *postbox.Document {
			hikari := w.Person(pbworld.Hikari)
			w.Login(hikari)
			id, err := w.Issue(hikari, "nissay", pbworld.KojoRequest("kojo-by-hikari", sc.Power.ID, pbworld.Hikari.Name))
			if err != nil {
				t.Fatal(err)
			}
			return w.Document(sc.Box, id)
		},
		indication: verify.Indeterminate, sub: verify.SigConstraintsFailure, reason: "not_agent",
	}, {
		name: "corporation closed",
		attach: func(t *testing.T, w *pbworld.World, sc *pbworld.Scene) *postbox.Document {
			if err := w.Registry.Close(context.Background(), pbworld.Nissay.Number); err != nil {
				t.Fatal(err)
			}
			w.Clock.Advance(time.Minute)
			return issueKojo(t, w, sc, "kojo-closed", sc.Power.ID, pbworld.KojoType)
		},
		indication: verify.Indeterminate, sub: verify.SigConstraintsFailure, reason: "corporation_closed",
	}, {
		name: "representative replaced after granting the power",
		attach: func(t *testing.T, w *pbworld.World, sc *pbworld.Scene) *postbox.Document {
			w.Clock.Advance(time.Minute)
			key, _ := foreignRepresentative(t, w.Clock.Now())
			if _, err := w.Registry.AppointRepresentative(context.Background(), pbworld.Nissay.Number, "後任　代表", key.Public()); err != nil {
				t.Fatal(err)
			}
			w.Clock.Advance(time.Minute)
			return issueKojo(t, w, sc, "kojo-new-representative", sc.Power.ID, pbworld.KojoType)
		},
		indication: verify.TotalPassed,
	}, {
		name: "no power",
		attach: func(t *testing.T, w *pbworld.World, sc *pbworld.Scene) *postbox.Document {
			kojo := w.Document(sc.Box, sc.KojoID)
			id, err := w.Client("nissay").Deliver(context.Background(), postbox.Delivery{DeliveryID: "kojo-no-power",
				CustomerRef: pbworld.IchiroRefs["nissay"], Type: kojo.Type, Title: kojo.Title, Format: kojo.Format, Data: kojo.Data})
			if err != nil {
				t.Fatal(err)
			}
			return w.Document(sc.Box, id)
		},
		indication: verify.Indeterminate, sub: verify.SigConstraintsFailure, reason: "no_power",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				w := pbworld.New(t, db)
				sc := w.Demo()
				doc := tt.attach(t, w, sc)
				send, err := w.Submit(sc.Ichiro, sc.Box, pbworld.TaxSakata.ID, doc)
				if err != nil {
					t.Fatal(err)
				}
				if n := w.DeliverDue(); n != 1 {
					t.Fatalf("DeliverDue acknowledged %d sends, want 1", n)
				}
				sub := stored(t, w, send.ID)
				checkMessages(t, sub)
				if len(sub.Documents) != 2 {
					t.Fatalf("%d documents stored, want 2", len(sub.Documents))
				}
				app, cert := sub.Documents[0].Report, sub.Documents[1].Report
				if app.Indication != verify.TotalPassed {
					t.Errorf("application %s/%s %s, want TOTAL_PASSED", app.Indication, app.SubIndication, app.MessageEN)
				}
				if cert.Indication != tt.indication || cert.SubIndication != tt.sub {
					t.Errorf("certificate %s/%s (%s), want %s/%s", cert.Indication, cert.SubIndication, cert.MessageEN, tt.indication, tt.sub)
				}
				if !strings.Contains(cert.Revocation, tt.revocation) {
					t.Errorf("revocation %q, want it to say %q", cert.Revocation, tt.revocation)
				}
				reason := ""
				if d := cert.Delegation; d != nil && d.Result != verify.DelegationPassed {
					reason = d.Reason
					if d.Result != verify.DelegationFailed || d.MessageJA == "" || d.MessageEN == "" {
						t.Errorf("delegation %+v, report %q / %q", d, cert.MessageJA, cert.MessageEN)
					}
				}
				if reason != tt.reason {
					t.Errorf("delegation reason %q, want %q (%+v)", reason, tt.reason, cert.Delegation)
				}
				if sub.Passed() != (tt.indication == verify.TotalPassed) || sub.Overall != tt.indication || !sub.BundleOK {
					t.Errorf("submission overall %s, bundle %v, passed %v", sub.Overall, sub.BundleOK, sub.Passed())
				}
			})
		})
	}
}

// revokeSigning revokes the person's current signing certificate at the
// centre (key compromise).
func revokeSigning(t *testing.T, w *pbworld.World, p *pbworld.Person) {
	t.Helper()
	serial := jpki.Serial(w.SigningCert(p).SerialNumber)
	if err := w.Centre.Revoke(context.Background(), jpki.Sign, serial, jpki.KeyCompromise); err != nil {
		t.Fatal(err)
	}
}

// TestSubmissionTryLater: without revocation data the documents are
// INDETERMINATE/TRY_LATER and the submission is not passed; validated again
// when the centre is back, it is.
func TestSubmissionTryLater(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := pbworld.New(t, db)
		sc := w.Demo()
		send, err := w.Submit(sc.Ichiro, sc.Box, pbworld.TaxSakata.ID, w.Document(sc.Box, sc.KojoID))
		if err != nil {
			t.Fatal(err)
		}
		w.SetJPKIDown(true)
		if n := w.DeliverDue(); n != 1 {
			t.Fatalf("DeliverDue acknowledged %d sends, want 1", n)
		}
		sub := stored(t, w, send.ID)
		checkMessages(t, sub)
		for _, d := range sub.Documents {
			if r := d.Report; r.Indication != verify.Indeterminate || r.SubIndication != verify.TryLater || !strings.HasPrefix(r.Revocation, "unknown") {
				t.Errorf("%s: %s/%s, revocation %q; want INDETERMINATE/TRY_LATER", d.Name, r.Indication, r.SubIndication, r.Revocation)
			}
		}
		if sub.Passed() || sub.Overall != verify.Indeterminate {
			t.Fatalf("submission overall %s, passed %v", sub.Overall, sub.Passed())
		}
		w.SetJPKIDown(false)
		w.Clock.Advance(time.Minute)
		again, err := w.Agency.Revalidate(ctx, pbworld.TaxSakata.ID, sub.ID, "staff")
		if err != nil {
			t.Fatal(err)
		}
		if !again.Passed() {
			for _, d := range again.Documents {
				t.Logf("%s: %s/%s %s", d.Name, d.Report.Indication, d.Report.SubIndication, d.Report.MessageEN)
			}
			t.Fatalf("revalidated: overall %s, want TOTAL_PASSED", again.Overall)
		}
		if d := again.Documents[1].Report.Delegation; d == nil || d.Result != verify.DelegationPassed {
			t.Errorf("delegation after revalidation: %+v", d)
		}
		if !again.ValidatedAt.After(sub.ValidatedAt) || again.Receipt != sub.Receipt || again.Deliveries != 1 {
			t.Errorf("revalidated submission %+v, first %+v", again, sub)
		}
	})
}

// TestSubmissionQuarterHourLater: a submission a quarter of an hour after
// the last validation of the same certificates, when the JPKI centre's
// cached OCSP answer is older than the policy's freshness bound, passes.
func TestSubmissionQuarterHourLater(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := pbworld.New(t, db)
		sc := w.Demo()
		w.Clock.Advance(15 * time.Minute)
		send, err := w.Submit(sc.Ichiro, sc.Box, pbworld.TaxSakata.ID, w.Document(sc.Box, sc.KojoID))
		if err != nil {
			t.Fatal(err)
		}
		w.DeliverDue()
		if sub := stored(t, w, send.ID); !sub.Passed() {
			t.Fatalf("overall %s", sub.Overall)
		}
	})
}

// TestSubDelegation: 日本生命's representative lets 酒井 由美 sub-delegate;
// she empowers 本間 光, whose certificates pass; after 酒井 由美's card is
// reported lost (her certificate revoked), what she signed before still
// holds, but a sub-delegation signed with the revoked certificate is
// refused.
func TestSubDelegation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := pbworld.New(t, db)
		sc := w.Demo()
		hikari := w.Person(pbworld.Hikari)
		w.Login(hikari)
		now := w.Clock.Now()
		parent := w.NewPower(pbworld.Nissay, sc.Yumi, []string{pbworld.KojoType}, now.Add(-time.Hour), now.AddDate(1, 0, 0))
		parent.SubDelegation = true
		rep := w.Reps[pbworld.Nissay.Number]
		signed := w.SignPower(parent, rep.Key, rep.Cert)
		if _, err := w.Powers.Register(context.Background(), signed); err != nil {
			t.Fatal(err)
		}
		w.Clock.Advance(time.Minute)
		child, childCMS, err := w.SubDelegate(parent, sc.Yumi, hikari, []string{pbworld.KojoType}, now, now.AddDate(0, 6, 0))
		if err != nil {
			t.Fatal(err)
		}
		w.GivePower("nissay", child, childCMS)
		issue := func(deliveryID string) *agency.Submission {
			t.Helper()
			id, err := w.Issue(hikari, "nissay", pbworld.KojoRequest(deliveryID, child.ID, pbworld.Hikari.Name))
			if err != nil {
				t.Fatal(err)
			}
			send, err := w.Submit(sc.Ichiro, sc.Box, pbworld.TaxSakata.ID, w.Document(sc.Box, id))
			if err != nil {
				t.Fatal(err)
			}
			if n := w.DeliverDue(); n != 1 {
				t.Fatalf("acknowledged %d", n)
			}
			return stored(t, w, send.ID)
		}
		w.Clock.Advance(time.Minute)
		if sub := issue("kojo-by-hikari"); !sub.Passed() || sub.Documents[1].Report.Delegation.Agent != pbworld.Hikari.Name {
			t.Errorf("under the sub-delegation: %s, delegation %+v", sub.Overall, sub.Documents[1].Report.Delegation)
		}
		w.Clock.Advance(time.Minute)
		revokeSigning(t, w, sc.Yumi)
		w.Clock.Advance(time.Minute)
		if sub := issue("kojo-by-hikari-later"); !sub.Passed() {
			t.Errorf("under the sub-delegation signed before the revocation: %s %+v", sub.Overall, sub.Documents[1].Report.Delegation)
		}
		_, _, err = w.SubDelegate(parent, sc.Yumi, hikari, []string{pbworld.KojoType}, now, now.AddDate(0, 6, 0))
		if !errors.Is(err, delegation.ErrSubDelegation) {
			t.Errorf("a sub-delegation signed with the revoked certificate: %v, want ErrSubDelegation", err)
		}
	})
}
