package postbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/pbworld"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/postbox"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/verify"
)

// call sends a request to the post box API with a party key and returns
// the status and body.
func call(t *testing.T, w *pbworld.World, method, path, key string, body []byte) (int, []byte) {
	t.Helper()
	r := webtest.New(t, w.Srv.URL).Bearer(key).Send(webtest.Step{Method: method, Path: path, JSON: body})
	return r.Status, []byte(r.Body)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// documents lists a box's documents as its owner.
func documents(t *testing.T, w *pbworld.World, box *postbox.Box) []*postbox.Document {
	t.Helper()
	ds, err := w.Postbox.Documents(context.Background(), box, "owner")
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestDeliveryAPI: POST /postbox/v1/deliveries and GET /postbox/v1/sends/{id}
// as the parties call them.
func TestDeliveryAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := pbworld.New(t, db)
		sc := w.Demo()
		kojo := w.Document(sc.Box, sc.KojoID)
		delivery := func(id, ref string) postbox.Delivery {
			return postbox.Delivery{DeliveryID: id, CustomerRef: ref, Type: kojo.Type, Title: kojo.Title, Format: verify.FormatCMS,
				Data: kojo.Data, Power: kojo.Power}
		}
		ref := pbworld.IchiroRefs["nissay"]
		nissay, japanpost := w.PartyKeys["nissay"], w.PartyKeys["japanpost"]
		// A send to the tax office, which 日本生命 must not read.
		send, err := w.Submit(sc.Ichiro, sc.Box, pbworld.TaxSakata.ID, kojo)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name, method, path, key string
			body                    []byte
			status                  int
			code                    httpapi.Code // "" for success
		}{
			{"no key", "POST", "/postbox/v1/deliveries", "", mustJSON(t, delivery("d-1", ref)), 401, postbox.CodeBadKey},
			{"bad key", "POST", "/postbox/v1/deliveries", "pbk_not-a-key", mustJSON(t, delivery("d-1", ref)), 401, postbox.CodeBadKey},
			{"agency's inbound key", "POST", "/postbox/v1/deliveries", w.InboundKeys[pbworld.TaxSakata.ID], mustJSON(t, delivery("d-1", ref)), 401, postbox.CodeBadKey},
			{"malformed JSON", "POST", "/postbox/v1/deliveries", nissay, []byte(`{"delivery_id": "d-1", "customer_ref": `), 400, postbox.CodeBadBody},
			{"unknown field", "POST", "/postbox/v1/deliveries", nissay, []byte(`{"delivery_id": "d-1", "my_number": "123456789018"}`), 400, postbox.CodeBadBody},
			{"two objects", "POST", "/postbox/v1/deliveries", nissay, append(mustJSON(t, delivery("d-1", ref)), mustJSON(t, delivery("d-2", ref))...), 400, postbox.CodeBadBody},
			{"no delivery ID", "POST", "/postbox/v1/deliveries", nissay, mustJSON(t, delivery("", ref)), 400, postbox.CodeInvalid},
			{"bad format", "POST", "/postbox/v1/deliveries", nissay, func() []byte { d := delivery("d-1", ref); d.Format = "pdf"; return mustJSON(t, d) }(), 400, postbox.CodeInvalid},
			{"no consent", "POST", "/postbox/v1/deliveries", nissay, mustJSON(t, delivery("d-1", "NL-0000-0000")), 404, postbox.CodeNoRecipient},
			{"not a deliverer", "POST", "/postbox/v1/deliveries", japanpost, mustJSON(t, delivery("d-1", pbworld.IchiroRefs["japanpost"])), 403, postbox.CodeNotAllowed},
			{"another party's send", "GET", "/postbox/v1/sends/" + send.ID, nissay, nil, 404, postbox.CodeNotFound},
			{"the office's own send", "GET", "/postbox/v1/sends/" + send.ID, w.PartyKeys[pbworld.TaxSakata.ID], nil, 200, ""},
		}
		for _, tt := range tests {
			status, b := call(t, w, tt.method, tt.path, tt.key, tt.body)
			if status != tt.status {
				t.Errorf("%s: HTTP %d %s, want %d", tt.name, status, b, tt.status)
				continue
			}
			if tt.code == "" {
				continue
			}
			var p httpapi.Problem
			if err := json.Unmarshal(b, &p); err != nil || p.Code != tt.code || p.MessageJA == "" || p.MessageEN == "" {
				t.Errorf("%s: problem %s (%v), want %q with Japanese and English messages", tt.name, b, err, tt.code)
			}
		}
		// None of the refused deliveries stored anything.
		if ds := documents(t, w, sc.Box); len(ds) != 1 || ds[0].ID != sc.KojoID {
			t.Fatalf("documents after refused deliveries: %d", len(ds))
		}
		// The same delivery ID twice: one document.
		c := w.Client("nissay")
		first, err := c.Deliver(context.Background(), delivery("kojo-again", ref))
		if err != nil {
			t.Fatal(err)
		}
		second, err := c.Deliver(context.Background(), delivery("kojo-again", ref))
		if err != nil {
			t.Fatal(err)
		}
		if first != second {
			t.Errorf("the same delivery ID gave documents %s and %s", first, second)
		}
		if ds := documents(t, w, sc.Box); len(ds) != 2 {
			t.Errorf("%d documents, want 2", len(ds))
		}
		// The client maps a refusal to an APIError.
		_, err = c.Deliver(context.Background(), delivery("d-3", "NL-0000-0000"))
		var ae *postbox.APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusNotFound || ae.Code != postbox.CodeNoRecipient || ae.MessageJA == "" {
			t.Errorf("client error %v", err)
		}
	})
}

// TestConsentRefused: consents the post box must not record.
func TestConsentRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := pbworld.New(t, db)
		ichiro, hikari := w.Person(pbworld.Ichiro), w.Person(pbworld.Hikari)
		w.Login(ichiro)
		box := w.Box(ichiro)
		nhk := w.Party("nhk")
		ref := pbworld.IchiroRefs["nhk"]
		content := func() *verify.Content { return postbox.ConsentContent(nhk, ref, false, true, w.Clock.Now().UTC()) }
		tests := []struct {
			name    string
			signed  func() []byte
			deliver bool
			want    error
		}{
			// Someone else's card, before and after they used the platform.
			{"someone else's card, never logged in", func() []byte { return w.SignAs(hikari, content()) }, false, postbox.ErrNotOwner},
			{"someone else's card", func() []byte { w.Login(hikari); return w.SignAs(hikari, content()) }, false, postbox.ErrNotOwner},
			{"tampered", func() []byte { return pbworld.Tamper(t, w.SignAs(ichiro, content()), ref) }, false, postbox.ErrSignature},
			{"says something else", func() []byte {
				return w.SignAs(ichiro, postbox.ConsentContent(nhk, "NHK-00000000", false, true, w.Clock.Now()))
			}, false, postbox.ErrInvalid},
			{"a role the party lacks", func() []byte { return w.SignAs(ichiro, content()) }, true, postbox.ErrRole},
		}
		for _, tt := range tests {
			if err := w.Postbox.Consent(ctx, box, "nhk", ref, tt.deliver, true, tt.signed()); !errors.Is(err, tt.want) {
				t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
			}
		}
		if cs, err := w.Postbox.Consents(ctx, box); err != nil || len(cs) != 0 {
			t.Fatalf("consents %+v (%v), want none", cs, err)
		}
		if err := w.Consent(ichiro, box, "nhk", ref, false, true); err != nil {
			t.Fatal(err)
		}
		cs, err := w.Postbox.Consents(ctx, box)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]postbox.Consent{{PartyID: "nhk", CustomerRef: ref, AddressNotice: true}}, cs,
			cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".CreatedAt" }, cmp.Ignore())); diff != "" {
			t.Errorf("consents (-want +got):\n%s", diff)
		}
		// Another box cannot take the same customer number.
		w.Login(hikari)
		if err := w.Consent(hikari, w.Box(hikari), "nhk", ref, false, true); !errors.Is(err, postbox.ErrInvalid) {
			t.Errorf("the same customer number for another box: %v", err)
		}
	})
}

// TestAudit: every read of a box's contents leaves an audit row.
func TestAudit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := pbworld.New(t, db)
		sc := w.Demo()
		if _, err := w.Postbox.Documents(ctx, sc.Box, "owner"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Postbox.Document(ctx, sc.Box, sc.KojoID, "owner"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Postbox.Document(ctx, sc.Box, "doc_nonexistent", "owner"); !errors.Is(err, postbox.ErrNotFound) {
			t.Fatalf("a missing document: %v", err)
		}
		got, err := w.Postbox.Audit(ctx, sc.Box.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		type row struct{ Actor, Action, Detail string }
		var rows []row
		for _, e := range got {
			rows = append(rows, row{e.Actor, e.Action, e.Detail})
		}
		want := []row{
			{"owner", "read", pbworld.KojoType + " " + sc.KojoID},
			{"owner", "list", "documents"},
			{"nissay", "deliver", pbworld.KojoType + " " + sc.KojoID},
			{"owner", "consent", "nhk"},
			{"owner", "consent", "japanpost"},
			{"owner", "consent", "nissay"},
		}
		if diff := cmp.Diff(want, rows); diff != "" {
			t.Errorf("audit, newest first (-want +got):\n%s", diff)
		}
	})
}

// TestWithdraw: after a consent is withdrawn the party can deliver nothing
// and is told nothing; consenting again restores both.
func TestWithdraw(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := pbworld.New(t, db)
		sc := w.Demo()
		kojo := w.Document(sc.Box, sc.KojoID)
		ref := pbworld.IchiroRefs["nissay"]
		d := postbox.Delivery{DeliveryID: "after-withdrawal", CustomerRef: ref, Type: kojo.Type, Title: kojo.Title,
			Format: kojo.Format, Data: kojo.Data, Power: kojo.Power}
		if err := w.Postbox.Withdraw(ctx, sc.Box, "nissay"); err != nil {
			t.Fatal(err)
		}
		if err := w.Postbox.Withdraw(ctx, sc.Box, "nissay"); !errors.Is(err, postbox.ErrNotFound) {
			t.Errorf("withdrawn twice: %v", err)
		}
		var ae *postbox.APIError
		if _, err := w.Client("nissay").Deliver(ctx, d); !errors.As(err, &ae) || ae.Code != postbox.CodeNoRecipient {
			t.Errorf("delivery after withdrawal: %v", err)
		}
		w.Clock.Advance(time.Minute)
		w.Move(sc.Ichiro, pbworld.IchiroNewAddress)
		if _, err := w.Postbox.FollowFeed(ctx); err != nil {
			t.Fatal(err)
		}
		ns, err := w.Postbox.Notices(ctx, sc.Box)
		if err != nil || len(ns) != 1 {
			t.Fatalf("notices %v (%v)", ns, err)
		}
		if _, err := w.Postbox.NotifyAddress(ctx, sc.Box, ns[0].ID, map[string][]byte{"nissay": w.AddressNotice(sc.Ichiro, "nissay", ref)}); !errors.Is(err, postbox.ErrNoConsent) {
			t.Errorf("notice after withdrawal: %v", err)
		}
		// Consenting again, with the new certificate.
		if err := w.Consent(sc.Ichiro, sc.Box, "nissay", ref, true, true); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Client("nissay").Deliver(ctx, d); err != nil {
			t.Errorf("delivery after consenting again: %v", err)
		}
	})
}

// TestDeliverTwiceAtOnce: the same delivery ID twice at once is one
// document.
func TestDeliverTwiceAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := pbworld.New(t, db)
		sc := w.Demo()
		kojo := w.Document(sc.Box, sc.KojoID)
		d := postbox.Delivery{DeliveryID: "at-once", CustomerRef: pbworld.IchiroRefs["nissay"], Type: kojo.Type, Title: kojo.Title,
			Format: kojo.Format, Data: kojo.Data, Power: kojo.Power}
		ids := make([]string, 4)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() {
				id, err := w.Client("nissay").Deliver(ctx, d)
				if err != nil {
					t.Error(err)
				}
				ids[i] = id
			})
		}
		wg.Wait()
		for _, id := range ids[1:] {
			if id != ids[0] {
				t.Errorf("document IDs %v, want one", ids)
				break
			}
		}
		if ds := documents(t, w, sc.Box); len(ds) != 2 {
			t.Errorf("%d documents, want 2", len(ds))
		}
	})
}

// TestDeliveryIDReused: a delivery ID is the party's name for one delivery
// to one person: repeated for that person (a retry, perhaps signed again)
// it is the first document, but used for another person it is refused
// rather than answered with the first person's document while the other
// gets nothing.
func TestDeliveryIDReused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := pbworld.New(t, db)
		sc := w.Demo()
		hikari := w.Person(pbworld.Hikari)
		w.Login(hikari)
		if err := w.Consent(hikari, w.Box(hikari), "nissay", "NL-1988-1224", true, false); err != nil {
			t.Fatal(err)
		}
		// business.Issue again under the same delivery ID signs again.
		req := pbworld.KojoRequest("kojo-R8-"+pbworld.IchiroRefs["nissay"], sc.Power.ID, pbworld.Yumi.Name)
		w.Clock.Advance(time.Minute)
		if again, err := w.Issue(sc.Yumi, "nissay", req); err != nil || again != sc.KojoID {
			t.Errorf("Issue again: %s, %v; want %s", again, err, sc.KojoID)
		}
		req.CustomerRef = "NL-1988-1224"
		_, err := w.Issue(sc.Yumi, "nissay", req)
		var ae *postbox.APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusConflict || ae.Code != postbox.CodeDeliveryIDReused || ae.MessageJA == "" || ae.MessageEN == "" {
			t.Errorf("the delivery ID for another person: %v, want 409 delivery_id_reused with Japanese and English messages", err)
		}
		if ds := documents(t, w, sc.Box); len(ds) != 1 {
			t.Errorf("酒田 一郎's box has %d documents, want 1", len(ds))
		}
		if ds := documents(t, w, w.Box(hikari)); len(ds) != 0 {
			t.Errorf("本間 光's box has %d documents", len(ds))
		}
	})
}
