package municipal

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

// muniServer serves the API and the back office of a seeded service, and
// returns a browser on it that does not follow redirects.
func muniServer(t *testing.T, db *store.DB) (*Service, *DemoWorld, *webtest.Client) {
	t.Helper()
	return muniServerWith(t, db, nil)
}

// muniServerWith is muniServer with a registration queue for the back
// office (none when q is nil).
func muniServerWith(t testing.TB, db *store.DB, q RegistrationQueue) (*Service, *DemoWorld, *webtest.Client) {
	t.Helper()
	s, w, c := muniSeeded(t, db)
	site, err := web.New(context.Background(), web.Options{DB: db, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPages(s, site, nil)
	if err != nil {
		t.Fatal(err)
	}
	if q != nil {
		p.SetRegistrations(q)
	}
	mux := http.NewServeMux()
	site.Routes(mux)
	p.Routes(mux)
	return s, w, webtest.Start(t, trace.Middleware(site.Protect(mux)))
}

// muniPost asks code's issuance API for a certificate with key (none when
// key is "").
func muniPost(t *testing.T, web *webtest.Client, code, key, body string) (*webtest.Response, []byte) {
	t.Helper()
	r := web.With(t).Bearer(key).PostJSON("/municipal/"+code+"/v1/certificates", body)
	return r, []byte(r.Body)
}

func TestIssuanceAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		_, w, srv := muniServer(t, db)
		ichiro := muniPerson(t, w, "酒田　一郎")
		key := w.Keys["062049"].Relay
		body := func(id, typ string) string {
			return `{"person_id":"` + id + `","type":"` + typ + `","options":{"relay":false},"copies":1}`
		}
		ok := `{"person_id":"` + ichiro.PersonID + `","type":"juminhyo","copies":2}`

		resp, b := muniPost(t, srv, "062049", key, ok)
		if resp.Status != http.StatusOK || resp.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(b, []byte("%PDF-")) {
			t.Fatalf("status %d, type %s", resp.Status, resp.Header.Get("Content-Type"))
		}
		var facts Certificate
		if err := json.Unmarshal([]byte(resp.Header.Get(CertificateHeader)), &facts); err != nil {
			t.Fatal(err)
		}
		if facts.Type != Juminhyo || facts.FeeYen != 400 || facts.Pages != 1 || facts.Copies != 2 || !strings.HasPrefix(facts.Number, "062049-") {
			t.Errorf("facts %+v", facts)
		}
		muniWant(t, muniText(t, b), []string{"住民票の写し", "酒田　一郎", facts.Number}, nil)

		for _, tc := range []struct {
			name, code, key, body string
			status                int
			code2                 httpapi.Code
		}{
			{"no key", "062049", "", ok, 401, CodeUnauthorized},
			{"wrong key", "062049", "muni_relay_062049_nope", ok, 401, CodeUnauthorized},
			{"another town's key", "062049", w.Keys["202070"].Relay, ok, 401, CodeUnauthorized},
			{"a staff key", "062049", w.Keys["062049"].Staff, ok, 401, CodeUnauthorized},
			{"unknown field", "062049", key, body(ichiro.PersonID, "juminhyo"), 400, CodeInvalidRequest},
			{"bad json", "062049", key, `{"person_id":`, 400, CodeInvalidRequest},
			{"two objects", "062049", key, ok + ok, 400, CodeInvalidRequest},
			{"unknown type", "062049", key, `{"person_id":"x","type":"passport"}`, 400, CodeInvalidRequest},
			{"unknown person", "062049", key, `{"person_id":"nobody","type":"juminhyo"}`, 404, CodeNotFound},
			{"moved out", "062049", key, `{"person_id":"` + muniPerson(t, w, "最上　川男").PersonID + `","type":"juminhyo"}`, 409, CodeMovedOut},
			{"support measure", "062049", key, `{"person_id":"` + muniPerson(t, w, "月山　静").PersonID + `","type":"juminhyo"}`, 403, CodeSupportMeasure},
			{"honseki elsewhere", "062049", key, `{"person_id":"` + ichiro.PersonID + `","type":"koseki-zenbu"}`, 404, CodeHonsekiElsewhere},
			{"too long", "062049", key, `{"person_id":"` + muniPerson(t, w, "アレクサンドラ＝エカテリーナ・マリア・ヴィクトリア・フォン・ホーエンツォレルン＝ジグマリンゲン　サカタ").PersonID + `","type":"juminhyo"}`, 422, CodeTooLong},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, b := muniPost(t, srv, tc.code, tc.key, tc.body)
				var p httpapi.Problem
				if err := json.Unmarshal(b, &p); err != nil {
					t.Fatalf("status %d, body not JSON: %v", resp.Status, err)
				}
				if resp.Status != tc.status || p.Code != tc.code2 || p.MessageJA == "" || p.MessageEN == "" {
					t.Errorf("status %d, problem %+v; want %d %s", resp.Status, p, tc.status, tc.code2)
				}
				if resp.Header.Get(CertificateHeader) != "" || bytes.Contains(b, []byte("%PDF")) {
					t.Error("a refusal carries a certificate")
				}
			})
		}

		// The catalogue.
		var offers []Offer
		if err := json.Unmarshal([]byte(srv.With(t).Bearer(w.Keys["062014"].Relay).Get("/municipal/062014/v1/catalogue").Body), &offers); err != nil || len(offers) != 3 {
			t.Errorf("山形市 catalogue %+v, %v (want the 戸籍 and 附票 only)", offers, err)
		}
	})
}

func TestOfficePages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, w, srv := muniServer(t, db)
		c := srv.With(t)
		id := muniPerson(t, w, "本間　光").PersonID
		base := "/municipal/062049/office/"

		c.Run([]webtest.Step{
			{Name: "login form", Path: base, WantContains: []string{"職員キー"}, WantNotContains: []string{"本間"}},
			{Name: "another town's staff key", Path: base + "login", Form: url.Values{"key": {w.Keys["202070"].Staff}, "staff": {"佐藤"}},
				WantStatus: http.StatusUnauthorized},
			{Name: "edit without login", Path: base + "persons/" + id, Form: url.Values{"address": {"x"}, "status": {"resident"}},
				WantStatus: http.StatusForbidden},
			{Name: "login", Path: base + "login", Form: url.Values{"key": {w.Keys["062049"].Staff}, "staff": {"佐藤"}},
				WantStatus: http.StatusSeeOther},
			{Name: "list", Path: base, WantContains: []string{"本間　光"}},
			{Name: "person", Path: base + "persons/" + id, WantContains: []string{"山形県酒田市中町一丁目４番１０号"}},
			{Name: "edit", Path: base + "persons/" + id, Form: url.Values{"address": {"山形県酒田市中町二丁目１番１号"}, "status": {"moved-out"}},
				WantStatus: http.StatusSeeOther},
		})
		p, err := s.Person(context.Background(), "062049", id)
		if err != nil || p.Status != MovedOut || p.Address != "山形県酒田市中町二丁目１番１号" {
			t.Errorf("after edit: %+v, %v", p, err)
		}
		c.Step(webtest.Step{Name: "another town's office without login: the login form", Path: "/municipal/202070/office/persons/" + id})
		es, err := s.Audit(context.Background(), "062049", 10)
		if err != nil || len(es) != 2 || es[0].Action != "edit" || es[1].Action != "view" || es[0].Actor != "staff:佐藤" {
			t.Errorf("audit %+v, %v", es, err)
		}
		c.Step(webtest.Step{Name: "audit page", Path: base + "audit", WantContains: []string{"status:resident-&gt;moved-out"}})
	})
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add(`{"person_id":"p1","type":"juminhyo"}`)
	f.Add(`{"person_id":"p1","type":"tax","options":{"year":2026},"copies":3}`)
	f.Add(`{"person_id":"p1","type":"koseki-zenbu","options":{"household":true,"my_number":true}}`)
	f.Add(`{"person_id":"","type":""}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, in string) {
		req, err := DecodeRequest(strings.NewReader(in))
		if err != nil {
			return
		}
		if !req.Type.Valid() || req.PersonID == "" || req.Copies < 1 || req.Copies > MaxCopies {
			t.Fatalf("accepted %+v from %q", req, in)
		}
		// What was accepted encodes and decodes to itself.
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeRequest(bytes.NewReader(b))
		if err != nil || again != req {
			t.Fatalf("round trip %+v → %s → %+v, %v", req, b, again, err)
		}
	})
}
