package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/demo"
	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/internal/layout"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/staff/stafftest"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

// TestStaffSignSplit: the officers' card signing with the staff terminals
// in a process of their own (serve --roles terminals) and the office on
// another host: the office sends the browser to the desk, the desk asks
// the office's desk API over HTTP (its --bodies-url) what to sign and, in
// the card session, for the digest; the card signs; the desk's page posts
// the signature back and the office's job completes with it (a CMS
// SignedData that verifies). No Go call crosses the two: the office here
// is a body's gate in the test, the desk the real binary.
func TestStaffSignSplit(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	_, stop := startServerStop(t, bin, "--demo", "--data", data)
	stop()
	desks, err := terminal.LoadConfigs(layout.StaffDesksDir(data))
	if err != nil || len(desks) == 0 {
		t.Fatalf("the demo's staff terminals: %v %v", desks, err)
	}
	officer := demo.Staff[0]
	cardID := demoCardID(t, bin, data, officer.Name)

	// The office: a body's gate on a host of its own.
	ctx := context.Background()
	db := storetest.SQLite(t)
	site, err := web.New(ctx, web.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	office := httptest.NewServer(site.Protect(mux))
	t.Cleanup(office.Close)
	// The roles the terminals call otherwise answer nothing here: the
	// signing step reports only a refused password to the platform.
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(elsewhere.Close)
	args := []string{"--roles", roleTerminals, "--data", data, "--bodies-url", office.URL, "--session-cookie", "mynaplat_session_terminals",
		"--caller-keys", "cardco/terminals=" + callerkey.New()}
	for _, r := range []string{rolePlatform, roleEligibility, roleJPKI, roleJLIS, roleCardCo} {
		args = append(args, "--"+r+"-url", elsewhere.URL)
	}
	deskURL := startServer(t, bin, args...)

	iss := stafftest.NewIssuer(t)
	dir := stafftest.Directory(t, db, time.Now)
	const pid, officeID, home = "pid-officer", staff.ProcureBodyKind + ":kanto", "/bodies/kanto/office/"
	stafftest.Grant(t, dir, staff.Grant{PlatformID: pid, Name: officer.Name, Office: officeID, Role: staff.TenderOfficer,
		StaffNumber: "K-01", ValidFrom: time.Now().Add(-time.Hour), ValidUntil: time.Now().Add(time.Hour)})
	gate, err := staff.NewOfficeGate(staff.GateConfig{Site: site, Directory: dir, Keys: iss.Keys, Desk: deskURL + "/staffdesk/",
		// The platform's linkage stands in: every card is the officer's
		// (the staff package tests another person's card).
		SignerPerson: func(context.Context, *x509.Certificate) (string, error) { return pid, nil }}, staff.Office{Kind: staff.ProcureBodyKind, PathValue: "body", Home: func(id string) string { return "/bodies/" + id + "/office/" },
		Name: func(context.Context, string) (string, error) { return "関東地方整備局", nil }})
	if err != nil {
		t.Fatal(err)
	}
	gate.Mount(mux, "/bodies/{body}/office/")
	content := []byte("契約 C-T-1 に署名します")
	var mu sync.Mutex
	var stored [][]byte
	job := func(stored *[][]byte) staff.SignJob {
		return func(ctx context.Context, cert *x509.Certificate, s crypto.Signer, when time.Time) error {
			der, err := cms.Sign(ctx, append(content, []byte(" "+when.UTC().Format(time.RFC3339))...), cms.SignOptions{Signer: s, Cert: cert})
			if err != nil || stored == nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			*stored = append(*stored, der)
			return nil
		}
	}
	mux.HandleFunc("GET /bodies/{body}/office/{$}", gate.Only(func(w http.ResponseWriter, r *http.Request, s *staff.Session) { fmt.Fprint(w, "home") }))
	mux.HandleFunc("GET /bodies/{body}/office/sign", gate.Only(func(w http.ResponseWriter, r *http.Request, s *staff.Session) {
		gate.SendToSign(w, r, s, staff.SignRequest{TitleJA: "契約書への署名", TitleEN: "Sign the contract", WhatJA: "契約 C-T-1 に署名します。",
			WhatEN: "You sign contract C-T-1.", LabelJA: "署名する", LabelEN: "Sign", Action: home + "sign", Back: home}, job(nil))
	}))
	site.CrossOriginLogin("POST /bodies/{body}/office/sign")
	mux.HandleFunc("POST /bodies/{body}/office/sign", gate.Only(func(w http.ResponseWriter, r *http.Request, s *staff.Session) {
		ok, err := gate.SignedAtDesk(w, r, s, home, job(&stored))
		switch {
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		case ok:
			fmt.Fprint(w, "signed by "+s.Grant.Name)
		}
	}))

	// Signed in at the office with a card login at the demo's desk.
	oc := webtest.New(t, office.URL)
	stafftest.SignIn(oc, home, home+"login", iss.Assertion(stafftest.Login{PlatformID: pid, Purpose: platform.PurposeStaff,
		Kind: platform.StaffDesk, Terminal: desks[0].ID, At: time.Now()}))
	to := oc.Step(webtest.Step{Name: "the office sends the browser to the desk", Path: home + "sign", WantStatus: http.StatusSeeOther}).Location()
	desk := "/staffdesk/" + desks[0].ID + "/sign"
	if !strings.HasPrefix(to, deskURL+desk+"?") {
		t.Fatalf("sent to %q, want the desk's process at %s", to, deskURL)
	}
	dc := webtest.New(t, deskURL)
	dc.Step(webtest.Step{Name: "the desk takes the handoff", Path: strings.TrimPrefix(to, deskURL), WantStatus: http.StatusSeeOther, WantLocation: desk})
	dc.Step(webtest.Step{Name: "what is signed, from the office's desk API", Path: desk, WantContains: []string{"契約 C-T-1 に署名します。", "関東地方整備局", `id="place"`}})
	dc.Step(webtest.Step{Name: "place the card", Path: desk + "/place", Form: url.Values{"card": {cardID}}, WantStatus: http.StatusSeeOther, WantLocation: desk})
	back := dc.Step(webtest.Step{Name: "the signing password", Path: desk, Form: url.Values{"password": {officer.SignPIN}},
		WantContains: []string{`id="signback"`, `action="` + office.URL + home + `sign"`}})
	form := url.Values{}
	for _, n := range []string{"state", "certificate", "signature"} {
		m := regexp.MustCompile(`name="` + n + `" value="([^"]*)"`).FindStringSubmatch(back.Body)
		if m == nil {
			t.Fatalf("no %s on the desk's page", n)
		}
		form.Set(n, html.UnescapeString(m[1]))
	}
	oc.Step(webtest.Step{Name: "the signature back at the office", Path: home + "sign", Form: form, NoToken: true, WantContains: []string{"signed by " + officer.Name}})
	if len(stored) != 1 {
		t.Fatalf("the office stored %d signatures, want 1", len(stored))
	}
	if _, err := cms.Verify(stored[0], nil, nil); err != nil {
		t.Errorf("the stored signature: %v", err)
	}
}
