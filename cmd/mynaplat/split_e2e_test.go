package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// topology is the demo world served one way: every role in one process, or
// the roles in processes of their own.
type topology struct {
	name string
	bin  string
	// urls are where each role answers.
	urls map[string]string
	// data is a data directory of the world (for its card IDs).
	data string
}

func (tp *topology) at(role string) string { return tp.urls[role] }

// testDSN is a fresh PostgreSQL schema when MYNAPLAT_TEST_PG is set (CI),
// else "" (SQLite in the data directory).
func testDSN(t *testing.T) string {
	if os.Getenv(storetest.EnvPG) == "" {
		return ""
	}
	return storetest.PostgresDSN(t)
}

// oneProcess serves the demo world with every role in one process.
func oneProcess(t *testing.T, bin string) *topology {
	data := t.TempDir()
	args := []string{"--demo", "--data", data}
	if dsn := testDSN(t); dsn != "" {
		args = append(args, "--db", dsn)
	}
	url := startServer(t, bin, args...)
	return sameURL(bin, data, url)
}

// oneProcessName names the one-process topology.
const oneProcessName = "one process"

// sameURL is the topology of one process at url.
func sameURL(bin, data, url string) *topology {
	tp := &topology{name: oneProcessName, bin: bin, urls: map[string]string{}, data: data}
	for _, r := range allRoles {
		tp.urls[r] = url
	}
	return tp
}

// splitGroups are the processes of the split topology. They listen on one
// loopback address at ports of their own, each with a session cookie of
// its own name (cookies do not tell ports apart): so the browser keeps
// each process's session apart, as for hosts of their own, and the staff
// terminal and the offices are same-site, as a deployment must have them
// (a desk.city.example and an office.city.example): the terminal's
// hand-over to an office on another process carries the office's
// SameSite=Lax session cookie (see the staff package).
var splitGroups = []struct {
	host  string
	roles []string
}{
	{"127.0.0.1", []string{roleJPKI, rolePlatform}},
	{"127.0.0.1", []string{roleCardCo, roleEligibility}},
	{"127.0.0.1", []string{roleJLIS}},
	{"127.0.0.1", []string{roleMunicipal}},
	{"127.0.0.1", []string{roleTSA, roleCorpReg, roleDelegation, roleAgency, roleBusiness}},
	// The person's post-box pages sign with the card on the terminal and
	// reach the post box over its resident API; the staff terminal is here.
	{"127.0.0.1", []string{roleTerminals}},
	{"127.0.0.1", []string{rolePostbox}},
	// The municipal counter reaches the centre over its counter API only.
	{"127.0.0.1", []string{roleCounter}},
	// The OpenID provider logs people in at the platform as a terminal.
	{"127.0.0.1", []string{roleOIDC}},
}

// splitCookie is the session cookie's name in the split process of roles.
func splitCookie(roles []string) string { return "mynaplat_session_" + roles[0] }

// freeAddr is a free TCP address on host.
func freeAddr(t *testing.T, host string) string {
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatalf("listen on %s: %v", host, err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// splitProcesses serves the demo world with the roles in the processes of
// splitGroups, reaching each other only over HTTP with the caller keys of
// one --caller-keys list.
//
// The world is seeded first by a one-off "serve --demo" of every role,
// told the split URLs (which it records: the certificates' CRL URL, the
// parties' endpoints), then stopped: seeding writes through every role's
// own service at once, which no single role of the split can. On
// PostgreSQL the processes then share the seeded database and data
// directory; on SQLite each gets a copy of both and uses its own roles'
// tables only — which is the rule this checks.
func splitProcesses(t *testing.T, bin string) *topology {
	data := t.TempDir()
	dsn := testDSN(t)
	tp := &topology{name: "split", bin: bin, urls: map[string]string{}, data: data}
	addrs := map[int]string{}
	for i, g := range splitGroups {
		addr := freeAddr(t, g.host)
		addrs[i] = addr
		for _, r := range g.roles {
			tp.urls[r] = "http://" + addr
		}
	}
	var keys []string
	for _, p := range callerPairs {
		keys = append(keys, p[0]+"/"+p[1]+"="+callerkey.New())
	}
	common := []string{"--caller-keys", strings.Join(keys, ",")}
	for _, r := range allRoles {
		common = append(common, "--"+r+"-url", tp.urls[r])
	}
	withDB := func(args ...string) []string {
		if dsn != "" {
			args = append(args, "--db", dsn)
		}
		return append(args, common...)
	}
	start := time.Now()
	_, stop := startServerStop(t, bin, withDB("--demo", "--data", data)...)
	stop()
	t.Logf("split: seeded in %v", time.Since(start).Round(time.Millisecond))
	for i, g := range splitGroups {
		dir := data
		if dsn == "" {
			dir = filepath.Join(t.TempDir(), "data")
			if out, err := exec.Command("cp", "-a", data, dir).CombinedOutput(); err != nil {
				t.Fatalf("copy the data: %v %s", err, out)
			}
		}
		startServer(t, bin, withDB("--roles", strings.Join(g.roles, ","), "--addr", addrs[i], "--data", dir,
			"--session-cookie", splitCookie(g.roles))...)
	}
	t.Logf("split: %d processes up in %v", len(splitGroups), time.Since(start).Round(time.Millisecond))
	// Each process serves its own roles' pages and no others'.
	for role, path := range rolePages {
		for i, g := range splitGroups {
			want := http.StatusNotFound
			if slices.Contains(g.roles, role) {
				want = http.StatusOK
			}
			resp, err := http.Get("http://" + addrs[i] + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("%s at the process of %v: %d, want %d", path, g.roles, resp.StatusCode, want)
			}
		}
	}
	return tp
}

// rolePages are a page of each of some roles.
var rolePages = map[string]string{
	roleJPKI: "/jpki/crl/auth.crl", roleEligibility: "/clinic/batch/sample.csv", roleJLIS: "/verify", roleMunicipal: "/municipal/062049/office/",
	roleTSA: "/tsa/root.crt", roleCorpReg: "/corpreg/ca.crt", roleAgency: "/agency/tax-sakata/inbox/", roleTerminals: "/t/",
	roleCounter: "/counter/", roleOIDC: "/api/realms/main/.well-known/openid-configuration",
}

// outcome is what a flow saw, to compare between topologies: answers,
// codes and verification results, never times or IDs.
type outcome map[string]string

// TestSplitTopology plays the same flows on the demo world served by one
// process and by a process per role group, and wants the same outcomes: a
// card login at a /t/ terminal, a kiosk print with a 本籍地 registration, an
// eligibility check paid by card, a post-box send under a power of
// attorney, and a card issued, renewed and reported lost at the counter.
func TestSplitTopology(t *testing.T) {
	bin := buildBinary(t)
	results := map[string]outcome{}
	for _, mk := range []func(*testing.T, string) *topology{oneProcess, splitProcesses} {
		tp := mk(t, bin)
		r := newFlowRun(t, tp)
		got := outcome{}
		for _, f := range []struct {
			name string
			play func(*testing.T, *flowRun) outcome
		}{{"login", loginFlow}, {"kiosk", kioskFlow}, {"eligibility", eligibilityFlow}, {"postbox", postboxFlow}, {"counter", counterFlow}} {
			start := time.Now()
			for k, v := range f.play(t, r) {
				got[f.name+"/"+k] = v
			}
			t.Logf("%s: %s in %v", tp.name, f.name, time.Since(start).Round(time.Millisecond))
		}
		results[tp.name] = got
	}
	if diff := cmp.Diff(results[oneProcessName], results["split"]); diff != "" {
		t.Errorf("outcomes differ (-one process +split):\n%s", diff)
	}
}
