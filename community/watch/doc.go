// Package watch is a health centre's watch-over of elderly people
// (docs/community-tv.md §2, §5.4, issue 20 §2; 南部町 保健センター in the
// demo): the people watched (by platform ID, with their family's mail
// address and the time of day by which a sign of life is expected), their
// daily answer on the TV in three number-key presses (feeling, blood
// pressure band, meals), planned absences, and flags: a deadline sweep
// raises `missing` when there was no answer, no TV power-on with the card
// (read from the CATV operator under a caller key, catv.SignsClient) and
// no absence; an answer above the centre's limits raises `range` at once.
// Each flag mails the family once, without health values (§6), through
// the outbox of community/mail, and stays until a staff member handles
// it with a note.
//
// The TV portal reaches the service over its API (api.go) with the
// person's card login at the TV; the staff page (pages.go) is behind the
// staff card sign-in (office watch:{centre}). Every read and change, and
// every refusal, writes an audit row.
package watch
