package contract

// Reason is why this package refused something or why a timeline does not
// verify. Each reason is a sentinel error (compare with errors.Is) with
// Japanese and English text for the pages and reports.
type Reason string

// The reasons (docs/procurement.md §9).
const (
	// ErrInvalid: the contract's terms or a step's statement are incomplete
	// or wrong.
	ErrInvalid Reason = "invalid_terms"
	// ErrSignOrder: the agent signs the contract first, the officer second,
	// and nobody after them.
	ErrSignOrder Reason = "sign_order"
	// ErrNotSigned: the contract PDF does not carry the two signatures.
	ErrNotSigned Reason = "contract_not_signed"
	// ErrBadStep: a step is not a signed step of this package (not CMS, not
	// canonical JSON, an unknown kind).
	ErrBadStep Reason = "bad_step"
	// ErrBrokenChain: a step does not name the SHA-256 of the element
	// before it, or names another contract: an element was changed,
	// removed or put in.
	ErrBrokenChain Reason = "broken_chain"
	// ErrOutOfOrder: the steps are not inspection, acceptance, invoice in
	// that order, or a step's time-stamp is before the element before it.
	ErrOutOfOrder Reason = "out_of_order"
	// ErrWrongParty: a step is signed by someone other than the party who
	// makes it (the officer inspects; the agent accepts and invoices).
	ErrWrongParty Reason = "wrong_party"
	// ErrIncomplete: the timeline ends before the invoice.
	ErrIncomplete Reason = "incomplete"
	// ErrBundle: the file is not a contract timeline bundle.
	ErrBundle Reason = "bad_bundle"
)

func (r Reason) Error() string {
	_, en := r.Messages()
	return "contract: " + string(r) + ": " + en
}

// Messages returns what to tell a person, in Japanese and English.
func (r Reason) Messages() (ja, en string) {
	switch r {
	case ErrInvalid:
		return "契約の内容に不足または誤りがあります。", "The contract's terms or the step's statement are incomplete or invalid."
	case ErrSignOrder:
		return "契約書は代理人が先に、担当職員が後に署名します（署名は二つまで）。", "The agent signs the contract first and the officer second (two signatures only)."
	case ErrNotSigned:
		return "契約書に代理人と担当職員の二つの署名がありません。", "The contract does not carry the agent's and the officer's signatures."
	case ErrBadStep:
		return "契約後の手続の記録の形式が正しくありません。", "A step after the contract is not well formed."
	case ErrBrokenChain:
		return "手続の記録が前の記録のハッシュ値を正しく指していません（記録の改ざん・削除・挿入）。", "A step does not name the SHA-256 of the element before it (an element was changed, removed or put in)."
	case ErrOutOfOrder:
		return "手続の順序（検査、受領、請求）または時刻の順序が正しくありません。", "The steps are not in order (inspection, acceptance, invoice), or a time-stamp is earlier than the element before it."
	case ErrWrongParty:
		return "この手続に署名できるのは別の当事者です（検査は担当職員、受領と請求は代理人）。", "This step is signed by the wrong party (the officer inspects; the agent accepts and invoices)."
	case ErrIncomplete:
		return "手続の記録が請求まで揃っていません。", "The timeline ends before the invoice."
	case ErrBundle:
		return "契約履歴ファイルの形式が正しくありません。", "The file is not a well-formed contract timeline."
	}
	return "契約の手続を完了できません。", "The contract step cannot be completed."
}
