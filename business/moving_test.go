package business_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/business"
	"github.com/mynaplat/mynaplat/internal/pbworld"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/postbox"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// sendsTo are a box's sends to one party.
func sendsTo(t *testing.T, w *pbworld.World, box *postbox.Box, partyID string) []*postbox.Send {
	t.Helper()
	all, err := w.Postbox.Sends(context.Background(), box)
	if err != nil {
		t.Fatal(err)
	}
	var out []*postbox.Send
	for _, s := range all {
		if s.PartyID == partyID {
			out = append(out, s)
		}
	}
	return out
}

func events(log []postbox.LogEntry) []string {
	var out []string
	for _, e := range log {
		out = append(out, e.Event)
	}
	return out
}

// customer is a firm's record of a customer.
func customer(t *testing.T, w *pbworld.World, firmID, ref string) business.Customer {
	t.Helper()
	cs, err := w.Business.Customers(context.Background(), firmID, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Ref == ref {
			return c
		}
	}
	t.Fatalf("%s has no customer %s", firmID, ref)
	return business.Customer{}
}

// notices are the moving notices a firm received.
func notices(t *testing.T, w *pbworld.World, firmID string) []*business.Notice {
	t.Helper()
	ns, err := w.Business.Notices(context.Background(), firmID, "test")
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// sakataGas is a business 酒田 一郎 never consented to.
var sakataGas = pbworld.Firm{ID: "sakata-gas", Corp: pbworld.Corporation{Number: "6390001900005", NameJA: "酒田瓦斯株式会社",
	NameEN: "Sakata Gas", Address: "山形県酒田市本町一丁目１番１号", Representative: "瓦斯　三郎"}, Roles: []string{postbox.RoleAddressNotice}}

// TestMovingNotice: 酒田 一郎 moves; the post box follows the JPKI feed and
// leaves one 変更案内; he has NHK and 日本郵便 told, signing with his new
// certificate, while NHK's endpoint is down.
func TestMovingNotice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := pbworld.New(t, db)
		w.AddFirm(sakataGas)
		sc := w.Demo()
		box, ichiro := sc.Box, sc.Ichiro
		// A notice signed before the move, with the certificate the move
		// revokes.
		early := w.AddressNotice(ichiro, "nhk", pbworld.IchiroRefs["nhk"])

		w.Clock.Advance(time.Minute)
		old, cur := w.Move(ichiro, pbworld.IchiroNewAddress)
		if n, err := w.Postbox.FollowFeed(ctx); err != nil || n != 1 {
			t.Fatalf("FollowFeed made %d notices (%v), want 1", n, err)
		}
		if n, err := w.Postbox.FollowFeed(ctx); err != nil || n != 0 {
			t.Fatalf("FollowFeed again made %d notices (%v), want 0", n, err)
		}
		ns, err := w.Postbox.Notices(ctx, box)
		if err != nil {
			t.Fatal(err)
		}
		if len(ns) != 1 || ns[0].OldSerial != jpki.Serial(old.SerialNumber) || !ns[0].Open() {
			t.Fatalf("notices %+v, want one open for %s", ns, jpki.Serial(old.SerialNumber))
		}
		notice := ns[0]

		// Signed with the old certificate: refused.
		if _, err := w.Postbox.NotifyAddress(ctx, box, notice.ID, map[string][]byte{"nhk": early}); !errors.Is(err, postbox.ErrOldCert) {
			t.Fatalf("notice signed with the old certificate: %v, want ErrOldCert", err)
		}
		// A business he has not consented to: refused, nothing queued.
		_, err = w.Postbox.NotifyAddress(ctx, box, notice.ID, map[string][]byte{
			"nhk":        w.AddressNotice(ichiro, "nhk", pbworld.IchiroRefs["nhk"]),
			sakataGas.ID: w.AddressNotice(ichiro, sakataGas.ID, "SG-1"),
		})
		if !errors.Is(err, postbox.ErrNoConsent) {
			t.Fatalf("notice to a business without consent: %v, want ErrNoConsent", err)
		}
		if all, _ := w.Postbox.Sends(ctx, box); len(all) != 0 {
			t.Fatalf("%d sends queued by refused notices", len(all))
		}

		// NHK and 日本郵便, NHK down.
		w.SetFault("nhk", pbworld.Down, 0)
		sends, err := w.Postbox.NotifyAddress(ctx, box, notice.ID, map[string][]byte{
			"nhk":       w.AddressNotice(ichiro, "nhk", pbworld.IchiroRefs["nhk"]),
			"japanpost": w.AddressNotice(ichiro, "japanpost", pbworld.IchiroRefs["japanpost"]),
		})
		if err != nil || len(sends) != 2 {
			t.Fatalf("NotifyAddress: %d sends, %v", len(sends), err)
		}
		if n := w.DeliverDue(); n != 1 {
			t.Fatalf("first round acknowledged %d, want 1 (日本郵便)", n)
		}
		if ns := notices(t, w, "japanpost"); len(ns) != 1 || ns[0].Deliveries != 1 || ns[0].NewAddress != pbworld.IchiroNewAddress ||
			ns[0].OldAddress != pbworld.Ichiro.Address || ns[0].SignerSerial != jpki.Serial(cur.SerialNumber) {
			t.Errorf("日本郵便's notices %+v", ns)
		}
		if c := customer(t, w, "japanpost", pbworld.IchiroRefs["japanpost"]); c.Address != pbworld.IchiroNewAddress || c.Name != pbworld.Ichiro.Name {
			t.Errorf("日本郵便's customer %+v", c)
		}
		if ns := notices(t, w, "nhk"); len(ns) != 0 {
			t.Errorf("NHK has notices while down: %+v", ns)
		}
		if c := customer(t, w, "nhk", pbworld.IchiroRefs["nhk"]); c.Address != pbworld.Ichiro.Address {
			t.Errorf("NHK's customer changed while down: %+v", c)
		}

		// Answered again for NHK: nothing is sent twice.
		again, err := w.Postbox.NotifyAddress(ctx, box, notice.ID, map[string][]byte{"nhk": w.AddressNotice(ichiro, "nhk", pbworld.IchiroRefs["nhk"])})
		if err != nil || len(again) != 0 {
			t.Fatalf("NotifyAddress again: %d sends, %v; want none", len(again), err)
		}
		if n, err := w.Postbox.Notified(ctx, box, notice.ID); err != nil || !cmp.Equal(n, map[string]bool{"nhk": true, "japanpost": true}) {
			t.Errorf("notified %v (%v)", n, err)
		}

		// NHK returns.
		w.SetFault("nhk", pbworld.Up, 0)
		w.Clock.Advance(6 * time.Second)
		if n := w.DeliverDue(); n != 1 {
			t.Fatalf("after NHK returned, acknowledged %d, want 1", n)
		}
		w.Clock.Advance(time.Hour)
		if n := w.DeliverDue(); n != 0 {
			t.Fatalf("an hour later, acknowledged %d, want 0", n)
		}
		if ns := notices(t, w, "nhk"); len(ns) != 1 || ns[0].Deliveries != 1 || ns[0].NewAddress != pbworld.IchiroNewAddress {
			t.Errorf("NHK's notices %+v, want one delivered once", ns)
		}
		if c := customer(t, w, "nhk", pbworld.IchiroRefs["nhk"]); c.Address != pbworld.IchiroNewAddress {
			t.Errorf("NHK's customer %+v", c)
		}
		if h := w.Hits("nhk"); h != 2 {
			t.Errorf("NHK's endpoint had %d requests, want 2", h)
		}
		nhk := sendsTo(t, w, box, "nhk")
		if len(nhk) != 1 || nhk[0].State != postbox.StateDelivered || nhk[0].Attempts != 2 ||
			!cmp.Equal(events(nhk[0].Log), []string{"queued", "attempt_failed", "acknowledged"}) {
			t.Errorf("sends to NHK %+v", nhk)
		}
		if jp := sendsTo(t, w, box, "japanpost"); len(jp) != 1 || jp[0].State != postbox.StateDelivered || jp[0].Attempts != 1 {
			t.Errorf("sends to 日本郵便 %+v", jp)
		}
		// 日本生命 was not told.
		if ns := notices(t, w, "nissay"); len(ns) != 0 {
			t.Errorf("日本生命 was told: %+v", ns)
		}
		if n, _ := w.Postbox.Notice(ctx, box, notice.ID); n.Open() {
			t.Error("the notice is still open")
		}
	})
}

// TestMovingNoticeRefused: a notice the business cannot match to its
// customer is refused (422) and the send ends refused, not retried.
func TestMovingNoticeRefused(t *testing.T) {
	tests := []struct {
		name string
		// setup changes what the business or the consent says.
		setup func(t *testing.T, w *pbworld.World)
		ref   string // the customer number he consented under at NHK
		why   string // what the refusal says
	}{
		{"unknown customer number", func(*testing.T, *pbworld.World) {}, "NHK-06204914", "no customer NHK-06204914"},
		{"other birth date", func(t *testing.T, w *pbworld.World) {
			other := pbworld.Ichiro
			other.Birth = "1975-07-30"
			w.Customer("nhk", pbworld.IchiroRefs["nhk"], other)
		}, pbworld.IchiroRefs["nhk"], "birth date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				ctx := context.Background()
				w := pbworld.New(t, db)
				ichiro := w.Person(pbworld.Ichiro)
				w.Login(ichiro)
				box := w.Box(ichiro)
				w.Customer("nhk", pbworld.IchiroRefs["nhk"], pbworld.Ichiro)
				tt.setup(t, w)
				if err := w.Consent(ichiro, box, "nhk", tt.ref, false, true); err != nil {
					t.Fatal(err)
				}
				w.Clock.Advance(time.Minute)
				w.Move(ichiro, pbworld.IchiroNewAddress)
				if n, err := w.Postbox.FollowFeed(ctx); err != nil || n != 1 {
					t.Fatalf("FollowFeed: %d, %v", n, err)
				}
				ns, err := w.Postbox.Notices(ctx, box)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := w.Postbox.NotifyAddress(ctx, box, ns[0].ID, map[string][]byte{"nhk": w.AddressNotice(ichiro, "nhk", tt.ref)}); err != nil {
					t.Fatal(err)
				}
				if n := w.DeliverDue(); n != 0 {
					t.Fatalf("acknowledged %d, want 0", n)
				}
				for range 3 {
					w.Clock.Advance(time.Hour)
					w.DeliverDue()
				}
				if h := w.Hits("nhk"); h != 1 {
					t.Errorf("NHK's endpoint had %d requests, want 1", h)
				}
				sd := sendsTo(t, w, box, "nhk")
				if len(sd) != 1 || sd[0].State != postbox.StateRefused || !cmp.Equal(events(sd[0].Log), []string{"queued", "refused"}) {
					t.Fatalf("sends %+v", sd)
				}
				// The business's answer (422) is in the log, in both languages.
				if d := sd[0].Log[1].Detail; !strings.Contains(d, `"code":"refused"`) || !strings.Contains(d, `"message_ja":"受け付けられません。"`) ||
					!strings.Contains(d, tt.why) {
					t.Errorf("refusal logged as %q, want the problem saying %q", d, tt.why)
				}
				if ns := notices(t, w, "nhk"); len(ns) != 0 {
					t.Errorf("NHK recorded %+v", ns)
				}
				if c := customer(t, w, "nhk", pbworld.IchiroRefs["nhk"]); c.Address != pbworld.Ichiro.Address {
					t.Errorf("NHK's customer changed: %+v", c)
				}
			})
		})
	}
}

// TestSecondMove: the post box follows its owner's certificate through the
// linkage records, so a second move — with no signature made in between —
// and a move after a renewal each leave a 変更案内 too; a notice signed
// before the second move is too old to send.
func TestSecondMove(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := pbworld.New(t, db)
		sc := w.Demo()
		box, ichiro := sc.Box, sc.Ichiro
		w.Clock.Advance(time.Minute)
		w.Move(ichiro, pbworld.IchiroNewAddress)
		if n, err := w.Postbox.FollowFeed(ctx); err != nil || n != 1 {
			t.Fatalf("first move: %d notices (%v), want 1", n, err)
		}
		first, err := w.Postbox.Notices(ctx, box)
		if err != nil || len(first) != 1 {
			t.Fatalf("notices %v %v", first, err)
		}
		stale := w.AddressNotice(ichiro, "nhk", pbworld.IchiroRefs["nhk"])
		w.Clock.Advance(postbox.MaxNoticeAge + time.Minute)
		if _, err := w.Postbox.NotifyAddress(ctx, box, first[0].ID, map[string][]byte{"nhk": stale}); !errors.Is(err, postbox.ErrStale) {
			t.Fatalf("a notice signed %s ago: %v, want ErrStale", postbox.MaxNoticeAge+time.Minute, err)
		}
		w.Clock.Advance(time.Minute)
		w.Move(ichiro, "山形県酒田市光ケ丘五丁目１番地")
		if n, err := w.Postbox.FollowFeed(ctx); err != nil || n != 1 {
			t.Fatalf("second move: %d notices (%v), want 1", n, err)
		}
		w.Clock.Advance(time.Minute)
		if _, err := w.Centre.Renew(ctx, ichiro.Card.ID(), ichiro.Card); err != nil {
			t.Fatal(err)
		}
		w.Clock.Advance(time.Minute)
		w.Move(ichiro, pbworld.IchiroNewAddress)
		if n, err := w.Postbox.FollowFeed(ctx); err != nil || n != 1 {
			t.Fatalf("a move after a renewal: %d notices (%v), want 1", n, err)
		}
	})
}
