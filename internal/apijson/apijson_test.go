package apijson

import (
	"errors"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	type body struct {
		A int `json:"a"`
	}
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{"a":1}`, true},
		{"{\"a\":1}\n ", true},
		{`{"a":1}]`, false},
		{`{"a":1}}`, false},
		{`{"a":1}{"a":2}`, false},
		{`{"a":1} x`, false},
		{`{"b":1}`, false},
		{`[]`, false},
		{``, false},
		{`{"a":` + strings.Repeat("1", 100) + `}`, false},
	} {
		var b body
		err := Decode(strings.NewReader(tc.in), &b, 64)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrBody)) {
			t.Errorf("Decode(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}
