package main

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/internal/layout"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/terminal"
)

// TestRoleConfigs: serve checks the configuration of the roles it runs and
// names everything missing in one message, in Japanese and English.
func TestRoleConfigs(t *testing.T) {
	var keys []string
	for _, p := range callerPairs {
		keys = append(keys, p[0]+"/"+p[1]+"="+callerkey.New())
	}
	for _, tc := range []struct {
		name  string
		roles []string
		urls  map[string]string
		// elsewhere gives every role not run here a URL.
		elsewhere bool
		keys      string
		token     string
		// phone writes the configuration of the /pay/ phone first.
		phone bool
		// town is --counter-town ("" the default, 062049).
		town string
		// smtp are the SMTP flags.
		smtp smtpFlags
		// wants are in the error, in order; none means no error.
		wants []string
	}{
		{name: "every role here", roles: allRoles},
		{name: "the centre alone", roles: []string{roleJPKI}},
		{name: "the centre with the platform elsewhere: the residents' history needs its key", roles: []string{roleJPKI},
			urls:  map[string]string{rolePlatform: "http://p.example"},
			wants: []string{"役割 jpki の設定が足りません / role jpki is missing:", "--caller-keys platform/jpki=…"}},
		{name: "the centre with the platform elsewhere, its key given", roles: []string{roleJPKI},
			urls: map[string]string{rolePlatform: "http://p.example"}, keys: strings.Join(keys, ",")},
		{name: "eligibility alone, nothing given", roles: []string{roleEligibility},
			wants: []string{"役割 eligibility の設定が足りません / role eligibility is missing:", "--platform-url (MYNAPLAT_PLATFORM_URL)",
				"--jpki-url", "--cardco-url", "--caller-keys platform/eligibility=…", "--cardco-key"}},
		{name: "eligibility alone, all given", roles: []string{roleEligibility}, elsewhere: true, keys: strings.Join(keys, ","),
			token: "merchant"},
		{name: "eligibility with the card company, no merchant key needed", roles: []string{roleEligibility, roleCardCo}, elsewhere: true,
			keys: strings.Join(keys, ",")},
		{name: "two roles, each missing", roles: []string{roleMunicipal, rolePlatform},
			wants: []string{"role platform is missing: --jpki-url (MYNAPLAT_JPKI_URL), --jpki-token", "role municipal is missing: --jlis-url",
				"--caller-keys seal/municipal=…", "--caller-keys queue/municipal=…"}},
		{name: "municipal beside jlis: keys made here", roles: []string{roleMunicipal, roleJLIS, rolePlatform, roleJPKI}},
		{name: "the post box alone", roles: []string{rolePostbox},
			wants: []string{"role postbox is missing: --jpki-url", "--tsa-url", "--delegation-url", "--platform-url", "--caller-keys platform/postbox=…"}},
		{name: "the procurement register alone", roles: []string{roleProcure},
			wants: []string{"役割 procure の設定が足りません / role procure is missing:", "--corpreg-url", "--delegation-url", "--tsa-url", "--platform-url",
				"--caller-keys staff/procure=…", "--caller-keys delegation/procure=…"}},
		{name: "the procurement register alone, all given", roles: []string{roleProcure}, elsewhere: true, keys: strings.Join(keys, ",")},
		{name: "the bodies alone", roles: []string{roleBodies},
			wants: []string{"役割 bodies の設定が足りません / role bodies is missing:", "--procure-url", "--tsa-url", "--platform-url",
				"--corpreg-url", "--delegation-url", "--jpki-url", "--caller-keys staff/bodies=…"}},
		{name: "the bodies alone, all given", roles: []string{roleBodies}, elsewhere: true, keys: strings.Join(keys, ",")},
		{name: "the CATV operators alone", roles: []string{roleCatv},
			wants: []string{"役割 catv の設定が足りません / role catv is missing:", "--platform-url", "--caller-keys staff/catv=…"}},
		{name: "the CATV operators alone, all given", roles: []string{roleCatv}, elsewhere: true, keys: strings.Join(keys, ",")},
		{name: "the towns alone, nothing given", roles: []string{roleTown},
			wants: []string{"役割 town の設定が足りません / role town is missing:", "--platform-url"}},
		{name: "the towns alone with the platform only: no reminders, nothing else missing", roles: []string{roleTown},
			urls: map[string]string{rolePlatform: "http://p.example"}},
		{name: "the towns with the operators elsewhere: the reminders need the key", roles: []string{roleTown}, elsewhere: true,
			wants: []string{"role town is missing: --caller-keys catv/town=…"}},
		{name: "the towns alone, all given", roles: []string{roleTown}, elsewhere: true, keys: strings.Join(keys, ",")},
		{name: "the health centre alone", roles: []string{roleWatch},
			wants: []string{"役割 watch の設定が足りません / role watch is missing:", "--platform-url", "--catv-url", "--caller-keys staff/watch=…", "--caller-keys catv/watch=…"}},
		{name: "the health centre alone, all given", roles: []string{roleWatch}, elsewhere: true, keys: strings.Join(keys, ",")},
		{name: "the health centre alone, its SMTP server", roles: []string{roleWatch}, elsewhere: true, keys: strings.Join(keys, ","),
			smtp: smtpFlags{addr: "smtp.town.example:587", from: "hoken@town.example"}},
		{name: "the health centre with a bad SMTP configuration", roles: []string{roleWatch}, elsewhere: true, keys: strings.Join(keys, ","),
			smtp:  smtpFlags{addr: "smtp.town.example", user: "u"},
			wants: []string{"role watch is missing:", "--smtp はホスト:ポートで / --smtp is host:port", "--smtp-from", "--smtp-password-file"}},
		{name: "the disaster office alone, nothing given", roles: []string{roleEvac},
			wants: []string{"役割 evac の設定が足りません / role evac is missing:", "--platform-url", "--caller-keys staff/evac=…"}},
		{name: "the disaster office alone, all given", roles: []string{roleEvac}, elsewhere: true, keys: strings.Join(keys, ",")},
		{name: "the schools and libraries alone", roles: []string{roleGate},
			wants: []string{"役割 gate の設定が足りません / role gate is missing:", "--platform-url", "--caller-keys platform/gate=…", "--caller-keys staff/gate=…"}},
		{name: "the schools and libraries alone, all given", roles: []string{roleGate}, elsewhere: true, keys: strings.Join(keys, ",")},
		{name: "the schools and libraries with a bad SMTP configuration", roles: []string{roleGate}, elsewhere: true, keys: strings.Join(keys, ","),
			smtp:  smtpFlags{addr: "smtp.town.example"},
			wants: []string{"role gate is missing:", "--smtp はホスト:ポートで / --smtp is host:port", "--smtp-from"}},
		{name: "the town's site alone, no provider", roles: []string{roleTownweb}, wants: []string{"role townweb is missing: --oidc-url"}},
		{name: "the town's site alone", roles: []string{roleTownweb}, urls: map[string]string{roleOIDC: "http://op.example"}},
		{name: "the provider alone: the centre, its caller key at the platform and its operator page's staff key", roles: []string{roleOIDC},
			urls:  map[string]string{rolePlatform: "http://p.example"},
			wants: []string{"role oidc is missing: --jpki-url", "--caller-keys platform/oidc=…", "--caller-keys staff/oidc=…"}},
		{name: "terminals alone, no phone", roles: []string{roleTerminals}, urls: map[string]string{rolePlatform: "http://p.example"}},
		{name: "terminals with the schools and libraries elsewhere: the gates need the key", roles: []string{roleTerminals},
			urls:  map[string]string{rolePlatform: "http://p.example", roleGate: "http://g.example"},
			wants: []string{"role terminals is missing:", "--caller-keys gate/terminals=…"}},
		{name: "terminals alone with the /pay/ phone", roles: []string{roleTerminals}, urls: map[string]string{rolePlatform: "http://p.example"},
			phone: true, wants: []string{"role terminals is missing:", "--eligibility-url", "--cardco-url", "--caller-keys cardco/terminals=…"}},
		{name: "terminals alone with the /pay/ phone, all given", roles: []string{roleTerminals}, elsewhere: true, phone: true,
			keys: strings.Join(keys, ",")},
		{name: "the counter alone", roles: []string{roleCounter}, town: "062049",
			wants: []string{"役割 counter の設定が足りません / role counter is missing:", "--jpki-url (MYNAPLAT_JPKI_URL)", "--platform-url",
				"--caller-keys jpki/counter=…", "--caller-keys staff/counter=…"}},
		{name: "the counter of no town", roles: []string{roleCounter, roleJPKI, rolePlatform}, town: "999999",
			wants: []string{"role counter is missing:", `--counter-town 市区町村コード / a municipality code (not "999999")`}},
		{name: "the counter beside the centre and the platform: its keys made here", roles: []string{roleCounter, roleJPKI, rolePlatform}, town: "202070"},
		{name: "a bad key list", roles: []string{roleJPKI}, keys: "platform/nobody=k,seal",
			wants: []string{"--caller-keys", `"platform/nobody"`, `"seal"`}},
		{name: "a role here at the URL of one elsewhere", roles: []string{rolePlatform, roleJPKI},
			urls:  map[string]string{rolePlatform: "http://a.example:1", roleEligibility: "http://a.example:1/"},
			wants: []string{"a role run elsewhere: --platform-url = --eligibility-url (a.example:1)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			local := map[string]bool{}
			for _, r := range tc.roles {
				local[r] = true
			}
			urls := map[string]string{}
			for r, u := range tc.urls {
				urls[r] = u
			}
			for _, r := range allRoles {
				if tc.elsewhere && !local[r] {
					urls[r] = "http://elsewhere.example"
				}
			}
			data := t.TempDir()
			if tc.phone {
				if err := terminal.SaveConfig(layout.PayTerminalDir(data), terminal.Config{ID: layout.PayTerminalID, Kind: platform.Mobile,
					Name: "phone", Key: "k", Reader: "virtual"}); err != nil {
					t.Fatal(err)
				}
			}
			if tc.town == "" {
				tc.town = "062049"
			}
			o := serveOptions{data: dataFlags{data: data}, urls: urls, callerKeys: tc.keys, cardcoKey: tc.token, jpkiToken: tc.token, counterTown: tc.town, smtp: tc.smtp}
			_, _, err := roleConfigs(o, &peers{local: local, urls: urls, self: "http://127.0.0.1:1"})
			if len(tc.wants) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.wants)
			}
			rest := err.Error()
			for _, w := range tc.wants {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error lacks %q (in order):\n%v", w, err)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

// TestEveryRoleAlone starts each role in a process of its own, the other
// roles at a one-process server of the demo world, and finds it serving.
func TestEveryRoleAlone(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	var keys []string
	for _, p := range callerPairs {
		keys = append(keys, p[0]+"/"+p[1]+"="+callerkey.New())
	}
	spec := strings.Join(keys, ",")
	dsn := testDSN(t)
	withDB := func(args ...string) []string {
		if dsn != "" {
			args = append(args, "--db", dsn)
		}
		return append(args, "--caller-keys", spec)
	}
	full := startServer(t, bin, withDB("--demo", "--data", data)...)
	for _, role := range allRoles {
		t.Run(role, func(t *testing.T) {
			dir := data
			if dsn == "" {
				dir = filepath.Join(t.TempDir(), "data")
				if out, err := exec.Command("cp", "-a", data, dir).CombinedOutput(); err != nil {
					t.Fatalf("copy the data: %v %s", err, out)
				}
			}
			args := withDB("--roles", role, "--data", dir)
			for _, r := range allRoles {
				if r != role {
					args = append(args, "--"+r+"-url", full)
				}
			}
			url, stop := startServerStop(t, bin, args...)
			defer stop()
			resp, err := http.Get(url + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("healthz: %s", resp.Status)
			}
			// A role's own pages answer, reading what they need from the
			// others over HTTP.
			for _, path := range roleProbes[role] {
				resp, err := http.Get(url + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("%s: %s", path, resp.Status)
				}
			}
		})
	}
}

// roleProbes are pages a role run alone must serve.
var roleProbes = map[string][]string{
	roleWatch:  {"/demo/mailbox", "/watch/nambu/office/signin"},
	roleGate:   {"/demo/mailbox", "/gate/nambu-school/office/signin", "/gate/nambu-library/office/signin"},
	roleBodies: {"/bodies/kanto/tenders", "/bodies/suzaka/tenders.atom", "/bodies/kanto/ca.crt", "/bodies/suzaka/v1/tenders"},
	roleEvac:   {"/evac/minami/office/signin", "/evac/minami/office/board.js"},
}

// TestStaffScope: each role's staff key asks about its own kinds of office;
// the provider's about the platform operator's office only.
func TestStaffScope(t *testing.T) {
	for _, tc := range []struct {
		caller, office string
		want           bool
	}{
		{roleMunicipal, "municipal:062049", true},
		{roleMunicipal, "clinic:0611000019", false},
		{rolePlatform, staff.OperatorOffice, true},
		{roleOIDC, staff.OperatorOffice, true},
		{roleOIDC, "municipal:062049", false},
		{roleOIDC, "business:nissay", false},
		{roleProcure, staff.ProcureOffice, true},
		{roleProcure, "agency:tax-sakata", false},
		{roleAgency, staff.ProcureOffice, false},
		{roleBodies, "procure-body:kanto", true},
		{roleBodies, "agency:tax-sakata", false},
		{roleAgency, "procure-body:kanto", false},
		{roleWatch, "watch:nambu", true},
		{roleWatch, "catv:suko", false},
		{roleCatv, "watch:nambu", false},
		{roleEvac, "evac:minami", true},
		{roleEvac, "catv:suko", false},
		{roleCatv, "evac:minami", false},
		{roleGate, "gate:nambu-school", true},
		{roleGate, "watch:nambu", false},
		{roleWatch, "gate:nambu-library", false},
	} {
		if got := staffScope(tc.caller, tc.office); got != tc.want {
			t.Errorf("staffScope(%s, %s) = %v, want %v", tc.caller, tc.office, got, tc.want)
		}
	}
}
