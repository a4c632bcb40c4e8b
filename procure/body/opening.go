package body

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/sealedbid"
)

// The opening and the award (docs/procurement.md §5.6).
//
// The ceremony: after the deadline each opening officer, signed in with
// their own card on their own session, types their opening passphrase
// (Present). It opens their personal key, which opens the random
// passphrase of their share of the tender (SharePassphrase); that
// passphrase — which, with the stored sealed share, is the share — waits
// in this process's memory only, for at most OpeningConfig.Wait (by the
// body's clock when an officer comes, and by a timer when none does), for
// the next officer. It is never written anywhere. When k are there, the
// opening key is rebuilt (sealedbid.Open), every current bid and the
// estimate are decrypted, and the key is closed before any other check
// runs; then each bid is checked, the award made and the result stored
// with one conditional UPDATE, so that two openings racing give one
// result. A restart (or a Wait gone by) forgets the waiting shares: the
// officers present again; nothing was stored but audit rows.

// Tender states after the opening.
const (
	// StateAwarded: opened, and a bid won.
	StateAwarded = "awarded"
	// StateOpened: opened, and no valid bid was within the estimate (不落).
	StateOpened = "opened"
)

// Powers is the register of powers as the opening reads it: the
// in-process delegation.Service or its HTTP delegation.Client.
type Powers interface {
	Get(ctx context.Context, id string) (*delegation.Record, error)
	Check(ctx context.Context, q delegation.Query) (delegation.Result, error)
}

// Corporations is the corporate registry as the opening reads it
// (corpreg.Client).
type Corporations interface {
	Corporation(ctx context.Context, number string) (*corpreg.Corporation, error)
}

// CertificateStatus says whether a JPKI signing certificate has been
// revoked and since when (the JPKI centre's OCSP through
// jpki.SigningVerifier.Revocation); an error when that cannot be known.
type CertificateStatus func(ctx context.Context, cert *x509.Certificate) (revoked bool, at time.Time, err error)

// OpeningConfig is what the opening needs besides the body's own.
type OpeningConfig struct {
	// Verify checks a bid's CMS SignedData and its signature time-stamp
	// (delegation.VerifyCMS with the TSA's roots).
	Verify       delegation.SignatureVerifier
	Powers       Powers
	Corporations Corporations
	// Status is the signing certificate's revocation.
	Status CertificateStatus
	// Wait is how long a presented share waits for the next officer
	// (DefaultOpeningWait when 0).
	Wait time.Duration
	// Workers bounds the bids checked at once (8 when 0): the checks
	// wait on other roles, not on these cores.
	Workers int
}

// DefaultOpeningWait: the officers open together, in one sitting.
const DefaultOpeningWait = 15 * time.Minute

// waiting are the shares presented for one tender, in memory only.
type waiting struct {
	since  time.Time
	shares map[string][]byte // officer → their share's passphrase
	// timer clears the shares when the wait runs out, even if nobody
	// comes back to the tender.
	timer *time.Timer
}

func (w *waiting) clear() {
	if w.timer != nil {
		w.timer.Stop()
	}
	for _, p := range w.shares {
		clear(p)
	}
	clear(w.shares)
}

// Presented is where an opening stands after an officer presented.
type Presented struct {
	// Officers are those whose shares wait (or were used), Need the k.
	Officers []string
	Need     int
	// Until is when the waiting shares are forgotten.
	Until time.Time
	// Result is the opening's, once k were there (or it was opened before).
	Result *Result
}

// Result is an opening's outcome, published on the tender's page, in its
// JSON and in the Atom feed.
type Result struct {
	OpenedAt    time.Time   `json:"opened_at"`
	Officers    []string    `json:"officers"`
	EstimateYen int64       `json:"estimate_yen"`
	Bids        []BidResult `json:"bids"`
	// Winner is the winning bid's ID; "" is 不落 (no valid bid within the
	// estimate).
	Winner         string `json:"winner,omitempty"`
	WinnerNumber   string `json:"winner_corporate_number,omitempty"`
	WinnerName     string `json:"winner_name,omitempty"`
	WinnerPriceYen int64  `json:"winner_price_yen,omitempty"`
	// Lot is the draw among equal lowest prices, when there was one.
	Lot *Lot `json:"lot,omitempty"`
	// WinnerPower is the winning bid's power: stored apart
	// (body_tenders.winner_power), not published, not in the stored
	// result.
	WinnerPower string `json:"-"`
}

// Awarded reports whether a bid won.
func (r *Result) Awarded() bool { return r.Winner != "" }

// BidResult is one bid as the opening judged it.
type BidResult struct {
	BidID           string    `json:"bid_id"`
	CorporateNumber string    `json:"corporate_number"`
	CorporationName string    `json:"corporation_name,omitempty"`
	ReceivedAt      time.Time `json:"received_at"`
	// SignedAt is the signature time-stamp's time, once it verified.
	SignedAt *time.Time `json:"signed_at,omitempty"`
	// PriceYen is the price signed, once the content was read (0 before).
	PriceYen int64 `json:"price_yen,omitempty"`
	// Valid: every check passed. A valid bid above the estimate has
	// Reason over_estimate; an invalid one the reason of its first
	// failed check; a replaced one (not opened) Reason replaced.
	Valid     bool   `json:"valid"`
	Reason    Reason `json:"reason,omitempty"`
	MessageJA string `json:"message_ja,omitempty"`
	MessageEN string `json:"message_en,omitempty"`
	Detail    string `json:"-"`
	// ReplacedBy is the later bid of the business that replaced this one.
	ReplacedBy string `json:"replaced_by,omitempty"`
	// PowerID is the power the bid was signed under (not published).
	PowerID string `json:"-"`
}

// Lot is a draw by lot (くじ) among bids of the same lowest valid price:
// Value is drawn with crypto/rand uniformly below len(Tied) and picks
// Tied[Value] (Tied in bid ID order).
type Lot struct {
	Tied   []string `json:"tied"`
	Value  int64    `json:"value"`
	Winner string   `json:"winner"`
}

func (r *BidResult) fail(reason Reason, detail string) {
	ja, en := reason.Messages()
	r.failWith(reason, ja, en, detail)
}

func (r *BidResult) failWith(reason Reason, ja, en, detail string) {
	r.Valid, r.Reason, r.MessageJA, r.MessageEN, r.Detail = false, reason, ja, en, detail
}

func waitKey(body, tender string) string { return body + "/" + tender }

// Present is one officer's part of the ceremony: their opening passphrase
// unlocks their share, which waits in memory for the others; with k the
// tender is opened. A tender already opened answers its result.
func (s *Service) Present(ctx context.Context, body, tender, officer string, passphrase []byte) (*Presented, error) {
	actor := "staff:" + officer
	t, err := s.Tender(ctx, body, tender)
	if err != nil {
		return nil, err
	}
	if t.Result != nil {
		return &Presented{Need: t.K, Officers: t.Result.Officers, Result: t.Result}, nil
	}
	if s.opening == nil {
		return nil, fmt.Errorf("%w: this deployment does not open tenders (no OpeningConfig)", ErrInvalid)
	}
	now := s.clock()
	if now.Before(t.Deadline) {
		return nil, s.refused(ctx, body, actor, "present", tender, refuse(ReasonTooEarly, t.Deadline.Format(time.RFC3339)))
	}
	sp, err := s.SharePassphrase(ctx, body, tender, officer, passphrase)
	if errors.Is(err, ErrNotFound) {
		err = refuse(ReasonNotOpener, officer)
	}
	if err != nil {
		return nil, s.refused(ctx, body, actor, "present", tender, err)
	}
	key := waitKey(body, tender)
	s.mu.Lock()
	w := s.waiting[key]
	if w != nil && now.Sub(w.since) > s.opening.Wait {
		w.clear()
		w = nil
	}
	if w == nil {
		w = &waiting{since: now, shares: map[string][]byte{}}
		s.waiting[key] = w
		w.timer = time.AfterFunc(s.opening.Wait, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.waiting[key] == w {
				w.clear()
				delete(s.waiting, key)
			}
		})
	}
	clear(w.shares[officer])
	w.shares[officer] = sp
	out := &Presented{Need: t.K, Until: w.since.Add(s.opening.Wait)}
	for o := range w.shares {
		out.Officers = append(out.Officers, o)
	}
	slices.Sort(out.Officers)
	var shares map[string][]byte
	if len(w.shares) >= t.K {
		// The shares leave the waiting room at once: whatever the opening
		// does, they are used once and cleared.
		shares = w.shares
		w.timer.Stop()
		delete(s.waiting, key)
	}
	s.mu.Unlock()
	if shares == nil {
		return out, s.audit(ctx, nil, body, actor, "present", tender, "ok", fmt.Sprintf("%d of %d", len(out.Officers), t.K))
	}
	defer func() {
		for _, p := range shares {
			clear(p)
		}
	}()
	if err := s.audit(ctx, nil, body, actor, "present", tender, "ok", fmt.Sprintf("%d of %d", len(out.Officers), t.K)); err != nil {
		return nil, err
	}
	// The shares are used now or never: an officer closing the page must
	// not cut the opening short and make everyone start again.
	res, err := s.open(context.WithoutCancel(ctx), t, actor, shares)
	if err != nil {
		return nil, err
	}
	out.Result = res
	return out, nil
}

// Waiting are the officers whose shares wait for a tender's opening.
func (s *Service) Waiting(body, tender string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.waiting[waitKey(body, tender)]
	if w == nil || s.opening == nil || s.clock().Sub(w.since) > s.opening.Wait {
		return nil
	}
	var out []string
	for o := range w.shares {
		out = append(out, o)
	}
	slices.Sort(out)
	return out
}

// OpenTender opens a tender with the opening passphrases of the officers
// given, in one call (the tests and the bench; the officers' pages use
// Present). Fewer than k is refused opening_quorum and decrypts nothing.
func (s *Service) OpenTender(ctx context.Context, body, tender string, passphrases map[string][]byte) (*Result, error) {
	t, err := s.Tender(ctx, body, tender)
	if err != nil {
		return nil, err
	}
	if t.Result != nil {
		return t.Result, nil
	}
	if s.opening == nil {
		return nil, fmt.Errorf("%w: this deployment does not open tenders (no OpeningConfig)", ErrInvalid)
	}
	officers := slices.Sorted(func(yield func(string) bool) {
		for o := range passphrases {
			if !yield(o) {
				return
			}
		}
	})
	actor := "staff:" + strings.Join(officers, ",")
	if now := s.clock(); now.Before(t.Deadline) {
		return nil, s.refused(ctx, body, actor, "open", tender, refuse(ReasonTooEarly, t.Deadline.Format(time.RFC3339)))
	}
	shares := map[string][]byte{}
	defer func() {
		for _, p := range shares {
			clear(p)
		}
	}()
	for _, o := range officers {
		sp, err := s.SharePassphrase(ctx, body, tender, o, passphrases[o])
		if errors.Is(err, ErrNotFound) {
			err = refuse(ReasonNotOpener, o)
		}
		if err != nil {
			return nil, s.refused(ctx, body, actor, "open", tender, err)
		}
		shares[o] = sp
	}
	return s.open(ctx, t, actor, shares)
}

// opened is a bid decrypted (or not) with the key.
type opened struct {
	bid    *Bid
	signed []byte
	err    error
}

// open rebuilds the key from the shares' passphrases, decrypts, closes the
// key, checks every bid, awards and stores the result once.
func (s *Service) open(ctx context.Context, t *Tender, actor string, shares map[string][]byte) (*Result, error) {
	rows, err := s.Sealed(ctx, t.Body, t.ID)
	if err != nil {
		return nil, err
	}
	bids, err := s.bids(ctx, t.Body, t.ID)
	if err != nil {
		return nil, err
	}
	officers := slices.Sorted(func(yield func(string) bool) {
		for o := range shares {
			if !yield(o) {
				return
			}
		}
	})
	estimate, decrypted, err := s.decrypt(rows, bids, shares)
	if err != nil {
		if errors.Is(err, sealedbid.ErrNotEnoughShares) {
			err = refuse(ReasonQuorum, err.Error())
		}
		return nil, s.refused(ctx, t.Body, actor, "open", t.ID, err)
	}
	defer func() {
		for _, d := range decrypted {
			clear(d.signed)
		}
	}()
	if estimate.Body != t.Body || estimate.Tender != t.ID || estimate.Yen <= 0 {
		return nil, fmt.Errorf("body: the sealed estimate of tender %s names another tender", t.ID)
	}
	res := &Result{OpenedAt: s.clock(), Officers: officers, EstimateYen: estimate.Yen, Bids: make([]BidResult, len(decrypted))}
	if err := s.checkAll(ctx, t, estimate.Yen, decrypted, res.Bids); err != nil {
		return nil, err
	}
	if err := award(res); err != nil {
		return nil, err
	}
	return s.store(ctx, t, actor, res)
}

// decrypt rebuilds the key, opens the estimate and every bid, and closes
// the key before returning: nothing after this needs it.
func (s *Service) decrypt(rows *SealedRows, bids []*Bid, shares map[string][]byte) (*Estimate, []opened, error) {
	op, err := sealedbid.Open(rows.Certificate, rows.Shares, shares)
	if err != nil {
		return nil, nil, err
	}
	defer op.Close()
	raw, err := op.Decrypt(rows.Estimate)
	if err != nil {
		return nil, nil, fmt.Errorf("body: the sealed estimate: %w", err)
	}
	var est Estimate
	err = json.Unmarshal(raw, &est)
	clear(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("body: the sealed estimate: %w", err)
	}
	out := make([]opened, len(bids))
	s.parallel(len(bids), func(i int) {
		out[i].bid = bids[i]
		if bids[i].ReplacedBy == "" {
			out[i].signed, out[i].err = op.Decrypt(bids[i].Envelope)
		}
	})
	return &est, out, nil
}

// parallel runs f(0…n-1) on the configured number of workers.
func (s *Service) parallel(n int, f func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(s.opening.Workers, max(n, 1)) {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// checkAll checks every bid into out, in parallel; an error (a role that
// did not answer) fails the whole opening, which stores nothing.
func (s *Service) checkAll(ctx context.Context, t *Tender, estimate int64, bids []opened, out []BidResult) error {
	c := &checker{s: s, t: t, estimate: estimate, status: map[[32]byte]*certStatus{}}
	errs := make([]error, len(bids))
	s.parallel(len(bids), func(i int) { out[i], errs[i] = c.check(ctx, bids[i]) })
	return errors.Join(errs...)
}

// checker checks the bids of one opening. It asks the JPKI centre about
// each signing certificate once per opening (an agent bidding for several
// businesses signs with one certificate): the answer is the status now,
// which every bid compares with its own time-stamp.
type checker struct {
	s        *Service
	t        *Tender
	estimate int64
	mu       sync.Mutex
	status   map[[32]byte]*certStatus
}

type certStatus struct {
	once    sync.Once
	revoked bool
	at      time.Time
	err     error
}

func (c *checker) revokedAt(ctx context.Context, cert *x509.Certificate) (bool, time.Time, error) {
	key := sha256.Sum256(cert.Raw)
	c.mu.Lock()
	st := c.status[key]
	if st == nil {
		st = &certStatus{}
		c.status[key] = st
	}
	c.mu.Unlock()
	st.once.Do(func() { st.revoked, st.at, st.err = c.s.opening.Status(ctx, cert) })
	return st.revoked, st.at, st.err
}

// check judges one bid: the checks in the order of docs/procurement.md
// §5.6, the first failure its reason.
func (c *checker) check(ctx context.Context, o opened) (BidResult, error) {
	b := o.bid
	r := BidResult{BidID: b.ID, CorporateNumber: b.CorporateNumber, ReceivedAt: b.ReceivedAt, ReplacedBy: b.ReplacedBy}
	if b.ReplacedBy != "" {
		r.fail(ReasonReplaced, b.ReplacedBy)
		return r, nil
	}
	if o.err != nil {
		r.fail(ReasonBadEnvelope, o.err.Error())
		return r, nil
	}
	content, signer, signedAt, err := c.s.opening.Verify(o.signed)
	if err != nil {
		r.fail(ReasonBadSignature, err.Error())
		return r, nil
	}
	signedAt = signedAt.UTC()
	r.SignedAt = &signedAt
	if !signedAt.Before(c.t.Deadline) {
		r.fail(ReasonLate, signedAt.Format(time.RFC3339Nano))
		return r, nil
	}
	bc, err := ParseBid(content)
	if err != nil {
		r.fail(ReasonBadSignature, err.Error())
		return r, nil
	}
	r.PriceYen, r.CorporationName, r.PowerID = bc.PriceYen, bc.CorporationName, bc.PowerID
	if bc.Body != c.t.Body || bc.Tender != c.t.ID || bc.CorporateNumber != b.CorporateNumber {
		r.fail(ReasonMismatch, fmt.Sprintf("signed for %s/%s by %s", bc.Body, bc.Tender, bc.CorporateNumber))
		return r, nil
	}
	revoked, at, err := c.revokedAt(ctx, signer)
	if err != nil {
		return r, fmt.Errorf("body: the revocation of bid %s's certificate: %w", b.ID, err)
	}
	if revoked && !signedAt.Before(at) {
		r.fail(ReasonRevokedCert, at.Format(time.RFC3339))
		return r, nil
	}
	op := c.s.opening
	rec, err := op.Powers.Get(ctx, bc.PowerID)
	if errors.Is(err, delegation.ErrNotFound) {
		ja, en := delegation.UnknownPower.Messages()
		r.failWith(Reason(delegation.UnknownPower), ja, en, bc.PowerID)
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("body: power %s: %w", bc.PowerID, err)
	}
	if rec.Power.Agent.PlatformID != bc.AgentPlatformID {
		r.fail(ReasonMismatch, "the power's agent is not the bid's")
		return r, nil
	}
	res, err := op.Powers.Check(ctx, delegation.Query{Power: rec.CMS, CorporateNumber: bc.CorporateNumber, DocType: procure.MatterBid,
		Signer: signer, At: signedAt})
	if err != nil {
		return r, fmt.Errorf("body: check power %s: %w", bc.PowerID, err)
	}
	if !res.OK {
		r.failWith(Reason(res.Reason), res.MessageJA, res.MessageEN, bc.PowerID)
		return r, nil
	}
	if rec.Power.Parent != "" {
		r.fail(ReasonSubDelegated, bc.PowerID)
		return r, nil
	}
	corp, err := op.Corporations.Corporation(ctx, bc.CorporateNumber)
	if err != nil {
		// delegation.Check has just found the corporation registered.
		return r, fmt.Errorf("body: corporation %s: %w", bc.CorporateNumber, err)
	}
	if name := corp.NameAt(signedAt); rec.Power.Principal.CorporationName != name || bc.CorporationName != name {
		r.fail(ReasonNameMismatch, fmt.Sprintf("power %q, bid %q, registry %q at %s", rec.Power.Principal.CorporationName, bc.CorporationName,
			name, signedAt.Format(time.RFC3339)))
		return r, nil
	}
	q, err := c.s.register.QualificationAt(ctx, bc.CorporateNumber, signedAt)
	if errors.Is(err, procure.ErrNotFound) {
		r.fail(ReasonNotQualified, "at "+signedAt.Format(time.RFC3339))
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("body: qualification of %s: %w", bc.CorporateNumber, err)
	}
	if rec.Power.NotAfter.After(q.ValidUntil) {
		r.fail(ReasonPowerOutlasts, fmt.Sprintf("power until %s, qualification until %s", rec.Power.NotAfter.Format(time.DateOnly),
			q.ValidUntil.Format(time.DateOnly)))
		return r, nil
	}
	g := q.Grade(c.t.Field)
	if g == "" {
		r.fail(ReasonNotQualified, "no grade in "+string(c.t.Field))
		return r, nil
	}
	if !g.Covers(c.t.Field, c.estimate) {
		r.fail(ReasonGradeTooLow, string(g))
		return r, nil
	}
	r.Valid = true
	if bc.PriceYen > c.estimate {
		ja, en := ReasonOverEstimate.Messages()
		r.Reason, r.MessageJA, r.MessageEN = ReasonOverEstimate, ja, en
	}
	return r, nil
}

// award picks the lowest valid price within the estimate; equal lowest
// prices are drawn by lot with crypto/rand. No such bid is 不落.
func award(res *Result) error {
	var best []*BidResult
	for i := range res.Bids {
		b := &res.Bids[i]
		if !b.Valid || b.Reason != "" {
			continue
		}
		switch {
		case len(best) == 0 || b.PriceYen < best[0].PriceYen:
			best = []*BidResult{b}
		case b.PriceYen == best[0].PriceYen:
			best = append(best, b)
		}
	}
	if len(best) == 0 {
		return nil
	}
	slices.SortFunc(best, func(x, y *BidResult) int { return cmp.Compare(x.BidID, y.BidID) })
	win := best[0]
	if len(best) > 1 {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(best))))
		if err != nil {
			return err
		}
		lot := &Lot{Value: n.Int64()}
		for _, b := range best {
			lot.Tied = append(lot.Tied, b.BidID)
		}
		win = best[lot.Value]
		lot.Winner = win.BidID
		res.Lot = lot
	}
	res.Winner, res.WinnerNumber, res.WinnerName, res.WinnerPriceYen = win.BidID, win.CorporateNumber, win.CorporationName, win.PriceYen
	res.WinnerPower = win.PowerID
	return nil
}

// store writes the result with one conditional UPDATE (only a tender still
// open is opened): of two openings racing, one stores and the other
// answers the stored result.
func (s *Service) store(ctx context.Context, t *Tender, actor string, res *Result) (*Result, error) {
	raw, err := json.Marshal(res)
	if err != nil {
		return nil, err
	}
	state := StateOpened
	detail := "不落 (no award)"
	if res.Awarded() {
		state = StateAwarded
		detail = fmt.Sprintf("winner %s %s at %d yen", res.WinnerNumber, res.Winner, res.WinnerPriceYen)
		if res.Lot != nil {
			detail += fmt.Sprintf(" by lot among %d (value %d)", len(res.Lot.Tied), res.Lot.Value)
		}
	}
	won := false
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		r, err := s.db.TxExec(ctx, tx, qOpenTender, state, ms(res.OpenedAt), string(raw), t.Body, t.ID, StateOpen)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n != 1 {
			return nil
		}
		won = true
		if res.Awarded() {
			if _, err := s.db.TxExec(ctx, tx, qWinnerPower, res.WinnerPower, t.Body, t.ID); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, t.Body, actor, "open", t.ID, "ok", fmt.Sprintf("%d bids; %s", len(res.Bids), detail))
	})
	if err != nil {
		return nil, err
	}
	if won {
		s.logger.InfoContext(ctx, "body: tender opened", "body", t.Body, "tender", t.ID, "bids", len(res.Bids), "state", state)
		return res, nil
	}
	stored, err := s.Tender(ctx, t.Body, t.ID)
	if err != nil {
		return nil, err
	}
	if stored.Result == nil {
		return nil, fmt.Errorf("body: tender %s is %s without a result", t.ID, stored.State)
	}
	return stored.Result, nil
}

func parseResult(raw string) (*Result, error) {
	if raw == "" {
		return nil, nil
	}
	var r Result
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return nil, fmt.Errorf("body: stored result: %w", err)
	}
	return &r, nil
}
