// Package counter is the municipal counter (市区町村窓口) of the JPKI: the
// staff pages where a card is issued, renewed, given a new address,
// reported lost or its holder's death recorded. It is the terminal side —
// the counter's card reader, the card store and the PINs typed at issuance
// are here — and reaches the JPKI centre (package jpki, a server role that
// does not import the card) only through the centre's counter API and its
// typed client, jpki.CounterClient. The card's own steps (make the key
// pairs, take the certificates and the new surface) run here, in
// jpki.Personaliser; only public keys go to the centre.
package counter
