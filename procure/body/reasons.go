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

// The opening's reasons (slice 5): a bid's, in the order it is checked,
// then the ceremony's. A bid refused by delegation.Check carries
// delegation's reason and texts instead (expired, revoked, out_of_scope,
// not_agent, unknown_power …).
const (
	ReasonBadSignature  Reason = "bad_signature"
	ReasonMismatch      Reason = "mismatch"
	ReasonRevokedCert   Reason = "revoked_certificate"
	ReasonSubDelegated  Reason = "sub_delegated_bid"
	ReasonNameMismatch  Reason = "name_mismatch"
	ReasonNotQualified  Reason = "not_qualified"
	ReasonPowerOutlasts Reason = "power_outlasts_qualification"
	ReasonGradeTooLow   Reason = "grade_too_low"
	ReasonOverEstimate  Reason = "over_estimate"
	ReasonReplaced      Reason = "replaced"

	ReasonQuorum    Reason = "opening_quorum"
	ReasonTooEarly  Reason = "opening_too_early"
	ReasonNotOpener Reason = "not_opening_officer"
)

// The contract's reasons (contract.go). A step the contract package
// refuses carries its reason and texts instead (broken_chain,
// out_of_order, wrong_party, bad_step …), a power delegation.Check
// refuses delegation's (out_of_scope, expired, not_agent …).
const (
	ReasonNotAwarded        Reason = "not_awarded"
	ReasonContractExists    Reason = "contract_exists"
	ReasonContractTerms     Reason = "invalid_contract_terms"
	ReasonNotParty          Reason = "not_contract_party"
	ReasonNotStoredPDF      Reason = "not_stored_pdf"
	ReasonSignOrder         Reason = "contract_sign_order"
	ReasonContractSignature Reason = "bad_contract_signature"
	ReasonWrongSigner       Reason = "wrong_signer"
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
	case ReasonBadSignature:
		return "入札書の電子署名またはタイムスタンプを検証できないか、署名された内容が入札書ではありません。",
			"The bid's signature or time-stamp does not verify, or what is signed is not a bid."
	case ReasonMismatch:
		return "署名された入札書が、この案件・この法人番号・委任状の代理人のものではありません。",
			"The signed bid is not for this tender, for the corporate number it was sent for, or by the power's agent."
	case ReasonRevokedCert:
		return "署名に使われた署名用電子証明書は、署名の時点で失効していました。",
			"The signing certificate had been revoked when the bid was signed."
	case ReasonSubDelegated:
		return "復代理人は入札できません。", "A sub-agent may not bid."
	case ReasonNameMismatch:
		return "委任状または入札書の法人名が、入札書に署名した時点の登記上の商号と一致しません（商号変更の後に署名した入札書には、変更前の委任状は使えません）。",
			"The company name in the power or the bid is not the registry's name when the bid was signed (a power from before a change of name cannot be used for a bid signed after it)."
	case ReasonNotQualified:
		return "入札書に署名した時点で、この区分の競争参加資格がありませんでした。",
			"The business held no qualification in this field when the bid was signed."
	case ReasonPowerOutlasts:
		return "委任状の有効期間が資格の有効期間を超えています。", "The power's period goes beyond the qualification's."
	case ReasonGradeTooLow:
		return "この区分の等級では、この案件の予定価格に入札できません。",
			"The business's grade in this field does not cover this tender's estimate."
	case ReasonOverEstimate:
		return "入札価格が予定価格を超えています。", "The price is above the estimate."
	case ReasonReplaced:
		return "同じ法人の後の入札書に差し替えられました（開封していません）。",
			"Replaced by a later bid of the same business (not opened)."
	case ReasonQuorum:
		return "開札に必要な人数の開札担当官がそろっていません。", "Fewer opening officers than the tender needs have opened."
	case ReasonTooEarly:
		return "入札書の提出期限がまだ来ていないため、開札できません。", "The deadline has not passed: the tender cannot be opened yet."
	case ReasonNotOpener:
		return "この案件の開札担当官ではありません。", "You are not an opening officer of this tender."
	case ReasonNotAwarded:
		return "この案件は落札者が決まっていないため、契約書を作成できません。", "The tender has no award: no contract can be prepared."
	case ReasonContractExists:
		return "この案件の契約書は作成済みです。", "This tender's contract has already been prepared."
	case ReasonContractTerms:
		return "契約の内容（納入期限・納入場所・支払条件）に不足または誤りがあります。",
			"The contract's terms (delivery date and place, payment terms) are incomplete or invalid."
	case ReasonNotParty:
		return "この契約の当事者（落札した入札書の代理人）ではありません。", "You are not a party to this contract (the winning bid's agent)."
	case ReasonNotStoredPDF:
		return "送られたPDFは、この契約書に署名を一つ加えたものではありません。",
			"The PDF sent is not this contract with one signature added."
	case ReasonSignOrder:
		return "契約書は代理人が先に、担当職員が後に署名し、その後に検査・受領・請求の順で進みます。",
			"The agent signs the contract first and the officer second; inspection, acceptance and invoice follow in that order."
	case ReasonContractSignature:
		return "加えられた署名またはそのタイムスタンプを検証できません。", "The signature added or its time-stamp does not verify."
	case ReasonWrongSigner:
		return "署名した電子証明書の持ち主が、手続を行う職員本人ではありません。",
			"The signing certificate does not belong to the officer making this step."
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
