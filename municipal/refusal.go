package municipal

import (
	"errors"
	"net/http"
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

// RefusalInfo is what a caller shows for a refusal: a machine code and the
// message in Japanese and English.
type RefusalInfo struct {
	Code      string
	MessageJA string
	MessageEN string
	// Status is the HTTP status of the issuance API's answer.
	Status int
}

// Refusal returns the code and messages of err when it is (or wraps) one of
// the refusals.
func Refusal(err error) (RefusalInfo, bool) {
	switch {
	case errors.Is(err, ErrSupportMeasure):
		return RefusalInfo{"support_measure", "この証明書はコンビニ交付では発行できません。市区町村の窓口にお問い合わせください。",
			"This certificate cannot be issued at a kiosk. Please ask at the municipal office.", http.StatusForbidden}, true
	case errors.Is(err, ErrMovedOut):
		return RefusalInfo{"moved_out", "転出の届出がされているため発行できません。窓口にお問い合わせください。",
			"A move-out has been filed, so it cannot be issued. Please ask at the municipal office.", http.StatusConflict}, true
	case errors.Is(err, ErrDeceased):
		return RefusalInfo{"deceased", "この方の証明書はコンビニ交付では発行できません。窓口にお問い合わせください。",
			"This person's certificates cannot be issued at a kiosk. Please ask at the municipal office.", http.StatusConflict}, true
	case errors.Is(err, ErrTooLong):
		return RefusalInfo{"too_long", "記載内容が用紙の枠に収まらないため発行できません。窓口で交付を受けてください。",
			"The content does not fit the form, so it cannot be issued here. Please get it at the municipal office.", http.StatusUnprocessableEntity}, true
	case errors.Is(err, ErrUnprintable):
		return RefusalInfo{"unprintable", "記載する文字の中にこの用紙で印字できない文字があるため発行できません。窓口で交付を受けてください。",
			"The record has a character that cannot be printed on this form, so it cannot be issued here. Please get it at the municipal office.", http.StatusUnprocessableEntity}, true
	case errors.Is(err, ErrGaijiPending):
		return RefusalInfo{"gaiji_pending", "氏名の文字（外字）の登録中のため発行できません。窓口にお問い合わせください。",
			"A character of the name is being registered, so it cannot be issued yet. Please ask at the municipal office.", http.StatusConflict}, true
	case errors.Is(err, ErrNotOffered):
		return RefusalInfo{"not_offered", "この市区町村ではこの証明書をコンビニ交付で発行していません。",
			"This municipality does not issue this certificate at kiosks.", http.StatusNotFound}, true
	case errors.Is(err, ErrOutsideHours):
		return RefusalInfo{"outside_hours", "この証明書の交付時間外です。利用できる時間にもう一度お試しください。",
			"This certificate is not available at this time. Please try again within the service hours.", http.StatusServiceUnavailable}, true
	case errors.Is(err, ErrHonsekiElsewhere):
		return RefusalInfo{"honseki_elsewhere", "本籍がこの市区町村にないため、戸籍の証明書は発行できません。本籍地への利用登録をしてください。",
			"The family register is not kept by this municipality. Register with the municipality of your 本籍 first.", http.StatusNotFound}, true
	case errors.Is(err, ErrAmbiguous):
		return RefusalInfo{"ambiguous", "ご本人の記録を一つに特定できないため発行できません。市区町村の窓口にお問い合わせください。",
			"Your record cannot be told apart from another one, so it cannot be issued here. Please ask at the municipal office.", http.StatusConflict}, true
	case errors.Is(err, ErrNoRecord):
		return RefusalInfo{"no_record", "この証明書に記載する登録がありません（印鑑登録・課税の記録など）。",
			"There is no record for this certificate (seal registration, tax record …).", http.StatusNotFound}, true
	}
	return RefusalInfo{}, false
}
