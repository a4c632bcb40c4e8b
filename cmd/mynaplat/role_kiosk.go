package main

import (
	"context"
	"html/template"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/mynaplat/mynaplat/anchors"
	"github.com/mynaplat/mynaplat/internal/layout"
	"github.com/mynaplat/mynaplat/jlis"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/procure/contract"
	"github.com/mynaplat/mynaplat/seal"
	"github.com/mynaplat/mynaplat/verify"
	"github.com/mynaplat/mynaplat/web"
)

// jlisConfig is J-LIS's: the kiosk relay (it checks the platform's
// assertions and asks it for holders' attributes under caller key
// platform/jlis, checks signatures against the JPKI centre, and forwards
// requests to the municipalities' issuance servers), the seal register and
// /verify, and the 本籍地's queue; the municipalities call the last two
// under their caller keys.
type jlisConfig struct {
	data  string
	peers *peers
	keys  callerKeys
	// municipal says whether the relay's directory names an issuance
	// server without a URL of its own: those are the municipal role's.
	municipal bool
	maxAge    time.Duration
}

func (c jlisConfig) validate() error {
	var m missing
	m.peer(c.peers, rolePlatform, roleJPKI)
	m.key(c.keys, apiPlatform, roleJLIS)
	if c.municipal {
		m.peer(c.peers, roleMunicipal)
	}
	return m.err(roleJLIS)
}

func (c jlisConfig) build(ctx context.Context, d *deps) (*built, error) {
	signCA, jc, err := d.signingTrust(ctx)
	if err != nil {
		return nil, err
	}
	auth, err := seal.OpenAuthority(filepath.Join(c.data, "seal"), time.Now)
	if err != nil {
		return nil, err
	}
	// The seal certificates point at the CA and its CRL as this role
	// publishes them.
	auth.WithBaseURL(c.peers.url(roleJLIS))
	scfg := seal.Config{DB: d.db, Authority: auth, Now: time.Now, Logger: d.logger}
	if c.peers.known(roleTSA) {
		// With a TSA the seal's PDFs are PAdES B-LTA: time-stamped, with
		// the seal CA's CRL and the chains in a DSS, and a document
		// time-stamp over them (a certificate may be kept for years).
		scfg.Stamper, scfg.TSARoots, scfg.Archive = d.stamper(), d.timestampRoots, true
	}
	sealSvc, err := seal.New(ctx, scfg)
	if err != nil {
		return nil, err
	}
	ksvc, err := jlis.Open(ctx, jlis.Config{DB: d.db, Now: time.Now, Logger: d.logger,
		Verifier: &jpki.SigningVerifier{CA: signCA, OCSP: jc.OCSP, MaxAge: c.maxAge}})
	if err != nil {
		return nil, err
	}
	d.svc.kiosk = ksvc
	lp := newLoops()
	lp.spawn(func() {
		every(lp.ctx, 10*time.Second, func(ctx context.Context) {
			if n, err := ksvc.Expire(ctx); err != nil && ctx.Err() == nil {
				d.logger.Error("expire print jobs", "err", err)
			} else if n > 0 {
				d.logger.Info("print jobs timed out and were cancelled", "jobs", n)
			}
		})
	})
	sp, err := seal.NewPages(d.site, sealSvc)
	if err != nil {
		lp.close()()
		return nil, err
	}
	// Uploads at /verify are validated with the post-box roles' policy
	// (the register of powers among it) when the TSA is known; else with
	// the JPKI centre alone, and every time-stamp is INDETERMINATE, which
	// the report then says. The policy is made at the first upload, when
	// every role of the process serves (the TSA's root is fetched), and
	// kept; a failure is retried at the next upload.
	var mu sync.Mutex
	var kept *verify.Policy
	policy := func(ctx context.Context) *verify.Policy {
		mu.Lock()
		defer mu.Unlock()
		if kept != nil {
			return kept
		}
		p := &verify.Policy{RequireTimestamp: true, SealRoots: auth.Roots(),
			Signing: &jpki.SigningVerifier{CA: signCA, OCSP: jc.OCSP, MaxAge: c.maxAge}}
		if !c.peers.known(roleTSA) {
			kept = p
			return p
		}
		sp, err := d.signaturePolicy(ctx)
		if err != nil {
			d.logger.WarnContext(ctx, "/verify: a report without the TSA root", "err", err)
			return p
		}
		kept = new(verify.Policy)
		*kept = *sp
		kept.SealRoots = auth.Roots()
		return kept
	}
	sp.WithReporter(uploadReporter(policy))
	return &built{
		routes: func(mux *http.ServeMux) {
			sp.Routes(mux)
			anchors.Serve(mux, anchors.Seal, auth.Root())
			auth.ServeCRL(mux)
			sealSvc.CallerRoutes(mux, c.keys.accepted(apiSeal))
			ksvc.QueueRoutes(mux, c.keys.accepted(apiQueue))
		},
		// The relay reads its directory of issuance servers, which the
		// demo seeding writes.
		pages: func(_ context.Context, mux *http.ServeMux) ([]web.Link, error) {
			mu, mhc := d.at(roleMunicipal)
			eps, err := jlis.LoadEndpoints(layout.EndpointsPath(c.data), mu)
			if err != nil {
				return nil, err
			}
			relay, err := jlis.NewRelay(ksvc, jlis.RelayConfig{Issuer: c.peers.url(rolePlatform),
				Keys: d.platformKeys().Keys, Attributes: d.platformClient(roleJLIS).PersonAttributes,
				Endpoints: eps, HTTP: mhc, Seal: sealSvc})
			if err != nil {
				return nil, err
			}
			relay.Routes(mux)
			return sp.Links(), nil
		},
		close: lp.close(),
	}, nil
}

// municipalConfig is the municipalities': registers and issuance servers,
// whose certificates J-LIS seals (caller key seal/municipal) and whose
// 本籍地 decisions go back through J-LIS's queue (caller key
// queue/municipal); the residents' history finds its holder through the
// platform (caller key platform/municipal).
type municipalConfig struct {
	peers *peers
	keys  callerKeys
}

func (c municipalConfig) validate() error {
	var m missing
	m.peer(c.peers, roleJLIS, rolePlatform)
	m.key(c.keys, apiSeal, roleMunicipal)
	m.key(c.keys, apiQueue, roleMunicipal)
	m.key(c.keys, apiStaff, roleMunicipal)
	m.key(c.keys, apiPlatform, roleMunicipal)
	return m.err(roleMunicipal)
}

func (c municipalConfig) build(ctx context.Context, d *deps) (*built, error) {
	muni, err := municipal.Open(ctx, municipal.Config{DB: d.db, Now: time.Now, Logger: d.logger})
	if err != nil {
		return nil, err
	}
	d.svc.muni = muni
	ju, jhc := d.at(roleJLIS)
	mp, err := municipal.NewPages(muni, d.site, jlis.AntiForgery{Register: seal.NewClient(ju, c.keys.key(apiSeal, roleMunicipal), jhc)})
	if err != nil {
		return nil, err
	}
	mp.SetRegistrations(jlis.NewQueueClient(ju, c.keys.key(apiQueue, roleMunicipal), jhc))
	if err := d.gateOffices(roleMunicipal, mp); err != nil {
		return nil, err
	}
	// The residents' history of their record, for /me/audit: the holder
	// is found from the attributes the platform gives (caller key
	// platform/municipal, audited there).
	mp.SetResidents(municipal.Residents{Keys: d.platformKeys().Keys, Issuer: d.peers.url(rolePlatform),
		Attributes: d.platformClient(roleMunicipal).PersonAttributes})
	return &built{
		routes: mp.Routes,
		pages:  func(context.Context, *http.ServeMux) ([]web.Link, error) { return mp.Links(), nil },
		close:  func() error { return nil },
	}, nil
}

// uploadReporter validates a file uploaded at /verify with the policy:
// a procurement contract's history (a timeline bundle) element by element,
// any other signed file as verify reads it.
func uploadReporter(policy func(context.Context) *verify.Policy) seal.Reporter {
	return func(ctx context.Context, name string, data, power []byte) template.HTML {
		if contract.IsBundle(data) {
			return contract.VerifyBundle(ctx, name, data, policy(ctx), contract.Parties{}).HTML()
		}
		return policy(ctx).Validate(ctx, verify.Document{Name: name, Format: verify.DetectFormat(data), Data: data, Power: power}).HTML()
	}
}
