// Package mail sends the community services' mails to people over real
// SMTP (docs/community-tv.md §8): a sender on the standard library's
// net/smtp (RFC 5321; STARTTLS, RFC 3207, and AUTH PLAIN, RFC 4954, when
// configured) with a dial timeout and a deadline for each mail, and an
// outbox table that a worker sends from with retry, so that a refusal of
// the SMTP server never loses a mail. A mail is claimed by one worker at a
// time with a conditional UPDATE and marked sent once; the message format
// is RFC 5322 with MIME (RFC 2045–2047) for Japanese text.
//
// The in-process SMTP server that tests and the demo read the mails back
// from is the subpackage mailbox.
package mail
