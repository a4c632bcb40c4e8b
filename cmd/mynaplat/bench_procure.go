package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/mynumber"
	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/procure/body"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/tsa"
)

// bench procure (issue 19 §5; docs/procurement.md §5.5–§5.6): many
// bidding companies send their sealed bids in the last minute before a
// tender's deadline, a few just after it, and then the tender is opened.
//
// The world is set up on the server's data directory and database, as the
// other benches do, and kept for the next run (bench-fixtures/): agents
// with JPKI cards issued by the demo's centre (in a card store of the
// bench's own, <data>/bench/procure-cards), each logged in once at the
// platform so that it knows their signing certificate; companies in the
// corporate registry, each with a representative whose key signs a power
// (入札 and 競争参加資格申請) to one of the agents, registered over the
// delegation register's API; each company's qualification application
// signed by its agent's card, filed at the register and granted (grade A in
// 物品の販売). The bench's opening officers enroll at 関東地方整備局 once.
// None of that is timed.
//
// A run publishes a tender (k = 2 of 3 bench officers, estimate in grade
// A's band) whose deadline ends the window, has every company's agent sign
// and seal its bid (body.SealBid: the card's signature, the TSA's
// time-stamp, the opening certificate) before the window, and posts them
// with body.Client.Bid over the window — spread, with a burst in its last
// seconds — each company from a loopback address of its own (the intake
// limits each address, as it would each company's office). A few more bids
// are posted just after the deadline: they must be refused late.
//
// The opening runs in this process with Service.OpenTender (the one-call
// form the design record keeps for the tests and the bench: the officers'
// pages would need their staff cards), as a separate `serve --roles
// bodies` would: the body's database and keys are the server's, and every
// check it makes — power, corporation, qualification, certificate status
// — goes to the target's APIs, whose CPU is measured beside this
// process's.

// ProcureBenchResult is the JSON line bench procure prints last.
type ProcureBenchResult struct {
	Target  string `json:"target"`
	Bidders int    `json:"bidders"`
	Agents  int    `json:"agents"`
	Tender  string `json:"tender"`
	// WindowSeconds is the time over which the bids were sent, ending at
	// the deadline.
	WindowSeconds float64 `json:"window_s"`
	SetupSeconds  float64 `json:"setup_s"`
	SealSeconds   float64 `json:"seal_s"`
	// Accepted bids got a receipt; RefusedLate were refused late (all
	// sent at or after the deadline, LateSent of them); AcceptedLate are
	// receipts whose received_at is at or after the deadline (must be 0);
	// Lost are bids sent before the deadline that got neither a receipt
	// nor a late refusal, or that the opening does not list (must be 0).
	Accepted     int64   `json:"accepted"`
	LateSent     int     `json:"late_sent"`
	RefusedLate  int64   `json:"refused_late"`
	AcceptedLate int64   `json:"accepted_late"`
	Lost         int64   `json:"lost"`
	Errors       int64   `json:"errors"`
	P50Millis    float64 `json:"intake_p50_ms"`
	P99Millis    float64 `json:"intake_p99_ms"`
	// ServerCPUMillisPerBid is the server's CPU over the window per bid
	// accepted.
	ServerCPUMillisPerBid float64 `json:"server_cpu_ms_per_bid"`
	// The opening: wall time, this process's CPU (decryption and the
	// checks), the server's CPU (the look-ups it answered), the bids in
	// the result and how many were valid.
	OpeningSeconds       float64 `json:"opening_s"`
	OpeningBenchCPU      float64 `json:"opening_bench_cpu_s"`
	OpeningServerCPU     float64 `json:"opening_server_cpu_s"`
	OpenedBids           int     `json:"opened_bids"`
	ValidBids            int     `json:"valid_bids"`
	LateInResult         int     `json:"late_in_result"`
	Winner               string  `json:"winner"`
	OpeningCPUMillisPBid float64 `json:"opening_cpu_ms_per_bid"`
	// The opening's phases: the officers' passphrases, the key and the
	// decryption (until the first bid's signature is checked); the
	// checks (until the last look-up answers); the award and the stored
	// result. Lookups are the mean latency of each look-up the checks
	// make at the target, in ms.
	DecryptSeconds float64            `json:"opening_decrypt_s"`
	CheckSeconds   float64            `json:"opening_checks_s"`
	StoreSeconds   float64            `json:"opening_store_s"`
	Lookups        map[string]float64 `json:"lookup_ms"`
	Workers        int                `json:"workers"`
	CPUs           int                `json:"cpus"`
}

// The bench's opening officers at 関東地方整備局 (not staff of the
// directory: OpenTender takes their passphrases directly).
var benchOfficers = []struct{ id, name, pass string }{
	{"bench-officer-1", "負荷試験　開札官一", "負荷試験の開札官その一の合言葉"},
	{"bench-officer-2", "負荷試験　開札官二", "負荷試験の開札官その二の合言葉"},
	{"bench-officer-3", "負荷試験　開札官三", "負荷試験の開札官その三の合言葉"},
}

const (
	benchBody = "kanto"
	// benchEstimate lies in grade A's band of 物品の販売 (3,000 万円以上).
	benchEstimate = 45_000_000
)

// benchAgent is an agent's card in the bench's card store.
type benchAgent struct {
	CardID     string `json:"card_id"`
	Name       string `json:"name"`
	PlatformID string `json:"platform_id"`
	SignPIN    string `json:"sign_pin"`
}

// benchCompany is a bidding company: qualified, with a power to Agent.
type benchCompany struct {
	Number  string `json:"corporate_number"`
	Name    string `json:"name"`
	PowerID string `json:"power_id"`
	Agent   int    `json:"agent"`
}

func benchProcure(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var d dataFlags
	d.register(fs)
	target := fs.String("target", "http://127.0.0.1:8080", "URL of a running mynaplat serve --demo (every role)")
	bidders := fs.Int("bidders", 1000, "bidding companies (each qualified, with its agent's power)")
	agents := fs.Int("agents", 0, "agents with JPKI cards, company i's agent being i mod agents (default one per company)")
	window := fs.Duration("window", time.Minute, "the bids are sent over this window, which ends at the deadline")
	late := fs.Int("late", -1, "bids sent just after the deadline (default bidders/50, at least 1)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process during the opening")
	workers := fs.Int("workers", 0, "bids the opening checks at once (body.OpeningConfig.Workers; 0 is the body's default, as the bodies role runs it)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *agents == 0 {
		*agents = *bidders
	}
	if *bidders < 1 || *agents < 1 || *window < time.Second || *bidders > 100000 {
		return errors.New("--bidders 1–100000, --agents ≥ 1, --window ≥ 1s")
	}
	if *late < 0 {
		*late = max(1, *bidders/50)
	}
	*late = min(*late, *bidders)
	base := strings.TrimRight(*target, "/")
	hc := benchHTTPClient(64, 30*time.Second)
	res := ProcureBenchResult{Target: base, Bidders: *bidders, Agents: *agents, CPUs: runtime.NumCPU(), LateSent: *late}

	start := time.Now()
	env, err := openProcureBench(ctx, d, base, hc, *workers)
	if err != nil {
		return err
	}
	defer env.close()
	ags, err := env.agents(ctx, *agents, out)
	if err != nil {
		return err
	}
	companies, err := env.companies(ctx, ags, *bidders, out)
	if err != nil {
		return err
	}
	if err := env.enroll(ctx); err != nil {
		return err
	}
	res.SetupSeconds = time.Since(start).Seconds()
	fmt.Fprintf(out, "bench: %d companies, %d agents ready in %.1fs\n", len(companies), len(ags), res.SetupSeconds)

	// The tender: its deadline leaves time to seal every bid, then the
	// window.
	sealAllowance := 3*time.Second + time.Duration(*bidders+*late)*15*time.Millisecond
	deadline := time.Now().Add(sealAllowance + *window).Truncate(time.Second)
	officers := make([]string, len(benchOfficers))
	for i, o := range benchOfficers {
		officers[i] = o.id
	}
	tn, err := env.bodies.Publish(ctx, benchBody, officers[0], body.TenderRequest{
		Title: "負荷試験 " + time.Now().Format("2006-01-02 15:04:05"), Item: "事務用品", Field: procure.FieldSale,
		EstimateYen: benchEstimate, Deadline: deadline, Officers: officers, K: 2})
	if err != nil {
		return fmt.Errorf("bench: publish the tender: %w", err)
	}
	res.Tender = tn.ID
	fmt.Fprintf(out, "bench: tender %s, grade %s, deadline %s\n", tn.ID, tn.Grade, deadline.Format(time.RFC3339))

	sealStart := time.Now()
	bids, err := env.seal(ctx, tn, ags, companies, *late)
	if err != nil {
		return err
	}
	res.SealSeconds = time.Since(sealStart).Seconds()
	fmt.Fprintf(out, "bench: %d bids signed, time-stamped and sealed in %.1fs\n", len(bids), res.SealSeconds)
	if left := time.Until(deadline); left < *window {
		fmt.Fprintf(out, "bench: sealing ran into the window: bids go out over the last %.1fs only\n", left.Seconds())
	}

	cpu := serverCPUMeter(ctx, hc, base, out)
	fire := fireBids(ctx, base, tn, bids[:len(companies)], bids[len(companies):], deadline, *window)
	res.WindowSeconds = fire.window.Seconds()
	res.Accepted, res.RefusedLate, res.AcceptedLate, res.Lost, res.Errors = fire.accepted, fire.refusedLate, fire.acceptedLate, fire.lost, fire.errs
	res.ServerCPUMillisPerBid = cpu(res.Accepted)
	sum := summarize(fire.window, [][]time.Duration{fire.lat}, res.Accepted, res.Errors)
	res.P50Millis, res.P99Millis = sum.P50Millis, sum.P99Millis
	fmt.Fprintf(out, "bench: %d accepted, %d refused late (%d sent late), %d accepted after the deadline, %d lost, %d errors; intake p50 %.1f ms, p99 %.1f ms, server CPU %.2f ms a bid\n",
		res.Accepted, res.RefusedLate, res.LateSent, res.AcceptedLate, res.Lost, res.Errors, res.P50Millis, res.P99Millis, res.ServerCPUMillisPerBid)

	// The opening, once the body's clock has passed the deadline.
	time.Sleep(time.Until(deadline) + 100*time.Millisecond)
	pass := map[string][]byte{}
	for _, o := range benchOfficers[:2] {
		pass[o.id] = []byte(o.pass)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	serverBefore, serr := serverCPU(ctx, hc, base)
	ownBefore, _ := ownCPU()
	env.phases.reset()
	openStart := time.Now()
	result, err := env.bodies.OpenTender(ctx, benchBody, tn.ID, pass)
	openEnd := time.Now()
	res.OpeningSeconds = openEnd.Sub(openStart).Seconds()
	res.DecryptSeconds, res.CheckSeconds, res.StoreSeconds, res.Lookups = env.phases.report(openStart, openEnd)
	res.Workers = *workers
	ownAfter, _ := ownCPU()
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return fmt.Errorf("bench: the opening: %w", err)
	}
	if serr == nil {
		if after, err := serverCPU(ctx, hc, base); err == nil {
			res.OpeningServerCPU = after - serverBefore
		}
	}
	res.OpeningBenchCPU = (ownAfter - ownBefore).Seconds()
	res.OpenedBids, res.Winner = len(result.Bids), result.WinnerNumber
	inResult := map[string]body.BidResult{}
	for _, b := range result.Bids {
		inResult[b.BidID] = b
		if b.Valid {
			res.ValidBids++
		}
		if !b.ReceivedAt.Before(deadline) {
			res.LateInResult++
		}
	}
	for _, id := range fire.bidIDs {
		if _, ok := inResult[id]; !ok {
			res.Lost++
		}
	}
	if res.OpenedBids > 0 {
		res.OpeningCPUMillisPBid = (res.OpeningBenchCPU + res.OpeningServerCPU) * 1000 / float64(res.OpenedBids)
	}
	if res.ValidBids < len(result.Bids) {
		for _, b := range result.Bids {
			if !b.Valid {
				fmt.Fprintf(out, "bench: bid %s of %s invalid: %s (%s)\n", b.BidID, b.CorporateNumber, b.Reason, b.Detail)
				break
			}
		}
	}
	fmt.Fprintf(out, "bench: opened %d bids in %.2fs (%d valid, %d received after the deadline; winner %s): this process %.2f CPU-s, the server %.2f CPU-s, %.2f CPU-ms a bid\n",
		res.OpenedBids, res.OpeningSeconds, res.ValidBids, res.LateInResult, res.Winner, res.OpeningBenchCPU, res.OpeningServerCPU, res.OpeningCPUMillisPBid)
	fmt.Fprintf(out, "bench: the opening's phases: key and decryption %.2fs, checks %.2fs, award and store %.2fs; look-ups (mean ms) %v\n",
		res.DecryptSeconds, res.CheckSeconds, res.StoreSeconds, res.Lookups)
	b, _ := json.Marshal(res)
	fmt.Fprintln(out, string(b))
	return nil
}

// procureBench is what setting up and opening need: the server's
// database and data directory, and the target's APIs.
type procureBench struct {
	d       dataFlags
	base    string
	hc      *http.Client
	w       *world
	cards   *card.Store
	stamper *tsa.Client
	roots   *x509.CertPool
	powers  *delegation.Client
	bodies  *body.Service
	logger  *slog.Logger
	// phases times the opening's calls.
	phases *openingPhases
}

func openProcureBench(ctx context.Context, d dataFlags, base string, hc *http.Client, workers int) (*procureBench, error) {
	logger := newLogger(false, slog.LevelWarn)
	w, err := openWorld(ctx, d, logger, base)
	if err != nil {
		return nil, err
	}
	e := &procureBench{d: d, base: base, hc: hc, w: w, logger: logger, stamper: &tsa.Client{URL: base + "/tsa", HTTP: hc},
		powers: &delegation.Client{BaseURL: base, HTTP: hc}}
	fail := func(err error) (*procureBench, error) {
		w.Close()
		return nil, err
	}
	if e.cards, err = card.NewStore(filepath.Join(d.data, "bench", "procure-cards"), time.Now); err != nil {
		return fail(err)
	}
	if e.roots, err = benchTSARoots(ctx, hc, base); err != nil {
		return fail(err)
	}
	jc := &jpki.Client{BaseURL: base, HTTP: hc}
	signCA, err := jc.CACertificate(ctx, jpki.Sign)
	if err != nil {
		return fail(fmt.Errorf("bench: the JPKI signing CA: %w", err))
	}
	signing := &jpki.SigningVerifier{CA: signCA, OCSP: jc.OCSP}
	ph := &openingPhases{calls: map[string]*lookupStat{}}
	e.phases = ph
	verify := delegation.VerifyCMS(e.roots)
	opening := &body.OpeningConfig{
		Verify: func(der []byte) ([]byte, *x509.Certificate, time.Time, error) {
			ph.mark()
			return verify(der)
		},
		Powers:       timedPowers{e.powers, ph},
		Corporations: timedCorporations{&corpreg.Client{BaseURL: base, HTTP: hc}, ph},
		Status: func(ctx context.Context, cert *x509.Certificate) (bool, time.Time, error) {
			defer ph.time("ocsp")()
			st, err := signing.Revocation(ctx, cert, time.Now())
			return st.Revoked, st.RevokedAt, err
		}, Workers: workers}
	if e.bodies, err = body.New(ctx, body.Config{DB: w.db, Bodies: demoBodies, KeyDir: filepath.Join(d.data, "bodies"),
		Register: timedRegister{&procure.Client{BaseURL: base, HTTP: hc}, ph}, Stamper: e.stamper, Now: time.Now, Logger: logger,
		Opening: opening}); err != nil {
		return fail(err)
	}
	return e, nil
}

func (e *procureBench) close() { e.w.Close() }

// benchTSARoots reads the TSA's root from the target.
func benchTSARoots(ctx context.Context, hc *http.Client, base string) (*x509.CertPool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+tsaRootPath, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("bench: the TSA root: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("bench: the TSA root: %s %v", resp.Status, err)
	}
	root, err := x509.ParseCertificate(b)
	if err != nil {
		return nil, fmt.Errorf("bench: the TSA root: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	return pool, nil
}

// agents returns n agents, issuing the missing cards at the JPKI centre
// and logging each in once at the platform (through the demo's bench
// terminal), so that the platform links its signing certificate.
func (e *procureBench) agents(ctx context.Context, n int, out io.Writer) ([]benchAgent, error) {
	start := time.Now()
	return benchFixtures(filepath.Join(e.d.data, "bench-fixtures", "procure-agents.json"), n, func() (func(int) (benchAgent, error), func(), error) {
		cfgs, err := terminal.LoadConfigs(filepath.Join(e.d.data, "bench"))
		if err != nil || len(cfgs) == 0 {
			return nil, nil, fmt.Errorf("no bench terminal in %s/bench: start the server once with --demo (--data %s)", e.d.data, e.d.data)
		}
		term, err := terminal.New(cfgs[0], e.base, e.hc)
		if err != nil {
			return nil, nil, err
		}
		add := func(i int) (benchAgent, error) {
			a := benchAgent{Name: fmt.Sprintf("入札　代理%d", i+1), SignPIN: fmt.Sprintf("BENCH%05d", i+1)}
			n, err := mynumber.New()
			if err != nil {
				return a, err
			}
			r := jpki.Resident{Name: a.Name, Kana: "ニュウサツ　ダイリ", BirthDate: time.Date(1980, 4, 1, 0, 0, 0, 0, time.UTC),
				Sex: jpki.Male, Address: "長野県須坂市大字須坂１番地", Municipality: "202070"}
			cd, err := e.cards.Create(card.Spec{Label: "負荷試験 入札代理人", AuthPIN: "1357", SignPIN: a.SignPIN, TextPIN: "1357", MyNumber: n,
				Name: a.Name, Address: r.Address, BirthDate: "19800401", Sex: "1"})
			if err != nil {
				return a, err
			}
			a.CardID = cd.ID()
			if _, err := e.w.centre.IssueCard(ctx, r, cd); err != nil {
				return a, err
			}
			ar, err := term.Login(ctx, cd, "1357")
			if err != nil {
				return a, err
			}
			if ar.Report.PlatformID == "" {
				return a, fmt.Errorf("bench: agent %d did not log in: %s", i, ar.Report.MessageEN)
			}
			a.PlatformID = ar.Report.PlatformID
			return a, nil
		}
		return add, func() {
			fmt.Fprintf(out, "bench: agents up to %d made in %v\n", n, time.Since(start).Round(time.Millisecond))
		}, nil
	})
}

// agentCard is an agent's card open for signing, one signature at a time.
type agentCard struct {
	mu   sync.Mutex
	card *card.Card
	pin  string
}

func (e *procureBench) openCards(ags []benchAgent) ([]*agentCard, error) {
	out := make([]*agentCard, len(ags))
	for i, a := range ags {
		cd, err := e.cards.Open(a.CardID)
		if err != nil {
			return nil, fmt.Errorf("bench: agent card %s: %w", a.CardID, err)
		}
		out[i] = &agentCard{card: cd, pin: a.SignPIN}
	}
	return out, nil
}

// sign has the card sign content, time-stamped at the TSA.
func (c *agentCard) sign(ctx context.Context, st cms.Stamper, fn func(cms.SignOptions) ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []byte
	err := terminal.WithSigner(c.card, c.pin, func(cert *x509.Certificate, signer crypto.Signer) error {
		var err error
		out, err = fn(cms.SignOptions{Signer: signer, Cert: cert, Stamper: st})
		return err
	})
	return out, err
}

// companies returns n qualified companies with their powers, making the
// missing ones: the corporation and its representative in the registry,
// the power (signed by the representative, registered over the delegation
// register's API), the application (signed by the agent's card) filed and
// granted at the register.
func (e *procureBench) companies(ctx context.Context, ags []benchAgent, n int, out io.Writer) ([]benchCompany, error) {
	start := time.Now()
	cards, err := e.openCards(ags)
	if err != nil {
		return nil, err
	}
	cs, err := benchFixtures(filepath.Join(e.d.data, "bench-fixtures", "procure-companies.json"), n, func() (func(int) (benchCompany, error), func(), error) {
		ca, err := corpreg.OpenAuthority(filepath.Join(e.d.data, "corpreg"), time.Now)
		if err != nil {
			return nil, nil, err
		}
		reg, err := corpreg.New(ctx, corpreg.Config{DB: e.w.db, Authority: ca, Logger: e.logger})
		if err != nil {
			return nil, nil, err
		}
		register, err := procure.New(ctx, procure.Config{DB: e.w.db, Corporations: reg, Powers: e.powers,
			Verify: delegation.VerifyCMS(e.roots), Logger: e.logger})
		if err != nil {
			return nil, nil, err
		}
		add := func(i int) (benchCompany, error) {
			return e.company(ctx, reg, register, ags, cards, i)
		}
		return add, func() {
			fmt.Fprintf(out, "bench: companies up to %d made in %v\n", n, time.Since(start).Round(time.Millisecond))
		}, nil
	})
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		if c.Agent >= len(ags) {
			return nil, fmt.Errorf("bench: company %s names agent %d of %d: give --agents %d or more", c.Number, c.Agent, len(ags), c.Agent+1)
		}
	}
	return cs, nil
}

func (e *procureBench) company(ctx context.Context, reg *corpreg.Registry, register *procure.Service, ags []benchAgent, cards []*agentCard, i int) (benchCompany, error) {
	cbase := fmt.Sprintf("990%09d", i+1)
	digit, err := corpreg.CheckDigit(cbase)
	if err != nil {
		return benchCompany{}, err
	}
	c := benchCompany{Number: string(digit) + cbase, Name: fmt.Sprintf("株式会社負荷試験%d", i+1), Agent: i % len(ags)}
	const rep = "代表　太郎"
	if err := reg.RegisterCorporation(ctx, c.Number, c.Name, "東京都千代田区霞が関1-1"); err != nil {
		return c, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return c, err
	}
	cert, err := reg.AppointRepresentative(ctx, c.Number, rep, key.Public())
	if err != nil {
		return c, err
	}
	agent := ags[c.Agent]
	if c.PowerID, err = delegation.NewID(); err != nil {
		return c, err
	}
	now := time.Now()
	power := delegation.Power{ID: c.PowerID, Principal: delegation.Principal{CorporateNumber: c.Number, CorporationName: c.Name, RepresentativeName: rep},
		Agent: delegation.Agent{PlatformID: agent.PlatformID, Name: agent.Name}, Powers: []string{procure.MatterQualify, procure.MatterBid},
		NotBefore: now.Add(-time.Hour).Truncate(time.Second), NotAfter: now.AddDate(1, 0, 0).Truncate(time.Second)}
	signed, err := power.Sign(ctx, key, cert, e.stamper)
	if err != nil {
		return c, err
	}
	if _, err := e.powers.Register(ctx, signed); err != nil {
		return c, fmt.Errorf("register the power: %w", err)
	}
	app := procure.Application{CorporateNumber: c.Number, PowerID: c.PowerID, Kind: procure.KindNew, Founded: "2000-04-01",
		Fields: []procure.FieldItems{{Field: procure.FieldSale, Items: []string{"事務用品類"}}}, Regions: []string{"関東・甲信越"},
		Financials: procure.FinancialItems{AverageSalesYen: 30_000_000_000, EquityYen: 10_000_000_000, CurrentAssetsYen: 8_000_000_000,
			CurrentLiabilitiesYen: 2_000_000_000, Years: 25}, TaxDeclared: true}
	content, err := app.Canonical()
	if err != nil {
		return c, err
	}
	signedApp, err := cards[c.Agent].sign(ctx, e.stamper, func(o cms.SignOptions) ([]byte, error) { return cms.Sign(ctx, content, o) })
	if err != nil {
		return c, fmt.Errorf("sign the application: %w", err)
	}
	filed, err := register.Apply(ctx, procure.ApplyRequest{AgentPlatformID: agent.PlatformID, Signed: signedApp})
	if err != nil {
		return c, fmt.Errorf("file the application: %w", err)
	}
	for _, r := range filed.Ratings {
		if r.Field == procure.FieldSale && r.Grade != procure.GradeA {
			return c, fmt.Errorf("the application is rated %s in 物品の販売, not A", r.Grade)
		}
	}
	if _, err := register.Grant(ctx, "staff:bench", filed.ApplicationID, now.Add(-time.Hour), now.AddDate(2, 0, 0)); err != nil {
		return c, fmt.Errorf("grant the application: %w", err)
	}
	return c, nil
}

// enroll makes the bench officers' personal opening keys once.
func (e *procureBench) enroll(ctx context.Context) error {
	for _, o := range benchOfficers {
		ok, err := e.bodies.Enrolled(ctx, benchBody, o.id)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		if err := e.bodies.Enroll(ctx, benchBody, o.id, o.name, []byte(o.pass), []byte(o.pass)); err != nil {
			return fmt.Errorf("bench: enroll %s: %w", o.id, err)
		}
	}
	return nil
}

// sealedBid is a bid ready to post.
type sealedBid struct {
	corp     string
	envelope []byte
}

// seal has each company's agent sign and seal its bid (body.SealBid),
// then the late ones: a second bid of the first late companies.
func (e *procureBench) seal(ctx context.Context, tn *body.Tender, ags []benchAgent, cs []benchCompany, late int) ([]sealedBid, error) {
	cards, err := e.openCards(ags)
	if err != nil {
		return nil, err
	}
	opening, err := x509.ParseCertificate(tn.Certificate)
	if err != nil {
		return nil, err
	}
	out := make([]sealedBid, len(cs)+late)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range max(4, runtime.GOMAXPROCS(0)*4) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(out) || ctx.Err() != nil {
					return
				}
				c := cs[i%len(cs)]
				price, err := rand.Int(rand.Reader, big.NewInt(benchEstimate/2))
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				bc := &body.BidContent{Body: tn.Body, Tender: tn.ID, CorporateNumber: c.Number, CorporationName: c.Name,
					PriceYen: benchEstimate/2 + price.Int64(), PowerID: c.PowerID, AgentPlatformID: ags[c.Agent].PlatformID}
				env, err := cards[c.Agent].sign(ctx, e.stamper, func(o cms.SignOptions) ([]byte, error) { return body.SealBid(ctx, bc, o, opening) })
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("bench: seal the bid of %s: %w", c.Number, err) })
					return
				}
				out[i] = sealedBid{corp: c.Number, envelope: env}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, ctx.Err()
}

// fired is what posting the bids gave.
type fired struct {
	window                                          time.Duration
	accepted, refusedLate, acceptedLate, lost, errs int64
	lat                                             []time.Duration
	// bidIDs are the accepted bids' IDs.
	bidIDs []string
}

// fireBids posts the bids over the window ending at deadline: 60 % spread
// evenly over all but its last fifth, 40 % in a burst over the last fifth
// (at most 10 s), the last one a second before the deadline; then the late
// ones over the two seconds after it. Each company posts from a loopback
// address of its own.
func fireBids(ctx context.Context, base string, tn *body.Tender, bids, lateBids []sealedBid, deadline time.Time, window time.Duration) fired {
	srcs, _ := newSources(base)
	end := deadline.Add(-time.Second)
	begin := deadline.Add(-window)
	if now := time.Now(); now.After(begin) {
		begin = now
	}
	span := end.Sub(begin)
	burst := min(span/5, 10*time.Second)
	at := make([]time.Time, len(bids))
	nSpread := len(bids) * 6 / 10
	for i := range bids {
		if i < nSpread {
			at[i] = begin.Add(time.Duration(int64(span-burst) * int64(i) / int64(max(nSpread, 1))))
		} else {
			at[i] = end.Add(-burst).Add(time.Duration(int64(burst) * int64(i-nSpread) / int64(max(len(bids)-nSpread, 1))))
		}
	}
	var f fired
	var mu sync.Mutex
	var accepted, refusedLate, acceptedLate, lost, errs atomic.Int64
	var errOnce benchErrors
	post := func(b sealedBid, when time.Time, isLate bool) {
		time.Sleep(time.Until(when))
		tr := &http.Transport{DialContext: (&net.Dialer{Timeout: 5 * time.Second, LocalAddr: srcs.next()}).DialContext}
		defer tr.CloseIdleConnections()
		cl := &body.Client{BaseURL: base, HTTP: &http.Client{Timeout: 30 * time.Second, Transport: tr}}
		t0 := time.Now()
		rc, err := cl.Bid(ctx, tn.Body, tn.ID, b.corp, b.envelope)
		d := time.Since(t0)
		ref, refused := errors.AsType[*body.Refusal](err)
		switch {
		case err == nil:
			accepted.Add(1)
			if !rc.ReceivedAt.Before(deadline) {
				acceptedLate.Add(1)
			}
			mu.Lock()
			f.lat = append(f.lat, d)
			f.bidIDs = append(f.bidIDs, rc.BidID)
			mu.Unlock()
		case refused && ref.Reason == body.ReasonLate:
			refusedLate.Add(1)
			if !isLate {
				// Sent before the deadline and refused: not lost, but said.
				errOnce.add("a bid sent before the deadline was refused late (it arrived after it)")
			}
		default:
			errs.Add(1)
			if !isLate {
				lost.Add(1)
			}
			errOnce.add("%s: %v", b.corp, err)
		}
	}
	var wg sync.WaitGroup
	for i, b := range bids {
		wg.Go(func() { post(b, at[i], false) })
	}
	for i, b := range lateBids {
		when := deadline.Add(time.Duration(int64(2*time.Second) * int64(i) / int64(max(len(lateBids), 1))))
		wg.Go(func() { post(b, when, true) })
	}
	wg.Wait()
	f.window = deadline.Sub(begin)
	f.accepted, f.refusedLate, f.acceptedLate, f.lost, f.errs = accepted.Load(), refusedLate.Load(), acceptedLate.Load(), lost.Load(), errs.Load()
	slices.Sort(f.lat)
	return f
}

// openingPhases times an opening from the calls it makes: the first
// signature checked ends the decryption, the last look-up answered ends
// the checks; and the mean latency of each kind of look-up.
type openingPhases struct {
	mu          sync.Mutex
	first, last time.Time
	calls       map[string]*lookupStat
}

type lookupStat struct {
	n     int
	total time.Duration
}

func (p *openingPhases) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.first, p.last = time.Time{}, time.Time{}
	clear(p.calls)
}

// mark notes a check's step now.
func (p *openingPhases) mark() {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.first.IsZero() {
		p.first = now
	}
	p.last = now
}

// time starts a look-up of kind; the function it returns ends it.
func (p *openingPhases) time(kind string) func() {
	t0 := time.Now()
	return func() {
		p.mark()
		p.mu.Lock()
		defer p.mu.Unlock()
		st := p.calls[kind]
		if st == nil {
			st = &lookupStat{}
			p.calls[kind] = st
		}
		st.n++
		st.total += time.Since(t0)
	}
}

func (p *openingPhases) report(start, end time.Time) (decrypt, checks, store float64, lookups map[string]float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.first.IsZero() {
		return end.Sub(start).Seconds(), 0, 0, nil
	}
	lookups = map[string]float64{}
	for k, st := range p.calls {
		lookups[k] = float64(st.total.Microseconds()) / 1000 / float64(st.n)
	}
	return p.first.Sub(start).Seconds(), p.last.Sub(p.first).Seconds(), end.Sub(p.last).Seconds(), lookups
}

// timedPowers, timedCorporations and timedRegister time the opening's
// look-ups at the target.
type timedPowers struct {
	c  *delegation.Client
	ph *openingPhases
}

func (t timedPowers) Get(ctx context.Context, id string) (*delegation.Record, error) {
	defer t.ph.time("power")()
	return t.c.Get(ctx, id)
}

func (t timedPowers) Check(ctx context.Context, q delegation.Query) (delegation.Result, error) {
	defer t.ph.time("check")()
	return t.c.Check(ctx, q)
}

type timedCorporations struct {
	c  *corpreg.Client
	ph *openingPhases
}

func (t timedCorporations) Corporation(ctx context.Context, number string) (*corpreg.Corporation, error) {
	defer t.ph.time("corporation")()
	return t.c.Corporation(ctx, number)
}

type timedRegister struct {
	c  *procure.Client
	ph *openingPhases
}

func (t timedRegister) Qualification(ctx context.Context, number string) (*procure.Qualification, error) {
	return t.c.Qualification(ctx, number)
}

func (t timedRegister) QualificationAt(ctx context.Context, number string, at time.Time) (*procure.Qualification, error) {
	defer t.ph.time("qualification")()
	return t.c.QualificationAt(ctx, number, at)
}
