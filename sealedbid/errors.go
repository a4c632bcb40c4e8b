package sealedbid

import "errors"

// The refusals of the package. Each is wrapped with %w and a detail (the
// officer, the cause); Messages gives the text for a person.
var (
	// ErrNotEnoughShares: fewer than k officers' shares were unsealed.
	ErrNotEnoughShares = errors.New("sealedbid: not enough shares to open")
	// ErrWrongPassphrase: an officer's passphrase does not unseal the share.
	ErrWrongPassphrase = errors.New("sealedbid: wrong passphrase")
	// ErrForeignShare: the share belongs to another tender's opening key.
	ErrForeignShare = errors.New("sealedbid: share of another tender")
	// ErrTamperedShare: the share does not parse, or its sealed contents or
	// header were changed, or shares disagree with each other.
	ErrTamperedShare = errors.New("sealedbid: share altered or malformed")
	// ErrDuplicateShare: the same officer or share was given twice.
	ErrDuplicateShare = errors.New("sealedbid: share given twice")
	// ErrKeyMismatch: the rebuilt key is not the certificate's.
	ErrKeyMismatch = errors.New("sealedbid: rebuilt key does not match the opening certificate")
	// ErrBadCertificate: the opening certificate does not parse or has no
	// RSA key.
	ErrBadCertificate = errors.New("sealedbid: bad opening certificate")
	// ErrBadParameters: NewOpening's k, officers or subject are unusable.
	ErrBadParameters = errors.New("sealedbid: bad opening parameters")
	// ErrMalformedEnvelope: the bid is not a CMS EnvelopedData of ours.
	ErrMalformedEnvelope = errors.New("sealedbid: malformed envelope")
	// ErrForeignEnvelope: the bid is encrypted to another certificate.
	ErrForeignEnvelope = errors.New("sealedbid: envelope for another opening certificate")
	// ErrTamperedEnvelope: the envelope's key or content does not decrypt.
	ErrTamperedEnvelope = errors.New("sealedbid: envelope altered")
	// ErrClosed: the Opener was closed; its key is gone.
	ErrClosed = errors.New("sealedbid: opener closed")
)

// Messages returns what to tell a person about a refusal, in Japanese and
// English; ok is false for an error that is none of this package's.
func Messages(err error) (ja, en string, ok bool) {
	switch {
	case errors.Is(err, ErrNotEnoughShares):
		return "開札に必要な人数の開札担当官の鍵がそろっていません。", "Not enough opening officers' shares to open the bids.", true
	case errors.Is(err, ErrWrongPassphrase):
		return "開札担当官のパスフレーズが違います。", "An opening officer's passphrase is wrong.", true
	case errors.Is(err, ErrForeignShare):
		return "この鍵の分割片は別の案件のものです。", "This key share belongs to another tender.", true
	case errors.Is(err, ErrTamperedShare):
		return "鍵の分割片が改ざんされているか、壊れています。", "A key share was altered or is damaged.", true
	case errors.Is(err, ErrDuplicateShare):
		return "同じ開札担当官の鍵が二度使われています。", "The same officer's share was given twice.", true
	case errors.Is(err, ErrKeyMismatch):
		return "復元した開札鍵が開札用証明書と一致しません。", "The rebuilt opening key does not match the opening certificate.", true
	case errors.Is(err, ErrBadCertificate):
		return "開札用証明書が正しくありません。", "The opening certificate is not valid.", true
	case errors.Is(err, ErrBadParameters):
		return "開札鍵の分割の設定(必要人数・担当官・件名)が正しくありません。", "The opening key's split (threshold, officers or subject) is not valid.", true
	case errors.Is(err, ErrMalformedEnvelope):
		return "入札書の暗号データの形式が正しくありません。", "The bid's encrypted data is not in the expected form.", true
	case errors.Is(err, ErrForeignEnvelope):
		return "この入札書は別の案件の開札用証明書あてに暗号化されています。", "This bid is encrypted to another tender's opening certificate.", true
	case errors.Is(err, ErrTamperedEnvelope):
		return "入札書の暗号データが改ざんされています。", "The bid's encrypted data was altered.", true
	case errors.Is(err, ErrClosed):
		return "開札は終了し、開札鍵は消去されました。", "The opening is closed and its key erased.", true
	}
	return "", "", false
}
