package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
)

// demoCardID finds the demo card of a holder with "mynaplat card list --json".
func demoCardID(t *testing.T, bin, data, holder string) string {
	t.Helper()
	var cards []card.Info
	if err := json.Unmarshal([]byte(mynaplat(t, bin, "card", "list", "--json", "--data", data)), &cards); err != nil {
		t.Fatal(err)
	}
	for _, c := range cards {
		if c.Holder == holder {
			return c.ID
		}
	}
	t.Fatalf("no demo card of %s", holder)
	return ""
}

// TestLoginWithCardInBrowser is what a newcomer does: run serve --demo, open
// a kiosk, place a demo card, type a wrong PIN (and see the tries left),
// then the right one, and see who they are.
func TestLoginWithCardInBrowser(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	url := startServer(t, bin, "--demo", "--data", data)
	r := newFlowRun(t, sameURL(bin, data, url))
	ctx := r.ctx
	loginFlow(t, r)

	// The same in English.
	if err := chromedp.Do(ctx, chromedp.Navigate(url+"/lang?to=en&back=/me/audit"), chromedp.WaitVisible(css("#audit"))); err != nil {
		t.Fatal(err)
	}
	if got := r.text("h1"); got != "Who checked me" {
		t.Errorf("English heading %q", got)
	}

	// Every other terminal of the demo (TVs, the school gate, the shelter,
	// the tablet), each with its pilot's card and the PIN pressed on the
	// pad: one digit per press reaches the card, so the right PIN logs in.
	// These screens once loaded pinpad.js twice, the pad typed every digit
	// twice and blocked the card of everyone who used it (issue 14).
	for _, tc := range []struct{ terminal, holder, pin string }{
		{"tv-suzaka-1", "須坂　健太", "2345"},
		{"tv-nanto-1", "井波　清", "4567"},
		{"tv-nambu-1", "法勝寺　トメ", "5678"},
		{"school-nambu-1", "南部　翔", "6789"},
		{"shelter-minami-1", "日和佐　正", "7890"},
		{"mobile-maebashi-1", "前橋　美咲", "1357"},
	} {
		id := demoCardID(t, bin, data, tc.holder)
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err := chromedp.Do(sctx, chromedp.Navigate(url+"/t/"+tc.terminal+"/"), chromedp.WaitVisible(css("#place")),
			chromedp.SetValue(css("#card"), id), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")),
			browsertest.PinPad(tc.pin), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#platform-id")))
		cancel()
		if err != nil {
			browsertest.Screenshot(t, ctx, "pinpad-"+tc.terminal)
			page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Errorf("%s, %s: %v\non the page:\n%s", tc.terminal, tc.holder, err, page)
		}
	}
}

// TestBlockedCardInBrowser shows the blocked-PIN explanation for the demo
// card whose PIN is blocked.
func TestBlockedCardInBrowser(t *testing.T) {
	ctx := browsertest.New(t)
	bin := buildBinary(t)
	data := t.TempDir()
	url := startServer(t, bin, "--demo", "--data", data)
	id := demoCardID(t, bin, data, "本間　光")
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	if err := chromedp.Do(ctx, chromedp.Navigate(url+"/t/kiosk-suzaka-1/"), chromedp.WaitVisible(css("#place")),
		chromedp.SetValue(css("#card"), id), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#blocked"))); err != nil {
		t.Fatalf("place the blocked card: %v", err)
	}
	got, err := chromedp.Run(ctx, chromedp.Text(css("#blocked")))
	if err != nil || !strings.Contains(got, "市区町村の窓口") {
		t.Errorf("blocked explanation %q, %v", got, err)
	}
}

// TestTwoInstancesOnePostgres runs two serve processes on one PostgreSQL
// database: a challenge issued by one is answered at the other, and a replay
// is refused at either.
func TestTwoInstancesOnePostgres(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	bin := buildBinary(t)
	data := t.TempDir()
	urlA := startServer(t, bin, "--demo", "--data", data, "--db", dsn)
	urlB := startServer(t, bin, "--data", data, "--db", dsn)

	cfgs, err := terminal.LoadConfigs(filepath.Join(data, "bench"))
	if err != nil || len(cfgs) != 1 {
		t.Fatalf("bench terminal: %v %v", cfgs, err)
	}
	key, _ := base64.StdEncoding.DecodeString(cfgs[0].Key)
	at := func(url string) *platform.TerminalClient {
		return &platform.TerminalClient{BaseURL: url, TerminalID: cfgs[0].ID, Key: key}
	}
	cards, err := card.NewStore(filepath.Join(data, "cards"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	cd, err := cards.Open(demoCardID(t, bin, data, "井波　清"))
	if err != nil {
		t.Fatal(err)
	}
	answer := func(ch *platform.Challenge) platform.AuthRequest {
		cl := card.NewClient(cd)
		defer cl.Logout()
		if err := cl.VerifyPIN(card.AuthPIN, "4567"); err != nil {
			t.Fatal(err)
		}
		cert, err := cl.Certificate(card.Auth)
		if err != nil {
			t.Fatal(err)
		}
		s, err := cl.Signer(card.Auth)
		if err != nil {
			t.Fatal(err)
		}
		req, err := platform.Answer(ch, cert, s)
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	ctx := context.Background()
	auth := func(tc *platform.TerminalClient, req platform.AuthRequest) *platform.Report {
		ar, err := tc.Authenticate(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return ar.Report
	}

	ch, err := at(urlA).Challenge(ctx)
	if err != nil {
		t.Fatal(err)
	}
	req := answer(ch)
	first := auth(at(urlB), req)
	if first.Result != platform.Passed {
		t.Fatalf("A's challenge answered at B: %+v", first)
	}
	for name, url := range map[string]string{"B": urlB, "A": urlA} {
		if rep := auth(at(url), req); rep.Result != platform.Failed || rep.Reason != platform.ReasonReplayed {
			t.Errorf("replay at %s: %s/%s, want FAILED/replayed", name, rep.Result, rep.Reason)
		}
	}
	// And the other way round, with the same platform ID.
	ch, err = at(urlB).Challenge(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep := auth(at(urlA), answer(ch)); rep.Result != platform.Passed || rep.PlatformID != first.PlatformID {
		t.Errorf("B's challenge at A: %s %s, want PASSED %s", rep.Result, rep.PlatformID, first.PlatformID)
	}
}

// TestSplitRoles runs the JPKI centre and the platform as two processes with
// two databases, talking over HTTP only: a card issued at the centre
// authenticates at the platform, and a revocation at the centre reaches the
// platform through its CRL cache.
func TestSplitRoles(t *testing.T) {
	bin := buildBinary(t)
	dataA, dataB := t.TempDir(), t.TempDir()
	urlA := startServer(t, bin, "--roles", "jpki", "--data", dataA)
	token := strings.TrimSpace(lastLine(mynaplat(t, bin, "jpki", "operator", "add", "--data", dataA, "platform-b")))
	var issued struct {
		CardID string `json:"card_id"`
	}
	out := mynaplat(t, bin, "jpki", "issue", "--data", dataA, "--json", "--name", "井波 清", "--kana", "イナミ キヨシ",
		"--birth", "1941-03-03", "--sex", "male", "--address", "富山県南砺市井波１番地", "--municipality", "162108",
		"--auth-pin", "4567", "--sign-pin", "INAMI1941")
	if err := json.Unmarshal([]byte(out), &issued); err != nil {
		t.Fatal(err)
	}
	mynaplat(t, bin, "platform", "terminal", "add", "--data", dataB, "--jpki-url", urlA,
		"--id", "tv-nanto-9", "--kind", "tv", "--owner", "となみ衛星通信テレビ", "--name", "STB")
	urlB := startServer(t, bin, "--roles", "platform,terminals", "--data", dataB,
		"--jpki-url", urlA, "--jpki-token", token, "--crl-refresh", "100ms")

	cfgs, err := terminal.LoadConfigs(filepath.Join(dataB, "terminals"))
	if err != nil || len(cfgs) != 1 {
		t.Fatalf("terminal config: %v %v", cfgs, err)
	}
	cards, err := card.NewStore(filepath.Join(dataA, "cards"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	cd, err := cards.Open(issued.CardID)
	if err != nil {
		t.Fatal(err)
	}
	tm, err := terminal.New(cfgs[0], urlB, nil)
	if err != nil {
		t.Fatal(err)
	}
	ar, err := tm.Login(context.Background(), cd, "4567")
	if err != nil || ar.Report.Result != platform.Passed {
		t.Fatalf("login at the split platform: %+v %v", ar, err)
	}
	mynaplat(t, bin, "jpki", "revoke", "--data", dataA, "--card", issued.CardID, "--reason", "lost")
	deadline := time.Now().Add(10 * time.Second)
	for {
		ar, err = tm.Login(context.Background(), cd, "4567")
		if err != nil {
			t.Fatal(err)
		}
		if ar.Report.Result == platform.Failed && ar.Report.Reason == platform.ReasonRevoked && ar.Report.Detail == "keyCompromise" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revocation did not reach the platform within 10 s: %+v", ar.Report)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(dataB, "jpki")); !os.IsNotExist(err) {
		t.Errorf("the platform host made a JPKI directory of its own: %v", err)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
