package kiosk

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/internal/apijson"
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
// Errors are JSON problems (internal/apijson) with Japanese and English
// messages; a municipality's refusal is passed on with its own code.

// JobHeader carries the printed job's facts with its PDF.
const JobHeader = "X-Job"

// maxBody bounds a request to the relay (a signature and a certificate fit).
const maxBody = 16 << 10

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
			r.writeErr(w, err)
			return
		}
		h(w, req, kiosk)
	}
}

// decodeBody reads a request body, answering 400 itself when it is bad.
func (r *Relay) decodeBody(w http.ResponseWriter, req *http.Request, v any) bool {
	if err := apijson.Decode(req.Body, v, maxBody); err != nil {
		apijson.WriteProblem(w, http.StatusBadRequest, "invalid_request",
			"要求の形式が正しくありません。", "The request is not in the expected form.")
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
		r.writeErr(w, err)
		return
	}
	apijson.Write(w, http.StatusOK, m)
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
		r.writeErr(w, err)
		return
	}
	apijson.Write(w, http.StatusOK, j)
}

func (r *Relay) servePrint(w http.ResponseWriter, req *http.Request, kiosk string) {
	var in assertionBody
	if !r.decodeBody(w, req, &in) {
		return
	}
	j, err := r.Print(req.Context(), kiosk, in.Assertion, req.PathValue("id"))
	if err != nil {
		r.writeErr(w, err)
		return
	}
	if j.Replayed {
		apijson.WriteProblem(w, http.StatusConflict, "already_printed",
			"この証明書は印刷済みです。二重に印刷・課金はされません。", "This certificate was already printed; it is not printed or charged twice.")
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
		r.writeErr(w, err)
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
		r.writeErr(w, err)
		return
	}
	apijson.Write(w, http.StatusOK, RegistrationDocument{Text: d.Text(), ShownAt: d.At, Honseki: d.Honseki, HonsekiName: d.HonsekiName})
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
		r.writeErr(w, err)
		return
	}
	apijson.Write(w, http.StatusOK, reg)
}

// writeErr maps the relay's errors to answers.
func (r *Relay) writeErr(w http.ResponseWriter, err error) {
	var re *RefusedError
	if errors.As(err, &re) {
		apijson.WriteProblem(w, re.Status, re.Code, re.MessageJA, re.MessageEN)
		return
	}
	p, status := problemOf(err)
	if status == http.StatusInternalServerError {
		r.log.Error("kiosk relay", "err", err)
	}
	apijson.WriteProblem(w, status, p.Code, p.MessageJA, p.MessageEN)
}

// problemOf is the answer to an error of the relay.
func problemOf(err error) (apijson.Problem, int) {
	type pr = apijson.Problem
	switch {
	case errors.Is(err, ErrUnauthorized):
		return pr{Code: "unauthorized", MessageJA: "登録されたキオスク端末の鍵が必要です。", MessageEN: "A registered kiosk's key is required."}, http.StatusUnauthorized
	case errors.Is(err, ErrBadAssertion):
		return pr{Code: "card_auth", MessageJA: "カードの確認が無効か期限切れです。カードを置き直して、もう一度暗証番号を入力してください。",
			MessageEN: "The card check is invalid or has expired. Place the card again and enter the PIN."}, http.StatusUnauthorized
	case errors.Is(err, ErrNotRegistered):
		return pr{Code: "not_registered", MessageJA: "本籍地への利用登録がないため、この証明書は発行できません。先に「本籍地の利用登録」をしてください。",
			MessageEN: "There is no registration with the municipality of your family register. File the registration first."}, http.StatusForbidden
	case errors.Is(err, ErrInProgress):
		return pr{Code: "in_progress", MessageJA: "この申請は処理中です。しばらくお待ちください。", MessageEN: "This request is being processed. Please wait."}, http.StatusConflict
	case errors.Is(err, ErrUnreachable):
		return pr{Code: "municipality_unreachable", MessageJA: "市区町村の証明書発行サーバから応答がありません。申請は取り消されました（料金はかかりません）。",
			MessageEN: "The municipality's issuance server did not answer. The request was cancelled (nothing is charged)."}, http.StatusGatewayTimeout
	case errors.Is(err, ErrBadAnswer):
		return pr{Code: "bad_answer", MessageJA: "発行された証明書の確認に失敗したため、交付を中止しました（料金はかかりません）。",
			MessageEN: "The issued certificate failed the relay's checks, so it was not handed out (nothing is charged)."}, http.StatusBadGateway
	case errors.Is(err, ErrJobGone):
		return pr{Code: "job_gone", MessageJA: "この申請は時間切れか取り消し済みです。最初からやり直してください。",
			MessageEN: "This request timed out or was cancelled. Please start again."}, http.StatusGone
	case errors.Is(err, ErrNotYours):
		return pr{Code: "not_found", MessageJA: "該当する申請がありません。", MessageEN: "There is no such request."}, http.StatusNotFound
	case errors.Is(err, ErrStale):
		return pr{Code: "stale_document", MessageJA: "申請書の表示から時間が経ちすぎました。もう一度表示して署名してください。",
			MessageEN: "The application was shown too long ago. Show it again and sign."}, http.StatusBadRequest
	case errors.Is(err, ErrBadSignature):
		return pr{Code: "bad_signature", MessageJA: "申請書の署名を確認できません。", MessageEN: "The application's signature does not verify."}, http.StatusBadRequest
	case errors.Is(err, ErrNoKoseki):
		return pr{Code: "no_koseki", MessageJA: "選んだ市区町村に、あなたの戸籍は見つかりませんでした。本籍地をご確認ください。",
			MessageEN: "The chosen municipality keeps no family register of yours. Check your 本籍地."}, http.StatusNotFound
	case errors.Is(err, jpki.ErrCertRevoked):
		return pr{Code: "cert_revoked", MessageJA: "署名用電子証明書が失効しています。市区町村の窓口で手続きしてください。",
			MessageEN: "The signing certificate is revoked. Please go to the municipal office."}, http.StatusForbidden
	case errors.Is(err, jpki.ErrCertExpired):
		return pr{Code: "cert_expired", MessageJA: "署名用電子証明書の有効期限が切れています。", MessageEN: "The signing certificate has expired."}, http.StatusForbidden
	case errors.Is(err, jpki.ErrUntrustedCert):
		return pr{Code: "cert_untrusted", MessageJA: "署名用電子証明書を確認できません。", MessageEN: "The signing certificate cannot be verified."}, http.StatusForbidden
	case errors.Is(err, jpki.ErrRevocationUnknown):
		return pr{Code: "try_later", MessageJA: "証明書の失効情報を確認できません。しばらくしてからお試しください。",
			MessageEN: "The certificate's revocation status is unavailable. Please try later."}, http.StatusServiceUnavailable
	case errors.Is(err, ErrInvalid):
		return pr{Code: "invalid_request", MessageJA: "要求の内容が正しくありません。", MessageEN: "The request is not valid."}, http.StatusBadRequest
	}
	return pr{Code: "internal", MessageJA: "内部エラーが発生しました。申請は取り消されました（料金はかかりません）。",
		MessageEN: "An internal error occurred. The request was cancelled (nothing is charged)."}, http.StatusInternalServerError
}
