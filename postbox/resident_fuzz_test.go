package postbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The resident API's decoders take anything and either refuse it as
// ErrInvalid (a malformed body or a request that says too little) or
// return a request within the bounds the handlers rely on, which
// encodes and decodes to itself.

func FuzzDecodeSubmit(f *testing.F) {
	f.Add(`{"client_id":"c1","to":"tax-sakata","application":"AAEC","documents":["doc_1","doc_2"]}`)
	f.Add(`{"client_id":"c1","to":"tax-sakata","application":"AAEC"}`)
	f.Add(`{"client_id":"a/b","to":"x","application":"AA=="}`)
	f.Add(`{"client_id":"c1","to":"x","application":"AA==","documents":["d","d"]}`)
	f.Add(`{"client_id":"c1","to":"x","application":"AA=="} {}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, in string) {
		q, err := decodeSubmit(strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%q: %v is not ErrInvalid", in, err)
			}
			return
		}
		seen := map[string]bool{}
		for _, id := range q.Documents {
			if id == "" || seen[id] {
				t.Fatalf("accepted documents %q from %q", q.Documents, in)
			}
			seen[id] = true
		}
		if !clientIDPattern.MatchString(q.ClientID) || q.To == "" || len(q.Application) == 0 || len(q.Application) > MaxDocument ||
			len(q.Documents) > maxAttachments {
			t.Fatalf("accepted %+v from %q", q, in)
		}
		roundTrip(t, q, decodeSubmit)
	})
}

func FuzzDecodeConsent(f *testing.F) {
	f.Add(`{"party":"nhk","customer_ref":"NHK-1","address_notice":true,"signed":"AAEC"}`)
	f.Add(`{"party":"nissay","customer_ref":"NL-1","deliver":true,"address_notice":true,"signed":"AAEC"}`)
	f.Add(`{"party":"nhk","customer_ref":"NHK-1","signed":"AAEC"}`)
	f.Add(`{"party":"","customer_ref":"","signed":""}`)
	f.Fuzz(func(t *testing.T, in string) {
		q, err := decodeConsent(strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%q: %v is not ErrInvalid", in, err)
			}
			return
		}
		if q.Party == "" || q.CustomerRef == "" || len(q.CustomerRef) > 64 || (!q.Deliver && !q.AddressNotice) ||
			len(q.Signed) == 0 || len(q.Signed) > MaxDocument {
			t.Fatalf("accepted %+v from %q", q, in)
		}
		roundTrip(t, q, decodeConsent)
	})
}

func FuzzDecodeNotify(f *testing.F) {
	f.Add(`{"client_id":"m1","signed":{"nhk":"AAEC","japanpost":"AAEC"}}`)
	f.Add(`{"client_id":"m1","signed":{}}`)
	f.Add(`{"client_id":"m1","signed":{"":"AAEC"}}`)
	f.Add(`{"client_id":"m1","signed":{"nhk":""}}`)
	f.Fuzz(func(t *testing.T, in string) {
		q, err := decodeNotify(strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%q: %v is not ErrInvalid", in, err)
			}
			return
		}
		if !clientIDPattern.MatchString(q.ClientID) || len(q.Signed) == 0 || len(q.Signed) > maxNotices {
			t.Fatalf("accepted %+v from %q", q, in)
		}
		for id, doc := range q.Signed {
			if id == "" || len(doc) == 0 || len(doc) > MaxDocument {
				t.Fatalf("accepted signed[%q] of %d bytes from %q", id, len(doc), in)
			}
		}
		roundTrip(t, q, decodeNotify)
	})
}

// roundTrip checks that an accepted request encodes and decodes to itself.
func roundTrip[Q any](t *testing.T, q Q, decode func(io.Reader) (Q, error)) {
	t.Helper()
	b, err := json.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	again, err := decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s does not decode again: %v", b, err)
	}
	if diff := cmp.Diff(q, again); diff != "" {
		t.Fatalf("round trip (-first +again):\n%s", diff)
	}
}
