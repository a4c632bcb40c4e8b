// Package delegation is the platform's register of corporate powers of
// attorney (電子委任状): a corporation's representative signs a power that
// lets a person act for the corporation on named matters for a period, the
// register keeps it, and a relying party asks whether a document signed
// with a person's JPKI signing certificate is covered by it.
//
// # What it implements
//
// 電子委任状の普及の促進に関する法律 (電子委任状法, 平成29年法律第64号)
// §2 defines an electronic power of attorney as a record showing that a
// business (for a corporation, its representative) gave an employee or
// other person authority to act for it; its 基本指針 (§3, the basic policy
// of 総務省 and 経済産業省) lists what the record holds: the principal
// (委任者: the corporation and its representative), the agent (受任者) and
// the authority (代理権: the delegated matters and the period), kept so that
// the other party can check it and learn of its revocation. Power carries
// exactly these items, plus an ID and the sub-delegation fields; its signed
// form is one canonical JSON text (Power.Canonical, ParsePower) inside an
// enveloping CMS SignedData (RFC 5652 §5). Revocations are a second
// canonical JSON type (Revocation), also signed.
//
// The signature is checked through an injected SignatureVerifier, which
// returns the content, the signer's certificate and the trusted signing
// time (on the platform: package cms with the RFC 3161 time-stamp's
// genTime). Who signed is then checked against the corporate registry
// (package corpreg, through the Corporations interface, which the
// in-process Registry and the HTTP Client both satisfy): a power must be
// signed by the representative in office at the signing time, with a
// representative certificate whose organizationIdentifier is
// "NTRJP-"+法人番号 (ETSI EN 319 412-1 §5.1.4). A later change of
// representative leaves earlier powers in force — the principal is the
// corporation — but the former representative can sign no new ones.
//
// # Sub-delegation (復代理)
//
// A power with SubDelegation set lets its agent sign a child power (Parent
// = its ID) with their own JPKI signing certificate, which the platform
// resolves to a platform ID through the injected SignerPerson; that ID must
// be the parent's agent. The child names the same principal, a subset of
// the parent's matters and a period within the parent's, and must be
// signed within the parent's period, with a certificate not revoked by
// then (the injected SignerRevoked; JPKIRevocation asks the JPKI centre). A
// revoked or expired parent takes the child's effect with it.
//
// # Check
//
// Check tests, in this order: the CMS and its content (forged), the
// corporation (unknown_corporation, corporation_closed at the time asked
// about), the root's signer (not_representative), each sub-delegation
// (sub_delegation_not_allowed), registration (unknown_power; a power
// differing from the registered one of its ID is forged), revocation at or
// before the time asked about (revoked), the periods (not_yet_valid,
// expired), the corporation and matter asked about (out_of_scope) and the
// document's signer (not_agent). Each reason has a Japanese and an English
// message (Reason.Messages). A power must be registered to count, because
// only a registered power can be revoked.
//
// The HTTP API and its typed Client are in http.go and client.go.
package delegation
