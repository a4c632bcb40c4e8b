package evac

import (
	"errors"

	"github.com/mynaplat/mynaplat/internal/refusal"
)

// ErrRefused is what every refusal wraps (a *Refusal says why).
var ErrRefused = errors.New("evac: refused")

// Reason is the code of a refusal (docs/community-tv.md §9), stable across
// releases: the API answers it as the problem code.
type Reason string

// The reasons.
const (
	// ReasonNotResident: the person is no member of a household of the town.
	ReasonNotResident Reason = "not_resident"
	// ReasonNoOrder: no such order, or none in force for the person's area.
	ReasonNoOrder Reason = "no_order"
	// ReasonOrderClosed: the order has been lifted.
	ReasonOrderClosed Reason = "order_closed"
	// ReasonShelterClosed: the shelter is not open (or does not exist).
	ReasonShelterClosed Reason = "shelter_closed"
	// ReasonInvalidOrder: an order without areas, with an unknown area or
	// a level outside 1–5.
	ReasonInvalidOrder Reason = "invalid_order"
	// ReasonAlreadyIn: the person is checked in (at this or another shelter).
	ReasonAlreadyIn Reason = "already_checked_in"
	// ReasonNotIn: the person is not checked in here.
	ReasonNotIn Reason = "not_checked_in"
)

// Messages are the reason's Japanese and English texts.
func (r Reason) Messages() (ja, en string) {
	switch r {
	case ReasonNotResident:
		return "美波町の世帯の方として登録されていません。", "You are not registered as a member of a household of the town."
	case ReasonNoOrder:
		return "その避難指示はありません。", "No such evacuation order."
	case ReasonOrderClosed:
		return "この避難指示は解除されています。", "This evacuation order has been lifted."
	case ReasonShelterClosed:
		return "この避難所は開設されていません。", "This shelter is not open."
	case ReasonInvalidOrder:
		return "避難指示の記載に不足または誤りがあります（地区を一つ以上、警戒レベルは1〜5）。",
			"The order is incomplete or invalid (one area or more; alert level 1 to 5)."
	case ReasonAlreadyIn:
		return "この方はすでに避難所に受け付けられています。", "This person is already checked in at a shelter."
	case ReasonNotIn:
		return "この方はこの避難所に受け付けられていません。", "This person is not checked in at this shelter."
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
