package eligibility

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// clinicAPIServer serves the batch API and returns a client for it.
func clinicAPIServer(t *testing.T, s *Service, w *BatchWorker) *webtest.Client {
	t.Helper()
	mux := http.NewServeMux()
	s.BatchRoutes(mux, w)
	return webtest.Start(t, mux)
}

// clinicDo sends body of type ctype (none when "") with key.
func clinicDo(t *testing.T, srv *webtest.Client, method, path, key, ctype, body string) (int, string) {
	t.Helper()
	r := srv.With(t).Bearer(key).Send(webtest.Step{Method: method, Path: path, JSON: body, Header: map[string]string{"Content-Type": ctype}})
	return r.Status, r.Body
}

func TestClinicBatchAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s, key := clinicSetup(t, db)
		other, err := s.AddFacility(ctx, "0699999999", "別の診療所")
		if err != nil {
			t.Fatal(err)
		}
		w := s.StartBatchWorker(ctx, BatchWorkerConfig{Poll: time.Hour})
		srv := clinicAPIServer(t, s, w)
		base := "/eligibility/v1/batches"

		code, body := clinicDo(t, srv, "POST", base, key, "text/csv", clinicMixedCSV)
		if code != http.StatusAccepted {
			t.Fatalf("create: %d %s", code, body)
		}
		var created struct {
			ID    string `json:"batch_id"`
			Total int    `json:"total"`
		}
		if err := json.Unmarshal([]byte(body), &created); err != nil || created.ID == "" || created.Total != 4 {
			t.Fatalf("create: %s %v", body, err)
		}
		var st struct {
			Status              string
			Done, Total, Errors int
		}
		for deadline := time.Now().Add(20 * time.Second); st.Status != BatchDone && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			code, body := clinicDo(t, srv, "GET", base+"/"+created.ID, key, "", "")
			if code != 200 {
				t.Fatalf("status: %d %s", code, body)
			}
			json.Unmarshal([]byte(body), &st)
		}
		if st.Status != BatchDone || st.Done != 4 || st.Total != 4 || st.Errors != 1 {
			t.Fatalf("status %+v", st)
		}
		code, csv := clinicDo(t, srv, "GET", base+"/"+created.ID+"/results.csv", key, "", "")
		if code != 200 || !strings.HasPrefix(csv, "\ufeff行,") || !strings.Contains(csv, "該当資格なし") {
			t.Errorf("results: %d %s", code, csv)
		}

		for _, tc := range []struct {
			name, method, path, key, ctype, body string
			want                                 int
			wantCode                             httpapi.Code
		}{
			{"no key", "POST", "", "", "text/csv", clinicMixedCSV, 401, CodeUnauthorized},
			{"wrong key", "GET", "/" + created.ID, "facility_nope", "", "", 401, CodeUnauthorized},
			{"other facility's status", "GET", "/" + created.ID, other, "", "", 404, CodeNotFound},
			{"other facility's results", "GET", "/" + created.ID + "/results.csv", other, "", "", 404, CodeNotFound},
			{"no such batch", "GET", "/nope", key, "", "", 404, CodeNotFound},
			{"JSON body", "POST", "", key, "application/json", `{"rows":[]}`, 415, CodeUnsupportedMediaType},
			{"wrong header", "POST", "", key, "text/csv", "name,birth\nx,1975-06-30\n", 400, CodeBadFile},
			{"not CSV", "POST", "", key, "text/csv", "保険者番号,記号,番号,生年月日\n\"x,1,1,1975-06-30\n", 400, CodeBadFile},
			{"too many rows", "POST", "", key, "text/csv", "保険者番号,記号,番号,生年月日\n" + strings.Repeat("062049,1,1,1975-06-30\n", MaxBatchRows+1), 400, CodeBadFile},
			{"too big", "POST", "", key, "text/csv", "保険者番号,記号,番号,生年月日\n" + strings.Repeat("#", MaxBatchBytes+10), 413, CodeBadFile},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, body := clinicDo(t, srv, tc.method, base+tc.path, tc.key, tc.ctype, tc.body)
				var p httpapi.Problem
				json.Unmarshal([]byte(body), &p)
				if code != tc.want || p.Code != tc.wantCode || p.MessageJA == "" || p.MessageEN == "" {
					t.Fatalf("%d %s, want %d %s with both messages", code, body, tc.want, tc.wantCode)
				}
			})
		}
		// The refused files stored nothing: still one batch.
		list, err := s.Batches(ctx, clinicFacility, 10)
		if err != nil || len(list) != 1 {
			t.Errorf("batches after refusals: %d %v", len(list), err)
		}
	})
}
