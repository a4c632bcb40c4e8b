package kiosk

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/mynaplat/mynaplat/jlis"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/web"
)

// The 本籍地 usage registration on the kiosk's screens: choose the 本籍地,
// read the application, sign it with the signing password, filed.

// regChoice is a municipality one may register with.
type regChoice struct {
	Code, Name string
	// Status is the registration already filed with it, if any.
	Status string
}

func (p *Pages) registerPage(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	a := p.assertion(w, r, st, ss)
	if a == "" {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	m, err := st.relay.Menu(ctx, a)
	if err != nil {
		to := p.relayTrouble(st, ss, err)
		p.stations.Save(r, ss)
		p.to(w, r, st, cmp.Or(to, "menu"))
		return
	}
	v := p.view(st, ss, "register")
	v.Menu = &menuView{ResidenceName: m.ResidenceName}
	v.Registrations = registrationChoices(m)
	p.render(w, r, "register", v)
}

// registrationChoices are the municipalities other than the 住所地, with
// the registrations filed with them.
func registrationChoices(m *jlis.Menu) []regChoice {
	var out []regChoice
	for _, jm := range jpki.Municipalities() {
		if jm.Code == m.Residence {
			continue
		}
		c := regChoice{Code: jm.Code, Name: jm.Prefecture + jm.Name}
		for _, reg := range m.Registrations {
			if reg.Honseki == jm.Code {
				c.Status = reg.Status
			}
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b regChoice) int { return cmp.Compare(a.Code, b.Code) })
	return out
}

// register shows the application for the chosen 本籍地.
func (p *Pages) register(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	a := p.assertion(w, r, st, ss)
	if a == "" {
		return
	}
	honseki := r.PostFormValue("honseki")
	jm, err := jpki.LookupMunicipality(honseki)
	if err != nil {
		p.flashTo(w, r, st, ss, web.Flash{Kind: "error", JA: "本籍地を選んでください。", EN: "Choose the municipality of your family register."}, "register")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	doc, err := st.relay.RegistrationDocument(ctx, a, honseki)
	if err != nil {
		to := p.relayTrouble(st, ss, err)
		if ae, ok := errors.AsType[*jlis.APIError](err); ok && ae.Code == jlis.CodeInvalidRequest {
			// The relay has no issuance server for it.
			ss.SetFlash(web.Flash{Kind: "error", JA: jm.Prefecture + jm.Name + "は、戸籍証明書のコンビニ交付に参加していません。",
				EN: jm.NameRomaji + " does not issue family-register certificates at kiosks."})
		}
		p.stations.Save(r, ss)
		p.to(w, r, st, cmp.Or(to, "register"))
		return
	}
	setJSON(ss, skey(st.ID(), "reg"), regDoc{Honseki: honseki, Name: cmp.Or(doc.HonsekiName, jm.Prefecture+jm.Name), Text: doc.Text, ShownAt: doc.ShownAt})
	p.stations.Save(r, ss)
	p.to(w, r, st, "register/sign")
}

func (p *Pages) signPage(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	if p.assertion(w, r, st, ss) == "" {
		return
	}
	reg, ok := getJSON[regDoc](ss, skey(st.ID(), "reg"))
	if !ok {
		p.to(w, r, st, "register")
		return
	}
	if !p.placedCard(w, r, st, ss) {
		return
	}
	v := p.view(st, ss, "sign")
	v.Reg = &reg
	v.Sign = p.stations.Kit(st.ID()).SignCard(r, ss, "署名して申請する", "Sign and file")
	p.render(w, r, "sign", v)
}

// sign has the card sign the application with the signing password (which
// goes to the card only) and files it.
func (p *Pages) sign(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	a := p.assertion(w, r, st, ss)
	if a == "" {
		return
	}
	reg, ok := getJSON[regDoc](ss, skey(st.ID(), "reg"))
	if !ok {
		p.to(w, r, st, "register")
		return
	}
	if !p.placedCard(w, r, st, ss) {
		return
	}
	certDER, sig, res := p.stations.Kit(st.ID()).SignDocument(r, ss, []byte(reg.Text))
	if !res.Passed() {
		p.flashTo(w, r, st, ss, res.Flash(), "register/sign")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	filed, err := st.relay.Register(ctx, a, reg.Honseki, reg.ShownAt, certDER, sig)
	if err != nil {
		to := p.relayTrouble(st, ss, err)
		var ae *jlis.APIError
		if to == "" && errors.As(err, &ae) && ae.Code == jlis.CodeBadSignature {
			to = "register/sign"
		} else {
			// The application is shown again (a stale one cannot be signed).
			ss.Delete(skey(st.ID(), "reg"))
		}
		p.stations.Save(r, ss)
		p.to(w, r, st, cmp.Or(to, "register"))
		return
	}
	ss.Delete(skey(st.ID(), "reg"))
	setJSON(ss, skey(st.ID(), "regdone"), regDone{Honseki: reg.Honseki, Name: reg.Name, Status: filed.Status})
	p.stations.Save(r, ss)
	p.to(w, r, st, "register/done")
}

func (p *Pages) registeredPage(w http.ResponseWriter, r *http.Request) {
	st, ss, ok := p.stations.Lookup(w, r)
	if !ok {
		return
	}
	done, ok := getJSON[regDone](ss, skey(st.ID(), "regdone"))
	if !ok {
		p.to(w, r, st, "menu")
		return
	}
	v := p.view(st, ss, "registered")
	v.RegDone = &done
	p.render(w, r, "registered", v)
}
