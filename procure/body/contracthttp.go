package body

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/procure/contract"
)

// The contract API for the winning bid's agent (docs/procurement.md §5.7,
// body side), each call with the agent's card login as bearer (the
// register's assertion, checked as procure's agent API checks it):
//
//	GET  /bodies/{body}/v1/contracts/{id}            the contract (JSON)
//	GET  /bodies/{body}/v1/contracts/{id}/pdf        the current PDF, to sign
//	POST /bodies/{body}/v1/contracts/{id}/signature  {pdf} the agent-signed PDF → the contract
//	POST /bodies/{body}/v1/contracts/{id}/steps      {cms} acceptance or invoice → 201 the contract
//	GET  /bodies/{body}/v1/contracts/{id}/timeline   the timeline's report (contract.Report)
//	GET  /bodies/{body}/v1/contracts/{id}/bundle     the timeline as the ZIP `mynaplat verify` reads

// SignatureBody is the body of POST …/signature.
type SignatureBody struct {
	// PDF is the signed PDF in standard base64.
	PDF string `json:"pdf"`
}

// StepBody is the body of POST …/steps.
type StepBody struct {
	// CMS is the signed step (contract.SignStep) in standard base64.
	CMS string `json:"cms"`
}

// maxContractBody bounds a signed PDF in base64.
const maxContractBody = 4 << 20

func (a *api) contractRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /bodies/{body}/v1/contracts/{id}", a.agent(a.contractJSON))
	mux.HandleFunc("GET /bodies/{body}/v1/contracts/{id}/pdf", a.agent(a.contractPDF))
	mux.HandleFunc("POST /bodies/{body}/v1/contracts/{id}/signature", a.agent(a.contractSign))
	mux.HandleFunc("POST /bodies/{body}/v1/contracts/{id}/steps", a.agent(a.contractStep))
	mux.HandleFunc("GET /bodies/{body}/v1/contracts/{id}/timeline", a.agent(a.contractTimeline))
	mux.HandleFunc("GET /bodies/{body}/v1/contracts/{id}/bundle", a.agent(a.contractBundle))
}

// agent authenticates the card login and hands on the platform ID.
func (a *api) agent(h func(w http.ResponseWriter, r *http.Request, pid string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		pid, err := a.login.Agent(r.Context(), bearer, a.s.now())
		if err != nil {
			a.s.writeErr(w, r, err)
			return
		}
		h(w, r, pid)
	}
}

// party reads the contract for its agent (ReasonNotParty otherwise).
func (a *api) party(ctx context.Context, r *http.Request, pid string) (*Contract, error) {
	c, err := a.s.Contract(ctx, r.PathValue("body"), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if c.agent != pid {
		return nil, a.s.refused(ctx, c.Body, "agent:"+pid, "contract.read", c.Tender, refuse(ReasonNotParty, c.ID))
	}
	return c, nil
}

func (a *api) contractJSON(w http.ResponseWriter, r *http.Request, pid string) {
	c, err := a.party(r.Context(), r, pid)
	if err != nil {
		a.s.writeErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, c)
}

func (a *api) contractPDF(w http.ResponseWriter, r *http.Request, pid string) {
	pdf, err := a.s.ContractPDF(r.Context(), r.PathValue("body"), r.PathValue("id"), pid)
	if err != nil {
		a.s.writeErr(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Write(pdf)
}

func decode64(w http.ResponseWriter, r *http.Request, in any, field func() string) ([]byte, error) {
	if err := httpapi.Decode(http.MaxBytesReader(w, r.Body, maxContractBody), in, maxContractBody); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	b, err := base64.StdEncoding.DecodeString(field())
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("%w: not base64", ErrInvalid)
	}
	return b, nil
}

func (a *api) contractSign(w http.ResponseWriter, r *http.Request, pid string) {
	var in SignatureBody
	pdf, err := decode64(w, r, &in, func() string { return in.PDF })
	if err == nil {
		var c *Contract
		if c, err = a.s.AgentSign(r.Context(), r.PathValue("body"), r.PathValue("id"), pid, pdf); err == nil {
			httpapi.WriteJSON(w, http.StatusOK, c)
			return
		}
	}
	a.s.writeErr(w, r, err)
}

func (a *api) contractStep(w http.ResponseWriter, r *http.Request, pid string) {
	var in StepBody
	der, err := decode64(w, r, &in, func() string { return in.CMS })
	if err == nil {
		var c *Contract
		if c, err = a.s.AgentStep(r.Context(), r.PathValue("body"), r.PathValue("id"), pid, der); err == nil {
			httpapi.WriteJSON(w, http.StatusCreated, c)
			return
		}
	}
	a.s.writeErr(w, r, err)
}

func (a *api) timeline(w http.ResponseWriter, r *http.Request, pid string) (*contract.Report, *contract.Timeline, bool) {
	c, err := a.party(r.Context(), r, pid)
	if err == nil {
		var rep *contract.Report
		var tl *contract.Timeline
		if rep, tl, err = a.s.VerifyContract(r.Context(), c); err == nil {
			return rep, tl, true
		}
	}
	a.s.writeErr(w, r, err)
	return nil, nil, false
}

func (a *api) contractTimeline(w http.ResponseWriter, r *http.Request, pid string) {
	if rep, _, ok := a.timeline(w, r, pid); ok {
		httpapi.WriteJSON(w, http.StatusOK, rep)
	}
}

func (a *api) contractBundle(w http.ResponseWriter, r *http.Request, pid string) {
	c, err := a.party(r.Context(), r, pid)
	if err != nil {
		a.s.writeErr(w, r, err)
		return
	}
	tl, err := a.s.Timeline(r.Context(), c)
	if err != nil {
		a.s.writeErr(w, r, err)
		return
	}
	zip, err := tl.Bundle()
	if err != nil {
		a.s.writeErr(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.mynaplat.contract-timeline+zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+c.ID+`.zip"`)
	w.Write(zip)
}
