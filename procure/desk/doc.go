// Package desk is the company desk of docs/procurement.md (§2, §3, §5.1):
// the software on a corporation's representative's own PC with which the
// representative grants and revokes powers of attorney (電子委任状) for
// procurement. It is a simulated outside party of the demo, like the
// resident's post box pages (package mybox): it holds the company's
// representative key (a file of mode 0600 in its own data directory,
// never the platform's) and a small file of the powers it granted, and it
// reaches the corporate registry (corpreg) and the register of powers
// (delegation) only through their typed clients.
//
// The representative places their My Number Card on the desk's reader and
// logs in with the terminal kit (a Mobile terminal of its own), then
// confirms with the signing password: the desk reads the name in the
// card's JPKI signing certificate and lets only the registry's current
// representative of the company in (not_representative; a closed company
// is corporation_closed). A grant names the agent's platform ID and name,
// a subset of procure.Matters, a period and whether sub-delegation (復代理)
// is allowed, never together with 入札 (the bodies refuse a sub-delegated
// bid in any case, DR 4.1). The desk signs the power with the
// representative key and files it with delegation.Grant, the same code as
// `mynaplat delegation grant`; a revocation (delegation.Withdraw) takes
// effect at once. Every refusal has Japanese and English text and signs
// and writes nothing.
//
// The notices of new agents (procurement §3 rule 4) are the register's
// (procure_notices); the desk reads them through the Notices it is given
// (the register's Client.Notices) with a request it signs with the
// representative key (procure.SignNoticesRequest), and says they do not
// reach it when it is given none.
package desk
