package gate

import (
	"errors"

	"github.com/mynaplat/mynaplat/internal/refusal"
)

// ErrRefused is what every refusal wraps (a *Refusal says why).
var ErrRefused = errors.New("gate: refused")

// Reason is the code of a refusal (docs/community-tv.md §9), stable across
// releases: the API answers it as the problem code.
type Reason string

// The reasons.
const (
	ReasonNotLinked   Reason = "not_linked"
	ReasonUnknownCard Reason = "unknown_card"
	ReasonBadChild    Reason = "invalid_child"
	ReasonBadParent   Reason = "invalid_parent"
)

// Messages are the reason's Japanese and English texts.
func (r Reason) Messages() (ja, en string) {
	switch r {
	case ReasonNotLinked:
		return "このお子さまの記録は見られません。", "You cannot see this child's records."
	case ReasonUnknownCard:
		return "このカードは登録されていません。", "This card is not registered here."
	case ReasonBadChild:
		return "子どもの登録に不足があります（共通プラットフォームID・氏名）。", "The child's registration is incomplete (platform ID, name)."
	case ReasonBadParent:
		return "保護者の登録に不足があります（登録されている子ども・保護者の共通プラットフォームID・メールアドレス）。",
			"The parent's registration is incomplete (a registered child, the parent's platform ID, a mail address)."
	}
	return "受け付けられませんでした。", "Refused."
}

// Refused is ErrRefused, which every refusal wraps.
func (Reason) Refused() error { return ErrRefused }

// Refusal is a refused request and its reason.
type Refusal = refusal.Of[Reason]

// ReasonOf is the reason of a refusal ("" for another error).
func ReasonOf(err error) Reason { return refusal.ReasonOf[Reason](err) }
