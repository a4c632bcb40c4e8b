package browsertest

import (
	"fmt"
	"strings"

	"github.com/chromedp/chromedp"
)

// Layout is what MeasureLayout measures on the page shown.
type Layout struct {
	ScrollWidth int `json:"scrollWidth"`
	InnerWidth  int `json:"innerWidth"`
	// Widest is the element reaching furthest right past the window's
	// edge (one not inside a box that scrolls or clips), "" when none does.
	Widest string `json:"widest"`
	// Sideways are boxes other than <pre> whose content scrolls sideways
	// inside them (a table in .table-wrap that did not become a list).
	Sideways []string `json:"sideways"`
	// Small are touch targets under 44 CSS px tall (or wide).
	Small []string `json:"small"`
}

// layoutJS measures the page: how wide it scrolls, which element makes it
// so, which boxes scroll sideways inside, and which touch targets are too
// small to hit with a thumb (WCAG 2.5.5's 44 px). Inline links in running
// text are not counted as targets; links that stand on their own are.
const layoutJS = `(() => {
  const vw = window.innerWidth;
  const describe = el => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    for (const c of el.classList) s += '.' + c;
    const t = (el.innerText || el.value || '').trim().replace(/\s+/g, ' ').slice(0, 40);
    return t ? s + ' "' + t + '"' : s;
  };
  const clips = el => ['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(el).overflowX);
  const clipped = el => { for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) if (clips(a)) return true; return false; };
  const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  let widest = '', widestRight = vw;
  const sideways = [], small = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (!shown(el)) continue;
    const r = el.getBoundingClientRect();
    // Text too long for its box sticks out of it without widening it.
    const reach = clips(el) ? r.right : Math.max(r.right, r.left + el.scrollWidth);
    if (reach > vw + 0.5 && reach >= widestRight && !clipped(el) && !el.classList.contains('skip')) {
      widest = describe(el) + ' (left ' + Math.round(r.left) + ', reaching ' + Math.round(reach) + 'px)';
      widestRight = reach;
    }
    const o = getComputedStyle(el).overflowX;
    if ((o === 'auto' || o === 'scroll') && el.scrollWidth > el.clientWidth + 1 && el.tagName !== 'PRE' && el.tagName !== 'TEXTAREA') {
      sideways.push(describe(el) + ' (' + el.scrollWidth + ' in ' + el.clientWidth + 'px)');
    }
  }
  const targets = 'button, .button, summary, select, textarea, input:not([type=hidden]):not([type=radio]):not([type=checkbox]), ' +
    'header nav a, td a, th a, nav a, li > a:only-child';
  for (const el of document.querySelectorAll(targets)) {
    if (!shown(el) || el.closest('.skip')) continue;
    const r = el.getBoundingClientRect();
    if (r.height < 43.5 || (!el.matches('a') && r.width < 43.5)) small.push(describe(el) + ' (' + Math.round(r.width) + '×' + Math.round(r.height) + ')');
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: vw, widest, sideways, small};
})()`

// MeasureLayout measures the page shown (see Layout): the tests that
// check pages read on a phone without sideways scrolling use it.
func MeasureLayout() chromedp.Action[Layout] { return chromedp.Evaluate[Layout](layoutJS) }

// Problems says what is wrong with the layout: a page wider than the
// window, naming the element that sticks out; and on a phone (onPhone)
// also boxes that scroll sideways inside and touch targets under 44 px.
func (l Layout) Problems(onPhone bool) []string {
	var out []string
	if l.ScrollWidth > l.InnerWidth {
		out = append(out, fmt.Sprintf("the page is %d px wide in a %d px window (%d px too wide); widest: %s",
			l.ScrollWidth, l.InnerWidth, l.ScrollWidth-l.InnerWidth, l.Widest))
	}
	if !onPhone {
		return out
	}
	for _, s := range l.Sideways {
		out = append(out, "scrolls sideways inside: "+s)
	}
	if len(l.Small) > 0 {
		out = append(out, "touch targets under 44 px: "+strings.Join(l.Small, "; "))
	}
	return out
}

// Screen is what MeasureScreen measures on a terminal's screen.
type Screen struct {
	ScrollWidth  int `json:"scrollWidth"`
	ScrollHeight int `json:"scrollHeight"`
	InnerWidth   int `json:"innerWidth"`
	InnerHeight  int `json:"innerHeight"`
	// SiteChrome counts the site's header, navigation and footer on the
	// page: a terminal shows none, so a person cannot walk out of the flow.
	SiteChrome int `json:"siteChrome"`
}

// MeasureScreen measures a terminal's page (see Screen).
func MeasureScreen() chromedp.Action[Screen] {
	return chromedp.Evaluate[Screen](`(() => { const d = document.documentElement;
  return {scrollWidth: d.scrollWidth, scrollHeight: d.scrollHeight, innerWidth: innerWidth, innerHeight: innerHeight,
    siteChrome: document.querySelectorAll("header.site, nav, footer.site").length} })()`)
}

// Problems says what keeps the page from being a terminal's screen: it
// scrolls (down or sideways) or it shows the site's header.
func (s Screen) Problems() []string {
	var out []string
	if s.ScrollHeight > s.InnerHeight || s.ScrollWidth > s.InnerWidth {
		out = append(out, fmt.Sprintf("the page is %d×%d on a %d×%d screen: it scrolls", s.ScrollWidth, s.ScrollHeight, s.InnerWidth, s.InnerHeight))
	}
	if s.SiteChrome != 0 {
		out = append(out, "the site's header, navigation or footer is on a terminal screen")
	}
	return out
}
