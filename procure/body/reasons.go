package body

import (
	"errors"

	"github.com/mynaplat/mynaplat/sealedbid"
)

// Reason is the code of a refusal (docs/procurement.md §9, the bodies'
// list), stable across releases: the API answers it as the problem code.
type Reason string

// The bodies' reasons this slice gives.
const (
	ReasonLate         Reason = "late"
	ReasonClosed       Reason = "tender_closed"
	ReasonBadEnvelope  Reason = "bad_envelope"
	ReasonTooLarge     Reason = "too_large"
	ReasonNoTender     Reason = "no_tender"
	ReasonBadTender    Reason = "invalid_tender"
	ReasonGradeBand    Reason = "grade_band_mismatch"
	ReasonNotEnrolled  Reason = "officer_not_enrolled"
	ReasonEnrolled     Reason = "officer_enrolled"
	ReasonWeakPass     Reason = "weak_passphrase"
	ReasonPassMismatch Reason = "passphrase_mismatch"
	ReasonBadCorp      Reason = "invalid_corporate_number"
	ReasonWrongPass    Reason = "wrong_passphrase"
)

// Messages are the reason's Japanese and English texts.
func (r Reason) Messages() (ja, en string) {
	switch r {
	case ReasonLate:
		return "入札書の提出期限を過ぎています（期限の時刻ちょうどに届いたものも期限後です）。",
			"The deadline for bids has passed (a bid arriving in the deadline's own second is late)."
	case ReasonClosed:
		return "この案件は入札を受け付けていません。", "This tender is not accepting bids."
	case ReasonBadEnvelope:
		return "入札書がこの案件の開札用証明書あての暗号データ(CMS EnvelopedData)ではありません。",
			"The bid is not CMS EnvelopedData addressed to this tender's opening certificate."
	case ReasonTooLarge:
		return "入札書が大きすぎます。", "The bid is too large."
	case ReasonNoTender:
		return "その案件はありません。", "No such tender."
	case ReasonBadTender:
		return "案件の記載に不足または誤りがあります（件名・品目・区分・等級・予定価格・期限・開札担当官と必要人数）。",
			"The tender is incomplete or invalid (title, item, field, grade, estimate, deadline, opening officers and threshold)."
	case ReasonGradeBand:
		return "指定した等級では予定価格の帯に入りません。", "The estimate is outside the price band of the grade given."
	case ReasonNotEnrolled:
		return "開札担当官に指定した職員が、まだ開札用パスフレーズを設定していません。",
			"An officer named to open has not set an opening passphrase yet."
	case ReasonEnrolled:
		return "開札用パスフレーズは設定済みです。", "The opening passphrase is already set."
	case ReasonWeakPass:
		return "開札用パスフレーズは12文字以上にしてください。", "The opening passphrase must be at least 12 characters."
	case ReasonPassMismatch:
		return "確認のため入力したパスフレーズが一致しません。", "The two passphrases differ."
	case ReasonBadCorp:
		return "法人番号が正しくありません。", "The corporate number is not valid."
	case ReasonWrongPass:
		if ja, en, ok := sealedbid.Messages(sealedbid.ErrWrongPassphrase); ok {
			return ja, en
		}
	}
	return "", ""
}

// Refusal is a refusal: its reason, the texts, and a detail for the log
// and the audit row.
type Refusal struct {
	Reason    Reason
	MessageJA string
	MessageEN string
	Detail    string
}

func (r *Refusal) Error() string {
	if r.Detail != "" {
		return "body: refused: " + string(r.Reason) + ": " + r.Detail
	}
	return "body: refused: " + string(r.Reason)
}

// Unwrap makes every refusal match ErrRefused.
func (r *Refusal) Unwrap() error { return ErrRefused }

func refuse(r Reason, detail string) *Refusal {
	ja, en := r.Messages()
	return &Refusal{Reason: r, MessageJA: ja, MessageEN: en, Detail: detail}
}

// ReasonOf is the reason of a refusal, "" for any other error.
func ReasonOf(err error) Reason {
	if r, ok := errors.AsType[*Refusal](err); ok {
		return r.Reason
	}
	return ""
}
