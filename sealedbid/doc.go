// Package sealedbid keeps a tender's bids sealed until the opening: nobody
// — the operator, the database, a single officer — can read a bid before
// k of the tender's n opening officers come together (issue 19 §3).
//
// Its responsibility is the tender's opening key and nothing around it:
//
//   - NewOpening makes the key (RSA, KeyBits) and a self-signed opening
//     certificate, whose SHA-256 fingerprint the tender page publishes so
//     that bidders pin it; splits the key's PKCS#8 form k-of-n with
//     Shamir's scheme over GF(2^8) (shamir.go, written here: no light,
//     maintained module offers it); seals each officer's share with a key
//     derived from the officer's passphrase by Argon2id (RFC 9106,
//     DefaultKDF) under AES-256-GCM, with the tender and the officer bound
//     in as associated data; and forgets the key. What it returns
//     (Published) can be stored anywhere.
//   - Seal encrypts a (signed) bid to the opening certificate as a CMS
//     EnvelopedData (RFC 5652 §6): AES-256-CBC content (RFC 3565) and
//     RSAES-OAEP-SHA-256 key transport (RFC 4055); envelope.go says why
//     these, and why not through smallstep/pkcs7. `openssl cms -decrypt`
//     reads it.
//   - Open rebuilds the key in memory only, from k shares and their
//     officers' passphrases, and checks it against the certificate; the
//     Opener decrypts bids until Close zeroes it.
//
// Refusals are sentinel errors (wrapped with %w and the officer concerned);
// Messages gives their Japanese and English text. Verifying the bids'
// signatures, time-stamps and powers is the opening's work (package
// procure), not this package's.
package sealedbid
