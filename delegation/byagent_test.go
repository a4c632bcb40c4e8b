package delegation

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/inproc"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// ids are the IDs of records, in order.
func ids(recs []Record) []string {
	out := []string{}
	for _, r := range recs {
		out = append(out, r.Power.ID)
	}
	return out
}

// TestAgentPowers: the powers naming an agent that are registered, not
// revoked and not expired (nor their parents), newest first, at several
// days of the scenario; the same over HTTP for a caller with its key, and
// nothing without one.
func TestAgentPowers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newScenario(t, db)
		tests := []struct {
			day   int
			agent string
			want  []string
		}{
			{30, "alice", []string{s.pB.ID, s.p1.ID}}, // pR was revoked on day 20
			{30, "carol", []string{s.c1.ID}},
			{30, "dave", []string{}}, // its parent pR was revoked
			{150, "bob", []string{s.pNew.ID, s.p2.ID}},
			{150, "carol", []string{}}, // c1 ended on day 90
			{181, "alice", []string{s.pB.ID, s.p1.ID}},
			{182, "alice", []string{s.pB.ID}}, // p1 ended on day 181
			{150, "nobody", []string{}},
		}
		for _, tt := range tests {
			s.clock.set(day(tt.day))
			got, err := s.svc.AgentPowers(ctx, tt.agent)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ids(got)); diff != "" {
				t.Errorf("day %d, %s (-want +got):\n%s", tt.day, tt.agent, diff)
			}
		}
		if _, err := s.svc.AgentPowers(ctx, ""); !errors.Is(err, ErrInvalid) {
			t.Errorf("no platform ID: %v, want ErrInvalid", err)
		}

		s.clock.set(day(30))
		const key = "mpcall_test-key-procure"
		mux := http.NewServeMux()
		s.svc.Routes(mux)
		s.svc.AgentRoutes(mux, callerkey.Keys{}.Add("procure", key))
		want, err := s.svc.AgentPowers(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		got, err := (&Client{BaseURL: "http://delegation.test", HTTP: inproc.Client(mux), Key: key}).AgentPowers(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("over HTTP (-in-process +client):\n%s", diff)
		}
		for _, k := range []string{"", "mpcall_wrong"} {
			_, err := (&Client{BaseURL: "http://delegation.test", HTTP: inproc.Client(mux), Key: k}).AgentPowers(ctx, "alice")
			if e, ok := errors.AsType[*httpapi.Error](err); !ok || e.Status != http.StatusUnauthorized || e.MessageJA == "" || e.MessageEN == "" {
				t.Errorf("key %q: %v, want 401 with its texts", k, err)
			}
		}
	})
}

// TestAgentIndexBackfill: the migration's backfill finds the agent in the
// content of powers registered before the column existed.
func TestAgentIndexBackfill(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newScenario(t, db)
		s.clock.set(day(30))
		if _, err := db.ExecContext(ctx, `UPDATE delegation_powers SET agent_platform_id = ''`); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile("migrations/" + string(db.Dialect) + "/00002_agent_index.sql")
		if err != nil {
			t.Fatal(err)
		}
		var backfill string
		for line := range strings.Lines(string(b)) {
			if strings.HasPrefix(line, "UPDATE ") {
				backfill = line
			}
		}
		if _, err := db.ExecContext(ctx, backfill); err != nil {
			t.Fatalf("%s: %v", backfill, err)
		}
		got, err := s.svc.AgentPowers(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{s.pB.ID, s.p1.ID}, ids(got)); diff != "" {
			t.Errorf("after the backfill (-want +got):\n%s", diff)
		}
	})
}
