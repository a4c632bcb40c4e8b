package catv

import (
	"errors"

	"github.com/mynaplat/mynaplat/internal/refusal"
)

// ErrRefused is what every refusal wraps (a *Refusal says why).
var ErrRefused = errors.New("catv: refused")

// Reason is the code of a refusal (docs/community-tv.md §9), stable across
// releases: an API answers it as the problem code.
type Reason string

// The reasons.
const (
	ReasonNotSubscriber Reason = "not_subscriber"
	ReasonBadMessage    Reason = "invalid_message"
	ReasonNoRecipient   Reason = "unknown_recipient"
	ReasonNoMessage     Reason = "no_message"
	ReasonBadSubscriber Reason = "invalid_subscriber"
)

// Messages are the reason's Japanese and English texts.
func (r Reason) Messages() (ja, en string) {
	switch r {
	case ReasonNotSubscriber:
		return "このテレビの契約者として登録されていません。", "You are not registered as a subscriber of this TV."
	case ReasonBadMessage:
		return "お知らせの記載に不足または誤りがあります（件名と本文を日本語・英語で、宛先は全員・地区・個人のいずれか）。",
			"The message is incomplete or invalid (title and text in Japanese and English; to everyone, an area or one person)."
	case ReasonNoRecipient:
		return "宛先の方はこの事業者の契約者ではありません。", "The recipient is not a subscriber of this operator."
	case ReasonNoMessage:
		return "そのお知らせはありません。", "No such message."
	case ReasonBadSubscriber:
		return "契約者の記載に不足があります（共通プラットフォームID・端末・契約番号・地区）。",
			"The subscriber is incomplete (platform ID, terminal, subscriber number, area)."
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
