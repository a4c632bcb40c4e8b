package town

import (
	"errors"

	"github.com/mynaplat/mynaplat/internal/refusal"
)

// ErrRefused is what every refusal wraps (a *Refusal says why).
var ErrRefused = errors.New("town: refused")

// Reason is the code of a refusal (docs/community-tv.md §9), stable across
// releases: the API answers it as the problem code.
type Reason string

// The reasons.
const (
	ReasonNotResident   Reason = "not_resident"
	ReasonSlotFull      Reason = "slot_full"
	ReasonAlreadyBooked Reason = "already_booked"
	ReasonNoSlot        Reason = "no_slot"
	ReasonSlotStarted   Reason = "slot_started"
	ReasonNoBooking     Reason = "no_booking"
)

// Messages are the reason's Japanese and English texts.
func (r Reason) Messages() (ja, en string) {
	switch r {
	case ReasonNotResident:
		return "この市町村の住民として登録されていません。", "You are not registered as a resident of this town."
	case ReasonSlotFull:
		return "この枠は満員になりました。別の枠を選んでください。", "This slot is full. Choose another slot."
	case ReasonAlreadyBooked:
		return "この枠はすでに予約済みです。", "You have already booked this slot."
	case ReasonNoSlot:
		return "その枠はありません。", "No such slot."
	case ReasonSlotStarted:
		return "この枠は受付を終了しました。", "This slot is no longer open for booking."
	case ReasonNoBooking:
		return "その予約はありません。", "No such booking."
	}
	return "受け付けられませんでした。", "Refused."
}

// Refused is ErrRefused, which every refusal wraps.
func (Reason) Refused() error { return ErrRefused }

// Refusal is a refused request and its reason.
type Refusal = refusal.Of[Reason]

// ReasonOf is the reason of a refusal ("" for another error).
func ReasonOf(err error) Reason { return refusal.ReasonOf[Reason](err) }

func refuse(r Reason) error { return &Refusal{Reason: r} }
