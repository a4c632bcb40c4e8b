package watch

import (
	"errors"

	"github.com/mynaplat/mynaplat/internal/refusal"
)

// ErrRefused is what every refusal wraps (a *Refusal says why).
var ErrRefused = errors.New("watch: refused")

// Reason is the code of a refusal (docs/community-tv.md §9), stable across
// releases: the API answers it as the problem code.
type Reason string

// The reasons.
const (
	ReasonNotWatched   Reason = "not_watched"
	ReasonBadAnswer    Reason = "invalid_answer"
	ReasonBadPerson    Reason = "invalid_person"
	ReasonBadAbsence   Reason = "invalid_absence"
	ReasonNoFlag       Reason = "no_flag"
	ReasonNoteRequired Reason = "note_required"
)

// Messages are the reason's Japanese and English texts.
func (r Reason) Messages() (ja, en string) {
	switch r {
	case ReasonNotWatched:
		return "見守りの対象として登録されていません。", "You are not registered for watch-over."
	case ReasonBadAnswer:
		return "答えは 1・2・3 の数字キーで選んでください。", "Answer with the number keys 1, 2 or 3."
	case ReasonBadPerson:
		return "見守りの登録に不足があります（共通プラットフォームID・氏名・家族のメールアドレス・確認の時刻）。",
			"The registration is incomplete (platform ID, name, the family's mail address, the time of the check)."
	case ReasonBadAbsence:
		return "不在の期間が正しくありません（登録されている方で、開始日が終了日以前）。",
			"The absence is invalid (a person watched, and a start on or before its end)."
	case ReasonNoFlag:
		return "その見守りフラグはありません（すでに対応済みかもしれません）。", "No such open flag (it may have been handled already)."
	case ReasonNoteRequired:
		return "対応の記録（メモ）を書いてください。", "Write a note of what was done."
	}
	return "受け付けられませんでした。", "Refused."
}

// Refused is ErrRefused, which every refusal wraps.
func (Reason) Refused() error { return ErrRefused }

// Refusal is a refused request and its reason.
type Refusal = refusal.Of[Reason]

// ReasonOf is the reason of a refusal ("" for another error).
func ReasonOf(err error) Reason { return refusal.ReasonOf[Reason](err) }
