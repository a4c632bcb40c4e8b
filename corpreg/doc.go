// Package corpreg is the platform's corporate registry role, modelled on 商業登記
// and the 法人番号 system: it keeps corporations (法人番号, name and the
// history of its changes (商号変更), head-office address, active or closed),
// the history of each one's representative
// (代表者) with their terms, and issues each representative a certificate from
// the registry's own CA, the way 商業登記に基づく電子認証制度 (商業登記法
// §12-2) certifies a 代表者's key.
//
// # What it implements
//
//   - The 法人番号 check digit of 財務省令第七十号 (法人番号の指定等に関する省令)
//     §2: ValidNumber and CheckDigit.
//   - Representative certificates (RFC 5280) whose subject carries CN = the
//     representative's name, O = the corporation's name and
//     organizationIdentifier (2.5.4.97, X.520) = "NTRJP-" + 法人番号: the
//     semantics identifier of ETSI EN 319 412-1 §5.1.4 for a legal person
//     identified through a national trade register ("NTR", ISO 3166 country
//     code JP). Key usage digitalSignature and contentCommitment: the
//     certificate signs statements of the corporation, such as a 電子委任状
//     (package delegation).
//   - RepresentativeAt: whether a certificate was the corporation's
//     representative's at a time — the question a relying party asks before
//     it believes a statement signed in the corporation's name.
//   - The public record (GET /corpreg/v1/corporations/{number}, like the
//     法人番号公表サイト), the representative check and the CA certificate over
//     HTTP (http.go), and a typed Client with the same read methods as the
//     in-process Registry, so other roles depend on the HTTP contract only.
//
// # Keys
//
// The registry never holds a representative's private key: AppointRepresentative
// takes the public key only. The CA's own key lives in a directory (Authority;
// keys.go) as a 0600 PKCS#8 file.
//
// # Terms
//
// A corporation has at most one representative at a time. Appointing a new one
// ends the previous term at the same instant; closing the corporation (閉鎖)
// ends the current term. A term runs from its start inclusive to its end
// exclusive. Corporate data is public (the 法人番号公表サイト publishes number, name
// and address; the 登記簿 the representative's name), so the registry keeps an
// event log of registrations, changes of name, appointments, term ends and
// closures
// (corpreg_events) instead of an access audit.
package corpreg
