package procure

import (
	"errors"
	"fmt"
	"time"

	"github.com/mynaplat/mynaplat/delegation"
)

// Reason is why the register refused something: its own reasons below, or
// a reason of delegation.Check, passed through with delegation's texts.
type Reason string

// The register's reasons (docs/procurement.md §9).
const (
	// ReasonBadSignature: the CMS or its time-stamp does not verify.
	ReasonBadSignature Reason = "bad_signature"
	// ReasonInvalid: the content is not an application, or an entry is
	// missing or wrong.
	ReasonInvalid Reason = "invalid_application"
	// ReasonTax: the declaration of no unpaid taxes is not ticked.
	ReasonTax Reason = "tax_not_declared"
	// ReasonNotSigner: the power named is not the signed-in agent's.
	ReasonNotSigner Reason = "not_signer"
	// ReasonUnknownCorporation and ReasonCorporationClosed: corpreg's
	// answer about the applicant.
	ReasonUnknownCorporation Reason = "unknown_corporation"
	ReasonCorporationClosed  Reason = "corporation_closed"
	// ReasonNameMismatch: the power names the company otherwise than the
	// registry did when the document was signed (a power from before a
	// change of name, for a document signed after it).
	ReasonNameMismatch Reason = "name_mismatch"
	// ReasonAlreadyOpen: an application of the business is under review.
	ReasonAlreadyOpen Reason = "already_open"
	// ReasonAlreadyQualified: a new application from a business whose
	// qualification is valid, or a renewal before the renewal window.
	ReasonAlreadyQualified Reason = "already_qualified"
	// ReasonNotRenewable: a renewal without a qualification to renew.
	ReasonNotRenewable Reason = "not_renewable"
	// ReasonNotOpen: a decision on an application not under review, or a
	// correction asked of one already waiting for it.
	ReasonNotOpen Reason = "not_open"
	// ReasonBadPeriod: a grant's validity period is empty or ends in the
	// past.
	ReasonBadPeriod Reason = "bad_period"
	// ReasonBadDecision: a refusal without a reason from the list, or a
	// correction without its text.
	ReasonBadDecision Reason = "bad_decision"
)

// RenewalWindow is how long before the end of a qualification its
// renewal may be filed.
const RenewalWindow = 90 * 24 * time.Hour

// Messages returns what to tell a person about the reason, in Japanese and
// English.
func (r Reason) Messages() (ja, en string) {
	switch r {
	case ReasonBadNoticesRequest:
		return "お知らせの要求の電子署名またはタイムスタンプを検証できないか、要求の形式が正しくありません。",
			"The request for notices does not verify (signature or time-stamp) or is not a request for notices."
	case ReasonNotRepresentative:
		return "署名した証明書は、この法人の代表者のもの（署名の時点）ではありません。お知らせを読めるのは代表者だけです。",
			"The signing certificate was not the company's representative's at the time of signing. Only the representative may read the notices."
	case ReasonStaleRequest:
		return fmt.Sprintf("お知らせの要求の時刻が古すぎるか、先の時刻です（%d分以内）。端末の時計を確かめて、もう一度お試しください。", int(NoticeWindow.Minutes())),
			fmt.Sprintf("The request for notices is too old or in the future (it must be within %d minutes). Check the desk's clock and try again.", int(NoticeWindow.Minutes()))
	case ReasonReplayedRequest:
		return "このお知らせの要求は既に使われています。新しい要求を送ってください。", "This request for notices was used already: send a new one."
	case ReasonBadSignature:
		return "申請書の電子署名またはタイムスタンプを検証できません。", "The application's signature or time-stamp does not verify."
	case ReasonInvalid:
		return "申請書の記載に不足または誤りがあります。", "The application is incomplete or has invalid entries."
	case ReasonTax:
		return "未納の税額がないことの申告がありません。", "The declaration of no unpaid taxes is missing."
	case ReasonNotSigner:
		return "この委任状は、ログインしている代理人のものではありません。", "This power of attorney is not the signed-in agent's."
	case ReasonUnknownCorporation:
		return "法人番号の法人が登記にありません。", "No corporation with this corporate number is registered."
	case ReasonCorporationClosed:
		return "この法人は閉鎖されています。", "The corporation has been closed."
	case ReasonNameMismatch:
		return "委任状の法人名が、書類の署名時点の登記上の商号と一致しません（商号変更の後に署名した書類には、変更前の委任状は使えません）。",
			"The company name in the power is not the registry's name when the document was signed (a power from before a change of name cannot be used for documents signed after it)."
	case ReasonAlreadyOpen:
		return "この法人には審査中の申請があります。", "The corporation already has an application under review."
	case ReasonAlreadyQualified:
		return "この法人は有効な資格を持っています（更新は有効期間満了の90日前から）。",
			"The corporation already holds a valid qualification (renewal opens 90 days before it ends)."
	case ReasonNotRenewable:
		return "更新できる資格がありません。新規に申請してください。", "There is no qualification to renew: file a new application."
	case ReasonNotOpen:
		return "この申請は、その操作ができる状態ではありません。", "This application is not in a state that allows this."
	case ReasonBadPeriod:
		return "有効期間が正しくありません（開始日が終了日より前で、終了日が今日以降）。",
			"The validity period is not valid (it must start before it ends, and end today or later)."
	case ReasonBadDecision:
		return "理由（補正の内容、または不許可の理由）を選ぶか記入してください。",
			"Choose or write the reason (what to correct, or why it is refused)."
	}
	// A reason of delegation.Check, passed through.
	return delegation.Reason(r).Messages()
}

// Refusal is a refusal: its reason, the texts, and a detail for the log
// and the audit row (never shown as the reason).
type Refusal struct {
	Reason    Reason `json:"reason"`
	MessageJA string `json:"message_ja"`
	MessageEN string `json:"message_en"`
	Detail    string `json:"-"`
}

func (r *Refusal) Error() string {
	if r.Detail != "" {
		return "procure: refused: " + string(r.Reason) + ": " + r.Detail
	}
	return "procure: refused: " + string(r.Reason)
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

// RefusalCode is an officer's reason for refusing an application (不許可の
// 理由), from a closed list.
type RefusalCode string

// The reasons an officer may give.
const (
	RefuseFinancial RefusalCode = "financial_incomplete"
	RefuseTaxUnpaid RefusalCode = "tax_unpaid"
	RefuseItems     RefusalCode = "items_out_of_purpose"
	RefuseOther     RefusalCode = "other"
)

// RefusalCodes are the officer's reasons, in the order a form lists them.
var RefusalCodes = []RefusalCode{RefuseFinancial, RefuseTaxUnpaid, RefuseItems, RefuseOther}

// Messages are the reason's texts for the applicant.
func (c RefusalCode) Messages() (ja, en string) {
	switch c {
	case RefuseFinancial:
		return "財務に関する記載または書類が不足しています。", "The financial statements are incomplete."
	case RefuseTaxUnpaid:
		return "未納の国税があることが確認されました。", "Unpaid national taxes were found."
	case RefuseItems:
		return "申請した営業品目が、法人の事業目的に含まれていません。", "The items applied for are outside the corporation's business purpose."
	case RefuseOther:
		return "その他の理由により不許可としました（審査担当者の記載を参照）。", "Refused for another reason (see the officer's note)."
	}
	return "", ""
}
