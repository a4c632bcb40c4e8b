package body

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/procure/contract"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/verify"
	"github.com/mynaplat/mynaplat/wareki"
)

const (
	cardPIN         = "ABCD1234"
	contractIssuer  = "https://platform.test"
	contractTermnal = "procure-register"
)

// contractWorld is a world with a JPKI centre whose cards sign (the
// winner's agent, an officer, a stranger), a tender awarded to the
// agent's business, the contract API behind a server believing
// assertions signed with a test key, and the policy that validates.
type contractWorld struct {
	*world
	centre                   *jpki.Centre
	agent, officer, stranger *card.Card
	agentID, officerID       string
	cards                    *card.Store
	policy                   *verify.Policy
	tn                       *Tender
	key                      *ecdsa.PrivateKey
	client                   *Client
}

func newContractWorld(t *testing.T, db *store.DB, matters ...string) *contractWorld {
	cw := &contractWorld{key: ecKey(t)}
	ctx := context.Background()
	cw.world = newWorld(t, db, 2, func(cfg *Config, f *fixture) {
		var err error
		if cw.centre, err = jpki.Open(ctx, jpki.Config{DB: storetest.SQLite(t), Dir: t.TempDir(), BaseURL: "http://jpki.test", Now: f.clock.Now}); err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AddCert(f.tsaKeys.Root)
		cw.policy = &verify.Policy{TSARoots: roots, RequireTimestamp: true, Now: f.clock.Now,
			Signing: &jpki.SigningVerifier{CA: cw.centre.CA(jpki.Sign), MaxAge: 10 * time.Minute,
				OCSP: func(ctx context.Context, req []byte) ([]byte, error) { return cw.centre.Respond(ctx, req), nil }}}
		r, err := municipal.NewRenderer("")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Contracts = &ContractConfig{Renderer: r, Policy: cw.policy, Stamper: cfg.Stamper,
			SignerPerson: func(ctx context.Context, c *x509.Certificate) (string, error) { return cw.world.signerPerson(ctx, c) }}
	})
	w := cw.world
	w.cardCA = cw.centre.CA(jpki.Sign)
	cards, err := card.NewStore(t.TempDir(), w.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	cw.cards = cards
	issue := func(name, mynumber, pid string) *card.Card {
		c, err := cards.Create(card.Spec{AuthPIN: "1111", SignPIN: cardPIN, TextPIN: "1111", MyNumber: mynumber,
			Name: name, Address: "長野県須坂市大字須坂１５２８番地の１", BirthDate: "19800401", Sex: "1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cw.centre.IssueCard(ctx, jpki.Resident{Name: name, Kana: "テスト", BirthDate: time.Date(1980, 4, 1, 0, 0, 0, 0, wareki.JST()),
			Sex: jpki.Male, Address: "長野県須坂市大字須坂１５２８番地の１", Municipality: "202070"}, c); err != nil {
			t.Fatal(err)
		}
		cw.with(t, c, func(cert *x509.Certificate, _ crypto.Signer) error {
			w.mu.Lock()
			w.persons[cert.SerialNumber.String()] = pid
			w.mu.Unlock()
			return nil
		})
		return c
	}
	cw.agentID, cw.officerID = "pid-agent-contract", w.officers[0]
	cw.agent = issue("須坂　太郎", "123456789018", cw.agentID)
	cw.officer = issue("長野　花子", "234567890123", cw.officerID)
	cw.stranger = issue("信濃　次郎", "345678901236", "pid-stranger")
	w.clock.Set(t0.Add(10 * time.Minute))

	// The award: one bid, by the agent's card, under a power with matters.
	cw.tn = w.publish(t, t0.Add(time.Hour))
	number, name := w.corporation(cw.tn.Grade)
	if len(matters) == 0 {
		matters = []string{procure.MatterBid, procure.MatterContract, procure.MatterInvoice}
	}
	p := w.power(number, name, cw.agentID, t0.AddDate(0, 0, -1), t0.AddDate(1, 0, 0), false, matters...)
	cert, err := x509.ParseCertificate(cw.tn.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	bc := &BidContent{Body: "kanto", Tender: cw.tn.ID, CorporateNumber: number, CorporationName: name, PriceYen: 4_400_000,
		PowerID: p.ID, AgentPlatformID: cw.agentID}
	cw.with(t, cw.agent, func(c *x509.Certificate, s crypto.Signer) error {
		env, err := SealBid(ctx, bc, cms.SignOptions{Signer: s, Cert: c, Stamper: w.s.stamper}, cert)
		if err == nil {
			w.submit(cw.tn, number, env)
		}
		return err
	})
	w.clock.Set(t0.Add(2 * time.Hour))
	if res, err := w.s.OpenTender(ctx, "kanto", cw.tn.ID, w.pass); err != nil || !res.Awarded() {
		t.Fatalf("opening: %+v %v", res, err)
	}

	pt, err := cw.key.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	jwk := platform.JWK{Kty: "EC", Crv: "P-256", X: b64(pt[1:33]), Y: b64(pt[33:]), Kid: "k1", Use: "sig", Alg: "ES256"}
	mux := http.NewServeMux()
	w.s.Routes(mux, APIConfig{Login: procure.APIConfig{Keys: func(context.Context) (platform.JWKS, error) {
		return platform.JWKS{Keys: []platform.JWK{jwk}}, nil
	}, Issuer: contractIssuer, Terminal: contractTermnal}})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cw.client = &Client{BaseURL: srv.URL}
	return cw
}

// with runs fn in a signing session of c, as the terminal kit does.
func (cw *contractWorld) with(t testing.TB, c *card.Card, fn func(cert *x509.Certificate, s crypto.Signer) error) {
	t.Helper()
	if err := terminal.WithSigner(c, cardPIN, fn); err != nil {
		t.Fatal(err)
	}
}

// sign has c add party's signature to pdf.
func (cw *contractWorld) sign(t testing.TB, pdf []byte, c *card.Card, party contract.Party) []byte {
	t.Helper()
	var out []byte
	cw.with(t, c, func(cert *x509.Certificate, s crypto.Signer) error {
		var err error
		out, err = contract.Sign(context.Background(), pdf, party, contract.SignOptions{Signer: s, Cert: cert, Stamper: cw.s.stamper, When: cw.clock.Now()})
		return err
	})
	return out
}

// step has c sign a step of kind after the element whose hash is previous.
func (cw *contractWorld) step(t testing.TB, id string, c *card.Card, kind contract.Kind, previous string) []byte {
	t.Helper()
	return cw.stepWith(t, id, c, kind, previous, cw.s.stamper)
}

// stepWith is step time-stamped by st.
func (cw *contractWorld) stepWith(t testing.TB, id string, c *card.Card, kind contract.Kind, previous string, st cms.Stamper) []byte {
	t.Helper()
	s := contract.Step{Kind: kind, ContractID: id, Previous: previous, Time: cw.clock.Now()}
	switch kind {
	case contract.KindInspection:
		s.Result, s.Note = contract.Passed, "数量・外観とも仕様どおり"
	case contract.KindAcceptance:
		s.AcceptedDate = cw.clock.Now().In(wareki.JST()).Format(time.DateOnly)
	case contract.KindInvoice:
		s.AmountYen, s.Bank = 4_400_000, "デモ銀行 須坂支店 普通 1234567"
	}
	var der []byte
	cw.with(t, c, func(cert *x509.Certificate, sg crypto.Signer) error {
		var err error
		der, err = contract.SignStep(context.Background(), s, contract.SignOptions{Signer: sg, Cert: cert, Stamper: st})
		return err
	})
	return der
}

// mint is an assertion of agent's card login at the register's terminal.
func (cw *contractWorld) mint(agent string) string {
	now := cw.clock.Now()
	c := platform.Claims{Issuer: contractIssuer, Subject: agent, Audience: platform.Audience, IssuedAt: now.Unix(),
		Expiry: now.Add(5 * time.Minute).Unix(), ID: "jti", AuthTime: now.Unix(), Terminal: contractTermnal,
		TerminalKind: platform.Mobile, AMR: []string{"jpki-auth"}}
	hdr, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": "k1"})
	body, _ := json.Marshal(c)
	b64 := base64.RawURLEncoding.EncodeToString
	input := b64(hdr) + "." + b64(body)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, cw.key, sum[:])
	if err != nil {
		cw.t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64(sig)
}

func (cw *contractWorld) prepare(t testing.TB) *Contract {
	t.Helper()
	c, err := cw.s.PrepareContract(cw.ctx, "kanto", cw.tn.ID, cw.officerID, ContractInput{DeliveryDate: t0.AddDate(0, 1, 0),
		DeliveryPlace: "関東地方整備局 本局 倉庫", PaymentTerms: "検査合格後、適法な請求を受けた日から30日以内"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// refused checks that err is a refusal with reason want (any when "").
func refused(t testing.TB, what string, err error, want Reason) {
	t.Helper()
	got := ReasonOf(err)
	if got == "" || want != "" && got != want {
		t.Errorf("%s: got %v (%q), want refusal %q", what, err, got, want)
	}
}

// TestContractCycle: the whole cycle — prepared by an officer, signed by
// the agent through the API, by the officer through the service, B-LTA,
// inspection, acceptance and invoice — with every refusal on the way
// leaving the contract as it was; the timeline and the bundle verify.
func TestContractCycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		cw := newContractWorld(t, db)
		ctx, w := cw.ctx, cw.world
		c := cw.prepare(t)
		if c.State != ContractPrepared || contract.IDOf(c.pdf) != c.ID {
			t.Fatalf("prepared: %+v", c)
		}
		_, err := w.s.PrepareContract(ctx, "kanto", cw.tn.ID, cw.officerID, ContractInput{})
		refused(t, "prepare twice", err, ReasonContractExists)

		pdf, err := cw.client.ContractPDF(ctx, cw.mint(cw.agentID), "kanto", c.ID)
		if err != nil || string(pdf) != string(c.pdf) {
			t.Fatalf("pdf: %v", err)
		}
		_, err = cw.client.ContractPDF(ctx, "nonsense", "kanto", c.ID)
		if err == nil {
			t.Error("a bad bearer read the PDF")
		}
		_, err = cw.client.ContractPDF(ctx, cw.mint("pid-stranger"), "kanto", c.ID)
		refused(t, "stranger reads", err, ReasonNotParty)

		w.clock.Set(t0.Add(3 * time.Hour))
		agentSigned := cw.sign(t, pdf, cw.agent, contract.Agent)
		// Refusals before the agent's signature.
		_, err = w.s.OfficerSign(ctx, "kanto", c.ID, cw.officerID, cw.sign(t, agentSigned, cw.officer, contract.Officer))
		refused(t, "officer before agent", err, ReasonSignOrder)
		_, err = cw.client.SignContract(ctx, cw.mint(cw.agentID), "kanto", c.ID, cw.sign(t, agentSigned, cw.officer, contract.Officer))
		refused(t, "two signatures at once", err, ReasonSignOrder)
		tampered := append([]byte(nil), agentSigned...)
		tampered[200] ^= 1
		_, err = cw.client.SignContract(ctx, cw.mint(cw.agentID), "kanto", c.ID, tampered)
		refused(t, "not the stored PDF", err, ReasonNotStoredPDF)
		_, err = cw.client.SignContract(ctx, cw.mint(cw.agentID), "kanto", c.ID, cw.sign(t, pdf, cw.stranger, contract.Agent))
		refused(t, "signed by a stranger", err, "")
		_, err = cw.client.SignContract(ctx, cw.mint("pid-stranger"), "kanto", c.ID, agentSigned)
		refused(t, "sent by a stranger", err, ReasonNotParty)
		if now, _ := w.s.Contract(ctx, "kanto", c.ID); now.State != ContractPrepared || string(now.pdf) != string(c.pdf) {
			t.Fatalf("a refusal changed the contract: %s", now.State)
		}

		// The same signature sent twice at once: stored once, the other refused.
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() { _, errs[i] = cw.client.SignContract(ctx, cw.mint(cw.agentID), "kanto", c.ID, agentSigned) })
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("agent signs twice at once: %v, %v", errs[0], errs[1])
		}
		refused(t, "agent signs twice", errors.Join(errs...), ReasonSignOrder)
		if c2, _ := w.s.Contract(ctx, "kanto", c.ID); c2.State != ContractAgentSigned || string(c2.pdf) != string(agentSigned) {
			t.Fatalf("agent signed: %s", c2.State)
		}

		w.clock.Set(t0.Add(4 * time.Hour))
		_, err = w.s.OfficerSign(ctx, "kanto", c.ID, cw.officerID, cw.sign(t, agentSigned, cw.stranger, contract.Officer))
		refused(t, "officer sign by a stranger's card", err, ReasonWrongSigner)
		c3, err := w.s.OfficerSign(ctx, "kanto", c.ID, cw.officerID, cw.sign(t, agentSigned, cw.officer, contract.Officer))
		if err != nil || c3.State != ContractSigned || c3.Next != string(contract.KindInspection) {
			t.Fatalf("officer signs: %+v %v", c3, err)
		}

		tl, err := w.s.Timeline(ctx, c3)
		if err != nil {
			t.Fatal(err)
		}
		w.clock.Set(t0.Add(28 * time.Hour))
		_, err = cw.client.ContractStep(ctx, cw.mint(cw.agentID), "kanto", c.ID, cw.step(t, c.ID, cw.agent, contract.KindAcceptance, tl.Previous()))
		refused(t, "acceptance before inspection", err, Reason(contract.ErrOutOfOrder))
		_, err = cw.client.ContractStep(ctx, cw.mint(cw.agentID), "kanto", c.ID, cw.step(t, c.ID, cw.agent, contract.KindInspection, tl.Previous()))
		refused(t, "inspection by the agent", err, Reason(contract.ErrWrongParty))
		_, err = w.s.Inspect(ctx, "kanto", c.ID, cw.officerID, cw.step(t, c.ID, cw.stranger, contract.KindInspection, tl.Previous()))
		refused(t, "inspection by a stranger's card", err, ReasonWrongSigner)
		insp := cw.step(t, c.ID, cw.officer, contract.KindInspection, tl.Previous())
		if _, err := w.s.Inspect(ctx, "kanto", c.ID, cw.officerID, insp); err != nil {
			t.Fatal(err)
		}
		_, err = w.s.Inspect(ctx, "kanto", c.ID, cw.officerID, insp)
		refused(t, "inspection twice", err, "")

		w.clock.Set(t0.Add(52 * time.Hour))
		// An acceptance whose time-stamp is before the inspection's.
		early := cw.stepWith(t, c.ID, cw.agent, contract.KindAcceptance, contract.Hash(insp), w.lateStamper(t0.Add(27*time.Hour)))
		_, err = cw.client.ContractStep(ctx, cw.mint(cw.agentID), "kanto", c.ID, early)
		refused(t, "acceptance stamped before the inspection", err, Reason(contract.ErrOutOfOrder))
		if now, _ := w.s.Contract(ctx, "kanto", c.ID); now.Steps != 1 {
			t.Fatalf("a refused step was stored: %d steps", now.Steps)
		}
		acc := cw.step(t, c.ID, cw.agent, contract.KindAcceptance, contract.Hash(insp))
		if _, err := cw.client.ContractStep(ctx, cw.mint(cw.agentID), "kanto", c.ID, acc); err != nil {
			t.Fatal(err)
		}
		w.clock.Set(t0.Add(76 * time.Hour))
		last, err := cw.client.ContractStep(ctx, cw.mint(cw.agentID), "kanto", c.ID, cw.step(t, c.ID, cw.agent, contract.KindInvoice, contract.Hash(acc)))
		if err != nil || last.Steps != 3 || last.Next != "" {
			t.Fatalf("invoice: %+v %v", last, err)
		}

		rep, err := cw.client.ContractTimeline(ctx, cw.mint(cw.agentID), "kanto", c.ID)
		if err != nil || !rep.Passed() || !rep.Complete || len(rep.Elements) != 4 {
			t.Fatalf("timeline: %+v %v", rep, err)
		}
		zip, err := cw.client.ContractBundle(ctx, cw.mint(cw.agentID), "kanto", c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r := contract.VerifyBundle(ctx, "contract.zip", zip, cw.policy, contract.Parties{}); !r.Passed() {
			t.Fatalf("bundle: %s %s %s", r.Indication, r.Reason, r.MessageEN)
		}
	})
}

// TestContractPowerNoContract: a power without 契約 cannot sign the
// contract, and the refusal leaves it as it was.
func TestContractPowerNoContract(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		cw := newContractWorld(t, db, procure.MatterBid)
		c := cw.prepare(t)
		cw.clock.Set(t0.Add(3 * time.Hour))
		_, err := cw.s.AgentSign(cw.ctx, "kanto", c.ID, cw.agentID, cw.sign(t, c.pdf, cw.agent, contract.Agent))
		refused(t, "power without 契約", err, "out_of_scope")
		if now, _ := cw.s.Contract(cw.ctx, "kanto", c.ID); now.State != ContractPrepared {
			t.Errorf("state %s", now.State)
		}
	})
}

// TestContractPowerNoInvoice: a power without 請求 signs and accepts but
// cannot invoice; the refusal leaves the timeline as it was.
func TestContractPowerNoInvoice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		cw := newContractWorld(t, db, procure.MatterBid, procure.MatterContract)
		c := cw.prepare(t)
		ctx, id := cw.ctx, c.ID
		cw.clock.Set(t0.Add(3 * time.Hour))
		agentSigned := cw.sign(t, c.pdf, cw.agent, contract.Agent)
		if _, err := cw.s.AgentSign(ctx, "kanto", id, cw.agentID, agentSigned); err != nil {
			t.Fatal(err)
		}
		cw.clock.Set(t0.Add(4 * time.Hour))
		c, err := cw.s.OfficerSign(ctx, "kanto", id, cw.officerID, cw.sign(t, agentSigned, cw.officer, contract.Officer))
		if err != nil {
			t.Fatal(err)
		}
		cw.clock.Set(t0.Add(28 * time.Hour))
		insp := cw.step(t, id, cw.officer, contract.KindInspection, contract.Hash(c.pdf))
		if _, err := cw.s.Inspect(ctx, "kanto", id, cw.officerID, insp); err != nil {
			t.Fatal(err)
		}
		acc := cw.step(t, id, cw.agent, contract.KindAcceptance, contract.Hash(insp))
		if _, err := cw.s.AgentStep(ctx, "kanto", id, cw.agentID, acc); err != nil {
			t.Fatal(err)
		}
		_, err = cw.s.AgentStep(ctx, "kanto", id, cw.agentID, cw.step(t, id, cw.agent, contract.KindInvoice, contract.Hash(acc)))
		refused(t, "invoice without 請求", err, "out_of_scope")
		if now, _ := cw.s.Contract(ctx, "kanto", id); now.Steps != 2 || now.Next != string(contract.KindInvoice) {
			t.Errorf("after the refused invoice: %+v", now)
		}
		audit, _ := cw.s.Audit(ctx, "kanto", cw.tn.ID)
		if last := audit[len(audit)-1]; last.Outcome != "refused" || last.Action != "contract.step" {
			t.Errorf("audit: %+v", last)
		}
	})
}
