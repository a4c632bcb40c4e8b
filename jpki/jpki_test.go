package jpki

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/internal/trace"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ocsp"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/wareki"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time                 { return c.t }
func (c *clock) advance(d time.Duration)        { c.t = c.t.Add(d) }
func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, wareki.JST()) }

type env struct {
	c     *Centre
	clock *clock
	cards *card.Store
	srv   *httptest.Server
	token string
}

func newEnv(t testing.TB, db *store.DB) *env {
	t.Helper()
	ck := &clock{time.Date(2026, 11, 24, 10, 0, 0, 0, wareki.JST())}
	e := &env{clock: ck}
	mux := http.NewServeMux()
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	c, err := Open(context.Background(), Config{DB: db, Dir: t.TempDir(), BaseURL: srv.URL, Now: ck.now})
	if err != nil {
		t.Fatal(err)
	}
	c.Routes(mux)
	srv.Config.Handler = trace.Middleware(c.Wrap(mux))
	cards, err := card.NewStore(t.TempDir(), ck.now)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.AddOperator(context.Background(), "test-platform")
	if err != nil {
		t.Fatal(err)
	}
	e.c, e.cards, e.srv, e.token = c, cards, srv, tok
	return e
}

var adult = Resident{
	Name: "須坂　花子", Kana: "スザカ　ハナコ", BirthDate: date(1980, 2, 29), Sex: Female,
	Address: "長野県須坂市大字須坂１２３４番地", Municipality: "202070",
}

func (e *env) newCard(t testing.TB, r Resident) (*card.Card, *IssuedCard) {
	t.Helper()
	cd, err := e.cards.Create(card.Spec{AuthPIN: "1234", SignPIN: "ABC123", TextPIN: "1234", MyNumber: "123456789018",
		Name: r.Name, Address: r.Address, BirthDate: r.BirthDate.Format("20060102"), Sex: "2"})
	if err != nil {
		t.Fatal(err)
	}
	is, err := e.c.IssueCard(context.Background(), r, cd)
	if err != nil {
		t.Fatal(err)
	}
	return cd, is
}

func TestIssueCardProfiles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		cd, is := e.newCard(t, adult)
		if is.Auth == nil || is.Sign == nil {
			t.Fatalf("issued %+v, want both certificates", is)
		}
		cl := card.NewClient(cd)
		authDER, err := cl.Certificate(card.Auth)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(authDER, is.Auth.DER) {
			t.Fatal("the card's auth certificate differs from the issued one")
		}
		if err := cl.VerifyPIN(card.SignPIN, "ABC123"); err != nil {
			t.Fatal(err)
		}
		signDER, err := cl.Certificate(card.Sign)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			kind Kind
			der  []byte
		}{{Auth, authDER}, {Sign, signDER}} {
			cert, err := x509.ParseCertificate(tc.der)
			if err != nil {
				t.Fatal(err)
			}
			pool := x509.NewCertPool()
			pool.AddCert(e.c.CA(tc.kind))
			if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: e.clock.now(),
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
				t.Errorf("%s: chain: %v", tc.kind, err)
			}
			// Valid to 23:59:59 JST of the fifth birthday after issue: born
			// 29 Feb, issued 2026-11-24 → 2031-02-28.
			if got, want := cert.NotAfter, time.Date(2031, 2, 28, 23, 59, 59, 0, wareki.JST()); !got.Equal(want) {
				t.Errorf("%s: NotAfter %v, want %v", tc.kind, got, want)
			}
			if cert.PublicKeyAlgorithm != x509.RSA || cert.PublicKey.(*rsa.PublicKey).N.BitLen() != 2048 {
				t.Errorf("%s: key is not RSA-2048", tc.kind)
			}
		}
		auth, _ := x509.ParseCertificate(authDER)
		if len(auth.Subject.Names) != 2 || auth.Subject.Country[0] != "JP" || len(auth.Subject.CommonName) != 23 {
			t.Errorf("auth subject %v: want C=JP and a 23-character CN only", auth.Subject)
		}
		if auth.KeyUsage != x509.KeyUsageDigitalSignature {
			t.Errorf("auth key usage %v", auth.KeyUsage)
		}
		sign, _ := x509.ParseCertificate(signDER)
		if got := sign.Subject.Locality; !cmp.Equal(got, []string{"Nagano-ken", "Suzaka-shi"}) {
			t.Errorf("sign L = %v", got)
		}
		if sign.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment {
			t.Errorf("sign key usage %v", sign.KeyUsage)
		}
		got := sanOtherNames(t, sign)
		want := [][2]string{
			{"1.2.392.200149.8.5.5.1", "須坂　花子"},
			{"1.2.392.200149.8.5.5.4", "319800229"},
			{"1.2.392.200149.8.5.5.3", "2"},
			{"1.2.392.200149.8.5.5.5", "長野県須坂市大字須坂１２３４番地"},
			{"1.2.392.200149.8.5.5.2", "00000"},
			{"1.2.392.200149.8.5.5.6", strings.Repeat("0", 16)},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("signing SAN (-want +got):\n%s", diff)
		}
		// The last extension is the SKI, as in real JPKI certificates.
		last := sign.Extensions[len(sign.Extensions)-1]
		if !last.Id.Equal(oidExtSKI) {
			t.Errorf("last extension %v, want SKI", last.Id)
		}
		for _, ext := range sign.Extensions {
			if ext.Id.Equal(oidExtPolicies) && !ext.Critical {
				t.Error("certificatePolicies must be critical")
			}
		}
		if !strings.HasSuffix(sign.CRLDistributionPoints[0], "/jpki/crl/sign.crl") {
			t.Errorf("CRL DP %v", sign.CRLDistributionPoints)
		}
		// Names keep their string types: C PrintableString, the rest UTF8String.
		checkStringTypes(t, e.c.CA(Auth).RawSubject)
		checkStringTypes(t, sign.RawSubject)
	})
}

func sanOtherNames(t *testing.T, c *x509.Certificate) [][2]string {
	t.Helper()
	for _, ext := range c.Extensions {
		if !ext.Id.Equal(oidExtSAN) {
			continue
		}
		var names []asn1.RawValue
		if _, err := asn1.Unmarshal(ext.Value, &names); err != nil {
			t.Fatal(err)
		}
		var out [][2]string
		for _, n := range names {
			// otherName is [0] { type-id, [0] EXPLICIT value }; Go's
			// RawValue ignores "explicit", so unwrap the [0] by hand.
			var on struct {
				ID      asn1.ObjectIdentifier
				Wrapped asn1.RawValue
			}
			if _, err := asn1.UnmarshalWithParams(n.FullBytes, &on, "tag:0"); err != nil {
				t.Fatal(err)
			}
			var v asn1.RawValue
			if _, err := asn1.Unmarshal(on.Wrapped.Bytes, &v); err != nil {
				t.Fatal(err)
			}
			if on.Wrapped.Class != asn1.ClassContextSpecific || on.Wrapped.Tag != 0 || v.Tag != asn1.TagUTF8String {
				t.Errorf("%v is [%d] tag %d, want [0] UTF8String", on.ID, on.Wrapped.Tag, v.Tag)
			}
			out = append(out, [2]string{on.ID.String(), string(v.Bytes)})
		}
		return out
	}
	t.Fatal("no SAN")
	return nil
}

// rawRDNSET keeps each attribute's raw value; encoding/asn1 treats slice
// types whose names end in SET as SET OF.
type rawRDNSET []struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

func checkStringTypes(t *testing.T, rawName []byte) {
	t.Helper()
	var rdns []rawRDNSET
	if _, err := asn1.Unmarshal(rawName, &rdns); err != nil {
		t.Fatal(err)
	}
	for _, rdn := range rdns {
		for _, a := range rdn {
			want := asn1.TagUTF8String
			if a.Type.Equal(oidC) {
				want = asn1.TagPrintableString
			}
			if a.Value.Tag != want {
				t.Errorf("%v has string tag %d, want %d", a.Type, a.Value.Tag, want)
			}
		}
	}
}

func TestUnder15GetsNoSigningCertificate(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	child := adult
	child.Name, child.BirthDate = "須坂　太郎", date(2015, 4, 1)
	cd, is := e.newCard(t, child)
	if is.Sign != nil {
		t.Fatal("a child got a signing certificate")
	}
	// Children's certificates run to the fifth birthday too: 2031-04-01.
	if got, want := is.Auth.NotAfter, time.Date(2031, 4, 1, 23, 59, 59, 0, wareki.JST()); !got.Equal(want) {
		t.Errorf("NotAfter %v, want %v", got, want)
	}
	if _, err := card.NewClient(cd).Certificate(card.Sign); err == nil {
		t.Error("reading a signing certificate from a child's card worked")
	}
}

func TestIssueCardRejectsBadResidents(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	tests := map[string]func(r *Resident){
		"empty name":       func(r *Resident) { r.Name = " " },
		"future birth":     func(r *Resident) { r.BirthDate = date(2030, 1, 1) },
		"bad sex":          func(r *Resident) { r.Sex = 9 },
		"bad check digit":  func(r *Resident) { r.Municipality = "202071" },
		"unknown town":     func(r *Resident) { r.Municipality = "011002" },
		"address too long": func(r *Resident) { r.Address = strings.Repeat("あ", 201) },
		"before Gregorian": func(r *Resident) { r.BirthDate = date(1872, 1, 1) },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			r := adult
			mutate(&r)
			cd, err := e.cards.Create(card.Spec{AuthPIN: "1234", SignPIN: "ABC123", TextPIN: "1234", MyNumber: "123456789018",
				Name: "x", Address: "y", BirthDate: "19800101", Sex: "1"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.c.IssueCard(context.Background(), r, cd); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			// Nothing was recorded for the card.
			if certs, _ := e.c.CardCertificates(context.Background(), cd.ID()); len(certs) != 0 {
				t.Fatalf("%d certificates recorded after a refused issuance", len(certs))
			}
		})
	}
}

// TestLifecycle walks a card through renewal, change of address and loss,
// checking the CRL, OCSP, linkage records and the revocation feed after each.
func TestLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		cd, first := e.newCard(t, adult)
		e.wantOCSP(t, first.Auth, ocsp.Good, 0)

		e.clock.advance(24 * time.Hour)
		renewed, err := e.c.Renew(ctx, cd.ID(), cd)
		if err != nil {
			t.Fatal(err)
		}
		e.wantOCSP(t, first.Auth, ocsp.Revoked, ocsp.Superseded)
		e.wantOCSP(t, first.Sign, ocsp.Revoked, ocsp.Superseded)
		e.wantOCSP(t, renewed.Auth, ocsp.Good, 0)
		if renewed.Auth.DER == nil || bytes.Equal(renewed.Auth.DER, first.Auth.DER) {
			t.Fatal("renewal did not issue a new auth certificate")
		}
		l := e.linkage(t, Auth, first.Auth.Serial)
		if diff := cmp.Diff([]LinkageRef{{Auth, renewed.Auth.Serial}}, l.Next); diff != "" {
			t.Errorf("old auth → new (-want +got):\n%s", diff)
		}
		l = e.linkage(t, Auth, renewed.Auth.Serial)
		if diff := cmp.Diff(linkageView{
			Previous: []LinkageRef{{Auth, first.Auth.Serial}},
			Pair:     []LinkageRef{{Sign, renewed.Sign.Serial}},
			Next:     []LinkageRef{},
		}, view(l)); diff != "" {
			t.Errorf("new auth linkage (-want +got):\n%s", diff)
		}
		// The new key is on the card: a signature made with it verifies
		// against the new certificate.
		checkCardSigns(t, cd, renewed.Auth.DER)

		e.clock.advance(time.Hour)
		moved, err := e.c.ChangeAddress(ctx, cd.ID(), "", "山形県酒田市本町二丁目２番４５号", "062049", cd)
		if err != nil {
			t.Fatal(err)
		}
		e.wantOCSP(t, renewed.Sign, ocsp.Revoked, ocsp.AffiliationChanged)
		e.wantOCSP(t, renewed.Auth, ocsp.Good, 0)
		if moved.Auth.Serial != renewed.Auth.Serial {
			t.Errorf("change of address replaced the auth certificate")
		}
		l = e.linkage(t, Sign, moved.Sign.Serial)
		if diff := cmp.Diff(linkageView{
			Previous: []LinkageRef{{Sign, renewed.Sign.Serial}},
			Pair:     []LinkageRef{{Auth, renewed.Auth.Serial}},
			Next:     []LinkageRef{},
		}, view(l)); diff != "" {
			t.Errorf("new sign linkage (-want +got):\n%s", diff)
		}
		sign, _ := x509.ParseCertificate(moved.Sign.DER)
		if got := sign.Subject.Locality; !cmp.Equal(got, []string{"Yamagata-ken", "Sakata-shi"}) {
			t.Errorf("new sign L = %v", got)
		}
		attrs := readAttributes(t, cd)
		if attrs.Address != "山形県酒田市本町二丁目２番４５号" {
			t.Errorf("card surface address = %q", attrs.Address)
		}

		e.clock.advance(time.Hour)
		lost, err := e.c.ReportLoss(ctx, cd.ID())
		if err != nil || len(lost) != 2 {
			t.Fatalf("ReportLoss = %v, %v", lost, err)
		}
		e.wantOCSP(t, renewed.Auth, ocsp.Revoked, ocsp.KeyCompromise)
		e.wantOCSP(t, moved.Sign, ocsp.Revoked, ocsp.KeyCompromise)
		if _, err := e.c.ReportLoss(ctx, cd.ID()); !errors.Is(err, ErrInvalid) {
			t.Errorf("second ReportLoss: %v, want ErrInvalid", err)
		}

		// The CRLs list every revocation with its reason.
		wantCRL := map[Kind]map[string]int{
			Auth: {first.Auth.Serial: ocsp.Superseded, renewed.Auth.Serial: ocsp.KeyCompromise},
			Sign: {first.Sign.Serial: ocsp.Superseded, renewed.Sign.Serial: ocsp.AffiliationChanged, moved.Sign.Serial: ocsp.KeyCompromise},
		}
		for k, want := range wantCRL {
			if diff := cmp.Diff(want, e.crlEntries(t, k)); diff != "" {
				t.Errorf("%s CRL (-want +got):\n%s", k, diff)
			}
		}
		// The feed has all five, in order, and pages.
		feed := e.feed(t, 0, 3)
		if len(feed.Revocations) != 3 || feed.Next != feed.Revocations[2].Seq {
			t.Fatalf("first page %+v", feed)
		}
		rest := e.feed(t, feed.Next, 100)
		all := append(feed.Revocations, rest.Revocations...)
		var reasons []string
		for _, r := range all {
			reasons = append(reasons, string(r.Kind)+":"+r.Reason)
		}
		if diff := cmp.Diff([]string{"auth:superseded", "sign:superseded", "sign:affiliationChanged",
			"auth:keyCompromise", "sign:keyCompromise"}, reasons); diff != "" {
			t.Errorf("feed (-want +got):\n%s", diff)
		}
		if empty := e.feed(t, rest.Next, 100); len(empty.Revocations) != 0 || empty.Next != rest.Next {
			t.Errorf("feed after the end: %+v", empty)
		}
		// Reading linkage and the feed left audit rows.
		audit, err := e.c.AuditSince(ctx, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		actions := map[string]int{}
		for _, a := range audit {
			actions[a.Action]++
		}
		for _, a := range []string{"issue-card", "renew", "change-address", "report-loss", "linkage", "revocation-feed"} {
			if actions[a] == 0 {
				t.Errorf("no audit row for %s (have %v)", a, actions)
			}
		}
	})
}

type linkageView struct{ Pair, Previous, Next []LinkageRef }

func view(l *Linkage) linkageView { return linkageView{l.Pair, l.Previous, l.Next} }

func TestDeath(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	cd, is := e.newCard(t, adult)
	if _, err := e.c.RecordDeath(context.Background(), cd.ID()); err != nil {
		t.Fatal(err)
	}
	e.wantOCSP(t, is.Auth, ocsp.Revoked, ocsp.CessationOfOperation)
	e.wantOCSP(t, is.Sign, ocsp.Revoked, ocsp.CessationOfOperation)
}

func checkCardSigns(t *testing.T, cd *card.Card, certDER []byte) {
	t.Helper()
	cl := card.NewClient(cd)
	if err := cl.VerifyPIN(card.AuthPIN, "1234"); err != nil {
		t.Fatal(err)
	}
	s, err := cl.Signer(card.Auth)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("challenge"))
	sig, err := s.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(certDER)
	if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("card signature does not verify with the certificate: %v", err)
	}
}

func readAttributes(t *testing.T, cd *card.Card) card.Attributes {
	t.Helper()
	cl := card.NewClient(cd)
	if err := cl.VerifyPIN(card.TextPIN, "1234"); err != nil {
		t.Fatal(err)
	}
	a, err := cl.Attributes()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// operator is a client of the centre's operator API, with its token.
func (e *env) operator(t *testing.T) *webtest.Client {
	return webtest.New(t, e.srv.URL).Bearer(e.token)
}

func (e *env) linkage(t *testing.T, k Kind, serial string) *Linkage {
	t.Helper()
	var l Linkage
	e.operator(t).Step(webtest.Step{Name: "linkage", Path: "/jpki/linkage?kind=" + string(k) + "&serial=" + serial}).JSON(&l)
	return &l
}

func (e *env) feed(t *testing.T, after int64, limit int) FeedPage {
	t.Helper()
	var p FeedPage
	e.operator(t).Step(webtest.Step{Name: "feed", Path: "/jpki/revocations?after=" + itoa(after) + "&limit=" + itoa(int64(limit))}).JSON(&p)
	return p
}

func itoa(n int64) string { return big.NewInt(n).String() }

func (e *env) crlEntries(t *testing.T, k Kind) map[string]int {
	t.Helper()
	resp := webtest.New(t, e.srv.URL).Get("/jpki/crl/" + string(k) + ".crl")
	if ct := resp.Header.Get("Content-Type"); ct != "application/pkix-crl" {
		t.Errorf("CRL content type %q", ct)
	}
	crl, err := x509.ParseRevocationList([]byte(resp.Body))
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(e.c.CA(k)); err != nil {
		t.Fatal(err)
	}
	if crl.Number == nil || crl.Number.Sign() <= 0 || !crl.NextUpdate.After(crl.ThisUpdate) {
		t.Errorf("CRL number %v, this %v, next %v", crl.Number, crl.ThisUpdate, crl.NextUpdate)
	}
	out := map[string]int{}
	for _, r := range crl.RevokedCertificateEntries {
		out[Serial(r.SerialNumber)] = r.ReasonCode
	}
	return out
}

// wantOCSP asks the responder about ci by POST and by GET and checks the
// answer with golang.org/x/crypto/ocsp, an independent parser.
func (e *env) wantOCSP(t *testing.T, ci *CertInfo, status, reason int) {
	t.Helper()
	cert, _ := x509.ParseCertificate(ci.DER)
	issuer := e.c.CA(ci.Kind)
	reqDER, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: crypto.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"POST", "GET"} {
		var resp *http.Response
		if method == "POST" {
			resp, err = http.Post(e.srv.URL+"/jpki/ocsp", "application/ocsp-request", bytes.NewReader(reqDER))
		} else {
			resp, err = http.Get(e.srv.URL + "/jpki/ocsp/" + base64.StdEncoding.EncodeToString(reqDER))
		}
		if err != nil {
			t.Fatal(err)
		}
		der, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r, err := ocsp.ParseResponseForCert(der, cert, issuer)
		if err != nil {
			t.Fatalf("%s: parse OCSP response: %v", method, err)
		}
		if r.Status != status || (status == ocsp.Revoked && r.RevocationReason != reason) {
			t.Errorf("%s %s %s: status %d reason %d, want %d %d", method, ci.Kind, ci.Serial, r.Status, r.RevocationReason, status, reason)
		}
		if !bytes.Equal(r.Certificate.Raw, e.c.ResponderCertificate(ci.Kind)) {
			t.Errorf("%s: response not signed by the delegated responder", method)
		}
	}
}

func TestAttributesFollowChangeOfAddress(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		cd, is := e.newCard(t, adult)
		cl := &Client{BaseURL: e.srv.URL, Token: e.token}
		a, err := cl.Attributes(ctx, Auth, is.Auth.Serial)
		if err != nil {
			t.Fatal(err)
		}
		if a.Name != adult.Name || a.Kana != adult.Kana || a.Address != adult.Address || a.Sex != Female ||
			a.BirthDate.Format(time.DateOnly) != "1980-02-29" || a.Certificate.Status != StatusGood {
			t.Errorf("attributes %+v", a)
		}
		if _, err := e.c.ChangeAddress(ctx, cd.ID(), "", "山形県酒田市本町二丁目２番４５号", "062049", cd); err != nil {
			t.Fatal(err)
		}
		// The auth certificate survives the move; its holder's address is the new one.
		if a, err = cl.Attributes(ctx, Auth, is.Auth.Serial); err != nil || a.Address != "山形県酒田市本町二丁目２番４５号" {
			t.Errorf("after the move: %+v %v", a, err)
		}
		if _, err := (&Client{BaseURL: e.srv.URL}).Attributes(ctx, Auth, is.Auth.Serial); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("without a token: %v", err)
		}
		audit, _ := e.c.AuditSince(ctx, time.Time{})
		n := 0
		for _, a := range audit {
			if a.Action == "attributes" {
				n++
			}
		}
		if n != 2 {
			t.Errorf("%d audit rows for attribute reads, want 2", n)
		}
	})
}
