// Package platform is the common platform (共通プラットフォーム) that relying
// services use to check a card holder: challenge–response authentication with
// the 利用者証明用 certificate of a My Number Card, a stable platform ID per
// person, and short-lived signed assertions that services verify locally.
//
// A registered terminal (kiosk, reception desk, TV, …) asks for a challenge;
// the card signs it (PKCS#1 v1.5, SHA-256) after its 4-digit PIN, which never
// leaves the terminal–card path; the platform checks the signature, the chain
// to the 利用者証明用 CA, the validity period, revocation and replay. The
// result has three values: PASSED, FAILED with a reason, and INDETERMINATE
// when no fresh revocation data is to be had — which is refused like FAILED,
// never passed (RFC 5280 §6.3 leaves a relying party no other safe choice).
//
// Revocation comes from a per-CA CRL cache (RFC 5280 §5) refreshed on a
// schedule with conditional GETs, with OCSP (RFC 6960) to the JPKI centre as
// the fallback when the CRL is older than the freshness bound.
//
// Platform IDs are made only from the JPKI centre's linkage records
// (証明書紐付け情報 and 証明書新旧紐付け情報): the same ID for both certificates
// of a card and across renewals. Nothing typed in by a person or a terminal
// can link a certificate to an ID, so a wrong-person link cannot be made.
//
// Assertions are compact JWS (RFC 7515) signed with ES256 (RFC 7518 §3.4);
// the public keys are served as a JWK set (RFC 7517) and rotate.
package platform
