package watch_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/community/mail"
	"github.com/mynaplat/mynaplat/community/mail/mailbox"
	"github.com/mynaplat/mynaplat/community/watch"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

var jst = time.FixedZone("JST", 9*60*60)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// fakeSigns are power-ons by person, as the CATV operator would answer.
type fakeSigns struct {
	mu   sync.Mutex
	ons  map[string][]time.Time
	down bool
}

func (f *fakeSigns) Signs(_ context.Context, pid string, from, to time.Time) ([]time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errors.New("catv down")
	}
	var out []time.Time
	for _, t := range f.ons[pid] {
		if !t.Before(from) && t.Before(to) {
			out = append(out, t)
		}
	}
	return out, nil
}

type fixture struct {
	svc   *watch.Service
	clk   *clock
	signs *fakeSigns
	box   *mailbox.Server
}

func setup(t *testing.T, db *store.DB) fixture {
	t.Helper()
	ctx := context.Background()
	box, err := mailbox.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { box.Close() })
	clk := &clock{t: time.Date(2026, 12, 8, 7, 0, 0, 0, jst)}
	sender, err := mail.NewSender(mail.Config{Addr: box.Addr(), From: "hoken@town.nambu.example", DialTimeout: 2 * time.Second, Deadline: 5 * time.Second}, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	signs := &fakeSigns{ons: map[string][]time.Time{}}
	svc, err := watch.New(ctx, watch.Config{DB: db, Centre: watch.Centre{ID: "nambu", Name: "南部町 保健センター", Phone: "0859-66-0000"},
		Signs: signs, Mail: sender, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []watch.Person{
		{PlatformID: "tome", Name: "法勝寺 トメ", FamilyMail: "tome-family@example.jp", Deadline: 600},
		{PlatformID: "ichiro", Name: "南部 一郎", FamilyMail: "ichiro-family@example.jp", Deadline: 600},
		{PlatformID: "hana", Name: "天萬 はな", FamilyMail: "hana-family@example.jp", Deadline: 600},
		{PlatformID: "jiro", Name: "阿賀 次郎", FamilyMail: "jiro-family@example.jp", Deadline: 600},
	} {
		if err := svc.Watch(ctx, "demo", p); err != nil {
			t.Fatal(err)
		}
	}
	return fixture{svc: svc, clk: clk, signs: signs, box: box}
}

func actions(t *testing.T, svc *watch.Service, pid string) []string {
	t.Helper()
	es, err := svc.Audit(context.Background(), pid)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Action+" "+e.Result)
	}
	return out
}

// TestWatch: the day's answer (a sign of life; the third answer raises the
// range flag at once, once), the deadline sweep with a fake clock (a
// power-on or a planned absence keeps the flag away, nothing at all raises
// `missing` once, the operator down raises nothing), the family's mail
// read back from the SMTP server without health values, handling with a
// note, the refusals with their audit rows only.
func TestWatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		svc := f.svc

		// 07:00: トメ answers well; 一郎 answers "not eaten" (range).
		got, err := svc.Input(ctx, "tome", "tv-nambu-1", watch.Answer{Feeling: 1, BP: 2, Choice: 1})
		if err != nil || !got.Answered || got.Flagged || got.Name != "法勝寺 トメ" || got.Day != "2026-12-08" {
			t.Fatalf("tome's input: %+v %v", got, err)
		}
		got, err = svc.Input(ctx, "ichiro", "tv-nambu-2", watch.Answer{Feeling: 1, BP: 1, Choice: 3})
		if err != nil || !got.Flagged {
			t.Fatalf("ichiro's input: %+v %v", got, err)
		}
		// Answering again the same day replaces the answer, no second flag.
		if got, err = svc.Input(ctx, "ichiro", "tv-nambu-2", watch.Answer{Feeling: 3, BP: 1, Choice: 3}); err != nil || got.Answer.Feeling != 3 {
			t.Fatalf("ichiro again: %+v %v", got, err)
		}

		// Refusals: only their audit rows.
		for _, tc := range []struct {
			pid  string
			a    watch.Answer
			want watch.Reason
		}{
			{"nobody", watch.Answer{Feeling: 1, BP: 1, Choice: 1}, watch.ReasonNotWatched},
			{"hana", watch.Answer{Feeling: 4, BP: 1, Choice: 1}, watch.ReasonBadAnswer},
			{"hana", watch.Answer{Feeling: 1, BP: 0, Choice: 1}, watch.ReasonBadAnswer},
		} {
			if _, err := svc.Input(ctx, tc.pid, "tv-x", tc.a); watch.ReasonOf(err) != tc.want || !errors.Is(err, watch.ErrRefused) {
				t.Errorf("%s %+v: %v, want %s", tc.pid, tc.a, err, tc.want)
			}
		}
		if _, err := svc.Today(ctx, "nobody", "tv-x"); watch.ReasonOf(err) != watch.ReasonNotWatched {
			t.Errorf("today of nobody: %v", err)
		}
		if d := cmp.Diff([]string{"input invalid_answer", "input invalid_answer"}, actions(t, svc, "hana")[1:]); d != "" {
			t.Errorf("hana's audit (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]string{"input not_watched", "today not_watched"}, actions(t, svc, "nobody")); d != "" {
			t.Errorf("nobody's audit (-want +got):\n%s", d)
		}

		// はな powered on at 08:00 (no input); 次郎 is away today.
		f.signs.ons["hana"] = []time.Time{time.Date(2026, 12, 8, 8, 0, 0, 0, jst)}
		by := "H-01 保健 師子"
		if err := svc.AddAbsence(ctx, by, "jiro", "2026-12-07", "2026-12-09"); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ pid, from, to string }{{"jiro", "2026-12-09", "2026-12-07"}, {"nobody", "2026-12-07", "2026-12-09"}, {"jiro", "12/7", "12/9"}} {
			if err := svc.AddAbsence(ctx, by, tc.pid, tc.from, tc.to); watch.ReasonOf(err) != watch.ReasonBadAbsence {
				t.Errorf("absence %+v: %v", tc, err)
			}
		}

		// Before the deadline nothing is missing.
		f.clk.set(time.Date(2026, 12, 8, 9, 59, 0, 0, jst))
		if n, err := svc.Sweep(ctx); n != 0 || err != nil {
			t.Fatalf("sweep before the deadline: %d %v", n, err)
		}
		// The operator down: nobody is flagged on a guess.
		f.clk.set(time.Date(2026, 12, 8, 10, 0, 0, 0, jst))
		f.signs.down = true
		if n, err := svc.Sweep(ctx); n != 0 || err != nil {
			t.Fatalf("sweep with the operator down: %d %v", n, err)
		}
		f.signs.down = false
		// はな powers on only after the deadline: it does not count for today's check.
		f.signs.ons["hana"] = []time.Time{time.Date(2026, 12, 8, 10, 30, 0, 0, jst)}
		f.signs.ons["ichiro"] = nil
		f.clk.set(time.Date(2026, 12, 8, 10, 31, 0, 0, jst))
		if n, err := svc.Sweep(ctx); n != 1 || err != nil {
			t.Fatalf("sweep: %d %v, want はな's missing flag", n, err)
		}
		if n, err := svc.Sweep(ctx); n != 0 || err != nil {
			t.Fatalf("a second sweep: %d %v, want none", n, err)
		}

		// The mails: one per flag, read back from the SMTP server.
		if n, err := svc.Outbox().Flush(ctx); n != 2 || err != nil {
			t.Fatalf("flush: %d %v", n, err)
		}
		if n, _ := svc.Outbox().Flush(ctx); n != 0 {
			t.Fatal("a mail sent twice")
		}
		mails := f.box.Mails()
		var to []string
		for _, m := range mails {
			to = append(to, strings.Join(m.To, ","))
			if !strings.Contains(m.Subject, "南部町 保健センター") || !strings.Contains(m.Body, "0859-66-0000") {
				t.Errorf("mail %q: %q lacks the centre or its phone", m.Subject, m.Body)
			}
			for _, leak := range []string{"血圧", "気分", "食事", "range", "missing", "blood", "feeling"} {
				if strings.Contains(m.Body, leak) || strings.Contains(m.Subject, leak) {
					t.Errorf("mail to %v tells %q:\n%s", m.To, leak, m.Body)
				}
			}
		}
		if d := cmp.Diff([]string{"ichiro-family@example.jp", "hana-family@example.jp"}, to); d != "" {
			t.Errorf("mails to (-want +got):\n%s", d)
		}

		// The board: everyone with today's state and the open flags.
		rows, handled, err := svc.Board(ctx, by)
		if err != nil {
			t.Fatal(err)
		}
		state := map[string]string{}
		var open []watch.Flag
		for _, r := range rows {
			state[r.Person.PlatformID] = r.State()
			open = append(open, r.Flags...)
		}
		if d := cmp.Diff(map[string]string{"tome": "answered", "ichiro": "answered", "hana": "missing", "jiro": "absent"}, state); d != "" {
			t.Errorf("states (-want +got):\n%s", d)
		}
		if len(open) != 2 || len(handled) != 0 || open[0].MailSent.IsZero() {
			t.Fatalf("open flags %+v, handled %+v", open, handled)
		}

		// Handling: a note is required; a flag is handled once.
		if err := svc.Handle(ctx, by, open[0].ID, " "); watch.ReasonOf(err) != watch.ReasonNoteRequired {
			t.Errorf("no note: %v", err)
		}
		if err := svc.Handle(ctx, by, open[0].ID, "電話で確認。食欲がないとのことで訪問を予定。"); err != nil {
			t.Fatal(err)
		}
		if err := svc.Handle(ctx, by, open[0].ID, "again"); watch.ReasonOf(err) != watch.ReasonNoFlag {
			t.Errorf("handled twice: %v", err)
		}
		if err := svc.Handle(ctx, by, 999, "x"); watch.ReasonOf(err) != watch.ReasonNoFlag {
			t.Errorf("no such flag: %v", err)
		}
		rows, handled, err = svc.Board(ctx, by)
		if err != nil || len(handled) != 1 || handled[0].HandledBy != by || handled[0].PlatformID != "ichiro" {
			t.Fatalf("handled %+v %v", handled, err)
		}
		if d := cmp.Diff([]string{"watch ok", "flag-range ok", "input ok", "input ok", "handle ok"}, actions(t, svc, "ichiro")); d != "" {
			t.Errorf("ichiro's audit (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]string{"watch ok", "input invalid_answer", "input invalid_answer", "flag-missing ok"}, actions(t, svc, "hana")); d != "" {
			t.Errorf("hana's audit (-want +got):\n%s", d)
		}
		if board := actions(t, svc, ""); len(board) < 2 || board[0] != "board ok" {
			t.Errorf("the board's reads are not audited: %v", board)
		}
		_ = rows
	})
}

// TestMailRefusedRetried: the SMTP server refuses a flag's mail; the flag
// stays mailed-queued and the mail reaches the family on the retry, once.
func TestMailRefusedRetried(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		f.box.Refuse(1)
		f.clk.set(time.Date(2026, 12, 8, 10, 0, 0, 0, jst))
		if n, err := f.svc.Sweep(ctx); n != 4 || err != nil {
			t.Fatalf("sweep %d %v", n, err)
		}
		if n, err := f.svc.Outbox().Flush(ctx); n != 3 || err != nil {
			t.Fatalf("first flush %d %v, want 3 of 4 (one refused)", n, err)
		}
		f.clk.set(f.clk.now().Add(time.Minute))
		if n, err := f.svc.Outbox().Flush(ctx); n != 1 || err != nil {
			t.Fatalf("retry %d %v", n, err)
		}
		if ms := f.box.Mails(); len(ms) != 4 {
			t.Fatalf("%d mails, want 4", len(ms))
		}
	})
}

func TestWatchRegistration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		for _, p := range []watch.Person{
			{PlatformID: "", Name: "x", FamilyMail: "a@b.example", Deadline: 600},
			{PlatformID: "p", Name: "x", FamilyMail: "not a mail", Deadline: 600},
			{PlatformID: "p", Name: "x", FamilyMail: "a@b.example", Deadline: 24 * 60},
		} {
			if err := f.svc.Watch(context.Background(), "demo", p); watch.ReasonOf(err) != watch.ReasonBadPerson {
				t.Errorf("%+v: %v", p, err)
			}
		}
	})
}

func TestReasons(t *testing.T) {
	for _, r := range []watch.Reason{watch.ReasonNotWatched, watch.ReasonBadAnswer, watch.ReasonBadPerson, watch.ReasonBadAbsence,
		watch.ReasonNoFlag, watch.ReasonNoteRequired} {
		ja, en := r.Messages()
		if ja == "受け付けられませんでした。" || en == "Refused." || ja == "" || en == "" {
			t.Errorf("%s has no words of its own", r)
		}
	}
	if err := watch.Rules.Check(); err != nil {
		t.Fatal(err)
	}
}
