package main

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/demo"
	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/internal/webtest"
)

// seedItems are the labels of the 2015 overview's items and pilots
// (docs/seed.md), each of which the home page names in one heading.
var seedItems = []string{"(1)", "(2)", "(3)", "(4)", "(5)", "①", "②", "③", "④", "⑤", "⑥"}

// TestNewcomerPages is a newcomer's first minute with serve --demo: the home
// page starts with はじめに, names every item and pilot of the overview in
// exactly one heading and no heading twice, and every link on it answers
// 200; /demo shows every demo card's ID and links every terminal; /t/ lists
// every terminal, the kiosks and reception stations included; and every page
// the README's demo tour names answers 200.
func TestNewcomerPages(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	url := startServer(t, bin, "--demo", "--data", data)
	c := webtest.New(t, url).Follow(true)
	page := func(path string) string {
		t.Helper()
		return c.Step(webtest.Step{Name: "open " + path, Path: path}).Body
	}
	answers := func(where string, paths []string) {
		t.Helper()
		for _, p := range paths {
			if code := c.Get(p).Status; code != http.StatusOK {
				t.Errorf("%s links %s, which answers %d", where, p, code)
			}
		}
	}

	home := page("/")
	main := home[strings.Index(home, "<main"):strings.Index(home, "</main>")]
	var headings []string
	for _, m := range regexp.MustCompile(`<h[23][^>]*>([^<]*)`).FindAllStringSubmatch(main, -1) {
		headings = append(headings, strings.TrimSpace(html.UnescapeString(m[1])))
	}
	if len(headings) == 0 || headings[0] != "はじめに" {
		t.Errorf("the home page's first heading is not はじめに: %q", headings)
	}
	for i, h := range headings {
		if slices.Contains(headings[:i], h) {
			t.Errorf("heading %q twice", h)
		}
	}
	for _, item := range seedItems {
		n := 0
		for _, h := range headings {
			n += strings.Count(h, item)
		}
		if n != 1 {
			t.Errorf("%s is in %d headings, want 1: %q", item, n, headings)
		}
	}
	for _, want := range []string{"未実装", "一部実装", "実装済み", "酒田　一郎</strong> 暗証番号 <code>1111</code>"} {
		if !strings.Contains(main, want) {
			t.Errorf("the home page lacks %q", want)
		}
	}
	homeLinks := hrefs(main)
	for _, st := range demo.FirstSteps() {
		if !slices.Contains(homeLinks, st.Path) {
			t.Errorf("the home page does not link the first step %s", st.Path)
		}
	}
	answers("the home page", homeLinks)

	demoPage := page("/demo")
	var cards []card.Info
	if err := json.Unmarshal([]byte(mynaplat(t, bin, "card", "list", "--json", "--data", data)), &cards); err != nil {
		t.Fatal(err)
	}
	for _, cd := range cards {
		if cd.Demo && !strings.Contains(demoPage, `<code class="card-id">`+cd.ID+`</code>`) {
			t.Errorf("/demo does not show the card ID of %s (%s)", cd.Holder, cd.ID)
		}
	}
	terminals := page("/t/")
	var places []string
	for _, p := range demo.Places() {
		places = append(places, p.Path)
		for where, body := range map[string]string{"/demo": demoPage, "/t/": terminals} {
			if !strings.Contains(body, `href="`+p.Path+`"`) {
				t.Errorf("%s does not link the terminal %s (%s)", where, p.Name, p.Path)
			}
		}
	}
	answers("/demo", places)

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(readme, []byte("../shared")) {
		t.Error("the README points outside the repository (../shared)")
	}
	tour := string(readme)
	tour = tour[strings.Index(tour, "## The demo world"):strings.Index(tour, "## A first tour of the command line")]
	var readmePaths []string
	for _, m := range regexp.MustCompile("`(/[^`\\s]*)`").FindAllStringSubmatch(tour, -1) {
		if p := m[1]; !strings.ContainsAny(p, "{…") && !slices.Contains(readmePaths, p) {
			readmePaths = append(readmePaths, p)
		}
	}
	if len(readmePaths) < 10 {
		t.Errorf("found only %d pages in the README's demo tour: %q", len(readmePaths), readmePaths)
	}
	answers("the README", readmePaths)

	t.Run("browser", func(t *testing.T) {
		ctx := browsertest.New(t)
		for _, shot := range []struct{ path, name string }{
			{"/", "home"}, {"/demo", "demo"}, {"/t/", "terminals"}, {"/lang?to=en&back=/", "home-en"},
		} {
			if err := chromedp.Do(ctx, chromedp.Navigate(url+shot.path), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
				t.Fatalf("%s: %v", shot.path, err)
			}
			browsertest.Screenshot(t, ctx, shot.name)
		}
		got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#start h2")))
		if err != nil || got != "Start here" {
			t.Errorf("English home page's first section %q, %v", got, err)
		}
	})
}

// hrefs are the distinct site paths a page's links point at (not the
// language switch).
func hrefs(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`href="(/[^"#]*)"`).FindAllStringSubmatch(body, -1) {
		p := html.UnescapeString(m[1])
		if !strings.HasPrefix(p, "/lang?") && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// TestPrintFirstSteps: serve --demo prints the three things to try first,
// each with its full URL, and the card to use.
func TestPrintFirstSteps(t *testing.T) {
	var b bytes.Buffer
	printFirstSteps(&b, "http://127.0.0.1:8080")
	out := b.String()
	for _, want := range []string{"はじめに / start here", "1. デモ用カードと暗証番号 / Demo cards and PINs", "http://127.0.0.1:8080/demo\n",
		"http://127.0.0.1:8080/kiosk/kiosk-konbini-sakata-1/  酒田　一郎, 暗証番号 / PIN 1111\n",
		"http://127.0.0.1:8080/postbox/  酒田　一郎, 暗証番号 / PIN 1111, 署名用パスワード / signing password SAKATA1975\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
