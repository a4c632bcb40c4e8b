package agency_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mynaplat/mynaplat/internal/httpapi"

	"github.com/mynaplat/mynaplat/internal/pbworld"
	"github.com/mynaplat/mynaplat/postbox"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// FuzzEnvelope feeds the tax office's endpoint (postbox.Receive's decoding
// and the agency's validation and storing) arbitrary bodies with the right
// key: it must never panic, answer only 200 (an acknowledgement of the send
// in the body), 400, 422 or 503, and every refusal in Japanese and English.
//
// An input that reaches the validation of real signatures costs
// milliseconds (OCSP, the register of powers, the database), and minimizing
// one of 20 kB takes long: run it with a bound, e.g.
//
//	go test ./agency -run '^$' -fuzz FuzzEnvelope -fuzztime 30s -fuzzminimizetime 50x
func FuzzEnvelope(f *testing.F) {
	w := pbworld.New(f, storetest.SQLite(f))
	sc := w.Demo()
	office := pbworld.TaxSakata.ID
	if _, err := w.Submit(sc.Ichiro, sc.Box, office, w.Document(sc.Box, sc.KojoID)); err != nil {
		f.Fatal(err)
	}
	w.SetFault(office, pbworld.Down, 1)
	w.DeliverDue()
	real := w.LastBody(office)
	f.Add(real)
	f.Add(real[:len(real)/2])
	f.Add(bytes.Replace(real, []byte(`"send_id":"snd_`), []byte(`"send_id":"`), 1))
	var env postbox.Envelope
	if err := json.Unmarshal(real, &env); err != nil {
		f.Fatal(err)
	}
	for _, mutate := range []func(e *postbox.Envelope){
		func(e *postbox.Envelope) { e.SendID = "x" },
		func(e *postbox.Envelope) { e.Documents = e.Documents[:1] },
		func(e *postbox.Envelope) { e.Documents = e.Documents[1:] },
		func(e *postbox.Envelope) { e.Documents[0].Data = e.Documents[1].Data },
		func(e *postbox.Envelope) { e.Documents[1].Power = nil },
		func(e *postbox.Envelope) { e.Documents[1].Format = "pades" },
		func(e *postbox.Envelope) { e.Documents[0].Data = e.Documents[0].Data[:100] },
	} {
		e := env
		e.Documents = append([]postbox.EnvelopeDoc(nil), env.Documents...)
		mutate(&e)
		b, err := json.Marshal(e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{``, `{}`, `null`, `[]`, `{"send_id":"s","kind":"submission","documents":[{}]}`,
		`{"send_id":"s","kind":"submission","documents":[{"format":"cms","data":"MAA="}]}`,
		`{"send_id":"s","kind":"submission","documents":[{"format":"pades","data":"JVBERi0xLjcK"}]}`,
		`{"send_id":"s","kind":"submission","documents":[null]}`, `{"send_id":"s","kind":"submission","documents":[{"data":"!"}]}`} {
		f.Add([]byte(s))
	}
	h := w.Agency.Receive()
	key := w.InboundKeys[office]
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/agency/"+office+"/v1/submissions", bytes.NewReader(body))
		req.SetPathValue("id", office)
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			// The first JSON value of the body is the envelope (whatever
			// httpapi.Decode lets follow it).
			var in postbox.Envelope
			var ack postbox.Ack
			if json.NewDecoder(bytes.NewReader(body)).Decode(&in) != nil || json.Unmarshal(rec.Body.Bytes(), &ack) != nil ||
				ack.SendID != in.SendID || ack.Receipt == "" {
				t.Fatalf("acknowledgement %s of %q", rec.Body, body)
			}
		case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusServiceUnavailable:
			var p httpapi.Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code == "" || p.MessageJA == "" || p.MessageEN == "" {
				t.Fatalf("HTTP %d %s", rec.Code, rec.Body)
			}
		default:
			t.Fatalf("HTTP %d %s", rec.Code, rec.Body)
		}
	})
}
