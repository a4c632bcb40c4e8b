// Package counter is the municipal counter (市区町村窓口) of the JPKI: the
// staff pages where a card is issued, renewed, given a new address,
// reported lost or its holder's death recorded. It is the terminal side —
// the counter's card reader, the card store and the PINs typed at issuance
// are here — and reaches the JPKI centre (package jpki, a server role that
// does not import the card) only through the centre's counter API and its
// typed client, jpki.CounterClient. The card's own steps (make the key
// pairs, take the certificates and the new surface) run here, in
// jpki.Personaliser; only public keys go to the centre.
//
// A counter serves one town and only its staff (issue 16): its clerks sign
// in with their own cards at the staff terminal (staff.Gate, office
// counter:{town}); every call to the centre names the town and the clerk;
// a loss, a death, a revocation and a PIN reset are requests that a
// supervisor of the counter, not the clerk, approves with their card
// before they run (requests.go).
package counter
