package kiosk

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/internal/testutil"
	"github.com/mynaplat/mynaplat/jlis"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/mynumber"
	"github.com/mynaplat/mynaplat/seal"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/wareki"
)

// This file gives the load and content tests many card holders, more relay
// instances, a proxy in front of the issuance servers, and the PDF checks.
//
// Card holders are expensive: a card makes its RSA-2048 key pairs itself
// (card.Card.GenerateKey), 60–160 ms each on the 2-core machine, and an
// adult's card has two: 200 cards took 12 s on both cores, 32 s on a busy
// machine, for every run and both databases. So the pool's cards were made
// once, through the card package's own API, and their state files (the
// emulator's chip memory, kept as opaque bytes) are in
// testdata/card-pool.json with the public keys. A world writes copies of
// those files into its card store and opens them; the JPKI centre then
// issues their certificates through cardFromFactory, which hands the
// centre the public keys the card already holds instead of asking it for
// new ones, as for a card personalised at the factory. Production code is
// untouched. To make the pool again:
//
//	go test ./kiosk -run TestCardPool -update-card-pool

var updateCardPool = flag.Bool("update-card-pool", false, "make the cards of testdata/card-pool.json again")

// cardPoolFile holds the pool's cards.
const cardPoolFile = "testdata/card-pool.json"

// loadPoolSize is how many distinct people the load tests have.
const loadPoolSize = 200

// poolPerson is one person of the pool: register facts and a card.
type poolPerson struct {
	Name, Kana   string
	Birth        time.Time
	Sex          jpki.Sex
	Address      string
	Municipality string
	MyNumber     string
	// cardID and cardFile are the card's ID and state file; pubs its keys.
	cardID   string
	cardFile []byte
	pubs     map[card.Purpose]*rsa.PublicKey
}

// The pool's names: 20 surnames × 10 given names, none a part of another
// person's name, and no demo resident's.
var (
	poolSurnames = [][2]string{{"青木", "アオキ"}, {"石井", "イシイ"}, {"上田", "ウエダ"}, {"遠藤", "エンドウ"}, {"太田", "オオタ"},
		{"加藤", "カトウ"}, {"菊地", "キクチ"}, {"工藤", "クドウ"}, {"小松", "コマツ"}, {"斉藤", "サイトウ"}, {"佐野", "サノ"},
		{"柴田", "シバタ"}, {"杉山", "スギヤマ"}, {"高木", "タカギ"}, {"千葉", "チバ"}, {"土屋", "ツチヤ"}, {"中野", "ナカノ"},
		{"野口", "ノグチ"}, {"服部", "ハットリ"}, {"松本", "マツモト"}}
	poolGiven = []struct {
		name, kana string
		sex        jpki.Sex
	}{{"一郎", "イチロウ", jpki.Male}, {"二郎", "ジロウ", jpki.Male}, {"三郎", "サブロウ", jpki.Male}, {"花子", "ハナコ", jpki.Female},
		{"直子", "ナオコ", jpki.Female}, {"健", "ケン", jpki.Male}, {"誠", "マコト", jpki.Male}, {"優子", "ユウコ", jpki.Female},
		{"大輔", "ダイスケ", jpki.Male}, {"美穂", "ミホ", jpki.Female}}
	// poolTowns are the demo municipalities that issue 住民票 to residents.
	poolTowns = []string{"062049", "202070", "162108", "313891", "363880", "102016"}
)

// fullWidth writes n with full-width digits, as addresses are registered.
func fullWidth(n int) string {
	return strings.Map(func(r rune) rune { return r - '0' + '０' }, fmt.Sprint(n))
}

// poolFacts is the i-th person of the pool, without a card: all adults,
// each in a household of their own in one of poolTowns.
func poolFacts(i int) (*poolPerson, error) {
	s, g := poolSurnames[i%len(poolSurnames)], poolGiven[i/len(poolSurnames)%len(poolGiven)]
	code := poolTowns[i%len(poolTowns)]
	m, err := jpki.LookupMunicipality(code)
	if err != nil {
		return nil, err
	}
	return &poolPerson{Name: s[0] + "\u3000" + g.name, Kana: s[1] + "\u3000" + g.kana, Sex: g.sex,
		Birth:        time.Date(1950, 1, 1, 0, 0, 0, 0, wareki.JST()).AddDate(0, 0, 73*i),
		Address:      m.Prefecture + m.Name + "試験町" + fullWidth(i+1) + "番地",
		Municipality: code, pubs: map[card.Purpose]*rsa.PublicKey{}}, nil
}

// pooledCard is one card of testdata/card-pool.json.
type pooledCard struct {
	ID       string          `json:"id"`
	MyNumber string          `json:"my_number"`
	AuthPub  []byte          `json:"auth_pub"` // PKIX
	SignPub  []byte          `json:"sign_pub"`
	Card     json.RawMessage `json:"card"` // the card's state file
}

// makeCardPool makes the pool's cards with the card package's API, the key
// pairs on every core.
func makeCardPool() ([]pooledCard, error) {
	dir, err := os.MkdirTemp("", "kiosk-card-pool-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cards, err := card.NewStore(dir, func() time.Time { return worldNow })
	if err != nil {
		return nil, err
	}
	out := make([]pooledCard, loadPoolSize)
	made := make([]*card.Card, loadPoolSize)
	for i := range out {
		p, err := poolFacts(i)
		if err != nil {
			return nil, err
		}
		mn, err := mynumber.New()
		if err != nil {
			return nil, err
		}
		sex := "1"
		if p.Sex == jpki.Female {
			sex = "2"
		}
		cd, err := cards.Create(card.Spec{AuthPIN: testPIN, SignPIN: testPassword, TextPIN: testPIN, MyNumber: mn,
			Name: p.Name, Address: p.Address, BirthDate: p.Birth.Format("20060102"), Sex: sex})
		if err != nil {
			return nil, err
		}
		out[i], made[i] = pooledCard{ID: cd.ID(), MyNumber: mn}, cd
	}
	next := make(chan int)
	errs := make([]error, loadPoolSize)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				for _, purpose := range []card.Purpose{card.Auth, card.Sign} {
					pub, err := made[i].GenerateKey(purpose)
					if err == nil {
						var der []byte
						der, err = x509.MarshalPKIXPublicKey(pub)
						if purpose == card.Auth {
							out[i].AuthPub = der
						} else {
							out[i].SignPub = der
						}
					}
					errs[i] = errors.Join(errs[i], err)
				}
			}
		})
	}
	for i := range out {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Card, err = os.ReadFile(filepath.Join(dir, out[i].ID+".json")); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// cardPool reads the pool, once per test binary.
var cardPool = sync.OnceValues(func() ([]*poolPerson, error) {
	b, err := os.ReadFile(cardPoolFile)
	if err != nil {
		return nil, fmt.Errorf("%w (make it with -update-card-pool)", err)
	}
	var cards []pooledCard
	if err := json.Unmarshal(b, &cards); err != nil {
		return nil, err
	}
	if len(cards) != loadPoolSize {
		return nil, fmt.Errorf("%s has %d cards, want %d (make it again with -update-card-pool)", cardPoolFile, len(cards), loadPoolSize)
	}
	out := make([]*poolPerson, len(cards))
	for i, c := range cards {
		if out[i], err = poolFacts(i); err != nil {
			return nil, err
		}
		out[i].cardID, out[i].cardFile, out[i].MyNumber = c.ID, c.Card, c.MyNumber
		for purpose, der := range map[card.Purpose][]byte{card.Auth: c.AuthPub, card.Sign: c.SignPub} {
			pub, err := x509.ParsePKIXPublicKey(der)
			if err != nil {
				return nil, err
			}
			rk, ok := pub.(*rsa.PublicKey)
			if !ok {
				return nil, fmt.Errorf("card %s: %T key", c.ID, pub)
			}
			out[i].pubs[purpose] = rk
		}
	}
	return out, nil
})

// TestCardPool checks testdata/card-pool.json, or makes it again with
// -update-card-pool.
func TestCardPool(t *testing.T) {
	if *updateCardPool {
		start := time.Now()
		cards, err := makeCardPool()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d cards (%d key pairs) made in %v", len(cards), 2*len(cards), time.Since(start).Round(time.Millisecond))
		b, err := json.Marshal(cards)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cardPoolFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pool, err := cardPool()
	if err != nil {
		t.Fatal(err)
	}
	cards, err := card.NewStore(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range pool {
		if err := os.WriteFile(filepath.Join(cards.Dir(), p.cardID+".json"), p.cardFile, 0o600); err != nil {
			t.Fatal(err)
		}
		cd, err := cards.Open(p.cardID)
		if err != nil {
			t.Fatal(err)
		}
		if in := cd.Info(); in.Holder != p.Name || !in.HasAuthKey || !in.HasSignKey || in.HasAuthCert {
			t.Fatalf("card %s: %+v, want %s's uncertified card (make the pool again with -update-card-pool)", p.cardID, in, p.Name)
		}
		for _, pub := range p.pubs {
			k := string(pub.N.Bytes())
			if seen[k] {
				t.Fatalf("card %s shares a key", p.cardID)
			}
			seen[k] = true
		}
	}
}

// cardFromFactory is a card whose key pairs were made before it reached the
// counter: GenerateKey answers the key the card holds rather than replacing
// it. Everything else is the card's own.
type cardFromFactory struct {
	*card.Card
	pubs map[card.Purpose]*rsa.PublicKey
}

func (c cardFromFactory) GenerateKey(p card.Purpose) (*rsa.PublicKey, error) {
	if pub, ok := c.pubs[p]; ok {
		return pub, nil
	}
	return nil, fmt.Errorf("card %s: no %s key from the factory", c.ID(), p)
}

// holder is a person of the pool living in a world: registered in their
// municipality's 住民基本台帳, with a card whose certificates the world's
// JPKI centre issued.
type holder struct {
	*poolPerson
	PersonID string
	card     *card.Card
}

// people registers the first n people of the pool in the world.
func (w *world) people(t testing.TB, n int) []*holder {
	t.Helper()
	start := time.Now()
	pool, err := cardPool()
	if err != nil {
		t.Fatalf("card pool: %v", err)
	}
	if n > len(pool) {
		t.Fatalf("the pool has %d people, not %d", len(pool), n)
	}
	ctx := context.Background()
	out := make([]*holder, n)
	for i, p := range pool[:n] {
		added, err := w.muni.AddPerson(ctx, municipal.Person{Municipality: p.Municipality, Name: p.Name, Kana: p.Kana,
			BirthDate: p.Birth, Sex: p.Sex, Address: p.Address, MyNumber: p.MyNumber, Honseki: p.Address, Hitto: p.Name,
			MovedIn: p.Birth})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(w.cards.Dir(), p.cardID+".json"), p.cardFile, 0o600); err != nil {
			t.Fatal(err)
		}
		cd, err := w.cards.Open(p.cardID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.centre.IssueCard(ctx, jpki.Resident{Name: p.Name, Kana: p.Kana, BirthDate: p.Birth, Sex: p.Sex,
			Address: p.Address, Municipality: p.Municipality}, cardFromFactory{Card: cd, pubs: p.pubs}); err != nil {
			t.Fatal(err)
		}
		out[i] = &holder{poolPerson: p, PersonID: added.ID, card: cd}
	}
	t.Logf("%d people registered and carded in %v", n, time.Since(start).Round(time.Millisecond))
	return out
}

// instance is one relay process: a Service with its Relay, serving the
// /jlis/v1 API on a server of its own.
type instance struct {
	svc   *jlis.Service
	relay *jlis.Relay
	srv   *httptest.Server
}

// instance starts another relay on db (the world's job store when nil)
// with the world relay's configuration, changed by edit.
func (w *world) instance(t testing.TB, db *store.DB, edit func(*jlis.RelayConfig)) *instance {
	t.Helper()
	svc, cfg := w.svc, w.relayCfg
	if db != nil {
		var err error
		if svc, err = jlis.Open(context.Background(), jlis.Config{DB: db, Now: w.now, Verifier: w.verifier}); err != nil {
			t.Fatal(err)
		}
		if cfg.Seal, err = seal.New(context.Background(), seal.Config{DB: db, Authority: w.auth, Now: w.now}); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Endpoints = maps.Clone(cfg.Endpoints)
	if edit != nil {
		edit(&cfg)
	}
	r, err := jlis.NewRelay(svc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	r.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &instance{svc: svc, relay: r, srv: srv}
}

// on is kiosk k's client of another relay instance (same kiosk key).
func (k *kioskTerm) on(in *instance) *jlis.Client {
	return &jlis.Client{BaseURL: in.srv.URL, Key: k.client.Key, HTTP: patient(in.srv)}
}

// apiError is err as the relay's answer, or a failure.
func apiError(t testing.TB, err error) *jlis.APIError {
	t.Helper()
	var ae *jlis.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("not an answer of the relay: %v", err)
	}
	return ae
}

// pdfText is the text of a PDF, by pdftotext -layout.
func pdfText(t testing.TB, pdf []byte) string {
	t.Helper()
	bin := testutil.NeedProgram(t, "pdftotext", "poppler-utils")
	text, err := pdfTextIn(bin, t.TempDir(), pdf)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// pdfTextIn runs pdftotext bin on pdf in dir (for goroutines, which may
// not call t.Fatal).
func pdfTextIn(bin, dir string, pdf []byte) (string, error) {
	f, err := os.CreateTemp(dir, "c-*.pdf")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(pdf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	out, err := exec.Command(bin, "-layout", f.Name(), "-").Output()
	if err != nil {
		return "", fmt.Errorf("pdftotext: %w", err)
	}
	return string(out), nil
}

// squash drops every space of either width and every tab: pdftotext
// -layout turns the full-width space of a name, and the gap between a
// label and its value, into runs of ASCII spaces.
func squash(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\u3000' || r == '\t' {
			return -1
		}
		return r
	}, s)
}

// missing lists the wants absent from text, spaces ignored.
func missing(text string, want ...string) []string {
	sq := squash(text)
	var out []string
	for _, w := range want {
		if !strings.Contains(sq, squash(w)) {
			out = append(out, w)
		}
	}
	return out
}

// present lists the strings of absent that text shows, spaces ignored.
func present(text string, absent ...string) []string {
	sq := squash(text)
	var out []string
	for _, a := range absent {
		if strings.Contains(sq, squash(a)) {
			out = append(out, a)
		}
	}
	return out
}

// pdfsig runs poppler's pdfsig: its output, and whether it calls the
// signature valid.
func pdfsig(t testing.TB, pdf []byte) (string, bool) {
	t.Helper()
	bin := testutil.NeedProgram(t, "pdfsig", "poppler-utils")
	f := filepath.Join(t.TempDir(), "s.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(bin, f).CombinedOutput()
	return string(out), strings.Contains(string(out), "Signature Validation: Signature is Valid.")
}

// readAll reads and closes a response body.
func readAll(t testing.TB, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeJSON decodes b into v or fails.
func decodeJSON(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

// muniProxy stands in front of the issuance servers of the world: it passes
// every call on, and lets a test slow down, change or forge the answers to
// certificate requests (POST /municipal/{code}/v1/certificates).
type muniProxy struct {
	w   *world
	srv *httptest.Server

	mu sync.Mutex
	// before may change the request the municipality gets, or take its
	// time; after may change what the relay gets.
	before  func(req *municipal.Request)
	after   func(a *muniAnswer)
	gate    chan struct{}
	release func()
	answers chan muniAnswer
}

// muniAnswer is an issuance server's answer to a certificate request.
type muniAnswer struct {
	code   string
	req    municipal.Request
	status int
	facts  municipal.Certificate
	// factsHeader is the X-Certificate header sent on (facts as JSON unless
	// a test forges it).
	factsHeader string
	pdf         []byte
}

func newMuniProxy(t testing.TB, w *world) *muniProxy {
	t.Helper()
	p := &muniProxy{w: w, gate: make(chan struct{}), answers: make(chan muniAnswer, 64)}
	p.release = sync.OnceFunc(func() { close(p.gate) })
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(func() { p.release(); p.srv.Close() })
	return p
}

// set changes what the proxy does to the next certificate requests.
func (p *muniProxy) set(before func(*municipal.Request), after func(*muniAnswer)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.before, p.after = before, after
}

// hold blocks the request until release.
func (p *muniProxy) hold() { <-p.gate }

// wait returns the next answer a municipality gave through the proxy.
func (p *muniProxy) wait(t testing.TB) muniAnswer {
	t.Helper()
	select {
	case a := <-p.answers:
		return a
	case <-time.After(20 * time.Second):
		t.Fatal("no answer from the municipality")
	}
	return muniAnswer{}
}

func (p *muniProxy) forward(r *http.Request, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(context.WithoutCancel(r.Context()), r.Method, p.w.srv.URL+r.URL.Path, body)
	if err != nil {
		return nil, err
	}
	for _, h := range []string{"Authorization", "Content-Type"} {
		req.Header.Set(h, r.Header.Get(h))
	}
	return p.w.srv.Client().Do(req)
}

func (p *muniProxy) serve(rw http.ResponseWriter, r *http.Request) {
	code, ok := strings.CutPrefix(r.URL.Path, "/municipal/")
	code, ok2 := strings.CutSuffix(code, "/v1/certificates")
	if !ok || !ok2 || r.Method != http.MethodPost {
		resp, err := p.forward(r, r.Body)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		rw.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		rw.WriteHeader(resp.StatusCode)
		io.Copy(rw, resp.Body)
		return
	}
	p.mu.Lock()
	before, after := p.before, p.after
	p.mu.Unlock()
	a := muniAnswer{code: code}
	if err := json.NewDecoder(r.Body).Decode(&a.req); err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	if before != nil {
		before(&a.req)
	}
	b, _ := json.Marshal(a.req)
	resp, err := p.forward(r, strings.NewReader(string(b)))
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadGateway)
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadGateway)
		return
	}
	a.status, a.pdf, a.factsHeader = resp.StatusCode, body, resp.Header.Get(municipal.CertificateHeader)
	if a.status == http.StatusOK {
		json.Unmarshal([]byte(a.factsHeader), &a.facts)
		select {
		case p.answers <- a:
		default: // nobody is waiting for this many
		}
		if after != nil {
			after(&a)
		}
		rw.Header().Set(municipal.CertificateHeader, a.factsHeader)
	}
	rw.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	rw.WriteHeader(a.status)
	rw.Write(a.pdf)
}

// reseal gives an answer whose PDF was changed facts that agree with it
// (the digest), as a forger would.
func (a *muniAnswer) reseal() {
	sum := sha256.Sum256(a.pdf)
	a.facts.SHA256 = hex.EncodeToString(sum[:])
	a.refacts()
}

// refacts writes the (changed) facts into the header.
func (a *muniAnswer) refacts() {
	b, _ := json.Marshal(a.facts)
	a.factsHeader = string(b)
}
