package catv

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// Signs of life for watch-over (docs/community-tv.md §5.4): the health
// centre asks whether a person powered their TV on with their card in a
// time range, under its caller key, never through the operators' tables:
//
//	GET /catv/v1/signs/{platform_id}?from=MS&to=MS   the power-on times, oldest first (caller key)
//
// Each answer writes an audit row naming the caller (the times are
// personal data), under the operator whose subscriber the person is.

// maxSigns bounds an answer: far more power-ons than a day has.
const maxSigns = 200

// Signs are the times the person powered on with a login at any operator's
// box in [from, to), oldest first; the read is audited as by caller.
func (s *Service) Signs(ctx context.Context, caller, platformID string, from, to time.Time) ([]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT operator, at FROM catv_poweron WHERE platform_id = $1 AND at >= $2 AND at < $3
		ORDER BY at LIMIT $4`, platformID, from.UnixMilli(), to.UnixMilli(), maxSigns)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []time.Time{}
	ops := map[string]bool{}
	for rows.Next() {
		var op string
		var at int64
		if err := rows.Scan(&op, &at); err != nil {
			return nil, err
		}
		ops[op] = true
		out = append(out, time.UnixMilli(at))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		ops[""] = true
	}
	for op := range ops {
		if err := s.Operator(op).audit(ctx, platformID, "caller:"+caller, "signs", 0, "ok"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SignRoutes serves the signs to the callers keys accepts.
func (s *Service) SignRoutes(mux *http.ServeMux, keys callerkey.Keys) {
	mux.HandleFunc("GET /catv/v1/signs/{platform_id}", keys.Only(s.serveSigns))
}

func (s *Service) serveSigns(w http.ResponseWriter, r *http.Request, caller string) {
	from, err1 := strconv.ParseInt(r.URL.Query().Get("from"), 10, 64)
	to, err2 := strconv.ParseInt(r.URL.Query().Get("to"), 10, 64)
	pid := r.PathValue("platform_id")
	if err1 != nil || err2 != nil || to < from || pid == "" {
		httpapi.Write(w, httpapi.New(http.StatusBadRequest, CodeBadRequest, "見守りの問い合わせには、人と時間の範囲が要ります。",
			"A signs query needs a person and a time range from ≤ to in Unix ms."))
		return
	}
	ts, err := s.Signs(r.Context(), caller, pid, time.UnixMilli(from), time.UnixMilli(to))
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	ms := make([]int64, len(ts))
	for i, t := range ts {
		ms[i] = t.UnixMilli()
	}
	httpapi.WriteJSON(w, http.StatusOK, ms)
}

// SignsClient is the health centre's client of the signs, under its
// caller key.
type SignsClient struct {
	BaseURL, Key string
	// HTTP sends the calls (httpapi.NewHTTPClient); nil is httpapi's
	// default, with its timeout.
	HTTP *http.Client
}

// Signs are the person's power-ons with a login in [from, to).
func (c *SignsClient) Signs(ctx context.Context, platformID string, from, to time.Time) ([]time.Time, error) {
	var ms []int64
	api := &httpapi.Client{Service: "catv", BaseURL: c.BaseURL, HTTP: c.HTTP, Rules: append(httpapi.Rules{}, append(callerkey.Rules, Rules...)...), MaxBody: maxAnswer}
	q := url.Values{"from": {strconv.FormatInt(from.UnixMilli(), 10)}, "to": {strconv.FormatInt(to.UnixMilli(), 10)}}
	if _, err := api.DoJSON(ctx, httpapi.Request{Method: http.MethodGet, Path: "/catv/v1/signs/" + url.PathEscape(platformID) + "?" + q.Encode(),
		Header: http.Header{"Authorization": {"Bearer " + c.Key}}, Idempotent: true}, &ms); err != nil {
		return nil, err
	}
	out := make([]time.Time, len(ms))
	for i, m := range ms {
		out[i] = time.UnixMilli(m)
	}
	return out, nil
}
