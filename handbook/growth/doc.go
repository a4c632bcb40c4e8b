// Package growth draws a child's growth chart — height, weight or head
// circumference against the national percentile curves of the infant
// growth survey (乳幼児身体発育調査: the 3rd, 10th, 25th, 50th, 75th, 90th
// and 97th percentiles by sex and age, birth to 6 years) — as SVG drawn on
// the server (docs/handbook.md §7): axes with labels, the curves, the
// child's measurements and a text alternative, readable without script
// (SVG 1.1 with <title> and <desc>, WAI-ARIA role img).
//
// The curves are a Table read from CSV (Parse); National is the table
// embedded in the binary. The latest survey (令和5年, published by こども
// 家庭庁 on 2024-12-25) could not be read from any stored source: the
// embedded table holds its 3rd, 50th and 97th percentiles of weight and
// height as a third party transcribed them, marked provisional, and a
// chart drawn from it says so on its face. The code takes the survey's
// table unchanged once it is put in survey/national.csv.
package growth
