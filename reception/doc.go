// Package reception is the terminal side of the eligibility check
// (資格確認) at a medical facility: the reception-desk and home-visit
// (mobile) stations with their card readers, their screens (place the card
// → PIN → consent → the answer; the 資格確認書 path; the offline mode with
// its queue on the terminal's own disk), and the eligibility entry of the
// /t/ terminals' history page.
//
// The card and its PIN stay here. The stations reach the eligibility
// service only through its typed client (eligibility.FacilityClient) and
// the platform through the terminal kit; package eligibility, the server,
// never imports the card or the terminal.
package reception
