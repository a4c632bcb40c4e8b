// Package mybox is the person's own electronic post box pages (/postbox/):
// on the computer with a card reader where they log in with the card
// (a platform terminal), the box's documents with their signature checks,
// an application signed on the card and sent with chosen documents, the
// consents to businesses, the change notices after a move and who read
// the box.
//
// It is the terminal side of the post box: the card, its signing password
// and its errors stay here, the card signing through the terminal's kit
// (Kit.Sign: its outcome table's words, its limits, its report of a
// refused password to the platform for the holder's /me/audit),
// and the pages reach the post box only through its resident API
// (postbox.BoxClient), with the card login's assertion exchanged for a box
// session. Package postbox never imports the card or the terminal, and
// the pages work whether the post box runs in this process or elsewhere.
package mybox
