package verify

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzContent feeds ParseContent arbitrary bytes: it must never panic, and
// what it accepts is a post-box document that survives its signed form.
func FuzzContent(f *testing.F) {
	c := &Content{Type: "保険料控除証明書", Title: "令和8年分 生命保険料控除証明書", IssuedAt: time.Date(2026, 11, 19, 10, 0, 0, 0, time.UTC),
		Issuer: &Issuer{CorporateNumber: "8120005900001", Name: "日本生命保険相互会社"}, To: "tax-sakata",
		Fields:      []Field{{Label: "証券番号", Value: "NL-1975-0630"}, {Label: "証明額", Value: "96,000円"}},
		Attachments: []Attachment{{Name: "doc_1", Type: "保険料控除証明書", SHA256: "00"}}}
	b, err := c.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:len(b)-1])
	for _, s := range []string{``, `null`, `{}`, `[]`, `"x"`, `{"profile":"mynaplat-postbox-doc/1"}`,
		`{"profile":"mynaplat-postbox-doc/1","type":"t","issued_at":"2026-13-40T99:00:00Z"}`,
		`{"profile":"mynaplat-postbox-doc/1","type":"t","fields":null,"issuer":null,"attachments":[null]}`,
		`{"profile":"mynaplat-postbox-doc/1","type":"\ud800","title":"\xff"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, ok := ParseContent(b)
		if !ok {
			if c != nil {
				t.Fatal("a refused content came back")
			}
			return
		}
		if c.Profile != ContentProfile || c.Type == "" {
			t.Fatalf("accepted %q as %+v", b, c)
		}
		again, err := c.Marshal()
		if err != nil {
			t.Fatalf("accepted %q, but cannot write it again: %v", b, err)
		}
		c2, ok := ParseContent(again)
		if !ok {
			t.Fatalf("accepted %q, but not its signed form %s", b, again)
		}
		if diff := cmp.Diff(c, c2, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("%q changed on its way through the signed form (-first +second):\n%s", b, diff)
		}
		if !json.Valid(again) {
			t.Fatalf("invalid JSON %s", again)
		}
	})
}
