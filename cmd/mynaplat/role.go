package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mynaplat/mynaplat/agency"
	"github.com/mynaplat/mynaplat/business"
	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/cardco"
	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/community/catv"
	"github.com/mynaplat/mynaplat/community/evac"
	"github.com/mynaplat/mynaplat/community/gate"
	"github.com/mynaplat/mynaplat/community/town"
	"github.com/mynaplat/mynaplat/community/watch"
	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/eligibility"
	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/inproc"
	"github.com/mynaplat/mynaplat/jlis"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/nissayweb"
	"github.com/mynaplat/mynaplat/oidcop"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/postbox"
	"github.com/mynaplat/mynaplat/procure"
	"github.com/mynaplat/mynaplat/procure/body"
	"github.com/mynaplat/mynaplat/reception"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/townweb"
	"github.com/mynaplat/mynaplat/verify"
	"github.com/mynaplat/mynaplat/web"

	"github.com/prometheus/client_golang/prometheus"
)

// The roles one process can run.
const (
	roleJPKI        = "jpki"
	rolePlatform    = "platform"
	roleTerminals   = "terminals"
	roleEligibility = "eligibility"
	roleCardCo      = "cardco"
	roleMunicipal   = "municipal"
	roleJLIS        = "jlis"
	roleTSA         = "tsa"        // RFC 3161 time-stamp authority
	roleCorpReg     = "corpreg"    // corporate registry (商業登記) and representative certificates
	roleDelegation  = "delegation" // register of 電子委任状
	rolePostbox     = "postbox"    // the post box operator
	roleAgency      = "agency"     // receiving agencies (tax office, employer, town)
	roleBusiness    = "business"   // businesses (日本生命, 日本郵便, NHK)
	roleCounter     = "counter"    // the municipal JPKI counter (its terminal at the town hall)
	roleOIDC        = "oidc"       // the OpenID provider for outside services (デジタル認証アプリ's twin)
	roleTownweb     = "townweb"    // 須坂市's web site, an outside relying party of the provider
	roleProcure     = "procure"    // the shared register of procurement qualifications (統一資格)
	roleBodies      = "bodies"     // procuring bodies (関東地方整備局, 須坂市): tenders, sealed bids
	roleCatv        = "catv"       // CATV operators: subscribers and the messages to their TVs (issue 20)
	roleTown        = "town"       // towns (須坂市, 南砺市, 南部町): checkups and facility booking on the TV (issue 20)
	roleWatch       = "watch"      // a health centre's watch-over of elderly people (南部町, issue 20)
	roleEvac        = "evac"       // 美波町 危機管理室: evacuation orders pushed to the TVs, shelters (issue 20)
	roleGate        = "gate"       // schools' and libraries' children's check-in (南部町, issue 20)
)

// allRoles are the roles in the order a process builds them: a role comes
// after those whose in-process services it may use (the terminals last: its
// pages link to the others').
var allRoles = []string{roleJPKI, rolePlatform, roleOIDC, roleCardCo, roleEligibility, roleJLIS, roleMunicipal,
	roleTSA, roleCorpReg, roleDelegation, roleProcure, roleBodies, rolePostbox, roleAgency, roleBusiness, roleCounter, roleTownweb, roleCatv, roleTown, roleWatch, roleEvac, roleGate, roleTerminals}

// roleHelp says what each role is, for serve --help and errors.
var roleHelp = map[string]string{
	roleJPKI:        "JPKI centre (CAs, the counter API, CRL, OCSP, revocation feed)",
	rolePlatform:    "common platform (card holder checks, platform IDs, OIDC)",
	roleCardCo:      "card company (payments, card enrolment)",
	roleEligibility: "eligibility checks, the clinic and insurer offices, the holders' payment links",
	roleJLIS:        "J-LIS kiosk relay, seal register and /verify",
	roleMunicipal:   "municipal registers and issuance servers",
	roleTSA:         "time-stamp authority",
	roleCorpReg:     "corporate registry",
	roleDelegation:  "register of electronic powers of attorney",
	rolePostbox:     "electronic post box",
	roleAgency:      "receiving agencies",
	roleBusiness:    "businesses",
	roleCounter:     "municipal JPKI counter /counter/ (issue, renew, change, revoke cards)",
	roleTerminals:   "terminal screens /t/, kiosks, reception stations, /pay/, card viewer",
	roleOIDC:        "OpenID Connect provider for outside services under /api/realms/main/ (the デジタル認証アプリ's twin)",
	roleTownweb:     "須坂市's web site /town/suzaka/ (\"my notices\"), an outside relying party of the OpenID provider",
	roleProcure:     "procurement qualification register /procure/ (統一資格: applications, review, the public list, the bodies' read API)",
	roleCatv:        "CATV operators /catv/ (subscribers, messages from the operator and the town to their TVs, the TV portal's API)",
	roleTown:        "towns /town/v1/ (須坂市, 南砺市, 南部町: the residents' checkups and facility booking for the TV portal, reminders through the CATV operators)",
	roleWatch:       "health centre's watch-over /watch/ (南部町 保健センター: people watched, daily checks on the TV, flags, mails to families over SMTP)",
	roleEvac:        "美波町's disaster office /evac/v1/ (evacuation orders pushed to the TVs by server-sent events, acknowledgements, shelter check-ins, the board and the drill report)",
	roleGate:        "children's check-in /gate/ (南部町立 南部小学校, 南部町立図書館: cards presented at the gate, parents' mails over SMTP, the history on the parent's TV)",
	roleBodies:      "procuring bodies /bodies/{body}/ (関東地方整備局, 須坂市: tenders, sealed bids and receipts, officers' offices)",
}

// The operator APIs one role offers others under caller keys, and the role
// that serves each.
const (
	apiPlatform = "platform" // holder attributes, signer of a certificate
	apiSeal     = "seal"     // register a certificate, seal a PDF
	apiQueue    = "queue"    // the 本籍地's queue of usage registrations
	apiCardCo   = "cardco"   // card enrolment
	apiJPKI     = "jpki"     // the centre's counter API: certify a card's keys, revoke
	apiStaff    = "staff"    // the staff directory: the grants of the offices' staff
	// apiDelegation is the register of powers' list of an agent's powers,
	// asked on the agent's behalf by a role that verified their card login.
	apiDelegation = "delegation"
	// apiCatv is the CATV operators' machine API: a town's message to one
	// person's TV (the booking's reminder), and the signs of life
	// (power-ons with a card login) the health centre's watch-over reads.
	apiCatv = "catv"
	// apiGate is a school's or a library's touches: the certificate a gate
	// terminal read from a child's card without a PIN.
	apiGate = "gate"
)

var apiRole = map[string]string{apiPlatform: rolePlatform, apiSeal: roleJLIS, apiQueue: roleJLIS, apiCardCo: roleCardCo, apiJPKI: roleJPKI, apiStaff: rolePlatform,
	apiDelegation: roleDelegation, apiCatv: roleCatv, apiGate: roleGate}

// callerPairs are every (API, calling role) there is.
var callerPairs = [][2]string{
	{apiPlatform, roleEligibility}, {apiPlatform, roleJLIS}, {apiPlatform, rolePostbox}, {apiPlatform, roleDelegation},
	{apiSeal, roleMunicipal}, {apiQueue, roleMunicipal}, {apiCardCo, roleTerminals}, {apiJPKI, roleCounter},
	{apiStaff, roleMunicipal}, {apiStaff, roleEligibility}, {apiStaff, roleCounter}, {apiStaff, roleAgency}, {apiStaff, roleBusiness},
	{apiPlatform, roleMunicipal}, {apiPlatform, roleJPKI}, {apiPlatform, roleOIDC},
	{apiStaff, roleOIDC}, // the operator page's staff gate
	{apiStaff, roleProcure},
	{apiStaff, roleBodies},
	{apiPlatform, roleBodies},    // the contract: whose card signed (the JPKI linkage)
	{apiStaff, roleCatv},         // the operators' sender pages
	{apiDelegation, roleProcure}, // the agent's page lists the powers they may act under
	{apiCatv, roleTown},          // the towns' reminders to the person's TV
	{apiStaff, roleWatch},        // the health centre's staff board
	{apiCatv, roleWatch},         // the power-ons: a sign of life
	{apiStaff, roleEvac},         // the disaster office's staff gate
	{apiPlatform, roleGate},      // the presence read: a child's card among the body's children
	{apiStaff, roleGate},         // the schools' and libraries' staff pages
	{apiGate, roleTerminals},     // the gate terminals' touches
}

// callerKeys are the caller keys by (API, caller): those of --caller-keys
// ("api/caller=key,…"), and fresh ones for the pairs of which both sides run
// in this process, which nothing outside needs.
type callerKeys map[[2]string]string

func parseCallerKeys(spec string, local map[string]bool) (callerKeys, error) {
	k := callerKeys{}
	var bad []string
	for _, item := range strings.Split(spec, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		pair, key, ok := strings.Cut(item, "=")
		api, caller, ok2 := strings.Cut(strings.TrimSpace(pair), "/")
		p := [2]string{api, caller}
		if !ok || !ok2 || strings.TrimSpace(key) == "" || !slices.Contains(callerPairs, p) {
			bad = append(bad, fmt.Sprintf("%q", pair))
			continue
		}
		k[p] = strings.TrimSpace(key)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("--caller-keys: API/呼び出し元=鍵 の形でない項目 / not API/caller=key (pairs: %s): %s",
			pairNames(), strings.Join(bad, ", "))
	}
	for _, p := range callerPairs {
		if k[p] == "" && local[apiRole[p[0]]] && local[p[1]] {
			k[p] = callerkey.New()
		}
	}
	return k, nil
}

func pairNames() string {
	var s []string
	for _, p := range callerPairs {
		s = append(s, p[0]+"/"+p[1])
	}
	return strings.Join(s, ", ")
}

// accepted are the callers api accepts: those with a key.
func (k callerKeys) accepted(api string) callerkey.Keys {
	var out callerkey.Keys
	for _, p := range callerPairs {
		if p[0] == api && k[p] != "" {
			out = out.Add(p[1], k[p])
		}
	}
	return out
}

// acceptedFrom is api's one caller, for a route of the API meant for it
// alone (an API whose callers do different things each call their own).
func (k callerKeys) acceptedFrom(api, caller string) callerkey.Keys {
	var out callerkey.Keys
	if key := k.key(api, caller); key != "" {
		out = out.Add(caller, key)
	}
	return out
}

func (k callerKeys) key(api, caller string) string { return k[[2]string{api, caller}] }

// peers say where every role is: here, at its --<role>-url, or nowhere.
type peers struct {
	local map[string]bool
	// urls are the --<role>-url flags. For a role run here the flag, if
	// given, is the URL it is known by outside (the demo seeding records
	// it), and calls still stay in the process.
	urls map[string]string
	// self is this process's URL.
	self string
}

func (p *peers) known(role string) bool { return p.local[role] || p.urls[role] != "" }

// url is where role is reached.
func (p *peers) url(role string) string {
	if u := p.urls[role]; u != "" {
		return strings.TrimRight(u, "/")
	}
	if p.local[role] {
		return p.self
	}
	return ""
}

// check refuses a --<role>-url, given for a role run here, that names
// where a role run elsewhere answers: calls to that address would stay in
// this process.
func (p *peers) check() error {
	host := func(s string) string {
		u, err := url.Parse(s)
		if err != nil {
			return ""
		}
		return u.Host
	}
	var bad []string
	for r := range p.local {
		h := host(p.urls[r])
		if h == "" {
			continue
		}
		for o, u := range p.urls {
			if !p.local[o] && host(u) == h {
				bad = append(bad, fmt.Sprintf("--%s-url = --%s-url (%s)", r, o, h))
			}
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return fmt.Errorf("ここで動く役割の URL が、ほかで動く役割の URL と同じです / a role run here has the URL of a role run elsewhere: %s",
			strings.Join(bad, ", "))
	}
	return nil
}

func urlFlag(role string) string {
	return fmt.Sprintf("--%s-url (MYNAPLAT_%s_URL)", role, strings.ToUpper(role))
}

// missing collects what a role's configuration lacks.
type missing []string

// peer needs each of roles to run here or have its URL.
func (m *missing) peer(p *peers, roles ...string) {
	for _, r := range roles {
		if !p.known(r) {
			*m = append(*m, urlFlag(r))
		}
	}
}

// key needs caller's key at api when api's role runs elsewhere.
func (m *missing) key(k callerKeys, api, caller string) {
	if k.key(api, caller) == "" {
		*m = append(*m, "--caller-keys "+api+"/"+caller+"=… (MYNAPLAT_CALLER_KEYS)")
	}
}

func (m missing) err(role string) error {
	if len(m) == 0 {
		return nil
	}
	return fmt.Errorf("役割 %s の設定が足りません / role %s is missing: %s", role, role, strings.Join(m, ", "))
}

// roleConfig is one role's configuration: validated before anything opens,
// then built into its routes, links and closer.
type roleConfig interface {
	validate() error
	build(ctx context.Context, d *deps) (*built, error)
}

// built is what a role made.
type built struct {
	// routes registers the role's API (and the pages that read no seeded
	// file) at once: the demo seeding calls the APIs.
	routes func(mux *http.ServeMux)
	// pages, if set, makes the pages that read what the demo seeding
	// writes (terminals, stations, the relay's directory), once it has,
	// registers them and returns the role's home page entries.
	pages func(ctx context.Context, mux *http.ServeMux) ([]web.Link, error)
	// wrap, if set, goes around the whole handler (the centre's OCSP GET).
	wrap func(http.Handler) http.Handler
	// close stops its loops and closes its services.
	close func() error
	// shutdown, if set, runs when the server starts shutting down, before
	// it waits for the requests: it ends the role's long-lived streams
	// (server-sent events), which would otherwise hold the shutdown.
	shutdown func()
}

// loops are a role's background goroutines, which end on stop.
type loops struct {
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup
}

func newLoops() *loops {
	ctx, stop := context.WithCancel(context.Background())
	return &loops{ctx: ctx, stop: stop}
}

func (l *loops) spawn(f func()) { l.wg.Go(f) }

// close stops the loops, waits for them, then runs the closers in order.
func (l *loops) close(closers ...func() error) func() error {
	return func() error {
		l.stop()
		l.wg.Wait()
		var errs []error
		for _, c := range closers {
			errs = append(errs, c())
		}
		return errors.Join(errs...)
	}
}

// deps are what every role's build takes from the process.
type deps struct {
	data   string
	db     *store.DB
	site   *web.Site
	cards  *card.Store
	logger *slog.Logger
	reg    prometheus.Registerer
	peers  *peers
	keys   callerKeys
	// hc reaches every role: those in this process without a socket (the
	// same handlers), the others over the network.
	hc     *http.Client
	timing timing
	// svc are the services built so far in this process, for the pages that
	// need two roles side by side and for the demo seeding.
	svc services

	// mailbox is the mailbox inside this process that the roles which
	// mail share when no --smtp is given.
	mailbox localMailbox

	keyCache *platform.KeyCache
	policy   *verify.Policy
	tsaRoots *x509.CertPool
}

// timing are serve's timing flags.
type timing struct {
	// crlCheck is how often the centre checks whether a CRL is due,
	// crlRefresh how often the platform asks whether the CRL changed.
	crlCheck, crlRefresh time.Duration
	// maxAge is the freshness bound of revocation data.
	maxAge time.Duration
}

// services are the in-process services, nil when their role runs elsewhere.
type services struct {
	centre       *jpki.Centre
	plat         *platform.Platform
	elig         *eligibility.Service
	cardcoClient *cardco.Client
	company      *cardco.Company
	kiosk        *jlis.Service
	muni         *municipal.Service
	tsaKeysRoot  *x509.Certificate
	stamper      cms.Stamper
	registry     *corpreg.Registry
	powers       *delegation.Service
	box          *postbox.Service
	staff        *staff.Directory
	agency       *agency.Service
	business     *business.Service
	reception    *reception.Pages
	terminals    *terminal.Pages
	oidc         *oidcop.Provider
	town         *townweb.Town
	nissay       *nissayweb.Page
	procure      *procure.Service
	bodies       *body.Service
	catv         *catv.Service
	towns        *town.Service
	watch        *watch.Service
	evac         *evac.Service
	gates        []*gate.Service
}

// at is where role answers and the client to reach it with.
func (d *deps) at(role string) (string, *http.Client) { return d.peers.url(role), d.hc }

// platformKeys is the platform's JWK set, through one cache per process.
func (d *deps) platformKeys() *platform.KeyCache {
	if d.keyCache == nil {
		d.keyCache = platform.NewKeyCache(d.at(rolePlatform))
	}
	return d.keyCache
}

// staffGate is the gate of caller's back offices: the staff directory at
// the platform (under caller's key), the platform's assertion keys, and the
// staff terminals' screens (here, or where the terminals role runs).
func (d *deps) staffGate(caller string) staff.GateConfig {
	u, hc := d.at(rolePlatform)
	desk := "/staffdesk/"
	if !d.peers.local[roleTerminals] && d.peers.url(roleTerminals) != "" {
		desk = d.peers.url(roleTerminals) + desk
	}
	gc := staff.GateConfig{Site: d.site, Directory: staff.NewClient(u, d.keys.key(apiStaff, caller), hc), Keys: d.platformKeys().Keys,
		Issuer: d.peers.url(rolePlatform), Desk: desk, Logger: d.logger}
	// Signing with one's own card (staff/sign.go, handoff.go): the
	// browser takes the request to the staff terminal one signed in at,
	// wherever the terminals run, and brings the signature back; the
	// platform tells whose certificate it is under caller's key, for the
	// roles that have one.
	if d.keys.key(apiPlatform, caller) != "" {
		gc.SignerPerson = d.platformClient(caller).SignerPerson
	}
	return gc
}

// staffOffice is a kind of back office that caller serves.
type staffOffice interface {
	StaffOffice() staff.Office
	SetStaff(*staff.Gate)
}

// gateOffices gives each of caller's kinds of back office its gate.
func (d *deps) gateOffices(caller string, offices ...staffOffice) error {
	for _, o := range offices {
		g, err := staff.NewOfficeGate(d.staffGate(caller), o.StaffOffice())
		if err != nil {
			return err
		}
		o.SetStaff(g)
	}
	return nil
}

// officeRoles are the roles that serve each kind of office with a staff
// sign-in, for the staff terminal's hand-over.
var officeRoles = map[string]string{"municipal": roleMunicipal, "insurer": roleEligibility, "clinic": roleEligibility,
	"agency": roleAgency, "business": roleBusiness, "counter": roleCounter, staff.OperatorOffice: rolePlatform,
	staff.ProcureOffice:   roleProcure,
	staff.ProcureBodyKind: roleBodies,
	staff.CATVKind:        roleCatv,
	staff.WatchKind:       roleWatch,
	staff.EvacKind:        roleEvac,
	staff.GateKind:        roleGate}

// staffScope lets each role's key at the staff directory ask about the
// kinds of office that role serves only. The provider's operator page is
// the platform operator's office too (its sign-in is the platform's).
func staffScope(caller, office string) bool {
	kind, err := staff.OfficeKind(office)
	return err == nil && (officeRoles[kind] == caller || caller == roleOIDC && office == staff.OperatorOffice)
}

// officeBases are the base URLs of the hosts of each kind of office, ""
// for those served in this process: where the staff terminal hands over.
func (p *peers) officeBases() map[string]string {
	out := map[string]string{}
	for kind, role := range officeRoles {
		if !p.local[role] {
			out[kind] = p.url(role)
		}
	}
	return out
}

// platformClient is caller's client of the platform's caller API.
func (d *deps) platformClient(caller string) *platform.CallerClient {
	u, hc := d.at(rolePlatform)
	return platform.NewCallerClient(u, d.keys.key(apiPlatform, caller), hc)
}

// signingTrust is the JPKI signing CA and a client for its OCSP responder.
func (d *deps) signingTrust(ctx context.Context) (*x509.Certificate, *jpki.Client, error) {
	u, hc := d.at(roleJPKI)
	jc := &jpki.Client{BaseURL: u, HTTP: hc}
	if c := d.svc.centre; c != nil {
		return c.CA(jpki.Sign), jc, nil
	}
	ca, err := jc.CACertificate(ctx, jpki.Sign)
	if err != nil {
		return nil, nil, fmt.Errorf("the JPKI signing CA: %w", err)
	}
	return ca, jc, nil
}

// tsaRootPath is where the TSA publishes its root, the anchor its relying
// parties trust.
const tsaRootPath = "/tsa/root.crt"

// timestampRoots are the TSA roots relying parties trust: the local TSA's,
// or the one published at --tsa-url.
func (d *deps) timestampRoots(ctx context.Context) (*x509.CertPool, error) {
	if d.tsaRoots != nil {
		return d.tsaRoots, nil
	}
	root := d.svc.tsaKeysRoot
	if root == nil {
		u, hc := d.at(roleTSA)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u+tsaRootPath, nil)
		if err != nil {
			return nil, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("the TSA root: %w", err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if err != nil || resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("the TSA root at %s: %s %v", u, resp.Status, err)
		}
		if root, err = x509.ParseCertificate(b); err != nil {
			return nil, fmt.Errorf("the TSA root: %w", err)
		}
	}
	d.tsaRoots = x509.NewCertPool()
	d.tsaRoots.AddCert(root)
	return d.tsaRoots, nil
}

// signaturePolicy is how the post-box roles validate signatures: JPKI
// signing certificates, time stamps of the TSA, powers of attorney at the
// delegation register.
func (d *deps) signaturePolicy(ctx context.Context) (*verify.Policy, error) {
	if d.policy != nil {
		return d.policy, nil
	}
	signCA, jc, err := d.signingTrust(ctx)
	if err != nil {
		return nil, err
	}
	roots, err := d.timestampRoots(ctx)
	if err != nil {
		return nil, err
	}
	check := func(ctx context.Context, q delegation.Query) (delegation.Result, error) {
		u, hc := d.at(roleDelegation)
		return (&delegation.Client{BaseURL: u, HTTP: hc}).Check(ctx, q)
	}
	if p := d.svc.powers; p != nil {
		check = p.Check
	}
	d.policy = &verify.Policy{Signing: &jpki.SigningVerifier{CA: signCA, OCSP: jc.OCSP, MaxAge: d.timing.maxAge},
		TSARoots: roots, Delegation: delegation.Checker(check), RequireTimestamp: true, Now: time.Now}
	return d.policy, nil
}

// routingTransport serves requests to this process's roles in the process
// and sends the rest over the network.
type routingTransport struct {
	local map[string]bool // hosts (host:port) this process answers for
	in    http.RoundTripper
	out   http.RoundTripper
}

func (t routingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.local[r.URL.Host] {
		return t.in.RoundTrip(r)
	}
	return t.out.RoundTrip(r)
}

// newClient is the client of deps.hc: requests to this process's URL, or to
// the URL of a role run here, go to handler.
func newClient(p *peers, handler http.Handler) *http.Client {
	hosts := map[string]bool{}
	add := func(s string) {
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			hosts[u.Host] = true
		}
	}
	add(p.self)
	for r := range p.local {
		add(p.url(r))
	}
	// Every call has a timeout, in the process or out of it.
	out := httpapi.NewHTTPClient(httpapi.DefaultTimeout)
	return &http.Client{Timeout: httpapi.DefaultTimeout, Transport: routingTransport{local: hosts, in: inproc.Transport{Handler: handler}, out: out.Transport}}
}

// readToken reads a token file, "" if there is none.
func readToken(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
