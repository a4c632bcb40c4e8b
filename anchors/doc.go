// Package anchors publishes the trust anchors of the platform: the CA
// certificates a verifier needs to check what mynaplat signs — the two JPKI
// CAs (署名用, 利用者証明用), the seal CA of the certificates printed at
// kiosks, the time-stamp authority's root and the corporate registry's CA —
// at stable URLs, as DER (application/pkix-cert, RFC 2585 §4.1) and as PEM
// (RFC 7468 §5), listed on one page and in a machine-readable trust list.
//
// Each role serves only its own anchors (Serve), under the common prefix
// /pki/: /pki/{id}.crt and /pki/{id}.pem. The page /pki/ and the trust list
// /pki/trust-list.json (Pages) read every anchor over HTTP from the URL of
// the role that serves it, as any verifier would, so no role reads another
// role's keys or files and each may run alone. docs/trust-anchors.md says
// who serves what and how the list reads.
package anchors
