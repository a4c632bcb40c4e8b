// Package procure is the shared register of the unified qualification for
// government procurement (全省庁統一資格, with the business side of
// 調達ポータル): a corporation, by its 法人番号 in the corporate registry
// (package corpreg), files one qualification application signed by its
// agent (代理人) under an electronic power of attorney (電子委任状, package
// delegation); the register's officers review it, ask for corrections,
// grant it for a period or refuse it with a reason; and every procuring
// body, national or local, reads the result through the register's API
// (Client) rather than a copy of its tables. The granted qualifications are
// published as open data (HTML, CSV, JSON).
//
// The design record is docs/procurement.md (issue 19); this package is its
// slice 1. What it implements, by that record:
//
//   - The matters of a power that procurement knows (MatterQualify …),
//     written once.
//   - The application: one canonical JSON text (Application.Canonical,
//     ParseApplication) inside an enveloping CMS SignedData (RFC 5652 §5)
//     with an RFC 3161 signature time-stamp, whose time is the signing
//     time. Apply checks the signature, the content, the corporation
//     (corpreg), the power (delegation.Check with MatterQualify at the
//     signing time) and procurement's own rule that the power names the
//     company by its current registered name (a change of name invalidates
//     older powers); it rates each field with Rate (grade.go) and files
//     the application. Each refusal is a Reason with Japanese and English
//     texts; a refusal writes nothing but its audit row.
//   - The review (officers of the register's staff office): reading an
//     application writes an audit row; a correction asks the agent to sign
//     a new version; a grant makes a qualification with a validity period
//     (a renewal supersedes the one before); a refusal names a reason from
//     a closed list.
//   - The public list and the read API for bodies (http.go, client.go).
//
// The package is a server role: it never talks to a card. The agent's
// pages, where the card signs, are a terminal that reaches the register
// through Client (docs/procurement.md §2).
package procure
