package eligibility

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/cardco"
	"github.com/mynaplat/mynaplat/internal/apijson"
)

// The facility payment API (Authorization: Bearer <facility key>); a
// facility sees and charges only its own checks and payments:
//
//	POST /eligibility/v1/payments               Idempotency-Key; {check_id, amount} → Payment (201; 200 on replay)
//	POST /eligibility/v1/payments/{id}/refunds  Idempotency-Key; {amount} → PaymentRefund (201; 200 on replay)
//	GET  /eligibility/v1/payments/{id}          → Payment
//
// A replayed answer carries Idempotent-Replayed: true. Errors are
// apijson.Problem. After a 503 (or no answer at all) the same request may be
// sent again with the same Idempotency-Key: it is charged at most once.
// Answers never contain the card-company token or a card number.

// PaymentRoutes registers the facility payment API.
func (s *Service) PaymentRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /eligibility/v1/payments", s.facilityOnly(s.servePay))
	mux.HandleFunc("POST /eligibility/v1/payments/{id}/refunds", s.facilityOnly(s.serveRefund))
	mux.HandleFunc("GET /eligibility/v1/payments/{id}", s.facilityOnly(s.serveGetPayment))
}

// payIdemKey reads the Idempotency-Key header (a structured-field string or
// a plain token).
func payIdemKey(r *http.Request) string {
	k := r.Header.Get("Idempotency-Key")
	if len(k) >= 2 && k[0] == '"' && k[len(k)-1] == '"' {
		k = k[1 : len(k)-1]
	}
	return k
}

func (s *Service) servePay(w http.ResponseWriter, r *http.Request, facility string) {
	var body struct {
		CheckID string `json:"check_id"`
		Amount  int64  `json:"amount"`
	}
	if err := decode(r, &body); err != nil {
		s.writePayErr(w, err)
		return
	}
	p, err := s.Charge(r.Context(), facility, body.CheckID, body.Amount, payIdemKey(r))
	if err != nil {
		s.writePayErr(w, err)
		return
	}
	writeReplayable(w, p.Replayed, p)
}

func (s *Service) serveRefund(w http.ResponseWriter, r *http.Request, facility string) {
	var body struct {
		Amount int64 `json:"amount"`
	}
	if err := decode(r, &body); err != nil {
		s.writePayErr(w, err)
		return
	}
	rf, err := s.Refund(r.Context(), facility, r.PathValue("id"), body.Amount, payIdemKey(r))
	if err != nil {
		s.writePayErr(w, err)
		return
	}
	writeReplayable(w, rf.Replayed, rf)
}

func (s *Service) serveGetPayment(w http.ResponseWriter, r *http.Request, facility string) {
	p, err := s.Payment(r.Context(), facility, r.PathValue("id"))
	if err != nil {
		s.writePayErr(w, err)
		return
	}
	apijson.Write(w, http.StatusOK, p)
}

func writeReplayable(w http.ResponseWriter, replayed bool, v any) {
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
		apijson.Write(w, http.StatusOK, v)
		return
	}
	apijson.Write(w, http.StatusCreated, v)
}

// PayProblem is what an error of payment with the card means for the person
// or facility: HTTP status, code, and the message in Japanese and English.
type PayProblem struct {
	Status    int
	Code      string
	MessageJA string
	MessageEN string
}

// PayMessage maps an error of linking, charging or refunding to its message
// (the edge: the API and the pages). Unknown errors are a 500 "internal".
func PayMessage(err error) PayProblem {
	var pe *card.PINError
	switch {
	// Linking: the card.
	case errors.Is(err, card.ErrPINFormat):
		return PayProblem{400, "password_format", "署名用電子証明書の暗証番号は、英字（大文字）と数字で6〜16文字です。",
			"The signing password is 6–16 characters of capital letters A–Z and digits 0–9."}
	case errors.Is(err, card.ErrPINBlocked):
		return PayProblem{403, "password_blocked",
			"署名用電子証明書の暗証番号がロックされています。お住まいの市区町村の窓口で初期化してください（カードと本人確認書類をお持ちください）。",
			"The signing password is blocked. Have it reset at your municipal office (bring the card and proof of identity)."}
	case errors.As(err, &pe):
		if pe.TriesLeft == 1 {
			return PayProblem{403, "wrong_password", "暗証番号が違います。あと1回間違えるとロックされ、市区町村の窓口でしか解除できません。",
				"Wrong password. One more wrong try blocks it; only the municipal office can unblock it."}
		}
		return PayProblem{403, "wrong_password", fmt.Sprintf("暗証番号が違います。残り %d 回です。", pe.TriesLeft),
			fmt.Sprintf("Wrong password. %d tries left.", pe.TriesLeft)}
	case errors.Is(err, card.ErrWrongPIN):
		return PayProblem{403, "wrong_password", "暗証番号が違います。", "Wrong password."}
	case errors.Is(err, card.ErrNotFound):
		return PayProblem{400, "no_signing_cert", "このカードには署名用電子証明書がありません。市区町村の窓口で発行を受けてください。",
			"This card has no signing certificate; get one at the municipal office."}
	// Linking: the checks.
	case errors.Is(err, ErrBadSignature):
		return PayProblem{400, "bad_signature", "同意書の署名を確認できませんでした。", "The signature of the consent could not be verified."}
	case errors.Is(err, ErrUntrustedCert):
		return PayProblem{400, "untrusted_certificate", "署名用電子証明書が公的個人認証サービスのものではありません。",
			"The signing certificate was not issued by the JPKI signing CA."}
	case errors.Is(err, ErrCertExpired):
		return PayProblem{400, "certificate_expired", "署名用電子証明書の有効期間外です。市区町村の窓口で更新してください。",
			"The signing certificate is not within its validity; renew it at the municipal office."}
	case errors.Is(err, ErrCertRevoked):
		return PayProblem{400, "certificate_revoked", "署名用電子証明書が失効しています（住所や氏名の変更、紛失など）。市区町村の窓口で再発行を受けてください。",
			"The signing certificate is revoked (a change of address or name, a loss, …); get a new one at the municipal office."}
	case errors.Is(err, ErrRevocationUnknown):
		return PayProblem{503, "revocation_unknown", "署名用電子証明書の失効確認ができませんでした。しばらくしてから再度お試しください。",
			"The status of the signing certificate could not be confirmed; try again shortly."}
	case errors.Is(err, ErrNotSamePerson):
		return PayProblem{403, "not_same_person", "署名用電子証明書が、ログインしたご本人のものではありません。ご自身のカードで登録してください。",
			"The signing certificate is not that of the person logged in; register with your own card."}
	case errors.Is(err, ErrConsentStale):
		return PayProblem{409, "consent_stale", "同意書の表示から時間がたちました。もう一度同意書を確認してください。",
			"The consent was shown too long ago; review it again."}
	// Charging.
	case errors.Is(err, ErrNoPaymentLink):
		return PayProblem{409, "no_payment_link", "この方はカードでのお支払いを登録していません。窓口でお支払いください。",
			"This patient has not registered a card for payment; take the payment at the desk."}
	case errors.Is(err, ErrCheckExpired):
		return PayProblem{422, "check_expired", "資格確認が本日のものではありません。もう一度資格確認をしてください。",
			"The eligibility check is not from today; check again."}
	case errors.Is(err, cardco.ErrInsufficientFunds):
		return PayProblem{402, "insufficient_funds", "ご利用可能額が不足しているため、カードでお支払いできませんでした。窓口でお支払いください。",
			"Declined: the card's available credit is less than the amount. Take the payment at the desk."}
	case errors.Is(err, cardco.ErrInvalidToken):
		return PayProblem{402, "card_unusable", "登録されたカードは現在ご利用いただけません（カード会社で取り消されています）。窓口でお支払いください。",
			"Declined: the registered card can no longer be used (revoked at the card company). Take the payment at the desk."}
	case errors.Is(err, ErrDeclined):
		return PayProblem{402, "declined", "カード会社がお支払いをお受けしませんでした。窓口でお支払いください。",
			"The card company declined the payment. Take the payment at the desk."}
	case errors.Is(err, ErrRefundExceeds):
		return PayProblem{409, "refund_exceeds", "返金額が返金可能額を超えています。", "The refund exceeds what is left to refund."}
	case errors.Is(err, ErrIdempotencyReused):
		return PayProblem{422, "idempotency_key_reused", "この Idempotency-Key は別の要求に使われています。新しいキーで送ってください。",
			"This Idempotency-Key was used for another request; send with a new key."}
	case errors.Is(err, ErrPaymentUnavailable):
		return PayProblem{503, "card_company_unavailable",
			"カード会社に接続できませんでした。請求は行われていません。同じ Idempotency-Key でもう一度送ってください（二重に請求されることはありません）。",
			"The card company could not be reached. Nothing was charged; send the request again with the same Idempotency-Key (it is never charged twice)."}
	case errors.Is(err, ErrPaymentNotConfigured):
		return PayProblem{503, "payment_not_configured", "カードでのお支払いは現在ご利用いただけません。", "Payment with the card is not available."}
	case errors.Is(err, ErrInvalid):
		return PayProblem{400, "invalid", "入力内容に誤りがあります: " + err.Error(), "Invalid request: " + err.Error()}
	case errors.Is(err, ErrNotFound):
		return PayProblem{404, "not_found", "該当する記録がありません。", "No such record."}
	}
	return PayProblem{500, "internal", "内部エラーが発生しました。しばらくしてから再度お試しください。", "Internal error; try again shortly."}
}

func (s *Service) writePayErr(w http.ResponseWriter, err error) {
	p := PayMessage(err)
	switch {
	case p.Status >= 500:
		s.logger.Error("payment", "err", err)
		if p.Status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "5")
		}
	default:
		s.logger.Info("payment refused", "code", p.Code)
	}
	apijson.WriteProblem(w, p.Status, p.Code, p.MessageJA, p.MessageEN)
}
