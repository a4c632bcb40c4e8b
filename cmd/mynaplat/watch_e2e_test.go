package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/demo"
)

// TestWatchInBrowser is watch-over in 南部町 (docs/community-tv.md §5.4):
// 法勝寺 トメ at her cable TV's box with the remote alone — key events
// only, never a click: her card by the arrows and Enter, the PIN by the
// number keys as a remote sends them, Enter; the power-on page asks the
// day's first question at once, and she answers the three questions with
// three number keys (the last one "not eaten", out of the health centre's
// range). The result says the centre will call; the family's mail reaches
// the SMTP server inside the demo within seconds, without health values.
// Then the centre's 赤松 さち signs in with her staff card, sees トメ's flag
// and handles it with a note. Screenshots at 1280×720, each checked to
// fit the TV's screen with a visible focus.
func TestWatchInBrowser(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	url := startServer(t, bin, "--demo", "--data", data)
	r := newFlowRun(t, sameURL(bin, data, url))
	tv := tvRemote{t: t, r: r}
	tv.login(url, "tv-nambu-1", "法勝寺　トメ", "5678", "#question")
	if h := has(r.text("#question"), "気分"); h != "yes" {
		t.Errorf("the power-on question: %s", h)
	}
	tv.shot("watch-01-feeling")
	start := time.Now()
	r.do("press 1: feeling 2 (so-so)", tv.vk(vk0+2), chromedp.WaitVisible(css(`#choices a[href*="b=1"]`)))
	if h := has(r.text("#question"), "血圧"); h != "yes" {
		t.Errorf("the second question: %s", h)
	}
	tv.shot("watch-02-bp")
	r.do("press 2: blood pressure 1 (low)", tv.vk(vk0+1), chromedp.WaitVisible(css(`#choices button#choice-3`)))
	if h := has(r.text("#question"), "食事"); h != "yes" {
		t.Errorf("the third question: %s", h)
	}
	tv.shot("watch-03-meals")
	r.do("press 3: meals 3 (not eaten)", chromedp.KeyEvent("3"), chromedp.WaitVisible(css("#thanks")))
	if h := has(r.text("#answers"), "ふつう", "低め", "食べていない"); h != "yes" {
		t.Errorf("the answers: %s", h)
	}
	if h := has(r.text("#flagged"), "保健センター"); h != "yes" {
		t.Errorf("the result does not say the centre will call: %s", h)
	}
	tv.shot("watch-04-done")

	// The family's mail, read back from the demo's SMTP server.
	var page string
	for time.Since(start) < 15*time.Second {
		resp, err := http.Get(url + "/demo/mailbox")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if page = string(b); strings.Contains(page, "tome.family@example.jp") {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if h := has(page, "tome.family@example.jp", "南部町 保健センター", "法勝寺　トメ"); h != "yes" {
		t.Fatalf("the family's mail: %s", h)
	}
	t.Logf("the family's mail within %v of the answer", time.Since(start).Round(time.Millisecond))
	for _, leak := range []string{"食べていない", "血圧", "気分"} {
		if strings.Contains(page, leak) {
			t.Errorf("the family's mail tells %q", leak)
		}
	}

	// The centre's staff member sees the flag and handles it.
	s := newFlowRun(t, sameURL(bin, data, url))
	const home = "/watch/nambu/office/"
	s.staffLogin(url, home, demo.WatchStaffName, "watch-staff")
	if h := has(s.text("#board"), "法勝寺　トメ", "答えが基準外", "家族へメール送信"); h != "yes" {
		t.Errorf("the board: %s", h)
	}
	s.shot("watch-05-board")
	s.do("handle the flag with a note", chromedp.SetValue(css("form.flag input[name=note]"), "電話で確認。昼食をとるよう声かけ。"),
		chromedp.Click(css("form.flag button")), chromedp.WaitVisible(css("#handled")))
	if h := has(s.text("#handled"), "電話で確認", "赤松"); h != "yes" {
		t.Errorf("the handled flag: %s", h)
	}
	if n := s.count("form.flag"); n != 0 {
		t.Errorf("%d open flags after handling, want 0", n)
	}
	s.shot("watch-06-handled")
}
