package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/internal/keydir"
	"github.com/mynaplat/mynaplat/oidcop"
)

// OIDCBenchResult is the JSON summary bench oidc prints last: complete
// logins (authorize → card page → token → UserInfo) beside their crypto
// floor.
type OIDCBenchResult struct {
	BenchResult
	Logins       int64     `json:"logins"`
	LoginsPerSec float64   `json:"logins_per_sec"`
	Cards        int       `json:"cards"`
	Floor        oidcFloor `json:"floor"`
	// VirtualCard is the demo's virtual card's share of the server's CPU.
	VirtualCard oidcVirtualCard `json:"virtual_card"`
}

// oidcVirtualCard is what the demo's virtual card, which signs in the
// server's process (a real card signs on the card), costs the server per
// login: its signatures (the platform's authentications over the run,
// from the server's mynaplat_platform_authentications_total: each is one
// card signature verified, and every card of the run is virtual) times
// the CPU time of one RSA-2048 signature on this machine (measured by the
// bench in its own process, by getrusage, before firing).
type oidcVirtualCard struct {
	SignaturesPerLogin float64 `json:"signatures_per_login"`
	SignCPUMicros      float64 `json:"rsa2048_sign_cpu_us"`
	MillisPerLogin     float64 `json:"ms_per_login"`
	// ServerCPUMillisWithout is the server's CPU per login without it.
	ServerCPUMillisWithout float64 `json:"server_cpu_ms_per_op_without_virtual_card"`
}

// oidcFloor is the crypto one login cannot do without (oidc-provider.md
// §6), on one core of this machine, and the logins per second all cores
// would give if that were all the server did.
type oidcFloor struct {
	RSAVerifyMicros   float64 `json:"rsa2048_verify_us"`
	RSASignMicros     float64 `json:"rsa2048_sign_us"`
	ES256SignMicros   float64 `json:"es256_sign_us"`
	ES256VerifyMicros float64 `json:"es256_verify_us"`
	// MinMillis is the card's signature verified and the ID token signed.
	MinMillis float64 `json:"min_ms"`
	// TokensMillis adds the JWT access token's signature and the client
	// assertion's verification.
	TokensMillis float64 `json:"with_tokens_ms"`
	// VirtualCardMillis adds the demo's virtual card's RSA-2048 signature,
	// which the demo's server makes (a real card makes it on the card).
	VirtualCardMillis float64 `json:"with_virtual_card_ms"`
	MinPerSec         float64 `json:"min_per_sec"`
	TokensPerSec      float64 `json:"with_tokens_per_sec"`
	VirtualCardPerSec float64 `json:"with_virtual_card_per_sec"`
}

// benchOIDCRedirect is the bench client's redirect URI: never fetched, the
// bench reads the code from the provider's redirect.
const benchOIDCRedirect = "http://127.0.0.1/bench/oidc/cb"

// benchOIDC drives complete logins against a running serve --demo, each as
// a fresh browser would: the authorization request, the provider's card
// page (place the demo card, its PIN), the callback, then the RP's token
// request (PKCE, private_key_jwt ES256) and UserInfo. The card is the
// demo's virtual card, which the server itself runs: its RSA signature is
// on the server's CPU, reported beside the floor. Each login comes from a
// loopback address of its own (127.x.y.z), as people's browsers do, so
// that the card page's per-address limit counts each "browser" once.
func benchOIDC(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var o oidcOptions
	o.register(fs)
	target := fs.String("target", "http://127.0.0.1:8080", "URL of a running mynaplat serve --demo (its oidc role)")
	conns := fs.Int("conns", 16, "concurrent logins")
	duration := fs.Duration("duration", 10*time.Second, "how long to fire")
	clientID := fs.String("client-id", "RP00000990", "the bench client's ID: registered on --data (and --db) with its key in <data>/bench")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *conns < 1 || *duration <= 0 {
		return errors.New("--conns and --duration must be positive")
	}
	if o.data.baseURL == "" && o.oidc.baseURL == "" {
		o.data.baseURL = strings.TrimRight(*target, "/")
	}
	rp, err := benchOIDCClient(ctx, o, *clientID)
	if err != nil {
		return err
	}
	cards, err := benchOIDCCards(o.data.data)
	if err != nil {
		return err
	}
	srcs, err := newSources(*target)
	if err != nil {
		return err
	}
	if !srcs.loopback {
		fmt.Fprintln(out, "bench: the target is not on 127.0.0.1: every login comes from this host's one address, so the card page's per-address limit (30, then one per 2 s) caps the run")
	}
	// The RP's server keeps its connections to the provider, as RP
	// servers do: its token and UserInfo requests share a pool; each
	// browser has its own connection.
	b := &oidcBencher{ctx: ctx, issuer: strings.TrimRight(*target, "/") + oidcop.RealmPath, rp: rp, srcs: srcs,
		back: benchHTTPClient(*conns, 20*time.Second)}
	if b.signer, err = rp.signer(); err != nil {
		return err
	}
	// One login per card first: the cards that log in (not revoked,
	// expired or blocked) are the pool.
	var usable []*oidcBenchCard
	for _, c := range cards {
		if err := b.login(c); err == nil {
			usable = append(usable, c)
		} else {
			fmt.Fprintf(out, "bench: card %s left out: %v\n", c.id, err)
		}
	}
	if len(usable) == 0 {
		return errors.New("bench: no demo card logs in at the provider (start the server with --demo, --data the same)")
	}
	fmt.Fprintf(out, "bench: %d demo cards log in, client %s, issuer %s\n", len(usable), rp.id, b.issuer)

	floor := measureOIDCFloor(300 * time.Millisecond)
	fmt.Fprintf(out, "bench: floor per login on one core: %.3f ms (RSA verify + ES256 sign), %.3f ms with the tokens, %.3f ms with the virtual card; %d CPUs: %.0f / %.0f / %.0f logins/s\n",
		floor.MinMillis, floor.TokensMillis, floor.VirtualCardMillis, runtime.NumCPU(), floor.MinPerSec, floor.TokensPerSec, floor.VirtualCardPerSec)

	signCPU := measureSignCPU(300 * time.Millisecond)
	hc := benchHTTPClient(2, 10*time.Second)
	const auths = "mynaplat_platform_authentications_total"
	authsBefore, authErr := serverMetric(ctx, hc, *target, auths)
	cpu := serverCPUMeter(ctx, hc, *target, out)
	own := clientCPUMeter()
	res := b.fire(usable, *conns, *duration)
	res.ClientCPUMillisPerOp = own(res.Verified)
	res.ServerCPUMillisPerOp = cpu(res.Verified)
	var vc oidcVirtualCard
	if authErr == nil && res.Verified > 0 {
		var after float64
		if after, authErr = serverMetric(ctx, hc, *target, auths); authErr == nil {
			vc.SignaturesPerLogin = (after - authsBefore) / float64(res.Verified)
			vc.SignCPUMicros = signCPU
			vc.MillisPerLogin = vc.SignaturesPerLogin * signCPU / 1000
			vc.ServerCPUMillisWithout = res.ServerCPUMillisPerOp - vc.MillisPerLogin
		}
	}
	if authErr != nil {
		fmt.Fprintf(out, "bench: the virtual card's share is not known: %v\n", authErr)
	}
	res.Target, res.Conns, res.CPUs, res.RSAVerifyPerSec = *target, *conns, runtime.NumCPU(), 1e6/floor.RSAVerifyMicros*float64(runtime.NumCPU())
	r := OIDCBenchResult{BenchResult: res, Logins: res.Verified, LoginsPerSec: res.VerifiedPerSec, Cards: len(usable), Floor: floor, VirtualCard: vc}
	if floor.MinPerSec > 0 {
		r.Ratio = r.LoginsPerSec / floor.MinPerSec
	}
	fmt.Fprintf(out, "bench: %d logins, %d errors in %.2fs: %.0f/s, p50 %.2f ms, p99 %.2f ms, server CPU %.2f ms each (%.2f ms without the virtual card's %.2f signatures × %.0f µs), bench client CPU %.2f ms each (floor %.3f ms, %.3f with the tokens, %.3f with the virtual card)\n",
		r.Logins, r.Errors, r.DurationSeconds, r.LoginsPerSec, r.P50Millis, r.P99Millis, r.ServerCPUMillisPerOp, vc.ServerCPUMillisWithout, vc.SignaturesPerLogin, vc.SignCPUMicros,
		r.ClientCPUMillisPerOp, floor.MinMillis, floor.TokensMillis, floor.VirtualCardMillis)
	j, _ := json.Marshal(r)
	fmt.Fprintln(out, string(j))
	return nil
}

// oidcBenchRP is the bench's relying party: its client ID and key.
type oidcBenchRP struct {
	id, kid string
	key     crypto.Signer
}

// signer signs the RP's client assertions (ES256, typ JWT, its kid).
func (rp *oidcBenchRP) signer() (jose.Signer, error) {
	return jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: rp.key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", rp.kid))
}

// benchOIDCClient registers the bench client on the server's database
// (the way the operator does, oidcop.AddClient) with its key in
// <data>/bench/oidc-rp-key.pem, once; a registration without that key
// gets it added.
func benchOIDCClient(ctx context.Context, o oidcOptions, id string) (*oidcBenchRP, error) {
	key, err := keydir.LoadOrMakeKey(filepath.Join(o.data.data, "bench", "oidc-rp-key.pem"), keydir.ECDSA)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, err
	}
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	db, p, err := o.open(ctx)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	c, err := p.Client(ctx, id)
	switch {
	case errors.Is(err, oidcop.ErrNoClient):
		c, err = p.AddClient(ctx, oidcop.ClientSpec{ID: id, Name: "負荷試験 / bench", RedirectURIs: []string{benchOIDCRedirect}, Keys: [][]byte{pub}, Dev: true}, "")
	case err == nil && !c.Enabled():
		err = fmt.Errorf("bench: client %s is disabled: give another --client-id", id)
	}
	if err != nil {
		return nil, fieldError(err)
	}
	eq := func(k oidcop.ClientKey) bool {
		return k.Enabled() && k.Public.(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public())
	}
	for _, k := range c.Keys {
		if eq(k) {
			return &oidcBenchRP{id: id, kid: k.KID, key: key}, nil
		}
	}
	k, err := p.AddClientKey(ctx, id, pub, "")
	if err != nil {
		return nil, fieldError(err)
	}
	return &oidcBenchRP{id: id, kid: k.KID, key: key}, nil
}

// oidcBenchCard is a demo card for the card page: its ID and PIN. One
// login at a time uses it: the server's virtual card is one card, which a
// second session would reset in the middle of the first's PIN step.
type oidcBenchCard struct {
	mu      sync.Mutex
	id, pin string
}

func benchOIDCCards(data string) ([]*oidcBenchCard, error) {
	store, err := card.NewStore(filepath.Join(data, "cards"), time.Now)
	if err != nil {
		return nil, err
	}
	infos, err := store.List()
	if err != nil {
		return nil, err
	}
	var out []*oidcBenchCard
	for _, in := range infos {
		if in.Demo && in.DemoPINs != nil && in.AuthTriesLeft > 0 && in.HasAuthCert {
			out = append(out, &oidcBenchCard{id: in.ID, pin: in.DemoPINs.Auth})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("bench: no demo cards in %s/cards: start the server once with --demo", data)
	}
	return out, nil
}

// sources hands out a loopback address per login when the target is on
// loopback (each a "browser" of its own); elsewhere the system's.
type sources struct {
	loopback bool
	n        atomic.Uint32
}

func newSources(target string) (*sources, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ip, err := netip.ParseAddr(u.Hostname())
	return &sources{loopback: err == nil && ip.Is4() && ip.IsLoopback()}, nil
}

// next is the next source address, or nil.
func (s *sources) next() *net.TCPAddr {
	if !s.loopback {
		return nil
	}
	i := s.n.Add(1)
	// 127.1.0.1 onwards: 16 million before one repeats.
	return &net.TCPAddr{IP: net.IPv4(127, byte(1+i>>16%254), byte(i>>8), byte(i)|1)}
}

// oidcBencher runs logins.
type oidcBencher struct {
	ctx    context.Context
	issuer string
	rp     *oidcBenchRP
	srcs   *sources
	// back is the RP server's client (token, UserInfo): pooled
	// connections, no cookies. signer signs its assertions.
	back   *http.Client
	signer jose.Signer
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login is one complete login with c, as a fresh browser and the RP's
// server do it.
func (b *oidcBencher) login(c *oidcBenchCard) error {
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{DialContext: (&net.Dialer{Timeout: 5 * time.Second, LocalAddr: b.srcs.next()}).DialContext, MaxIdleConnsPerHost: 2}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Timeout: 20 * time.Second, Transport: tr, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(hc *http.Client, method, u string, form url.Values, hdr http.Header, want int) (*http.Response, []byte, error) {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequestWithContext(b.ctx, method, u, body)
		if err != nil {
			return nil, nil, err
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		bs, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != want {
			err = fmt.Errorf("%s %s: %s (want %d): %.200s", method, u, resp.Status, want, bs)
		}
		return resp, bs, err
	}
	next := func(resp *http.Response) (string, error) {
		l, err := resp.Location()
		if err != nil {
			return "", err
		}
		return l.String(), nil
	}

	vb := make([]byte, 32)
	rand.Read(vb)
	verifier := base64.RawURLEncoding.EncodeToString(vb)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {b.rp.id}, "redirect_uri": {benchOIDCRedirect}, "response_type": {"code"}, "scope": {"openid"},
		"state": {verifier[:16]}, "nonce": {verifier[16:32]}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}}
	resp, _, err := do(hc, http.MethodGet, b.issuer+oidcop.AuthPath+"?"+q.Encode(), nil, nil, http.StatusFound)
	if err != nil {
		return err
	}
	page, err := next(resp)
	if err != nil || !strings.Contains(page, oidcop.LoginPath) {
		return fmt.Errorf("authorize: sent to %q, not the card page (%v)", page, err)
	}
	_, body, err := do(hc, http.MethodGet, page, nil, nil, http.StatusOK)
	if err != nil {
		return err
	}
	m := csrfRe.FindSubmatch(body)
	if m == nil {
		return errors.New("the card page has no CSRF token")
	}
	csrf := html.UnescapeString(string(m[1]))
	page = strings.TrimSuffix(page, "/") + "/"
	// The card page's one form: the card and its PIN in one post.
	c.mu.Lock()
	resp, _, err = do(hc, http.MethodPost, page+"place-pin", url.Values{"card": {c.id}, "pin": {c.pin}, "csrf": {csrf}}, nil, http.StatusSeeOther)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	cb, err := next(resp)
	if err != nil || !strings.Contains(cb, oidcop.AuthPath+"/callback") {
		return fmt.Errorf("the PIN step: refused (sent to %q)", cb)
	}
	if resp, _, err = do(hc, http.MethodGet, cb, nil, nil, http.StatusFound); err != nil {
		return err
	}
	rpURL, err := resp.Location()
	if err != nil || !strings.HasPrefix(rpURL.String(), benchOIDCRedirect) || rpURL.Query().Get("code") == "" {
		return fmt.Errorf("the callback: sent to %v, with no code", rpURL)
	}
	if rpURL.Query().Get("state") != q.Get("state") {
		return errors.New("the callback: another state")
	}
	assertion, err := b.assertion()
	if err != nil {
		return err
	}
	_, body, err = do(b.back, http.MethodPost, b.issuer+oidcop.TokenPath, url.Values{"grant_type": {"authorization_code"},
		"code": {rpURL.Query().Get("code")}, "redirect_uri": {benchOIDCRedirect}, "code_verifier": {verifier},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}, nil, http.StatusOK)
	if err != nil {
		return err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		IDToken     string `json:"id_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" || tok.IDToken == "" {
		return fmt.Errorf("token: no tokens in %.200s", body)
	}
	_, body, err = do(b.back, http.MethodGet, b.issuer+oidcop.UserinfoPath, nil, http.Header{"Authorization": {"Bearer " + tok.AccessToken}}, http.StatusOK)
	if err != nil {
		return err
	}
	var ui struct {
		Sub string `json:"sub"`
	}
	if err := json.Unmarshal(body, &ui); err != nil || ui.Sub == "" {
		return fmt.Errorf("userinfo: no sub in %.200s", body)
	}
	return nil
}

// assertion is the RP's client assertion (RFC 7523): ES256, aud the token
// endpoint, a minute ahead, a fresh jti.
func (b *oidcBencher) assertion() (string, error) {
	jti := make([]byte, 16)
	rand.Read(jti)
	now := time.Now()
	claims, _ := json.Marshal(map[string]any{"iss": b.rp.id, "sub": b.rp.id, "aud": b.issuer + oidcop.TokenPath,
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "jti": base64.RawURLEncoding.EncodeToString(jti)})
	jws, err := b.signer.Sign(claims)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// fire runs logins from conns workers for d, round-robin over the cards.
func (b *oidcBencher) fire(cards []*oidcBenchCard, conns int, d time.Duration) BenchResult {
	var n, ok atomic.Int64
	var errs benchErrors
	lat := make([][]time.Duration, conns)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range conns {
		wg.Go(func() {
			for time.Now().Before(deadline) && b.ctx.Err() == nil {
				c := cards[int(n.Add(1)-1)%len(cards)]
				t0 := time.Now()
				err := b.login(c)
				lat[w] = append(lat[w], time.Since(t0))
				if err != nil {
					errs.add("%v", err)
					continue
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	return summarize(time.Since(start), lat, ok.Load(), errs.n.Load())
}

// measureSignCPU is the CPU time of one RSA-2048 signature (PKCS#1 v1.5,
// as the virtual card makes it) in microseconds: this process's CPU time
// (getrusage) over d of signing in one goroutine while nothing else of it
// runs, so that a busy machine lengthens it less than a clock would; the
// clock's where the system does not say.
func measureSignCPU(d time.Duration) float64 {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	sum := sha256.Sum256([]byte("mynaplat"))
	cpu0, ok0 := ownCPU()
	start := time.Now()
	var n int
	for time.Since(start) < d {
		rsa.SignPKCS1v15(rand.Reader, rk, crypto.SHA256, sum[:])
		n++
	}
	took := time.Since(start)
	if cpu1, ok1 := ownCPU(); ok0 && ok1 {
		took = cpu1 - cpu0
	}
	return float64(took.Microseconds()) / float64(n)
}

// measureOIDCFloor times the floor's operations on one core for d each.
func measureOIDCFloor(d time.Duration) oidcFloor {
	per := func(fn func()) float64 {
		var n int
		start := time.Now()
		for time.Since(start) < d {
			for range 8 {
				fn()
			}
			n += 8
		}
		return float64(time.Since(start).Microseconds()) / float64(n)
	}
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sum := sha256.Sum256([]byte("mynaplat"))
	rsig, _ := rsa.SignPKCS1v15(rand.Reader, rk, crypto.SHA256, sum[:])
	esig, _ := ecdsa.SignASN1(rand.Reader, ek, sum[:])
	var f oidcFloor
	f.RSAVerifyMicros = per(func() { rsa.VerifyPKCS1v15(&rk.PublicKey, crypto.SHA256, sum[:], rsig) })
	f.RSASignMicros = per(func() { rsa.SignPKCS1v15(rand.Reader, rk, crypto.SHA256, sum[:]) })
	f.ES256SignMicros = per(func() { ecdsa.SignASN1(rand.Reader, ek, sum[:]) })
	f.ES256VerifyMicros = per(func() { ecdsa.VerifyASN1(&ek.PublicKey, sum[:], esig) })
	f.MinMillis = (f.RSAVerifyMicros + f.ES256SignMicros) / 1000
	f.TokensMillis = f.MinMillis + (f.ES256SignMicros+f.ES256VerifyMicros)/1000
	f.VirtualCardMillis = f.TokensMillis + f.RSASignMicros/1000
	cpus := float64(runtime.NumCPU())
	f.MinPerSec, f.TokensPerSec, f.VirtualCardPerSec = cpus*1000/f.MinMillis, cpus*1000/f.TokensMillis, cpus*1000/f.VirtualCardMillis
	return f
}
