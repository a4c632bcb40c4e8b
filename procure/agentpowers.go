package procure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// AgentPower is a power the signed-in agent may act under for
// procurement: the company, the power's ID, the procurement matters it
// delegates and its period. The agent's page lists them to pick from
// (docs/procurement.md §5.2), so nobody types a 法人番号 or a power ID.
type AgentPower struct {
	PowerID         string `json:"power_id"`
	CorporateNumber string `json:"corporate_number"`
	// CorporationName is the name the power was granted in.
	CorporationName string `json:"corporation_name"`
	// Matters are the power's procurement matters, in the order of Matters.
	Matters   []string  `json:"matters"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	// SubDelegated is a power from another agent (復代理), which may not
	// bid (§3 rule 2).
	SubDelegated bool `json:"sub_delegated"`
	// CurrentName is the registry's name now when the company has changed
	// its name since the power was granted: the power is listed, so that
	// the agent knows why, but no document signed now passes the name rule
	// (§3 rule 3) under it. Empty when the names agree.
	CurrentName string `json:"current_name,omitempty"`
}

// Usable reports whether a document signed now may pass the name rule
// under the power.
func (p AgentPower) Usable() bool { return p.CurrentName == "" }

// Has reports whether the power delegates the matter.
func (p AgentPower) Has(matter string) bool { return slices.Contains(p.Matters, matter) }

// AgentPowers lists the powers naming the agent that the delegation
// register holds in effect now (registered, not revoked, not expired) and
// that delegate at least one procurement matter, of corporations active in
// the registry, newest first; a power in a former name of its company says
// so (CurrentName). The register asks on the agent's behalf after
// verifying their card login (the agent API).
func (s *Service) AgentPowers(ctx context.Context, platformID string) ([]AgentPower, error) {
	recs, err := s.powers.AgentPowers(ctx, platformID)
	if err != nil {
		return nil, fmt.Errorf("procure: the powers of the agent: %w", err)
	}
	names := map[string]string{} // 法人番号 → current name; "" when not active
	current := func(number string) (string, error) {
		if n, ok := names[number]; ok {
			return n, nil
		}
		c, err := s.corps.Corporation(ctx, number)
		switch {
		case errors.Is(err, corpreg.ErrUnknownCorporation):
			names[number] = ""
		case err != nil:
			return "", fmt.Errorf("procure: corporation %s: %w", number, err)
		case c.Status == corpreg.Active:
			names[number] = c.Name
		default:
			names[number] = ""
		}
		return names[number], nil
	}
	out := []AgentPower{}
	for _, r := range recs {
		p := r.Power
		var matters []string
		for _, m := range Matters {
			if slices.Contains(p.Powers, m) {
				matters = append(matters, m)
			}
		}
		if len(matters) == 0 {
			continue
		}
		name, err := current(p.Principal.CorporateNumber)
		if err != nil {
			return nil, err
		}
		if name == "" {
			continue
		}
		ap := AgentPower{PowerID: p.ID, CorporateNumber: p.Principal.CorporateNumber, CorporationName: p.Principal.CorporationName,
			Matters: matters, NotBefore: p.NotBefore, NotAfter: p.NotAfter, SubDelegated: p.Parent != ""}
		if name != ap.CorporationName {
			ap.CurrentName = name
		}
		out = append(out, ap)
	}
	return out, nil
}

func (a *api) myPowers(w http.ResponseWriter, r *http.Request, pid string) {
	list, err := a.s.AgentPowers(r.Context(), pid)
	if err != nil {
		a.s.writeErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, list)
}

// AgentPowers lists the powers the agent whose card login assertion is
// given may act under for procurement.
func (c *Client) AgentPowers(ctx context.Context, assertion string) ([]AgentPower, error) {
	var out []AgentPower
	if err := c.do(ctx, httpapi.Request{Method: http.MethodGet, Path: "/procure/v1/agent/powers",
		Header: http.Header{"Authorization": {"Bearer " + assertion}}}, &out); err != nil {
		return nil, err
	}
	return out, nil
}
