// Package evac is 美波町 危機管理室's side of the evacuation pilot
// (docs/community-tv.md §2, §5.6, §7; issue 20 §3): the town's areas, its
// households and their members (by platform ID, never the My Number), its
// shelters (open or closed), the evacuation orders staff issue for areas
// (a drill flag marks the exercise), the households' acknowledgements from
// their TVs, and the check-ins and check-outs at the shelters, by card or
// by name lookup for a person without one (marked as such).
//
// Push: every order and lift is a row of an event log (evac_events, a
// sequence allocated in the writing transaction). A Hub polls the log and
// fans the new events out to the server-sent-event streams of its own
// process (api.go), so several instances serve the same orders with no
// state shared in memory, and a TV that reconnects with Last-Event-ID is
// replayed what it missed from the database (§7). The TV's stream is the
// person's card login at their TV (community/tvlogin): the person's
// household's area decides which orders it receives.
//
// The board (per area and household: checked in, acknowledged,
// unaccounted) and the drill report (per household, the time from the
// order to the first check-in of one of its members; the average) are
// read from the same tables.
//
// Every view of a person's or household's data, every change and every
// refusal writes an audit row naming the person or the staff member and
// the terminal; a refusal writes nothing else.
package evac
