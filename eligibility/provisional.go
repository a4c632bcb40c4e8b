package eligibility

import "time"

// ProvisionalCheck is a check a terminal made with the card while the
// platform could not be reached: verified locally, kept in the terminal's
// queue, and confirmed when sent (see the offline queue).
type ProvisionalCheck struct {
	ClientID string    `json:"client_id"`
	Terminal string    `json:"terminal"`
	At       time.Time `json:"at"`
	// Holder is the name on the card's certificate-free text, for staff.
	Holder string `json:"holder"`
	// LastError is why the last attempt to send it failed, if it did.
	LastError string `json:"last_error,omitempty"`
}
