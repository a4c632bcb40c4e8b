package body

import (
	"bytes"
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/procure/contract"
	"github.com/mynaplat/mynaplat/verify"
)

// The contract after an award (docs/procurement.md §5.7, body side): an
// officer prepares it from the tender and the award (the PDF of
// procure/contract), the winning bid's agent signs it first through the
// API, an officer second, the body makes it B-LTA, and the steps after it
// (inspection by an officer, acceptance and invoice by the agent) are
// appended to its timeline. Every change is one conditional UPDATE or
// one INSERT of the next place, so each happens once; a refusal writes
// its audit row only.

// ContractConfig is what the contracts need.
type ContractConfig struct {
	// Renderer lays out the contract PDF (municipal's fonts).
	Renderer *municipal.Renderer
	// Policy validates the signatures and makes the contract B-LTA (its
	// Signing verifier asks the JPKI centre's OCSP).
	Policy *verify.Policy
	// Stamper makes the B-LTA document time-stamp.
	Stamper cms.Stamper
	// SignerPerson is the platform ID of a JPKI signing certificate's
	// holder (the JPKI linkage, as delegation's): an officer's signature
	// is theirs when it gives the officer's platform ID.
	SignerPerson func(ctx context.Context, cert *x509.Certificate) (string, error)
}

// Contract states.
const (
	ContractPrepared    = "prepared"
	ContractAgentSigned = "agent_signed"
	ContractSigned      = "signed"
)

// ContractInput is what the officer adds to the tender and the award.
type ContractInput struct {
	DeliveryDate  time.Time
	DeliveryPlace string
	PaymentTerms  string
}

// Contract is a contract as stored.
type Contract struct {
	Body            string    `json:"body"`
	ID              string    `json:"id"`
	Tender          string    `json:"tender"`
	CorporateNumber string    `json:"corporate_number"`
	State           string    `json:"state"`
	Steps           int       `json:"steps"`
	Next            string    `json:"next,omitempty"`
	UpdatedAt       time.Time `json:"updated_at"`
	power, agent    string
	officer         string
	pdf             []byte
}

const contractColumns = `body, id, tender, corp_number, power, agent, state, pdf, officer, updated_at,
  (SELECT COUNT(*) FROM body_contract_steps s WHERE s.body = c.body AND s.contract = c.id)`

const (
	qContract          = `SELECT ` + contractColumns + ` FROM body_contracts c WHERE body = $1 AND id = $2`
	qContractOfTender  = `SELECT ` + contractColumns + ` FROM body_contracts c WHERE body = $1 AND tender = $2`
	qTenderWinnerPower = `SELECT winner_power FROM body_tenders WHERE body = $1 AND id = $2`
	qInsertContract    = `INSERT INTO body_contracts (body, id, tender, corp_number, power, agent, state, pdf, prepared_by, created_at, updated_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) ON CONFLICT DO NOTHING`
	qSignContract = `UPDATE body_contracts SET pdf = $1, state = $2, officer = $3, updated_at = $4
  WHERE body = $5 AND id = $6 AND state = $7`
	qContractSteps = `SELECT signed FROM body_contract_steps WHERE body = $1 AND contract = $2 ORDER BY seq`
	qContractOCSPs = `SELECT der FROM body_contract_ocsps WHERE body = $1 AND contract = $2 ORDER BY seq`
	qInsertStep    = `INSERT INTO body_contract_steps (body, contract, seq, kind, signed, sha256, actor, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`
	qInsertOCSP    = `INSERT INTO body_contract_ocsps (body, contract, seq, der) VALUES ($1, $2, $3, $4)`
	qTouchContract = `UPDATE body_contracts SET updated_at = $1 WHERE body = $2 AND id = $3 AND state = $4`
)

func (s *Service) contracts() (*ContractConfig, error) {
	if s.contract == nil || s.opening == nil {
		return nil, fmt.Errorf("%w: this deployment prepares no contracts", ErrInvalid)
	}
	return s.contract, nil
}

func scanContract(row *sql.Row) (*Contract, error) {
	var c Contract
	var at int64
	err := row.Scan(&c.Body, &c.ID, &c.Tender, &c.CorporateNumber, &c.power, &c.agent, &c.State, &c.pdf, &c.officer, &at, &c.Steps)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: no such contract", ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	c.UpdatedAt = time.UnixMilli(at).UTC()
	if c.State == ContractSigned {
		tl := contract.Timeline{Steps: make([][]byte, c.Steps)}
		c.Next = string(tl.Next())
	}
	return &c, nil
}

// contractID is the contract's number: one per tender.
func contractID(tender string) string { return "C-" + tender }

// PrepareContract makes the contract of an awarded tender: the terms from
// the tender, the award and the winning bid's power (the 商号 and 法人番号
// it names, its agent), and the officer's input; the unsigned PDF is
// stored (state prepared). A tender has one contract.
func (s *Service) PrepareContract(ctx context.Context, body, tender, officer string, in ContractInput) (*Contract, error) {
	h, err := s.body(body)
	if err != nil {
		return nil, err
	}
	cc, err := s.contracts()
	if err != nil {
		return nil, err
	}
	actor := "staff:" + officer
	t, err := s.Tender(ctx, body, tender)
	if err != nil {
		return nil, err
	}
	if t.State != StateAwarded || t.Result == nil || !t.Result.Awarded() {
		return nil, s.refused(ctx, body, actor, "contract.prepare", tender, refuse(ReasonNotAwarded, t.State))
	}
	if _, err := s.ContractOf(ctx, body, tender); err == nil {
		return nil, s.refused(ctx, body, actor, "contract.prepare", tender, refuse(ReasonContractExists, contractID(tender)))
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	var powerID string
	if err := s.db.QueryRowContext(ctx, qTenderWinnerPower, body, tender).Scan(&powerID); err != nil {
		return nil, err
	}
	rec, err := s.opening.Powers.Get(ctx, powerID)
	if err != nil {
		return nil, fmt.Errorf("body: the winning power %s: %w", powerID, err)
	}
	res := t.Result
	now := s.now()
	terms := contract.Terms{ID: contractID(tender), Body: h.NameJA, TenderID: tender, Item: t.Item,
		Winner: res.WinnerName, CorporateNumber: res.WinnerNumber, Agent: rec.Power.Agent.Name, PriceYen: res.WinnerPriceYen,
		DeliveryDate: in.DeliveryDate, DeliveryPlace: in.DeliveryPlace, PaymentTerms: in.PaymentTerms, Date: now}
	pdf, err := contract.Render(cc.Renderer, terms)
	if errors.Is(err, contract.ErrInvalid) {
		return nil, s.refused(ctx, body, actor, "contract.prepare", tender, refuse(ReasonContractTerms, err.Error()))
	}
	if err != nil {
		return nil, err
	}
	won := false
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		r, err := s.db.TxExec(ctx, tx, qInsertContract, body, terms.ID, tender, res.WinnerNumber, powerID, rec.Power.Agent.PlatformID,
			ContractPrepared, pdf, officer, ms(now))
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n != 1 {
			return nil
		}
		won = true
		return s.audit(ctx, tx, body, actor, "contract.prepare", tender, "ok", terms.ID)
	})
	if err != nil {
		return nil, err
	}
	if !won {
		return nil, s.refused(ctx, body, actor, "contract.prepare", tender, refuse(ReasonContractExists, terms.ID))
	}
	return s.Contract(ctx, body, terms.ID)
}

// Contract reads a contract.
func (s *Service) Contract(ctx context.Context, body, id string) (*Contract, error) {
	if _, err := s.body(body); err != nil {
		return nil, err
	}
	return scanContract(s.db.QueryRowContext(ctx, qContract, body, id))
}

// ContractOf is a tender's contract, ErrNotFound before it is prepared.
func (s *Service) ContractOf(ctx context.Context, body, tender string) (*Contract, error) {
	if _, err := s.body(body); err != nil {
		return nil, err
	}
	return scanContract(s.db.QueryRowContext(ctx, qContractOfTender, body, tender))
}

// ContractPDF is the contract's current PDF for the agent: only the
// contract's agent (the platform ID of the card login) reads it.
func (s *Service) ContractPDF(ctx context.Context, body, id, agent string) ([]byte, error) {
	c, err := s.Contract(ctx, body, id)
	if err != nil {
		return nil, err
	}
	if c.agent != agent {
		return nil, s.refused(ctx, body, "agent:"+agent, "contract.read", c.Tender, refuse(ReasonNotParty, id))
	}
	return c.pdf, nil
}

// added checks that signed is the stored PDF with exactly one approval
// signature more (an incremental update after its bytes), verified with
// its signature time-stamp, and returns that signature.
func (s *Service) added(cc *ContractConfig, stored, signed []byte, before int) (*cms.PDFSignature, error) {
	if len(signed) <= len(stored) || !bytes.HasPrefix(signed, stored) {
		return nil, refuse(ReasonNotStoredPDF, "not an incremental update of the stored PDF")
	}
	all, err := cms.VerifyPDF(signed, cc.Policy.TSARoots)
	if len(all) == 0 && err != nil {
		return nil, refuse(ReasonNotStoredPDF, err.Error())
	}
	var sigs []cms.PDFSignature
	for _, sg := range all {
		if !sg.DocTimeStamp {
			sigs = append(sigs, sg)
		}
	}
	if len(sigs) != before+1 {
		return nil, refuse(ReasonSignOrder, fmt.Sprintf("%d signatures where %d were due", len(sigs), before+1))
	}
	last := sigs[before]
	if last.Err != nil || last.Signer == nil {
		return nil, refuse(ReasonContractSignature, fmt.Sprint(last.Err))
	}
	if last.Timestamp == nil {
		return nil, refuse(ReasonContractSignature, "no signature time-stamp")
	}
	return &last, nil
}

// checkPower asks delegation.Check whether the contract's power covers
// matter for cert at the time-stamp's time.
func (s *Service) checkPower(ctx context.Context, c *Contract, matter string, cert *x509.Certificate, at time.Time) error {
	rec, err := s.opening.Powers.Get(ctx, c.power)
	if err != nil {
		return fmt.Errorf("body: power %s: %w", c.power, err)
	}
	res, err := s.opening.Powers.Check(ctx, delegation.Query{Power: rec.CMS, CorporateNumber: c.CorporateNumber, DocType: matter,
		Signer: cert, At: at})
	if err != nil {
		return fmt.Errorf("body: check power %s: %w", c.power, err)
	}
	if !res.OK {
		return &Refusal{Reason: Reason(res.Reason), MessageJA: res.MessageJA, MessageEN: res.MessageEN, Detail: c.power + " " + matter}
	}
	return nil
}

// AgentSign takes the agent's signed contract: the stored unsigned PDF
// plus exactly one approval signature, with a signature time-stamp, by
// the card of the winning bid's agent, whose power covers 契約 at the
// time-stamp's time. The contract is then agent_signed.
func (s *Service) AgentSign(ctx context.Context, body, id, agent string, signed []byte) (*Contract, error) {
	cc, err := s.contracts()
	if err != nil {
		return nil, err
	}
	c, err := s.Contract(ctx, body, id)
	if err != nil {
		return nil, err
	}
	actor := "agent:" + agent
	fail := func(err error) (*Contract, error) {
		return nil, s.refused(ctx, body, actor, "contract.agent_sign", c.Tender, err)
	}
	if c.agent != agent {
		return fail(refuse(ReasonNotParty, id))
	}
	if c.State != ContractPrepared {
		return fail(refuse(ReasonSignOrder, c.State))
	}
	sig, err := s.added(cc, c.pdf, signed, 0)
	if err != nil {
		return fail(err)
	}
	if err := s.checkPower(ctx, c, procure.MatterContract, sig.Signer, sig.Timestamp.Time); err != nil {
		if _, ok := errors.AsType[*Refusal](err); ok {
			return fail(err)
		}
		return nil, err
	}
	return s.advance(ctx, c, actor, "contract.agent_sign", signed, ContractAgentSigned, "")
}

// advance stores the contract's next PDF and state, once.
func (s *Service) advance(ctx context.Context, c *Contract, actor, action string, pdf []byte, state, officer string) (*Contract, error) {
	won := false
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		r, err := s.db.TxExec(ctx, tx, qSignContract, pdf, state, officer, ms(s.now()), c.Body, c.ID, c.State)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n != 1 {
			return nil
		}
		won = true
		return s.audit(ctx, tx, c.Body, actor, action, c.Tender, "ok", c.ID)
	})
	if err != nil {
		return nil, err
	}
	if !won {
		return nil, s.refused(ctx, c.Body, actor, action, c.Tender, refuse(ReasonSignOrder, "the contract changed meanwhile"))
	}
	return s.Contract(ctx, c.Body, c.ID)
}

// OfficerSign takes the officer's signature (made with the officer's card
// in the staff session) on the PDF the agent signed: exactly one approval
// signature more, time-stamped, by a certificate whose holder is the
// signed-in officer and not the agent's. The body then makes it B-LTA
// (contract.LongTerm) and stores it: state signed.
func (s *Service) OfficerSign(ctx context.Context, body, id, officer string, signed []byte) (*Contract, error) {
	cc, err := s.contracts()
	if err != nil {
		return nil, err
	}
	c, err := s.Contract(ctx, body, id)
	if err != nil {
		return nil, err
	}
	actor := "staff:" + officer
	fail := func(err error) (*Contract, error) {
		return nil, s.refused(ctx, body, actor, "contract.officer_sign", c.Tender, err)
	}
	if c.State != ContractAgentSigned {
		return fail(refuse(ReasonSignOrder, c.State))
	}
	sig, err := s.added(cc, c.pdf, signed, 1)
	if err != nil {
		return fail(err)
	}
	if pid, err := cc.SignerPerson(ctx, sig.Signer); err != nil || pid != officer {
		return fail(refuse(ReasonWrongSigner, fmt.Sprintf("the certificate's holder is %q (%v)", pid, err)))
	}
	final, err := contract.LongTerm(ctx, signed, cc.Policy, cc.Stamper)
	if err != nil {
		return nil, fmt.Errorf("body: contract %s B-LTA: %w", id, err)
	}
	if err := s.lastPasses(ctx, cc, c, &contract.Timeline{PDF: final}); err != nil {
		return fail(err)
	}
	return s.advance(ctx, c, actor, "contract.officer_sign", final, ContractSigned, officer)
}

// Timeline is the contract's timeline as stored: the final PDF (the
// current one before it is final), the steps and the OCSP answers.
func (s *Service) Timeline(ctx context.Context, c *Contract) (*contract.Timeline, error) {
	tl := &contract.Timeline{PDF: c.pdf}
	for q, dst := range map[string]*[][]byte{qContractSteps: &tl.Steps, qContractOCSPs: &tl.OCSPs} {
		rows, err := s.db.QueryContext(ctx, q, c.Body, c.ID)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				rows.Close()
				return nil, err
			}
			*dst = append(*dst, b)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return tl, nil
}

// Inspect appends the officer's inspection (検査).
func (s *Service) Inspect(ctx context.Context, body, id, officer string, signed []byte) (*Contract, error) {
	return s.step(ctx, body, id, contract.Officer, officer, signed)
}

// AgentStep appends the agent's acceptance (受領) or invoice (請求).
func (s *Service) AgentStep(ctx context.Context, body, id, agent string, signed []byte) (*Contract, error) {
	return s.step(ctx, body, id, contract.Agent, agent, signed)
}

// step checks a signed step and appends it: the contract is signed, the
// step is the next one (contract.Timeline.Append: kind, hash, contract),
// its signature and time-stamp verify, its party made it (the officer:
// the certificate's holder is the signed-in officer; the agent: the
// contract's agent, whose power covers 契約, or 請求 for the invoice, at
// the time-stamp's time), and the OCSP answers for its signer are kept.
func (s *Service) step(ctx context.Context, body, id string, party contract.Party, who string, signed []byte) (*Contract, error) {
	cc, err := s.contracts()
	if err != nil {
		return nil, err
	}
	c, err := s.Contract(ctx, body, id)
	if err != nil {
		return nil, err
	}
	actor := "agent:" + who
	if party == contract.Officer {
		actor = "staff:" + who
	}
	fail := func(err error) (*Contract, error) {
		return nil, s.refused(ctx, body, actor, "contract.step", c.Tender, err)
	}
	if party == contract.Agent && c.agent != who {
		return fail(refuse(ReasonNotParty, id))
	}
	if c.State != ContractSigned {
		return fail(refuse(ReasonSignOrder, "the contract is "+c.State))
	}
	tl, err := s.Timeline(ctx, c)
	if err != nil {
		return nil, err
	}
	kind := tl.Next()
	if err := tl.Append(signed); err != nil {
		return fail(stepRefusal(err))
	}
	if kind.Party() != party {
		return fail(stepRefusal(fmt.Errorf("%w: a %s by the %s", contract.ErrWrongParty, kind, party)))
	}
	sig, err := cms.Verify(signed, nil, cc.Policy.TSARoots)
	if err != nil || sig.Timestamp == nil {
		return fail(refuse(ReasonContractSignature, fmt.Sprint(err)))
	}
	if party == contract.Officer {
		if pid, err := cc.SignerPerson(ctx, sig.Signer); err != nil || pid != who {
			return fail(refuse(ReasonWrongSigner, fmt.Sprintf("the certificate's holder is %q (%v)", pid, err)))
		}
	} else {
		matter := procure.MatterContract
		if kind == contract.KindInvoice {
			matter = procure.MatterInvoice
		}
		if err := s.checkPower(ctx, c, matter, sig.Signer, sig.Timestamp.Time); err != nil {
			if _, ok := errors.AsType[*Refusal](err); ok {
				return fail(err)
			}
			return nil, err
		}
	}
	had := len(tl.OCSPs)
	if err := tl.AddValidationData(ctx, cc.Policy); err != nil {
		return nil, fmt.Errorf("body: contract %s: %w", id, err)
	}
	if err := s.lastPasses(ctx, cc, c, tl); err != nil {
		return fail(err)
	}
	seq := len(tl.Steps) - 1
	won := false
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		r, err := s.db.TxExec(ctx, tx, qInsertStep, body, id, seq, string(kind), signed, contract.Hash(signed), actor, ms(s.now()))
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n != 1 {
			return nil
		}
		won = true
		for i, der := range tl.OCSPs[had:] {
			if _, err := s.db.TxExec(ctx, tx, qInsertOCSP, body, id, had+i, der); err != nil {
				return err
			}
		}
		if _, err := s.db.TxExec(ctx, tx, qTouchContract, ms(s.now()), body, id, ContractSigned); err != nil {
			return err
		}
		return s.audit(ctx, tx, body, actor, "contract."+string(kind), c.Tender, "ok", id)
	})
	if err != nil {
		return nil, err
	}
	if !won {
		return fail(refuse(ReasonSignOrder, "the place was taken meanwhile"))
	}
	return s.Contract(ctx, body, id)
}

// stepRefusal is a Refusal with the contract package's reason and texts.
func stepRefusal(err error) *Refusal {
	var r contract.Reason
	if !errors.As(err, &r) {
		r = contract.ErrBadStep
	}
	ja, en := r.Messages()
	return &Refusal{Reason: Reason(r), MessageJA: ja, MessageEN: en, Detail: err.Error()}
}

// VerifyContract validates the contract's timeline (contract.Timeline.Verify)
// with the body's party checks: the officer is the one who signed the
// contract (the default), the agent's power covers 契約 and 請求.
func (s *Service) VerifyContract(ctx context.Context, c *Contract) (*contract.Report, *contract.Timeline, error) {
	cc, err := s.contracts()
	if err != nil {
		return nil, nil, err
	}
	tl, err := s.Timeline(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	return tl.Verify(ctx, cc.Policy, s.parties(c)), tl, nil
}

// parties are the body's checks of who may act: the agent's power covers
// 契約 (the contract, the acceptance) or 請求 (the invoice); the officer is
// the one who signed the contract (the default).
func (s *Service) parties(c *Contract) contract.Parties {
	return contract.Parties{Agent: func(ctx context.Context, kind contract.Kind, cert *x509.Certificate, at time.Time) error {
		matter := procure.MatterContract
		if kind == contract.KindInvoice {
			matter = procure.MatterInvoice
		}
		return s.checkPower(ctx, c, matter, cert, at)
	}}
}

// lastPasses refuses a timeline whose last element does not verify as the
// validator will later see it (e.g. a step time-stamped before the
// element before it): nothing is stored that `mynaplat verify` fails.
func (s *Service) lastPasses(ctx context.Context, cc *ContractConfig, c *Contract, tl *contract.Timeline) error {
	rep := tl.Verify(ctx, cc.Policy, s.parties(c))
	e := rep.Elements[len(rep.Elements)-1]
	if e.Indication == verify.TotalPassed {
		return nil
	}
	if e.Reason != "" {
		return &Refusal{Reason: Reason(e.Reason), MessageJA: e.MessageJA, MessageEN: e.MessageEN, Detail: string(e.SubIndication)}
	}
	return refuse(ReasonContractSignature, fmt.Sprintf("%s %s %s", e.Indication, e.SubIndication, e.MessageEN))
}
