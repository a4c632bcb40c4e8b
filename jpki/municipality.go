package jpki

import "fmt"

// Municipality is a local government by its six-digit code (全国地方公共団体コード:
// five digits and a check digit).
type Municipality struct {
	Code             string
	Prefecture, Name string
	// PrefectureRomaji and NameRomaji are the L values of signing certificates.
	PrefectureRomaji, NameRomaji string
}

// municipalities are those of the 2015 pilots (the seed document) and a few
// neighbours that the demo's residents have their 本籍 in.
var municipalities = map[string]Municipality{
	"202070": {"202070", "長野県", "須坂市", "Nagano-ken", "Suzaka-shi"},
	"162108": {"162108", "富山県", "南砺市", "Toyama-ken", "Nanto-shi"},
	"313891": {"313891", "鳥取県", "南部町", "Tottori-ken", "Nambu-cho"},
	"363880": {"363880", "徳島県", "美波町", "Tokushima-ken", "Minami-cho"},
	"102016": {"102016", "群馬県", "前橋市", "Gunma-ken", "Maebashi-shi"},
	"062049": {"062049", "山形県", "酒田市", "Yamagata-ken", "Sakata-shi"},
	"062014": {"062014", "山形県", "山形市", "Yamagata-ken", "Yamagata-shi"},
	"202011": {"202011", "長野県", "長野市", "Nagano-ken", "Nagano-shi"},
	"131016": {"131016", "東京都", "千代田区", "Tokyo-to", "Chiyoda-ku"},
}

// checkDigit computes the check digit of a five-digit local government code.
func checkDigit(code5 string) byte {
	sum := 0
	for i := range 5 {
		sum += int(code5[i]-'0') * (6 - i)
	}
	return byte('0' + (11-sum%11)%10)
}

// LookupMunicipality finds a municipality by its six-digit code.
func LookupMunicipality(code string) (Municipality, error) {
	if len(code) != 6 {
		return Municipality{}, fmt.Errorf("%w: municipality code %q must have six digits", ErrInvalid, code)
	}
	for i := range 6 {
		if code[i] < '0' || code[i] > '9' {
			return Municipality{}, fmt.Errorf("%w: municipality code %q must have six digits", ErrInvalid, code)
		}
	}
	if checkDigit(code[:5]) != code[5] {
		return Municipality{}, fmt.Errorf("%w: municipality code %q has a wrong check digit", ErrInvalid, code)
	}
	m, ok := municipalities[code]
	if !ok {
		return Municipality{}, fmt.Errorf("%w: municipality %s is not served by this centre", ErrInvalid, code)
	}
	return m, nil
}

// Municipalities lists the municipalities this centre serves.
func Municipalities() []Municipality {
	out := make([]Municipality, 0, len(municipalities))
	for _, m := range municipalities {
		out = append(out, m)
	}
	return out
}
