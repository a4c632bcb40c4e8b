// Package catv is a CATV operator's side of the TV portal
// (docs/community-tv.md §2, §5.2, issue 20): its subscribers (a person, by
// platform ID, at one set-top box, in an area of the town) and the
// messages the operator and the town send them — to every subscriber, to
// an area, or to one person — shown on the TV at the next power-on and
// marked read. Every read of a person's messages, and every refusal,
// writes an audit row. Each operator's rows are its own (keyed by
// operator); the town reaches them through the operator, never its tables.
//
// Status: the library of slice 2, not yet wired into a role or the TV
// portal (the role `catv`, its API and the demo's subscribers come next).
package catv
