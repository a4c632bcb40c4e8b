// Package payenrol is the resident's page for paying medical bills with the
// My Number Card (/pay/, the 酒田市 pilot): on a phone or a terminal of the
// hospital, place the card and log in with the auth PIN through the
// platform, enrol a credit card at the card company (the number goes from
// the form to the company only), and sign the consent with the signing
// password, which goes to the card only.
//
// It is the terminal side: the card, its PINs and their errors (worded from
// the terminal kit's outcome table) stay here. The eligibility service
// keeps the payment links and checks the signed consent; the pages reach it
// only through its payment-link API (eligibility.ResidentClient, under the
// platform assertion of the card login), and the card company only through
// its enrolment API (cardco.EnrolClient), wherever they run. Package
// eligibility never imports the card or the terminal.
package payenrol
