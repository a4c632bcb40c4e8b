package demo

import (
	"slices"
	"strings"
	"testing"

	"github.com/mynaplat/mynaplat/demo/people"
	"github.com/mynaplat/mynaplat/web"
)

// seedItems are the labels of the 2015 overview's five items and of the six
// earlier pilots it cites (docs/seed.md).
var seedItems = []string{"(1)", "(2)", "(3)", "(4)", "(5)", "①", "②", "③", "④", "⑤", "⑥"}

// flatten is the guide's sections and their parts in page order.
func flatten(secs []web.HomeSection) []web.HomeSection {
	var out []web.HomeSection
	for _, s := range secs {
		out = append(out, s)
		out = append(out, flatten(s.Sub)...)
	}
	return out
}

// TestGuideNamesEverySeedItemOnce checks the home page's headings: はじめに
// first, every item and pilot of the overview in exactly one heading (in
// both languages), no heading twice, and the IDs unique.
func TestGuideNamesEverySeedItemOnce(t *testing.T) {
	secs := Guide(true)
	if secs[0].ID != SectionStart || secs[0].TitleJA != "はじめに" || len(secs[0].Steps) != 3 {
		t.Errorf("the first section is %q with %d steps, want はじめに with the three first steps", secs[0].TitleJA, len(secs[0].Steps))
	}
	all := flatten(secs)
	for _, lang := range []string{"ja", "en"} {
		title := func(s web.HomeSection) string {
			if lang == "en" {
				return s.TitleEN
			}
			return s.TitleJA
		}
		seen := map[string]bool{}
		for _, s := range all {
			if seen[title(s)] {
				t.Errorf("%s: heading %q twice", lang, title(s))
			}
			seen[title(s)] = true
		}
		for _, item := range seedItems {
			n := 0
			for _, s := range all {
				n += strings.Count(title(s), item)
			}
			if n != 1 {
				t.Errorf("%s: %s is in %d headings, want 1", lang, item, n)
			}
		}
	}
	ids := map[string]bool{}
	for _, s := range all {
		if s.ID == "" || ids[s.ID] {
			t.Errorf("section %q: ID %q empty or taken", s.TitleJA, s.ID)
		}
		ids[s.ID] = true
	}
}

// TestGuideSaysWhatIsMissing: a section built only in part, or not at all,
// says what is missing in both languages; a built one claims nothing
// missing; every seed item has a status.
func TestGuideSaysWhatIsMissing(t *testing.T) {
	for _, s := range flatten(Guide(true)) {
		missing := s.MissingJA != "" && s.MissingEN != ""
		switch s.Status {
		case web.PartlyBuilt, web.NotBuilt:
			if !missing {
				t.Errorf("%s (%s) does not say what is missing", s.TitleEN, s.Status.EN())
			}
		case web.Built:
			if s.MissingJA != "" || s.MissingEN != "" {
				t.Errorf("%s is built but says something is missing", s.TitleEN)
			}
		default:
			if slices.ContainsFunc(seedItems, func(item string) bool { return strings.Contains(s.TitleJA, item) }) {
				t.Errorf("%s has no status", s.TitleEN)
			}
		}
		if s.DescJA == "" || s.DescEN == "" {
			t.Errorf("%s has no one-line description in both languages", s.TitleEN)
		}
	}
}

// TestGuideCardsAndPaths: the cards are the demo residents' with their
// PINs (a step may leave the signing password out), every resident is used somewhere, and the terminal pages the guide
// claims are demo terminals.
func TestGuideCardsAndPaths(t *testing.T) {
	places := map[string]bool{}
	for _, p := range Places() {
		if places[p.Path] {
			t.Errorf("two terminals at %s", p.Path)
		}
		places[p.Path] = true
	}
	for _, s := range flatten(Guide(true)) {
		cards := slices.Clone(s.Cards)
		for _, st := range s.Steps {
			if st.Card != nil {
				cards = append(cards, *st.Card)
			}
		}
		for _, c := range cards {
			if r := residentNamed(c.Name); c.PIN != r.AuthPIN || c.SignPIN != "" && c.SignPIN != r.SignPIN {
				t.Errorf("%s: card %s shows PINs %s/%s, want %s/%s", s.ID, c.Name, c.PIN, c.SignPIN, r.AuthPIN, r.SignPIN)
			}
		}
		for _, p := range s.Paths {
			if strings.HasPrefix(p, "/t/") && p != "/t/" && !places[p] {
				t.Errorf("%s claims %s, which is no demo terminal", s.ID, p)
			}
			if id, ok := strings.CutPrefix(p, "/tv/"); ok && !places[termPath(strings.TrimSuffix(id, "/"))] {
				t.Errorf("%s claims the TV portal %s of no demo terminal", s.ID, p)
			}
		}
	}
	// A path two sections claim goes to one of them only (the longest
	// prefix wins, the first on a tie): the other would lack its link.
	claimed := map[string]string{}
	for _, s := range flatten(Guide(true)) {
		for _, p := range s.Paths {
			if other, ok := claimed[p]; ok {
				t.Errorf("%s and %s both claim %s", other, s.ID, p)
			}
			claimed[p] = s.ID
		}
	}
	for _, st := range FirstSteps() {
		if strings.HasPrefix(st.Path, "/kiosk/") && !places[st.Path] {
			t.Errorf("first step %s is no demo kiosk", st.Path)
		}
	}
	uses := Uses()
	for _, r := range people.Residents {
		if len(uses[r.Name]) == 0 {
			t.Errorf("the home page never names %s's card", r.Name)
		}
	}
}

// TestGuideWithoutWorld: with no demo world the guide shows no cards and no
// steps (they would point at nothing), and says how to get them.
func TestGuideWithoutWorld(t *testing.T) {
	secs := Guide(false)
	for _, s := range flatten(secs) {
		if len(s.Cards) > 0 || len(s.Steps) > 0 || len(s.Links) > 0 {
			t.Errorf("%s: cards, steps or links without the demo world", s.ID)
		}
	}
	if !strings.Contains(secs[0].DescJA, "make run") || !strings.Contains(secs[0].DescEN, "make run") {
		t.Errorf("はじめに without the world does not say to start with make run: %q", secs[0].DescJA)
	}
}
