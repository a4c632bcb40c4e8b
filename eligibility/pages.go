package eligibility

import "embed"

// templates holds the pages of the service, one directory per audience:
// office/ (insurer and clerk back office), clinic/ (the facility's back
// office and batch pre-check). The screens of the terminals where the card
// is — the reception and mobile stations, the payment enrolment page — are
// the terminal side's (packages reception and payenrol).
//
//go:embed templates
var templates embed.FS
