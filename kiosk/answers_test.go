package kiosk

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/mynaplat/mynaplat/jlis"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestBadAnswersAreRefused: whatever an issuance server answers, the kiosk
// gets only the certificate asked for, from the municipality asked, as it
// was sealed — a 住民票 request never yields a 戸籍 (the Tokushima
// incident). Each bad answer is refused with bad_answer and its job
// cancelled, never printed.
func TestBadAnswersAreRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		const code = "062049"
		proxy := newMuniProxy(t, w)
		in := w.instance(t, nil, func(c *jlis.RelayConfig) {
			c.Endpoints[code] = jlis.Endpoint{BaseURL: proxy.srv.URL, Key: c.Endpoints[code].Key}
		})
		k := w.kiosk(t, "kiosk-bad-answers")
		cl := k.on(in)
		cd := w.card(t, "本間　光") // 住所 and 本籍 in 酒田市: the 戸籍 is there too
		// forged renders a certificate as a forger would: through the
		// municipality's registers, without the relay's anti-forgery.
		forged := func(a *muniAnswer) *municipal.Certificate {
			c, err := w.muni.Issue(ctx, a.code, "forger", municipal.Request{Holder: a.req.Holder, Type: a.req.Type})
			if err != nil {
				t.Errorf("forge: %v", err)
				return &municipal.Certificate{}
			}
			a.facts, a.pdf = *c, c.PDF
			return c
		}
		flip := func(pdf []byte) []byte {
			out := bytes.Clone(pdf)
			i := bytes.Index(out, []byte("stream\n"))
			out[i+40] ^= 0x01
			return out
		}
		for i, tc := range []struct {
			name   string
			before func(*municipal.Request)
			after  func(*muniAnswer)
		}{
			{"a 戸籍 for a 住民票 request", func(r *municipal.Request) { r.Type = municipal.KosekiZenbu }, nil},
			{"a 戸籍 labelled 住民票", func(r *municipal.Request) { r.Type = municipal.KosekiZenbu },
				func(a *muniAnswer) { a.facts.Type = municipal.Juminhyo; a.refacts() }},
			{"a 附票 labelled 住民票", func(r *municipal.Request) { r.Type = municipal.Fuhyo },
				func(a *muniAnswer) { a.facts.Type = municipal.Juminhyo; a.refacts() }},
			{"answered for another municipality", nil, func(a *muniAnswer) { a.facts.Municipality = "202070"; a.refacts() }},
			{"another municipality's number", nil, func(a *muniAnswer) {
				a.facts.Number = "202070" + strings.TrimPrefix(a.facts.Number, code)
				a.refacts()
			}},
			{"PDF changed, digest of the original", nil, func(a *muniAnswer) { a.pdf = flip(a.pdf) }},
			{"PDF changed, digest recomputed", nil, func(a *muniAnswer) { a.pdf = flip(a.pdf); a.reseal() }},
			{"PDF extended after signing", nil, func(a *muniAnswer) { a.pdf = append(a.pdf, "\n% more\n"...); a.reseal() }},
			{"unsigned PDF", nil, func(a *muniAnswer) { forged(a); a.reseal() }},
			{"signed with another municipality's seal", nil, func(a *muniAnswer) {
				forged(a)
				other, _ := jlis.SealMunicipality("202070")
				signed, err := w.seal.SignPDF(ctx, other, a.pdf)
				if err != nil {
					t.Error(err)
				}
				a.pdf = signed
				a.reseal()
			}},
			{"sealed but never registered with the relay", nil, func(a *muniAnswer) {
				forged(a)
				own, _ := jlis.SealMunicipality(code)
				signed, err := w.seal.SignPDF(ctx, own, a.pdf)
				if err != nil {
					t.Error(err)
				}
				a.pdf = signed
				a.reseal()
			}},
			{"facts that are not JSON", nil, func(a *muniAnswer) { a.factsHeader = `{"type":` }},
			{"no facts", nil, func(a *muniAnswer) { a.factsHeader = "" }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				proxy.set(tc.before, tc.after)
				a := k.login(t, cd)
				rk := key("bad" + string(rune('a'+i)))
				_, err := cl.Order(ctx, a, jlis.Order{RequestKey: rk, Municipality: code, Type: municipal.Juminhyo})
				if ae := apiError(t, err); ae.Code != jlis.CodeBadAnswer || ae.Status != 502 {
					t.Fatalf("order: %v, want 502 bad_answer", err)
				}
				j, err := in.svc.JobByKey(ctx, k.id, rk)
				if err != nil {
					t.Fatal(err)
				}
				if j.State != jlis.Cancelled || j.Reason != "bad_answer" {
					t.Errorf("job %s (%s), want cancelled (bad_answer)", j.State, j.Reason)
				}
				if _, err := cl.Print(ctx, a, j.ID); apiError(t, err).Code != jlis.CodeJobGone {
					t.Errorf("print: %v, want job_gone", err)
				}
			})
		}
		// And the honest answer passes the same proxy.
		proxy.set(nil, nil)
		a := k.login(t, cd)
		j, err := cl.Order(ctx, a, jlis.Order{RequestKey: key("honest"), Municipality: code, Type: municipal.Juminhyo})
		if err != nil {
			t.Fatal(err)
		}
		p, err := cl.Print(ctx, a, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		text := pdfText(t, p.PDF)
		if m := missing(text, "住民票の写し", "本間　光"); m != nil {
			t.Errorf("honest answer lacks %q:\n%s", m, text)
		}
		if p := present(text, "戸籍全部事項証明書", "戸籍の附票の写し"); p != nil {
			t.Errorf("a 住民票 shows %q", p)
		}
	})
}
