package business_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/pbworld"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/postbox"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/verify"
)

// post sends a body to a party's endpoint with a key and returns the
// status and body.
func post(t *testing.T, w *pbworld.World, partyID, key string, body []byte) (int, []byte) {
	t.Helper()
	// As the post box sends it: no Content-Type.
	r := webtest.New(t, w.Srv.URL).Bearer(key).Send(webtest.Step{Method: http.MethodPost,
		Path: strings.TrimPrefix(w.Endpoint(partyID), w.Srv.URL), JSON: body, Header: map[string]string{"Content-Type": ""}})
	return r.Status, []byte(r.Body)
}

// TestNoticeEndpoint posts envelopes to NHK's endpoint directly, as the
// post box (or someone else) might.
func TestNoticeEndpoint(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := pbworld.New(t, db)
		ichiro := w.Person(pbworld.Ichiro)
		w.Login(ichiro)
		w.Customer("nhk", pbworld.IchiroRefs["nhk"], pbworld.Ichiro)
		w.Clock.Advance(time.Minute)
		w.Move(ichiro, pbworld.IchiroNewAddress)
		notice := w.AddressNotice(ichiro, "nhk", pbworld.IchiroRefs["nhk"])
		env := func(sendID, kind string, docs ...[]byte) []byte {
			e := postbox.Envelope{SendID: sendID, Kind: kind, SentAt: w.Clock.Now().UTC(), CustomerRef: pbworld.IchiroRefs["nhk"]}
			for _, d := range docs {
				e.Documents = append(e.Documents, postbox.EnvelopeDoc{Name: "address-notice", Type: postbox.AddressNoticeType,
					Format: verify.FormatCMS, Data: d})
			}
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		key := w.InboundKeys["nhk"]
		tests := []struct {
			name   string
			key    string
			body   []byte
			status int
			code   httpapi.Code // the problem's code; "" for an acknowledgement
		}{
			{"bad key", "bzi_not-the-key", env("snd_bad-key", postbox.KindAddressNotice, notice), http.StatusUnauthorized, postbox.CodeBadKey},
			{"malformed JSON", key, []byte(`{"send_id": "snd_x", "kind": `), http.StatusBadRequest, postbox.CodeBadBody},
			{"unknown field", key, []byte(`{"send_id": "snd_x", "kind": "address_notice", "documents": [], "extra": 1}`), http.StatusBadRequest, postbox.CodeBadBody},
			{"wrong kind", key, env("snd_kind", postbox.KindSubmission, notice), http.StatusBadRequest, postbox.CodeBadEnvelope},
			{"no documents", key, env("snd_none", postbox.KindAddressNotice), http.StatusBadRequest, postbox.CodeBadEnvelope},
			{"two documents", key, env("snd_two", postbox.KindAddressNotice, notice, notice), http.StatusUnprocessableEntity, postbox.CodeRefused},
			{"tampered", key, env("snd_tampered", postbox.KindAddressNotice, pbworld.Tamper(t, notice, "NHK-")), http.StatusUnprocessableEntity, postbox.CodeRefused},
			{"short send ID", key, env("s1", postbox.KindAddressNotice, notice), http.StatusOK, ""},
		}
		for _, tt := range tests {
			status, b := post(t, w, "nhk", tt.key, tt.body)
			if status != tt.status {
				t.Errorf("%s: HTTP %d %s, want %d", tt.name, status, b, tt.status)
				continue
			}
			if tt.code == "" {
				var ack postbox.Ack
				if err := json.Unmarshal(b, &ack); err != nil || ack.Receipt == "" {
					t.Errorf("%s: acknowledgement %s (%v)", tt.name, b, err)
				}
				continue
			}
			var p httpapi.Problem
			if err := json.Unmarshal(b, &p); err != nil || p.Code != tt.code || p.MessageJA == "" || p.MessageEN == "" {
				t.Errorf("%s: problem %s (%v), want %q with Japanese and English messages", tt.name, b, err, tt.code)
			}
		}
		if ns, err := w.Business.Notices(ctx, "nhk", "test"); err != nil || len(ns) != 1 {
			t.Errorf("NHK has %d notices (%v), want 1", len(ns), err)
		}
	})
}

// TestNoticeTwiceAtOnce: the same notice reaches the business twice at
// once; the customer's record changes once and both deliveries are
// acknowledged with one receipt.
func TestNoticeTwiceAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := pbworld.New(t, db)
		ichiro := w.Person(pbworld.Ichiro)
		w.Login(ichiro)
		box := w.Box(ichiro)
		w.Customer("nhk", pbworld.IchiroRefs["nhk"], pbworld.Ichiro)
		if err := w.Consent(ichiro, box, "nhk", pbworld.IchiroRefs["nhk"], false, true); err != nil {
			t.Fatal(err)
		}
		w.Clock.Advance(time.Minute)
		w.Move(ichiro, pbworld.IchiroNewAddress)
		if _, err := w.Postbox.FollowFeed(ctx); err != nil {
			t.Fatal(err)
		}
		ns, err := w.Postbox.Notices(ctx, box)
		if err != nil || len(ns) != 1 {
			t.Fatalf("notices %+v (%v)", ns, err)
		}
		if _, err := w.Postbox.NotifyAddress(ctx, box, ns[0].ID, map[string][]byte{"nhk": w.AddressNotice(ichiro, "nhk", pbworld.IchiroRefs["nhk"])}); err != nil {
			t.Fatal(err)
		}
		w.SetFault("nhk", pbworld.Down, 1)
		w.DeliverDue()
		body := w.LastBody("nhk")
		acks := make([]postbox.Ack, 2)
		var wg sync.WaitGroup
		for i := range acks {
			wg.Go(func() {
				status, b := post(t, w, "nhk", w.InboundKeys["nhk"], body)
				if status != http.StatusOK || json.Unmarshal(b, &acks[i]) != nil {
					t.Errorf("delivery %d: HTTP %d %s", i, status, b)
				}
			})
		}
		wg.Wait()
		if acks[0].Receipt == "" || acks[0].Receipt != acks[1].Receipt || acks[0].Duplicate == acks[1].Duplicate {
			t.Errorf("acknowledgements %+v", acks)
		}
		got, err := w.Business.Notices(ctx, "nhk", "test")
		if err != nil || len(got) != 1 || got[0].Deliveries != 2 || got[0].NewAddress != pbworld.IchiroNewAddress {
			t.Fatalf("notices %+v (%v)", got, err)
		}
		w.Clock.Advance(6 * time.Second)
		if n := w.DeliverDue(); n != 1 {
			t.Fatalf("the post box's retry acknowledged %d", n)
		}
		if got, _ := w.Business.Notices(ctx, "nhk", "test"); got[0].Deliveries != 3 {
			t.Errorf("deliveries %d, want 3", got[0].Deliveries)
		}
	})
}
