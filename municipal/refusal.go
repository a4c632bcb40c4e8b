package municipal

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// Refusals of the issuance server. Each is a rule of the real service
// (domain-research.md §2.1); Refusal gives its code and messages.
var (
	ErrSupportMeasure   = errors.New("municipal: refused: the person is under a 支援措置")
	ErrMovedOut         = errors.New("municipal: refused: the person has filed 転出")
	ErrDeceased         = errors.New("municipal: refused: the person is deceased")
	ErrTooLong          = errors.New("municipal: refused: text longer than the layout allows")
	ErrGaijiPending     = errors.New("municipal: refused: a 外字 of the name is being registered")
	ErrUnprintable      = errors.New("municipal: refused: a character the certificate fonts cannot print")
	ErrNotOffered       = errors.New("municipal: refused: certificate not offered by this municipality")
	ErrOutsideHours     = errors.New("municipal: refused: outside the hours of this certificate")
	ErrHonsekiElsewhere = errors.New("municipal: refused: the 本籍 is not in this municipality")
	ErrNoRecord         = errors.New("municipal: refused: no record for this certificate")
)

// The problem codes of the refusals.
const (
	CodeSupportMeasure   httpapi.Code = "support_measure"
	CodeMovedOut         httpapi.Code = "moved_out"
	CodeDeceased         httpapi.Code = "deceased"
	CodeTooLong          httpapi.Code = "too_long"
	CodeUnprintable      httpapi.Code = "unprintable"
	CodeGaijiPending     httpapi.Code = "gaiji_pending"
	CodeNotOffered       httpapi.Code = "not_offered"
	CodeOutsideHours     httpapi.Code = "outside_hours"
	CodeHonsekiElsewhere httpapi.Code = "honseki_elsewhere"
	CodeAmbiguous        httpapi.Code = "ambiguous"
	CodeNoRecord         httpapi.Code = "no_record"
)

// Refusals are the refusals' answers: a code, the status of the issuance
// API's answer, and what a caller shows, in Japanese and English.
var Refusals = httpapi.Rules{
	{Err: ErrSupportMeasure, Status: http.StatusForbidden, Code: CodeSupportMeasure,
		JA: "この証明書はコンビニ交付では発行できません。市区町村の窓口にお問い合わせください。",
		EN: "This certificate cannot be issued at a kiosk. Please ask at the municipal office."},
	{Err: ErrMovedOut, Status: http.StatusConflict, Code: CodeMovedOut,
		JA: "転出の届出がされているため発行できません。窓口にお問い合わせください。",
		EN: "A move-out has been filed, so it cannot be issued. Please ask at the municipal office."},
	{Err: ErrDeceased, Status: http.StatusConflict, Code: CodeDeceased,
		JA: "この方の証明書はコンビニ交付では発行できません。窓口にお問い合わせください。",
		EN: "This person's certificates cannot be issued at a kiosk. Please ask at the municipal office."},
	{Err: ErrTooLong, Status: http.StatusUnprocessableEntity, Code: CodeTooLong,
		JA: "記載内容が用紙の枠に収まらないため発行できません。窓口で交付を受けてください。",
		EN: "The content does not fit the form, so it cannot be issued here. Please get it at the municipal office."},
	{Err: ErrUnprintable, Status: http.StatusUnprocessableEntity, Code: CodeUnprintable,
		JA: "記載する文字の中にこの用紙で印字できない文字があるため発行できません。窓口で交付を受けてください。",
		EN: "The record has a character that cannot be printed on this form, so it cannot be issued here. Please get it at the municipal office."},
	{Err: ErrGaijiPending, Status: http.StatusConflict, Code: CodeGaijiPending,
		JA: "氏名の文字（外字）の登録中のため発行できません。窓口にお問い合わせください。",
		EN: "A character of the name is being registered, so it cannot be issued yet. Please ask at the municipal office."},
	{Err: ErrNotOffered, Status: http.StatusNotFound, Code: CodeNotOffered,
		JA: "この市区町村ではこの証明書をコンビニ交付で発行していません。",
		EN: "This municipality does not issue this certificate at kiosks."},
	{Err: ErrOutsideHours, Status: http.StatusServiceUnavailable, Code: CodeOutsideHours,
		JA: "この証明書の交付時間外です。利用できる時間にもう一度お試しください。",
		EN: "This certificate is not available at this time. Please try again within the service hours."},
	{Err: ErrHonsekiElsewhere, Status: http.StatusNotFound, Code: CodeHonsekiElsewhere,
		JA: "本籍がこの市区町村にないため、戸籍の証明書は発行できません。本籍地への利用登録をしてください。",
		EN: "The family register is not kept by this municipality. Register with the municipality of your 本籍 first."},
	{Err: ErrAmbiguous, Status: http.StatusConflict, Code: CodeAmbiguous,
		JA: "ご本人の記録を一つに特定できないため発行できません。市区町村の窓口にお問い合わせください。",
		EN: "Your record cannot be told apart from another one, so it cannot be issued here. Please ask at the municipal office."},
	{Err: ErrNoRecord, Status: http.StatusNotFound, Code: CodeNoRecord,
		JA: "この証明書に記載する登録がありません（印鑑登録・課税の記録など）。",
		EN: "There is no record for this certificate (seal registration, tax record …)."},
}

// Refusal is the answer to err when it is (or wraps) one of the refusals.
func Refusal(err error) (httpapi.Problem, bool) {
	for _, r := range Refusals {
		if errors.Is(err, r.Err) {
			return Refusals.Problem(err), true
		}
	}
	return httpapi.Problem{}, false
}

// Errors of the issuance API only.
var (
	errMediaType = fmt.Errorf("%w: not JSON", ErrInvalid)
	errTooLarge  = fmt.Errorf("%w: too large", ErrInvalid)
)

// The issuance API's other problem codes.
const (
	CodeUnauthorized         httpapi.Code = "unauthorized"
	CodeInvalidRequest       httpapi.Code = "invalid_request"
	CodeNotFound             httpapi.Code = "not_found"
	CodeUnsupportedMediaType httpapi.Code = "unsupported_media_type"
	CodeTooLarge             httpapi.Code = "too_large"
	CodeNoCardLogin          httpapi.Code = "no_card_login"
)

// Rules answers the issuance API's errors: the refusals, then the rest.
var Rules = append(slices.Clip(Refusals), httpapi.Rules{
	{Err: ErrUnauthorized, Status: http.StatusUnauthorized, Code: CodeUnauthorized,
		Header: http.Header{"Www-Authenticate": {`Bearer realm="municipal"`}},
		JA:     "この市区町村が発行した中継キーが必要です。", EN: "A relay key issued by this municipality is required."},
	{Err: ErrNoCardLogin, Status: http.StatusUnauthorized, Code: CodeNoCardLogin,
		Header: http.Header{"Www-Authenticate": {`Bearer realm="municipal"`}},
		JA:     "カードでのログイン（共通プラットフォームの本人確認）が必要です。もう一度カードでログインしてください。",
		EN:     "A card login (the platform's assertion) is required. Log in with your card again."},
	{Err: errMediaType, Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMediaType,
		JA: "JSON（application/json）で送信してください。", EN: "Send the request as application/json."},
	{Err: errTooLarge, Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge,
		JA: "要求が大きすぎます。", EN: "The request is too large."},
	{Err: ErrInvalid, Status: http.StatusBadRequest, Code: CodeInvalidRequest,
		JA: "要求の形式が正しくありません。", EN: "The request is not in the expected form."},
	{Err: ErrNotFound, Status: http.StatusNotFound, Code: CodeNotFound,
		JA: "該当する住民の記録がありません。", EN: "There is no such record."},
}...)
