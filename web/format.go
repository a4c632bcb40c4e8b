package web

import (
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/wareki"
)

// formatJST is the template function jst: a time as 2006-01-02 15:04 in JST,
// empty for the zero time.
func formatJST(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(wareki.JST()).Format("2006-01-02 15:04")
}

// formatWareki is the template function wareki: the JST date of t in the era
// calendar (令和8年11月24日); dates before the Gregorian calendar fall back to
// the Western date.
func formatWareki(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	s, err := wareki.Long(t)
	if err != nil {
		return t.In(wareki.JST()).Format(time.DateOnly)
	}
	return s
}

// formatHex is the template function hex: upper-case hex of bytes, a big
// integer (a certificate serial) or a string's bytes.
func formatHex(v any) (string, error) {
	switch v := v.(type) {
	case []byte:
		return strings.ToUpper(hex.EncodeToString(v)), nil
	case *big.Int:
		if v == nil {
			return "", nil
		}
		return strings.ToUpper(v.Text(16)), nil
	case string:
		return strings.ToUpper(hex.EncodeToString([]byte(v))), nil
	}
	return "", fmt.Errorf("hex: cannot format %T", v)
}
