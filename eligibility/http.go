package eligibility

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// The insurer API (Authorization: Bearer <insurer key>); an insurer sees and
// changes only its own records:
//
//	POST /eligibility/insurer/insured                 add a coverage
//	POST /eligibility/insurer/insured/{id}/end        {"lost_on": "YYYY-MM-DD"}
//	POST /eligibility/insurer/insured/{id}/change-job {"next": InsuredJSON} — ends it and starts the next
//
// Dates are civil dates, "YYYY-MM-DD".

// InsuredJSON is an insured record on the wire.
type InsuredJSON struct {
	ID              string `json:"id,omitempty"`
	Insurer         string `json:"insurer"`
	Symbol          string `json:"symbol"`
	Number          string `json:"number"`
	Branch          string `json:"branch"`
	Relation        string `json:"relation"`
	Name            string `json:"name"`
	Kana            string `json:"kana"`
	BirthDate       string `json:"birth_date"`
	Sex             int    `json:"sex"`
	Address         string `json:"address"`
	CopayPercent    int    `json:"copay_percent"`
	ElderlyPercent  int    `json:"elderly_percent,omitempty"`
	LimitCategory   string `json:"limit_category,omitempty"`
	SpecificDisease string `json:"specific_disease,omitempty"`
	AcquiredOn      string `json:"acquired_on"`
	LostOn          string `json:"lost_on,omitempty"`
}

func (j InsuredJSON) record() (Insured, error) {
	in := Insured{ID: j.ID, Insurer: j.Insurer, Symbol: j.Symbol, Number: j.Number, Branch: j.Branch, Relation: j.Relation,
		Person:       Person{Name: j.Name, Kana: j.Kana, Sex: j.Sex, Address: j.Address},
		CopayPercent: j.CopayPercent, ElderlyPercent: j.ElderlyPercent, LimitCategory: j.LimitCategory, SpecificDisease: j.SpecificDisease}
	var err error
	if in.BirthDate, err = parseCivil(j.BirthDate); err != nil {
		return in, fmt.Errorf("%w: birth_date must be YYYY-MM-DD", ErrInvalid)
	}
	if in.AcquiredOn, err = parseCivil(j.AcquiredOn); err != nil {
		return in, fmt.Errorf("%w: acquired_on must be YYYY-MM-DD", ErrInvalid)
	}
	if j.LostOn != "" {
		if in.LostOn, err = parseCivil(j.LostOn); err != nil {
			return in, fmt.Errorf("%w: lost_on must be YYYY-MM-DD", ErrInvalid)
		}
	}
	return in, nil
}

// ToJSON is an insured record on the wire.
func ToJSON(in *Insured) InsuredJSON {
	j := InsuredJSON{ID: in.ID, Insurer: in.Insurer, Symbol: in.Symbol, Number: in.Number, Branch: in.Branch, Relation: in.Relation,
		Name: in.Name, Kana: in.Kana, BirthDate: civil(in.BirthDate), Sex: in.Sex, Address: in.Address, CopayPercent: in.CopayPercent,
		ElderlyPercent: in.ElderlyPercent, LimitCategory: in.LimitCategory, SpecificDisease: in.SpecificDisease, AcquiredOn: civil(in.AcquiredOn)}
	if !in.LostOn.IsZero() {
		j.LostOn = civil(in.LostOn)
	}
	return j
}

// Routes registers the insurer API.
func (s *Service) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /eligibility/insurer/insured", s.insurerOnly(s.serveAddInsured))
	mux.HandleFunc("POST /eligibility/insurer/insured/{id}/end", s.insurerOnly(s.serveEnd))
	mux.HandleFunc("POST /eligibility/insurer/insured/{id}/change-job", s.insurerOnly(s.serveChangeJob))
}

func (s *Service) insurerOnly(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		insurer := ""
		err := ErrNotFound
		if ok {
			insurer, err = s.InsurerByKey(r.Context(), strings.TrimSpace(key))
		}
		if err != nil {
			s.writeErr(w, r, fmt.Errorf("%w: %w", errNoInsurer, err))
			return
		}
		h(w, r, insurer)
	}
}

// decode reads a JSON body strictly (unknown fields are an error).
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

func (s *Service) serveAddInsured(w http.ResponseWriter, r *http.Request, insurer string) {
	var j InsuredJSON
	in, err := func() (Insured, error) {
		if err := decode(r, &j); err != nil {
			return Insured{}, err
		}
		return j.record()
	}()
	if err == nil && in.Insurer != insurer {
		err = fmt.Errorf("%w: an insurer adds records under its own number only", ErrInvalid)
	}
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	added, err := s.AddInsured(r.Context(), in)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, ToJSON(added))
}

// ownRecord checks that a record belongs to the insurer.
func (s *Service) ownRecord(r *http.Request, insurer string) error {
	var owner string
	err := s.db.QueryRowContext(r.Context(), qInsuredOwner, r.PathValue("id")).Scan(&owner)
	if err != nil || owner != insurer {
		return fmt.Errorf("%w: insured %s", ErrNotFound, r.PathValue("id"))
	}
	return nil
}

func (s *Service) serveEnd(w http.ResponseWriter, r *http.Request, insurer string) {
	var body struct {
		LostOn string `json:"lost_on"`
	}
	err := decode(r, &body)
	var lost time.Time
	if err == nil {
		if lost, err = parseCivil(body.LostOn); err != nil {
			err = fmt.Errorf("%w: lost_on must be YYYY-MM-DD", ErrInvalid)
		}
	}
	if err == nil {
		err = s.ownRecord(r, insurer)
	}
	if err == nil {
		err = s.EndCoverage(r.Context(), r.PathValue("id"), lost)
	}
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) serveChangeJob(w http.ResponseWriter, r *http.Request, insurer string) {
	var body struct {
		Next InsuredJSON `json:"next"`
	}
	var next Insured
	err := decode(r, &body)
	if err == nil {
		next, err = body.Next.record()
	}
	if err == nil {
		// The old insurer reports the end; the new record may be under
		// another insurer (the person changed jobs).
		err = s.ownRecord(r, insurer)
	}
	var added *Insured
	if err == nil {
		added, err = s.ChangeJob(r.Context(), r.PathValue("id"), next)
	}
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, ToJSON(added))
}

// writeErr answers an error through Rules.
func (s *Service) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	Rules.Write(w, r, s.logger, err)
}
