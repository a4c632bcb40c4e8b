package mail_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/community/mail"
	"github.com/mynaplat/mynaplat/community/mail/mailbox"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  mail.Config
		want []string
	}{
		{name: "good", cfg: mail.Config{Addr: "127.0.0.1:25", From: "hoken@town.example"}},
		{name: "no port", cfg: mail.Config{Addr: "smtp.example", From: "a@b.example"}, want: []string{"--smtp"}},
		{name: "a name in from", cfg: mail.Config{Addr: "h:25", From: "保健 <a@b.example>"}, want: []string{"--smtp-from"}},
		{name: "user without password", cfg: mail.Config{Addr: "h:25", From: "a@b.example", Username: "u"}, want: []string{"--smtp-password-file"}},
		{name: "nothing", want: []string{"--smtp ", "--smtp-from"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, mail.ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v lacks %q", err, w)
				}
			}
		})
	}
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// TestOutbox: a queued mail reaches the SMTP server once, read back with
// its Japanese subject and body; a ref is queued once; a refusal of the
// server keeps the mail, which is sent after its backoff and not before;
// a claimed mail is not sent by another worker.
func TestOutbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		box, err := mailbox.Start()
		if err != nil {
			t.Fatal(err)
		}
		defer box.Close()
		c := &clock{time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)}
		s, err := mail.NewSender(mail.Config{Addr: box.Addr(), From: "hoken@nambu.example", DialTimeout: 2 * time.Second, Deadline: 5 * time.Second}, c.now)
		if err != nil {
			t.Fatal(err)
		}
		o, err := mail.OpenOutbox(ctx, db, "watch", s, c.now, nil)
		if err != nil {
			t.Fatal(err)
		}
		enqueue := func(ref string, m mail.Message) bool {
			t.Helper()
			var q bool
			if err := db.Tx(ctx, func(tx *sql.Tx) error {
				var err error
				q, err = o.EnqueueTx(ctx, tx, ref, m)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return q
		}
		m1 := mail.Message{To: "family@example.jp", Subject: "見守り：保健センターにお電話ください", Body: "法勝寺 トメ さんについて\n保健センターにお電話ください。"}
		if !enqueue("flag:1", m1) || enqueue("flag:1", m1) {
			t.Fatal("the first enqueue queues, the second not")
		}
		n, err := o.Flush(ctx)
		if err != nil || n != 1 {
			t.Fatalf("flush = %d, %v", n, err)
		}
		if n, _ := o.Flush(ctx); n != 0 {
			t.Fatalf("second flush sent %d", n)
		}
		got := box.Mails()
		if len(got) != 1 {
			t.Fatalf("%d mails", len(got))
		}
		if d := cmp.Diff([]string{m1.Subject, m1.Body, "hoken@nambu.example", "family@example.jp"},
			[]string{got[0].Subject, got[0].Body, got[0].From, strings.Join(got[0].To, ",")}); d != "" {
			t.Errorf("mail (-want +got):\n%s", d)
		}
		if raw := string(got[0].Raw); !strings.Contains(raw, "Message-ID: <") || !strings.Contains(raw, "@nambu.example>") {
			t.Errorf("no Message-ID in the sender's domain:\n%s", raw)
		}
		st, err := o.Status(ctx, "flag:1")
		if err != nil || st.Sent.IsZero() || st.Attempts != 1 {
			t.Errorf("status %+v, %v", st, err)
		}

		// Refused twice: kept, retried after the backoff, sent once.
		box.Refuse(2)
		enqueue("flag:2", mail.Message{To: "family@example.jp", Subject: "2", Body: "2"})
		if n, err := o.Flush(ctx); n != 0 || err != nil {
			t.Fatalf("refused flush = %d, %v", n, err)
		}
		st, _ = o.Status(ctx, "flag:2")
		if st.Attempts != 1 || !st.Sent.IsZero() || !strings.Contains(st.LastError, "451") {
			t.Errorf("after a refusal: %+v", st)
		}
		if n, _ := o.Flush(ctx); n != 0 {
			t.Fatal("sent before the backoff")
		}
		c.t = c.t.Add(5 * time.Second)
		if n, _ := o.Flush(ctx); n != 0 {
			t.Fatal("the second refusal")
		}
		c.t = c.t.Add(10 * time.Second)
		if n, err := o.Flush(ctx); n != 1 || err != nil {
			t.Fatalf("retry = %d, %v", n, err)
		}
		if got := box.Mails(); len(got) != 2 || got[1].Subject != "2" {
			t.Fatalf("mails after the retry: %d", len(got))
		}
		st, _ = o.Status(ctx, "flag:2")
		if st.Attempts != 3 || st.Sent.IsZero() || st.LastError != "" {
			t.Errorf("after the retry: %+v", st)
		}
		if _, err := o.Status(ctx, "flag:9"); !errors.Is(err, mail.ErrNotQueued) {
			t.Errorf("no such mail: %v", err)
		}
	})
}

// blocking is a transport that holds a mail until released, to show that
// a claimed mail is not sent twice by two workers at once.
type blocking struct {
	in, out chan struct{}
	sent    int
}

func (b *blocking) Send(ctx context.Context, m mail.Message) error {
	b.in <- struct{}{}
	<-b.out
	b.sent++
	return nil
}

func TestOutboxOneWorkerPerMail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := &clock{time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)}
		b := &blocking{in: make(chan struct{}), out: make(chan struct{})}
		o, err := mail.OpenOutbox(ctx, db, "watch", b, c.now, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Tx(ctx, func(tx *sql.Tx) error {
			_, err := o.EnqueueTx(ctx, tx, "x", mail.Message{To: "a@b.example", Subject: "s", Body: "b"})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		done := make(chan int)
		go func() { n, _ := o.Flush(ctx); done <- n }()
		<-b.in // the first worker holds the mail
		if n, err := o.Flush(ctx); n != 0 || err != nil {
			t.Fatalf("a second worker sent %d, %v", n, err)
		}
		close(b.out)
		if n := <-done; n != 1 || b.sent != 1 {
			t.Fatalf("sent %d (transport %d)", n, b.sent)
		}
	})
}
