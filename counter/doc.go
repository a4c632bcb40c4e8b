// Package counter is the municipal counter (市区町村窓口) of the JPKI: the
// staff pages where a card is issued, renewed, given a new address,
// reported lost or its holder's death recorded. It is the terminal side —
// the counter's card reader, the card store and the PINs typed at issuance
// are here — and drives the JPKI centre (package jpki, a server role that
// does not import the card) through the centre's counter operations, which
// write to a card through jpki.CardWriter.
package counter
