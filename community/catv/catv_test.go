package catv_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/community/catv"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { c.t = c.t.Add(time.Second); return c.t }

func open(t *testing.T, db *store.DB, id string) *catv.Operator {
	t.Helper()
	c := &clock{time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	o, err := catv.Open(context.Background(), catv.Config{DB: db, ID: id, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func msg(scope catv.Scope, area, pid, title string) catv.Message {
	return catv.Message{Sender: "須坂市", SenderKind: catv.FromTown, Scope: scope, Area: area, PlatformID: pid,
		TitleJA: title, TitleEN: title + " (en)", BodyJA: "本文", BodyEN: "Text"}
}

// TestMessages: a message to all, to an area and to one person reaches
// exactly its recipients, unread first; opening one marks it read once;
// another operator's subscribers and messages are not this one's; every
// read and refusal has its audit row, and a refusal writes nothing else.
func TestMessages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o := open(t, db, "suko")
		other := open(t, db, "tonami")
		for _, s := range []catv.Subscriber{
			{PlatformID: "hanako", Terminal: "tv-1", Number: "S-1", Area: "north"},
			{PlatformID: "kenta", Terminal: "tv-2", Number: "S-2", Area: "south"},
		} {
			if err := o.Subscribe(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		if err := other.Subscribe(ctx, catv.Subscriber{PlatformID: "kiyoshi", Terminal: "tv-9", Number: "T-1", Area: "north"}); err != nil {
			t.Fatal(err)
		}
		send := func(o *catv.Operator, m catv.Message) int64 {
			t.Helper()
			id, err := o.Send(ctx, m)
			if err != nil {
				t.Fatalf("send %s: %v", m.TitleJA, err)
			}
			return id
		}
		all := send(o, msg(catv.ToAll, "", "", "全員"))
		north := send(o, msg(catv.ToArea, "north", "", "北地区"))
		own := send(o, msg(catv.ToPerson, "", "hanako", "花子さんへ"))
		if all == north || north == own {
			t.Errorf("message IDs %d %d %d, want distinct", all, north, own)
		}
		send(other, msg(catv.ToAll, "", "", "となみの全員"))

		titles := func(o *catv.Operator, pid, term string) []string {
			t.Helper()
			ms, err := o.Inbox(ctx, pid, term)
			if err != nil {
				t.Fatalf("inbox of %s: %v", pid, err)
			}
			var out []string
			for _, m := range ms {
				s := m.TitleJA
				if m.Read {
					s += " (read)"
				}
				out = append(out, s)
			}
			return out
		}
		if diff := cmp.Diff([]string{"花子さんへ", "北地区", "全員"}, titles(o, "hanako", "tv-1")); diff != "" {
			t.Errorf("hanako's inbox (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"全員"}, titles(o, "kenta", "tv-2")); diff != "" {
			t.Errorf("kenta's inbox (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"となみの全員"}, titles(other, "kiyoshi", "tv-9")); diff != "" {
			t.Errorf("the other operator's inbox (-want +got):\n%s", diff)
		}
		for range 2 {
			if m, err := o.Read(ctx, "hanako", "tv-1", north); err != nil || m.TitleJA != "北地区" {
				t.Fatalf("read: %+v %v", m, err)
			}
		}
		if diff := cmp.Diff([]string{"花子さんへ", "全員", "北地区 (read)"}, titles(o, "hanako", "tv-1")); diff != "" {
			t.Errorf("hanako's inbox after reading (-want +got):\n%s", diff)
		}

		for _, tc := range []struct {
			name     string
			err      error
			want     catv.Reason
			pid, tid string
		}{
			{"another person's message", func() error { _, err := o.Read(ctx, "kenta", "tv-2", own); return err }(), catv.ReasonNoMessage, "kenta", "tv-2"},
			{"another TV", func() error { _, err := o.Inbox(ctx, "kenta", "tv-1"); return err }(), catv.ReasonNotSubscriber, "kenta", "tv-1"},
			{"another operator's subscriber", func() error { _, err := o.Inbox(ctx, "kiyoshi", "tv-9"); return err }(), catv.ReasonNotSubscriber, "kiyoshi", "tv-9"},
			{"to nobody here", func() error { _, err := o.Send(ctx, msg(catv.ToPerson, "", "kiyoshi", "x")); return err }(), catv.ReasonNoRecipient, "", ""},
			{"area without area", func() error { _, err := o.Send(ctx, msg(catv.ToArea, "", "", "x")); return err }(), catv.ReasonBadMessage, "", ""},
			{"no English", func() error { m := msg(catv.ToAll, "", "", "x"); m.TitleEN = ""; _, err := o.Send(ctx, m); return err }(), catv.ReasonBadMessage, "", ""},
		} {
			if !errors.Is(tc.err, catv.ErrRefused) || catv.ReasonOf(tc.err) != tc.want {
				t.Errorf("%s: %v, want %s", tc.name, tc.err, tc.want)
			}
			if ja, en := tc.want.Messages(); ja == "" || en == "" || ja == en {
				t.Errorf("%s: texts %q %q", tc.want, ja, en)
			}
		}
		// The refused sends stored nothing: kenta still has one message.
		if diff := cmp.Diff([]string{"全員"}, titles(o, "kenta", "tv-2")); diff != "" {
			t.Errorf("kenta's inbox after the refusals (-want +got):\n%s", diff)
		}

		audit := func(pid string) []string {
			t.Helper()
			es, err := o.Audit(ctx, pid)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, e := range es {
				out = append(out, e.Terminal+" "+e.Action+" "+e.Result)
			}
			return out
		}
		if diff := cmp.Diff([]string{"tv-1 inbox ok", "tv-1 read ok", "tv-1 read ok", "tv-1 inbox ok"}, audit("hanako")); diff != "" {
			t.Errorf("hanako's audit (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"tv-2 inbox ok", "tv-2 read no_message", "tv-1 inbox not_subscriber", "tv-2 inbox ok"}, audit("kenta")); diff != "" {
			t.Errorf("kenta's audit (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{" send ok", " send ok", " send ok", " send unknown_recipient", " send invalid_message", " send invalid_message"}, audit("")); diff != "" {
			t.Errorf("the sends' audit (-want +got):\n%s", diff)
		}
	})
}
