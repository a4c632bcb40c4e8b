// Package tv is the TV portal (docs/community-tv.md, issue 20): the screens
// a resident sees on a CATV set-top box or a smart TV after placing the My
// Number Card on its reader, driven by the remote alone. It runs where the
// terminal does, like the post box's pages: the card flow (the card, the
// PIN by number keys, the outcome) is the terminal kit's, on the kit's TV
// screen (terminal.ScreenTV, with the kit's remote-control script); this
// package keeps the portal's own screens after the kit's handoff (a
// terminal.Login) and has no tables. The services behind the menu (the CATV
// operator's messages, the town's checkups and booking, watch-over, the
// gates, evacuation) are separate endpoints with their own data (§2); the
// menu lists only those that are built and reachable.
package tv
