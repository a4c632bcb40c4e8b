package main

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/mynaplat/mynaplat/community/evac"
	"github.com/mynaplat/mynaplat/store"
)

// TestTVEvacInBrowser is 日和佐 正 at his cable TV in 美波町 when the town
// issues a drill's evacuation order for his area (docs/community-tv.md
// §5.6, §7), every step a key event, never a click: he logs in with the
// card and the PIN by number keys and goes to the menu; the order, issued
// by the disaster office in another process (this test, on the same
// database: the office's hub polls its event log), appears over the menu
// without a reload — his name, the nearest open shelter (the school, not
// the closed meeting house nearer to him), the focus on 「確認しました」;
// the red key acknowledges it, recorded at the office (the board says
// so); Back closes it; the lift arrives the same way, and Back closes it;
// VK_BACK ends the session. Screenshots at 1280×720, each checked to fit
// the screen with a visible focus ring.
func TestTVEvacInBrowser(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	url := startServer(t, bin, "--demo", "--data", data)
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	office, err := evac.NewService(ctx, db, time.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	officer := evac.Actor{ID: "M-363880-01", Terminal: "test"}

	r := newFlowRun(t, sameURL(bin, data, url))
	tv := tvRemote{t: t, r: r}
	tv.login(url, "tv-minami-1", "日和佐　正", "7890", "#unread")
	r.do("the blue key: the menu", tv.key("b"), chromedp.WaitVisible(css("#menu")))
	tv.shot("tv-evac-01-menu")
	// A reload would lose this mark.
	if _, err := chromedp.Run(r.ctx, chromedp.Evaluate[bool](`window.notReloaded = true`)); err != nil {
		t.Fatal(err)
	}
	issued := time.Now()
	o, err := office.Issue(ctx, officer, evac.OrderInput{Areas: []string{"okukawachi"}, Level: 4, Drill: true})
	if err != nil {
		t.Fatal(err)
	}
	r.do("the order is pushed", chromedp.WaitVisible(css("#push-overlay #evac-ack")))
	t.Logf("the order was on the TV %v after it was issued", time.Since(issued).Round(time.Millisecond))
	if v, err := chromedp.Run(r.ctx, chromedp.Evaluate[bool](`window.notReloaded === true && location.pathname.endsWith("/menu")`)); err != nil || !v {
		t.Errorf("the page was reloaded or left for the order (%v)", err)
	}
	if f := tv.focused(); f != "evac-ack" {
		t.Errorf("the order's focus is on %q, want 確認しました", f)
	}
	for sel, want := range map[string]string{"#evac-members": "日和佐　正", "#evac-shelter": "日和佐小学校", "#evac-level": "避難指示", "#evac-drill": "訓練"} {
		if h := has(r.text(sel), want); h != "yes" {
			t.Errorf("%s does not say %s: %s", sel, want, h)
		}
	}
	tv.shot("tv-evac-02-order")
	r.do("the red key: acknowledge", tv.key("r"), chromedp.WaitVisible(css("#evac-acked")))
	tv.shot("tv-evac-03-acknowledged")
	b, err := office.Board(ctx, officer, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b.Totals.Acknowledged != 1 || b.Totals.Unaccounted != 0 || len(b.Areas) != 1 || !b.Areas[0].Households[0].Acknowledged {
		t.Errorf("the board after the acknowledgement: %+v", b)
	}
	r.do("Back: the menu", tv.key(kb.Escape), chromedp.WaitVisible(css("#menu")))
	if n := r.count("#push-overlay"); n != 0 {
		t.Errorf("an acknowledged order is shown again at the menu")
	}
	if _, err := office.Lift(ctx, officer, o.ID); err != nil {
		t.Fatal(err)
	}
	r.do("the lift is pushed", chromedp.WaitVisible(css("#push-overlay #evac-lifted")))
	if f := tv.focused(); f != "evac-close" {
		t.Errorf("the lift's focus is on %q, want Close", f)
	}
	tv.shot("tv-evac-04-lifted")
	r.do("Back closes it", tv.key(kb.Escape), chromedp.WaitNotPresent(css("#push-overlay")))
	r.do("VK_BACK ends the session", tv.vk(vkBack), chromedp.WaitVisible(css("#card")))
}
