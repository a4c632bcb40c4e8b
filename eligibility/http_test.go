package eligibility

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/store/storetest"
)

func TestInsurerAPI(t *testing.T) {
	ctx := context.Background()
	s := open(t, storetest.SQLite(t))
	key, err := s.AddInsurer(ctx, "39123456", "後期高齢者医療広域連合")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := s.AddInsurer(ctx, "39999999", "別の保険者")
	mux := http.NewServeMux()
	s.Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	post := func(path, key string, body any) (int, []byte) {
		t.Helper()
		r := webtest.New(t, srv.URL).Bearer(key).PostJSON(path, body)
		return r.Status, []byte(r.Body)
	}
	rec := InsuredJSON{Insurer: "39123456", Symbol: "", Number: "00012345", Branch: "00", Relation: "self",
		Name: "法勝寺　トメ", Kana: "ホッショウジ　トメ", BirthDate: "1936-11-11", Sex: 2, Address: "鳥取県西伯郡南部町法勝寺３３３番地",
		CopayPercent: 10, AcquiredOn: "2011-11-11"}
	code, body := post("/eligibility/insurer/insured", key, rec)
	if code != http.StatusCreated {
		t.Fatalf("add: %d %s", code, body)
	}
	var added InsuredJSON
	json.Unmarshal(body, &added)

	for _, tc := range []struct {
		name, path, key string
		body            any
		want            int
	}{
		{"no key", "/eligibility/insurer/insured", "", rec, 401},
		{"other insurer's number", "/eligibility/insurer/insured", other, rec, 400},
		{"bad date", "/eligibility/insurer/insured", key, map[string]any{"insurer": "39123456", "birth_date": "S11.11.11"}, 400},
		{"unknown field", "/eligibility/insurer/insured", key, map[string]any{"mynumber": "123456789018"}, 400},
		{"other insurer ends it", "/eligibility/insurer/insured/" + added.ID + "/end", other, map[string]string{"lost_on": "2026-12-01"}, 404},
		{"end", "/eligibility/insurer/insured/" + added.ID + "/end", key, map[string]string{"lost_on": "2026-12-01"}, 204},
		{"end twice", "/eligibility/insurer/insured/" + added.ID + "/end", key, map[string]string{"lost_on": "2026-12-01"}, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := post(tc.path, tc.key, tc.body); code != tc.want {
				t.Fatalf("status %d, want %d: %s", code, tc.want, body)
			}
		})
	}
}
