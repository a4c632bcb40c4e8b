// Package gate is a school's or a library's children's check-in
// (docs/community-tv.md §2, §5.5, §6, issue 20 §2; 南部町立 南部小学校 and
// 南部町立図書館 in the demo): the children registered at the body (by
// platform ID), the parents linked to each (platform ID and mail address),
// and the gate's events — a child holds their card to the reader, the
// gate reads the card's 利用者証明用 certificate without a PIN (a presence
// read: it proves the card was presented, not who presented it; the
// platform maps it to a platform ID only among this body's children,
// platform.PresentedPerson), and the event is arrival or departure,
// alternating within the day. Each linked parent is mailed at once through
// the outbox of community/mail (who, where, arrive/leave, the time; nothing
// else).
//
// Nobody else sees anything about a child: a parent's TV asks each body
// with the parent's card login at the TV (community/tvlogin) and a body
// answers only for the children linked to that parent (not_linked
// otherwise); the body's staff see their own body's events only. One
// Service is one body and reads and writes its own rows only (every table
// is keyed by the body, fixed at New), under its own API path, caller keys
// and outbox, so the school cannot read the library's events. Every read,
// event and refusal writes an audit row.
package gate
