package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/mynaplat/mynaplat/demo"
)

// TestGateInBrowser is the children's check-in in 南部町
// (docs/community-tv.md §5.5), keys only, never a click: 南部 翔 holds his
// card to the school gate's reader (chosen with the arrows and Enter, no
// PIN) and the screen says he arrived; his guardian's mail reaches the
// demo's SMTP server within seconds (the delay is logged); then 法勝寺 トメ,
// his guardian, logs in at her TV with the remote and opens 「子どもの入退室」
// with its number key: the school's arrival is there, the library has
// nothing of it. The school's teacher sees the arrival on her page; the
// librarian's page has none. Screenshots at 1280×720 (the TV) and
// 1024×600 (the gate), each checked to fit.
func TestGateInBrowser(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	url := startServer(t, bin, "--demo", "--data", data)

	// The gate: a kiosk screen.
	g := newFlowRun(t, sameURL(bin, data, url))
	sho := g.card("南部　翔")
	g.do("the school gate's reader", chromedp.EmulateViewport(1024, 600), focusEmulation(), chromedp.Navigate(url+"/gatekiosk/school-nambu-1/"),
		chromedp.WaitVisible(css("#card")))
	tvRemote{t: t, r: g}.choose(sho)
	fitShot(g, "gate-01-reader", "1024x600", false)
	start := time.Now()
	g.do("hold the card (Tab to the button, Enter)", chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(css("#result")))
	if h := has(g.text("#result"), "南部　翔", "着きました"); h != "yes" {
		t.Errorf("the gate's answer: %s", h)
	}
	fitShot(g, "gate-02-arrived", "1024x600", false)

	// The guardian's mail, read back from the demo's SMTP server.
	var page string
	for time.Since(start) < 15*time.Second {
		resp, err := http.Get(url + "/demo/mailbox")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if page = string(b); strings.Contains(page, "sho.family@example.jp") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if h := has(page, "sho.family@example.jp", "南部町立 南部小学校", "南部　翔", "着きました"); h != "yes" {
		t.Fatalf("the guardian's mail: %s", h)
	}
	t.Logf("the guardian's mail within %v of the touch (the mailbox page polled every 100 ms)", time.Since(start).Round(time.Millisecond))

	// The guardian's TV.
	r := newFlowRun(t, sameURL(bin, data, url))
	tv := tvRemote{t: t, r: r}
	tv.login(url, "tv-nambu-1", "法勝寺　トメ", "5678", "#question")
	r.do("blue key: to the menu", tv.vk(vkBlue), chromedp.WaitVisible(css("#children")))
	num, err := chromedp.Run(r.ctx, chromedp.Evaluate[string](`document.querySelector("#children").dataset.remoteNum`))
	if err != nil || num == "" {
		t.Fatalf("the item's number key: %q, %v", num, err)
	}
	tv.shot("gate-03-menu")
	if h := has(r.text("#children"), "子どもの入退室"); h != "yes" {
		t.Errorf("the menu's item: %s", h)
	}
	r.do("number key "+num+": the check-ins", chromedp.KeyEvent(num), chromedp.WaitVisible(css("#child-0")))
	school, library := r.text("#child-0"), r.text("#child-1")
	if h := has(school, "南部　翔", "南部町立 南部小学校", "着きました"); h != "yes" {
		t.Errorf("the school's history: %s\n%s", h, school)
	}
	if h := has(library, "南部町立図書館", "記録はありません"); h != "yes" {
		t.Errorf("the library's history (nothing of the school's touch): %s\n%s", h, library)
	}
	tv.shot("gate-04-history")
	r.do("Back: the menu", chromedp.KeyEvent(kb.Escape), chromedp.WaitVisible(css("#children")))

	// The staff: the school's teacher sees the arrival, the librarian none.
	s := newFlowRun(t, sameURL(bin, data, url))
	s.staffLogin(url, "/gate/nambu-school/office/", demo.GateTeacherName, "gate-05-school")
	if h := has(s.text("#events"), "南部　翔", "着きました", "school-nambu-1"); h != "yes" {
		t.Errorf("the school's page: %s", h)
	}
	s.shot("gate-05-school-day")
	l := newFlowRun(t, sameURL(bin, data, url))
	l.staffLogin(url, "/gate/nambu-library/office/", demo.GateLibrarianName, "gate-06-library")
	if h := has(l.text("#none"), "まだありません"); h != "yes" {
		t.Errorf("the library's page: %s", h)
	}
	l.shot("gate-06-library-day")
}
