// Package town is a town's side of the TV portal (docs/community-tv.md
// §2, §5.3, issue 20): the residents' own checkup results (特定健診) by
// year, and the booking of the town's facilities (halls, gyms) by slot,
// with a reminder the day before delivered to the person's TV as a
// message through their CATV operator (community/catv's machine API).
// One role (`town`) hosts several towns over one database; each town's
// rows are its own (keyed by town) and a person is served by the town
// they live in.
//
// Every read of a person's data, every booking and cancel, every reminder
// and every refusal writes an audit row naming the person and the TV; a
// refusal writes nothing else. No double booking and never more bookings
// than seats, also under concurrent requests for the last seat: a booking
// takes a numbered seat of its slot, and the partial unique indexes on
// (slot, seat) and (slot, person) of the live bookings are the last guard
// on both engines.
//
// The HTTP API (api.go) serves the TV portal with the person's card login
// at the TV (community/tvlogin), and Client is its typed client.
package town
