package eligibility

import "embed"

// templates holds the pages of the service, one directory per audience:
// reception/ (the reception and mobile terminals), office/ (insurer and
// clerk back office), clinic/ (the facility's back office and batch
// pre-check), pay/ (payment with the card).
//
//go:embed templates
var templates embed.FS
