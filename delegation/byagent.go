package delegation

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// An agent's powers: the registered powers in effect that name a person as
// their agent, so that the person picks the corporation to act for
// instead of typing its 法人番号 and a power ID. A power ID is something to
// give only to whoever is to check the power (http.go), so the list is
// served only to a role that has verified the person's own card login and
// asks on their behalf, under its caller key (GET
// /delegation/v1/agents/{platform_id}/powers; the procurement register,
// docs/procurement.md §6).

// maxAgentPowers bounds the list: far more than a person acts under.
const maxAgentPowers = 500

const qAgentPowers = `SELECT cms, content, signed_at, registered_at FROM delegation_powers
  WHERE agent_platform_id = $1 AND revoked_at IS NULL ORDER BY signed_at DESC, id LIMIT $2`

// AgentPowers returns the powers naming platformID as their agent that are
// registered, not revoked (nor any parent), and not expired (nor any
// parent) now, newest first. A power whose period has not begun is
// listed: it is granted, and its period says when it starts.
func (s *Service) AgentPowers(ctx context.Context, platformID string) ([]Record, error) {
	if platformID == "" || len(platformID) > maxText {
		return nil, fmt.Errorf("%w: an agent's platform ID is 1–%d characters", ErrInvalid, maxText)
	}
	now := s.now()
	rows, err := s.db.QueryContext(ctx, qAgentPowers, platformID, maxAgentPowers)
	if err != nil {
		return nil, fmt.Errorf("delegation: read the powers of an agent: %w", err)
	}
	var found []*stored
	for rows.Next() {
		var st stored
		var signedAt, registeredAt int64
		if err := rows.Scan(&st.cms, &st.content, &signedAt, &registeredAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("delegation: read the powers of an agent: %w", err)
		}
		st.signedAt, st.registeredAt = time.UnixMilli(signedAt).UTC(), time.UnixMilli(registeredAt).UTC()
		found = append(found, &st)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("delegation: read the powers of an agent: %w", err)
	}
	out := []Record{}
	for _, st := range found {
		rec, err := st.toRecord()
		if err != nil {
			return nil, err
		}
		ok, err := s.inEffect(ctx, &rec.Power, now)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, *rec)
		}
	}
	return out, nil
}

// inEffect reports whether p and its parents are neither expired nor (the
// parents) revoked at now.
func (s *Service) inEffect(ctx context.Context, p *Power, now time.Time) (bool, error) {
	for range maxChain {
		if now.After(p.NotAfter) {
			return false, nil
		}
		if p.Parent == "" {
			return true, nil
		}
		st, err := s.record(ctx, p.Parent)
		if err != nil {
			return false, err
		}
		if !st.revokedAt.IsZero() {
			return false, nil
		}
		if p, err = ParsePower(st.content); err != nil {
			return false, fmt.Errorf("delegation: a stored power does not parse: %w", err)
		}
	}
	return false, nil
}

// AgentRoutes serves the agent's powers to the callers keys accepts.
func (s *Service) AgentRoutes(mux *http.ServeMux, keys callerkey.Keys) {
	mux.HandleFunc("GET /delegation/v1/agents/{platform_id}/powers", keys.Only(s.serveAgentPowers))
}

func (s *Service) serveAgentPowers(w http.ResponseWriter, r *http.Request, caller string) {
	recs, err := s.AgentPowers(r.Context(), r.PathValue("platform_id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.logger.InfoContext(r.Context(), "agent's powers listed", "caller", caller, "powers", len(recs))
	httpapi.WriteJSON(w, http.StatusOK, recs)
}

// AgentPowers asks the register for the agent's powers in effect, under
// the client's caller key (Key).
func (c *Client) AgentPowers(ctx context.Context, platformID string) ([]Record, error) {
	if platformID == "" {
		return nil, fmt.Errorf("%w: no platform ID", ErrInvalid)
	}
	var out []Record
	if err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: "/delegation/v1/agents/" + url.PathEscape(platformID) + "/powers",
		Header: http.Header{"Authorization": {"Bearer " + c.Key}}}, &out); err != nil {
		return nil, err
	}
	return out, nil
}
