// Package catv is a CATV operator's side of the TV portal
// (docs/community-tv.md §2, §5.2, issue 20): its subscribers (a person, by
// platform ID, at one set-top box, in an area of the town) and the
// messages the operator and the town send them — to every subscriber, to
// an area, or to one person — shown on the TV at the next power-on and
// marked read. Every read of a person's messages, and every refusal,
// writes an audit row. Each operator's rows are its own (keyed by
// operator); the town reaches them through the operator, never its tables.
//
// The HTTP API (api.go) serves the TV portal with the person's card login
// at the TV, and Client is its typed client; the role `catv` runs it.
// The sender pages (pages.go) are the operator's and the town's staff's,
// behind the staff card sign-in.
package catv
