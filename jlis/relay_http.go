package jlis

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/jpki"
)

// The relay's API for kiosks. Every call carries the kiosk's key as a
// bearer token and the platform assertion of the card on its reader:
//
//	POST /jlis/v1/menu                      {assertion} → Menu
//	POST /jlis/v1/jobs                      {assertion, Order…} → the rendered Job
//	POST /jlis/v1/jobs/{id}/print           {assertion} → the PDF (X-Job: the job as JSON)
//	POST /jlis/v1/jobs/{id}/cancel          {reason} → 204
//	POST /jlis/v1/registrations/document    {assertion, honseki} → RegistrationDocument
//	POST /jlis/v1/registrations             {assertion, honseki, shown_at, certificate, signature} → Registration
//
// Errors are problems (internal/httpapi, Rules) with Japanese and English
// messages; a municipality's refusal is passed on with its own code.

// JobHeader carries the printed job's facts with its PDF.
const JobHeader = "X-Job"

// ErrMalformedBody is a request body that is not the expected JSON.
var ErrMalformedBody = fmt.Errorf("%w: malformed body", ErrInvalid)

// MaxBody bounds a request to the relay (a signature and a certificate fit).
const MaxBody = 16 << 10

// Routes registers the relay's API.
func (r *Relay) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /jlis/v1/menu", r.kioskOnly(r.serveMenu))
	mux.HandleFunc("POST /jlis/v1/jobs", r.kioskOnly(r.serveOrder))
	mux.HandleFunc("POST /jlis/v1/jobs/{id}/print", r.kioskOnly(r.servePrint))
	mux.HandleFunc("POST /jlis/v1/jobs/{id}/cancel", r.kioskOnly(r.serveCancel))
	mux.HandleFunc("POST /jlis/v1/registrations/document", r.kioskOnly(r.serveRegDoc))
	mux.HandleFunc("POST /jlis/v1/registrations", r.kioskOnly(r.serveRegister))
}

func (r *Relay) kioskOnly(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		key, _ := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		kiosk, err := r.s.KioskByKey(req.Context(), key)
		if err != nil {
			r.writeErr(w, req, err)
			return
		}
		h(w, req, kiosk)
	}
}

// decodeBody reads a request body, answering 400 itself when it is bad.
func (r *Relay) decodeBody(w http.ResponseWriter, req *http.Request, v any) bool {
	if err := httpapi.Decode(req.Body, v, MaxBody); err != nil {
		r.writeErr(w, req, fmt.Errorf("%w: %w", ErrMalformedBody, err))
		return false
	}
	return true
}

type assertionBody struct {
	Assertion string `json:"assertion"`
}

func (r *Relay) serveMenu(w http.ResponseWriter, req *http.Request, kiosk string) {
	var in assertionBody
	if !r.decodeBody(w, req, &in) {
		return
	}
	m, err := r.Menu(req.Context(), kiosk, in.Assertion)
	if err != nil {
		r.writeErr(w, req, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, m)
}

// OrderBody is the body of POST /jlis/v1/jobs.
type OrderBody struct {
	Assertion string `json:"assertion"`
	Order
}

func (r *Relay) serveOrder(w http.ResponseWriter, req *http.Request, kiosk string) {
	var in OrderBody
	if !r.decodeBody(w, req, &in) {
		return
	}
	j, err := r.Order(req.Context(), kiosk, in.Assertion, in.Order)
	if err != nil {
		r.writeErr(w, req, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, j)
}

func (r *Relay) servePrint(w http.ResponseWriter, req *http.Request, kiosk string) {
	var in assertionBody
	if !r.decodeBody(w, req, &in) {
		return
	}
	j, err := r.Print(req.Context(), kiosk, in.Assertion, req.PathValue("id"))
	if err != nil {
		r.writeErr(w, req, err)
		return
	}
	if j.Replayed {
		r.writeErr(w, req, ErrAlreadyPrinted)
		return
	}
	facts, _ := json.Marshal(j) // plain fields always marshal
	h := w.Header()
	h.Set("Content-Type", "application/pdf")
	h.Set("Cache-Control", "no-store")
	h.Set(JobHeader, string(facts))
	w.WriteHeader(http.StatusOK)
	w.Write(j.PDF)
}

func (r *Relay) serveCancel(w http.ResponseWriter, req *http.Request, kiosk string) {
	var in struct {
		Reason string `json:"reason"`
	}
	if !r.decodeBody(w, req, &in) {
		return
	}
	if in.Reason == "" || len(in.Reason) > 64 {
		in.Reason = "cancelled"
	}
	if err := r.CancelJob(req.Context(), kiosk, req.PathValue("id"), in.Reason); err != nil {
		r.writeErr(w, req, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// RegistrationDocument is the document to sign and when it was shown.
type RegistrationDocument struct {
	Text        string    `json:"text"`
	ShownAt     time.Time `json:"shown_at"`
	Honseki     string    `json:"honseki"`
	HonsekiName string    `json:"honseki_name"`
}

type regDocBody struct {
	Assertion string `json:"assertion"`
	Honseki   string `json:"honseki"`
}

func (r *Relay) serveRegDoc(w http.ResponseWriter, req *http.Request, kiosk string) {
	var in regDocBody
	if !r.decodeBody(w, req, &in) {
		return
	}
	d, err := r.RegistrationDocument(req.Context(), kiosk, in.Assertion, in.Honseki)
	if err != nil {
		r.writeErr(w, req, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, RegistrationDocument{Text: d.Text(), ShownAt: d.At, Honseki: d.Honseki, HonsekiName: d.HonsekiName})
}

// RegisterBody is the body of POST /jlis/v1/registrations.
type RegisterBody struct {
	Assertion   string    `json:"assertion"`
	Honseki     string    `json:"honseki"`
	ShownAt     time.Time `json:"shown_at"`
	Certificate []byte    `json:"certificate"` // the signing certificate (DER)
	Signature   []byte    `json:"signature"`
}

func (r *Relay) serveRegister(w http.ResponseWriter, req *http.Request, kiosk string) {
	var in RegisterBody
	if !r.decodeBody(w, req, &in) {
		return
	}
	reg, err := r.Register(req.Context(), kiosk, in.Assertion, in.Honseki, in.ShownAt, in.Certificate, in.Signature)
	if err != nil {
		r.writeErr(w, req, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, reg)
}

// writeErr answers an error of the relay through Rules; a municipality's
// refusal (RefusedError) is passed on as it came.
func (r *Relay) writeErr(w http.ResponseWriter, req *http.Request, err error) {
	Rules.Write(w, req, r.log, err)
}

// The relay API's problem codes (a municipality's refusal keeps its own,
// municipal.Code…).
const (
	CodeUnauthorized            httpapi.Code = "unauthorized"
	CodeCardAuth                httpapi.Code = "card_auth"
	CodeNotRegistered           httpapi.Code = "not_registered"
	CodeInProgress              httpapi.Code = "in_progress"
	CodeMunicipalityUnreachable httpapi.Code = "municipality_unreachable"
	CodeBadAnswer               httpapi.Code = "bad_answer"
	CodeJobGone                 httpapi.Code = "job_gone"
	CodeNotFound                httpapi.Code = "not_found"
	CodeStaleDocument           httpapi.Code = "stale_document"
	CodeBadSignature            httpapi.Code = "bad_signature"
	CodeNoKoseki                httpapi.Code = "no_koseki"
	CodeCertRevoked             httpapi.Code = "cert_revoked"
	CodeCertExpired             httpapi.Code = "cert_expired"
	CodeCertUntrusted           httpapi.Code = "cert_untrusted"
	CodeTryLater                httpapi.Code = "try_later"
	CodeInvalidRequest          httpapi.Code = "invalid_request"
	CodeAlreadyPrinted          httpapi.Code = "already_printed"
)

// Rules answers the relay's errors, and maps the answers back to the
// sentinels in Client.
var Rules = httpapi.Rules{
	{Err: ErrUnauthorized, Status: http.StatusUnauthorized, Code: CodeUnauthorized,
		JA: "登録されたキオスク端末の鍵が必要です。", EN: "A registered kiosk's key is required."},
	{Err: ErrBadAssertion, Status: http.StatusUnauthorized, Code: CodeCardAuth,
		JA: "カードの確認が無効か期限切れです。カードを置き直して、もう一度暗証番号を入力してください。",
		EN: "The card check is invalid or has expired. Place the card again and enter the PIN."},
	{Err: ErrNotRegistered, Status: http.StatusForbidden, Code: CodeNotRegistered,
		JA: "本籍地への利用登録がないため、この証明書は発行できません。先に「本籍地の利用登録」をしてください。",
		EN: "There is no registration with the municipality of your family register. File the registration first."},
	{Err: ErrInProgress, Status: http.StatusConflict, Code: CodeInProgress,
		JA: "この申請は処理中です。しばらくお待ちください。", EN: "This request is being processed. Please wait."},
	{Err: ErrUnreachable, Status: http.StatusGatewayTimeout, Code: CodeMunicipalityUnreachable,
		JA: "市区町村の証明書発行サーバから応答がありません。申請は取り消されました（料金はかかりません）。",
		EN: "The municipality's issuance server did not answer. The request was cancelled (nothing is charged)."},
	{Err: ErrBadAnswer, Status: http.StatusBadGateway, Code: CodeBadAnswer,
		JA: "発行された証明書の確認に失敗したため、交付を中止しました（料金はかかりません）。",
		EN: "The issued certificate failed the relay's checks, so it was not handed out (nothing is charged)."},
	{Err: ErrJobGone, Status: http.StatusGone, Code: CodeJobGone,
		JA: "この申請は時間切れか取り消し済みです。最初からやり直してください。",
		EN: "This request timed out or was cancelled. Please start again."},
	{Err: ErrNotYours, Status: http.StatusNotFound, Code: CodeNotFound,
		JA: "該当する申請がありません。", EN: "There is no such request."},
	{Err: ErrStale, Status: http.StatusBadRequest, Code: CodeStaleDocument,
		JA: "申請書の表示から時間が経ちすぎました。もう一度表示して署名してください。",
		EN: "The application was shown too long ago. Show it again and sign."},
	{Err: ErrBadSignature, Status: http.StatusBadRequest, Code: CodeBadSignature,
		JA: "申請書の署名を確認できません。", EN: "The application's signature does not verify."},
	{Err: ErrNoKoseki, Status: http.StatusNotFound, Code: CodeNoKoseki,
		JA: "選んだ市区町村に、あなたの戸籍は見つかりませんでした。本籍地をご確認ください。",
		EN: "The chosen municipality keeps no family register of yours. Check your 本籍地."},
	{Err: jpki.ErrCertRevoked, Status: http.StatusForbidden, Code: CodeCertRevoked,
		JA: "署名用電子証明書が失効しています。市区町村の窓口で手続きしてください。",
		EN: "The signing certificate is revoked. Please go to the municipal office."},
	{Err: jpki.ErrCertExpired, Status: http.StatusForbidden, Code: CodeCertExpired,
		JA: "署名用電子証明書の有効期限が切れています。", EN: "The signing certificate has expired."},
	{Err: jpki.ErrUntrustedCert, Status: http.StatusForbidden, Code: CodeCertUntrusted,
		JA: "署名用電子証明書を確認できません。", EN: "The signing certificate cannot be verified."},
	{Err: jpki.ErrRevocationUnknown, Status: http.StatusServiceUnavailable, Code: CodeTryLater,
		JA: "証明書の失効情報を確認できません。しばらくしてからお試しください。",
		EN: "The certificate's revocation status is unavailable. Please try later."},
	{Err: ErrMalformedBody, Status: http.StatusBadRequest, Code: CodeInvalidRequest,
		JA: "要求の形式が正しくありません。", EN: "The request is not in the expected form."},
	{Err: ErrInvalid, Status: http.StatusBadRequest, Code: CodeInvalidRequest,
		JA: "要求の内容が正しくありません。", EN: "The request is not valid."},
	{Err: ErrAlreadyPrinted, Status: http.StatusConflict, Code: CodeAlreadyPrinted,
		JA: "この証明書は印刷済みです。二重に印刷・課金はされません。",
		EN: "This certificate was already printed; it is not printed or charged twice."},
	// Printing is what is charged (Relay.Print), so whatever failed inside,
	// a certificate that was not printed costs nothing: the kiosk can say so.
	httpapi.InternalRule("内部エラーが発生しました。印刷されなかった証明書の料金はかかりません。もう一度お試しください。",
		"An internal error occurred. Nothing is charged for a certificate that was not printed; please try again."),
}
