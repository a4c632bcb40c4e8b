package growth

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Point is one measurement of the child.
type Point struct {
	AgeMonths float64 // age at the measurement, in months (days / 30.4375)
	Value     float64 // in the measure's unit
	Date      string  // the measurement's date as shown, e.g. 2024-05-01
}

// Chart is what to draw.
type Chart struct {
	Measure Measure
	Sex     Sex
	Points  []Point
	// Lang is "ja" (default) or "en".
	Lang string
	// MaxMonths is the right end of the age axis; 0 chooses: the next
	// whole year after the last measurement, at least 12 months, at most
	// 72 (6 years, where the survey ends).
	MaxMonths float64
	// Name, when set, is put in the title (the child's name as the page
	// already shows it).
	Name string
}

const (
	width, height = 720, 480
	left, right   = 72, 56
	top, bottom   = 56, 64
	plotW         = width - left - right
	plotH         = height - top - bottom
)

func (c Chart) en() bool { return c.Lang == "en" }

func (c Chart) title() string {
	var m, s string
	if c.en() {
		m = map[Measure]string{Weight: "Weight", Height: "Height", Head: "Head circumference"}[c.Measure]
		s = map[Sex]string{Male: "boys", Female: "girls"}[c.Sex]
		t := fmt.Sprintf("%s (%s) against the national percentiles", m, s)
		if c.Name != "" {
			t = c.Name + ": " + t
		}
		return t
	}
	m = map[Measure]string{Weight: "体重", Height: "身長", Head: "頭囲"}[c.Measure]
	s = map[Sex]string{Male: "男子", Female: "女子"}[c.Sex]
	t := fmt.Sprintf("%s（%s）と全国の発育曲線", m, s)
	if c.Name != "" {
		t = c.Name + "さんの" + t
	}
	return t
}

// age prints an age in months as the handbook does: 3か月, 1歳, 1歳6か月.
func (c Chart) age(months float64) string {
	whole := int(math.Floor(months + 1e-9))
	y, m := whole/12, whole%12
	if c.en() {
		switch {
		case y == 0:
			return fmt.Sprintf("%d mo", m)
		case m == 0:
			return fmt.Sprintf("%d y", y)
		default:
			return fmt.Sprintf("%d y %d mo", y, m)
		}
	}
	switch {
	case y == 0:
		return fmt.Sprintf("%dか月", m)
	case m == 0:
		return fmt.Sprintf("%d歳", y)
	default:
		return fmt.Sprintf("%d歳%dか月", y, m)
	}
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s)) // writes to a buffer: cannot fail
	return b.String()
}

// Describe is the chart's text alternative, one line per measurement: the
// age, the value and the percentiles around it. The SVG carries it in its
// <desc>; a page may also print it beside the chart.
func Describe(t *Table, c Chart) []string {
	var out []string
	for _, p := range c.Points {
		line := fmt.Sprintf("%s %s: %s %s", p.Date, c.age(p.AgeMonths), num(p.Value), c.Measure.Unit())
		lo, hi, ok := t.Band(c.Measure, c.Sex, p.AgeMonths, p.Value)
		switch {
		case !ok && c.en():
			line += " (no curve at this age)"
		case !ok:
			line += "（この月齢の曲線なし）"
		case lo == "" && c.en():
			line += " (below the " + hi + "th percentile)"
		case lo == "":
			line += "（" + hi + "パーセンタイル未満）"
		case hi == "" && c.en():
			line += " (above the " + lo + "th percentile)"
		case hi == "":
			line += "（" + lo + "パーセンタイル超）"
		case c.en():
			line += " (between the " + lo + "th and " + hi + "th percentiles)"
		default:
			line += "（" + lo + "〜" + hi + "パーセンタイル）"
		}
		out = append(out, line)
	}
	return out
}

// niceStep picks a tick step (1, 2 or 5 × 10ⁿ) giving at most 10 ticks.
func niceStep(span float64) float64 {
	if span <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(span/10)))
	for _, f := range []float64{1, 2, 5, 10} {
		if span/(f*p) <= 10 {
			return f * p
		}
	}
	return 10 * p
}

// Render writes the chart as a standalone SVG document.
func Render(w io.Writer, t *Table, c Chart) error {
	rows := t.Rows(c.Measure, c.Sex)
	maxX := c.MaxMonths
	if maxX <= 0 {
		maxX = 12
		for _, p := range c.Points {
			if p.AgeMonths >= maxX {
				maxX = math.Floor(p.AgeMonths/12)*12 + 12
			}
		}
		maxX = math.Min(maxX, 72)
	}
	// The value axis spans the curves within the age axis and the points.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range rows {
		if r.AgeMonths > maxX {
			continue
		}
		for _, v := range r.P {
			if !math.IsNaN(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	for _, p := range c.Points {
		lo, hi = math.Min(lo, p.Value), math.Max(hi, p.Value)
	}
	if math.IsInf(lo, 0) {
		lo, hi = 0, 10
	}
	step := niceStep(hi - lo)
	lo, hi = math.Floor(lo/step)*step, math.Ceil(hi/step)*step
	if hi == lo {
		hi = lo + step
	}
	x := func(a float64) float64 { return left + a/maxX*plotW }
	y := func(v float64) float64 { return top + (hi-v)/(hi-lo)*plotH }

	var b strings.Builder
	title := c.title()
	desc := Describe(t, c)
	if len(desc) == 0 {
		if c.en() {
			desc = []string{"No measurements yet."}
		} else {
			desc = []string{"計測値はまだありません。"}
		}
	}
	lang := "ja"
	if c.en() {
		lang = "en"
	}
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-labelledby="chart-title chart-desc" lang="%s" font-family="sans-serif" font-size="14">`+"\n", width, height, width, height, lang)
	fmt.Fprintf(&b, "<title id=\"chart-title\">%s</title>\n<desc id=\"chart-desc\">%s</desc>\n", esc(title), esc(strings.Join(desc, "\n")))
	fmt.Fprintf(&b, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", width, height)
	fmt.Fprintf(&b, "<text x=\"%d\" y=\"28\" font-size=\"18\" fill=\"#111\">%s</text>\n", left, esc(title))
	if t.Provisional() {
		note := cmp.Or(t.NoticeJA, "暫定の曲線（全国調査の数値と未照合）")
		if c.en() {
			note = cmp.Or(t.NoticeEN, "Provisional curves (not checked against the national survey)")
		}
		fmt.Fprintf(&b, "<text x=\"%d\" y=\"48\" font-size=\"13\" fill=\"#a00\">%s</text>\n", left, esc(note))
	}
	// Grid and axes.
	b.WriteString("<g stroke=\"#ddd\" stroke-width=\"1\">\n")
	xStep := 1.0
	switch {
	case maxX > 24:
		xStep = 6
	case maxX > 12:
		xStep = 3
	}
	for a := 0.0; a <= maxX+1e-9; a += xStep {
		fmt.Fprintf(&b, "<line x1=\"%s\" y1=\"%d\" x2=\"%s\" y2=\"%d\"/>\n", num(x(a)), top, num(x(a)), top+plotH)
	}
	for v := lo; v <= hi+step/2; v += step {
		fmt.Fprintf(&b, "<line x1=\"%d\" y1=\"%s\" x2=\"%d\" y2=\"%s\"/>\n", left, num(y(v)), left+plotW, num(y(v)))
	}
	b.WriteString("</g>\n")
	fmt.Fprintf(&b, "<g stroke=\"#333\" stroke-width=\"1.5\"><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/></g>\n",
		left, top, left, top+plotH, left, top+plotH, left+plotW, top+plotH)
	b.WriteString("<g fill=\"#333\" font-size=\"12\">\n")
	for a := 0.0; a <= maxX+1e-9; a += xStep {
		fmt.Fprintf(&b, "<text x=\"%s\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", num(x(a)), top+plotH+18, esc(c.age(a)))
	}
	dec := 0
	if step < 1 {
		dec = 1
	}
	for v := lo; v <= hi+step/2; v += step {
		fmt.Fprintf(&b, "<text x=\"%d\" y=\"%s\" text-anchor=\"end\">%s</text>\n", left-8, num(y(v)+4), strconv.FormatFloat(v, 'f', dec, 64))
	}
	xLabel, yLabel := "月齢・年齢", map[Measure]string{Weight: "体重", Height: "身長", Head: "頭囲"}[c.Measure]
	if c.en() {
		xLabel, yLabel = "Age", map[Measure]string{Weight: "Weight", Height: "Height", Head: "Head circumference"}[c.Measure]
	}
	fmt.Fprintf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"14\">%s</text>\n", left+plotW/2, height-16, esc(xLabel))
	fmt.Fprintf(&b, "<text x=\"18\" y=\"%d\" text-anchor=\"middle\" font-size=\"14\" transform=\"rotate(-90 18 %d)\">%s (%s)</text>\n", top+plotH/2, top+plotH/2, esc(yLabel), c.Measure.Unit())
	b.WriteString("</g>\n")
	// The percentile curves: each drawn over the rows that have it.
	b.WriteString("<g fill=\"none\" stroke=\"#4a7ab5\">\n")
	for j, pc := range Percentiles() {
		var pts []string
		var lastX, lastY float64
		for _, r := range rows {
			if r.AgeMonths > maxX || math.IsNaN(r.P[j]) {
				continue
			}
			lastX, lastY = x(r.AgeMonths), y(r.P[j])
			pts = append(pts, num(lastX)+","+num(lastY))
		}
		if len(pts) == 0 {
			continue
		}
		sw := "1"
		if pc == 50 {
			sw = "2.5"
		}
		fmt.Fprintf(&b, "<polyline class=\"p%d\" stroke-width=\"%s\" points=\"%s\"/>\n", pc, sw, strings.Join(pts, " "))
		fmt.Fprintf(&b, "<text x=\"%s\" y=\"%s\" fill=\"#4a7ab5\" stroke=\"none\" font-size=\"11\">%d</text>\n", num(lastX+4), num(lastY+4), pc)
	}
	b.WriteString("</g>\n")
	// The child's measurements.
	if len(c.Points) > 0 {
		b.WriteString("<g class=\"child\" fill=\"#d2461e\" stroke=\"#d2461e\">\n")
		var pts []string
		for _, p := range c.Points {
			pts = append(pts, num(x(p.AgeMonths))+","+num(y(p.Value)))
		}
		if len(pts) > 1 {
			fmt.Fprintf(&b, "<polyline fill=\"none\" stroke-width=\"1.5\" points=\"%s\"/>\n", strings.Join(pts, " "))
		}
		for i, p := range c.Points {
			fmt.Fprintf(&b, "<circle cx=\"%s\" cy=\"%s\" r=\"4\"><title>%s</title></circle>\n", num(x(p.AgeMonths)), num(y(p.Value)), esc(desc[i]))
		}
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
