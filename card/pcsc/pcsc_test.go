//go:build pcsc

package pcsc

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/internal/testutil"
)

func TestPick(t *testing.T) {
	readers := []string{"Virtual PCD 00 00", "Virtual PCD 00 01", "SCM SCR 3310 00 00"}
	tests := []struct{ name, want string }{
		{"", "Virtual PCD 00 00"},
		{"Virtual PCD 00 01", "Virtual PCD 00 01"},
		{"SCM", "SCM SCR 3310 00 00"},
		{"nope", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := pick(readers, tt.name)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("pick(%q) = %q, %v; want %q", tt.name, got, ok, tt.want)
			}
		})
	}
}

// issue makes a self-signed test CA and a certificate for pub under it.
func issue(t *testing.T, pub *rsa.PublicKey, cn string) (cert, caCert []byte) {
	t.Helper()
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{Country: []string{"JP"}, Organization: []string{"JPKI-TEST"}, OrganizationalUnit: []string{cn + " CA"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caParsed, _ := x509.ParseCertificate(caDER)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{Country: []string{"JP"}, CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caParsed, pub, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der, caDER
}

// TestClientOverPCSC reads both certificates and signs through pcscd with
// mynaplat's own driver, the emulated card plugged in through vpcd.
func TestClientOverPCSC(t *testing.T) {
	testutil.PCSCD(t)
	s, err := card.NewStore(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Create(card.Spec{AuthPIN: "1234", SignPIN: "ABC123", TextPIN: "5678", MyNumber: "123456789012",
		Name: "試験\u3000太郎", Address: "東京都", BirthDate: "19800101", Sex: "1", Expiry: "20300101", SecurityCode: "4321"})
	if err != nil {
		t.Fatal(err)
	}
	certs := map[card.Purpose][2][]byte{}
	for _, p := range []card.Purpose{card.Auth, card.Sign} {
		pub, err := c.GenerateKey(p)
		if err != nil {
			t.Fatal(err)
		}
		der, caDER := issue(t, pub, "pcsc "+p.String())
		if err := c.WriteCertificate(p, der, caDER); err != nil {
			t.Fatal(err)
		}
		certs[p] = [2][]byte{der, caDER}
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); card.ServeVPCD(ctx, card.DefaultVPCDAddr, c, nil) }()
	t.Cleanup(func() { cancel(); <-done })

	var tr *Transport
	deadline := time.Now().Add(20 * time.Second)
	for {
		tr, err = Open("Virtual PCD 00 00")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("card never appeared in pcscd: %v", err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	defer tr.Close()
	readers, err := Readers()
	if err != nil || len(readers) == 0 || !strings.HasPrefix(readers[0], "Virtual PCD") {
		t.Errorf("Readers() = %q, %v", readers, err)
	}

	cl := card.NewClient(tr)
	if label, err := cl.TokenLabel(); err != nil || label != "JPKIAPICCTOKEN2" {
		t.Fatalf("TokenLabel() = %q, %v", label, err)
	}
	if n, err := cl.PINStatus(card.AuthPIN); err != nil || n != 3 {
		t.Errorf("PINStatus(AuthPIN) = %d, %v", n, err)
	}
	if _, err := cl.Certificate(card.Sign); !errors.Is(err, card.ErrSecurityStatus) {
		t.Errorf("Certificate(Sign) without password = %v, want ErrSecurityStatus", err)
	}
	if err := cl.VerifyPIN(card.SignPIN, "abc123"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []card.Purpose{card.Auth, card.Sign} {
		got, err := cl.Certificate(p)
		if err != nil || !bytes.Equal(got, certs[p][0]) {
			t.Errorf("Certificate(%v): %v, equal %v", p, err, bytes.Equal(got, certs[p][0]))
		}
		got, err = cl.CACertificate(p)
		if err != nil || !bytes.Equal(got, certs[p][1]) {
			t.Errorf("CACertificate(%v): %v, equal %v", p, err, bytes.Equal(got, certs[p][1]))
		}
	}
	// The two 券面 APs: every key's tries, the text AP's integrity record
	// and the visual AP's card face, each checked against its CV
	// certificate and that against the J-LIS CA key.
	for _, ref := range card.PINs {
		if n, err := cl.PINStatus(ref); err != nil || n == 0 {
			t.Errorf("PINStatus(%v) = %d, %v", ref, n, err)
		}
	}
	is, err := s.Issuer()
	if err != nil {
		t.Fatal(err)
	}
	visualCA, textCA := is.CAKeys()
	if err := cl.VerifyPIN(card.TextPINB, "55010120304321"); err != nil {
		t.Fatal(err)
	}
	textCert, err := cl.SurfaceCertificate(false)
	if err != nil || textCert.Verify(textCA) != nil {
		t.Fatalf("text AP certificate: %v", err)
	}
	rec, err := cl.TextIntegrity()
	if err != nil || rec.Verify(textCert.PublicKey) != nil {
		t.Errorf("text AP EF 0003: %v", err)
	}
	if err := cl.VerifyPIN(card.VisualPINB, "55010120304321"); err != nil {
		t.Fatal(err)
	}
	face, err := cl.CardFace()
	if err != nil {
		t.Fatal(err)
	}
	visualCert, err := cl.SurfaceCertificate(true)
	if err != nil || visualCert.Verify(visualCA) != nil || face.Verify(visualCert.PublicKey) != nil {
		t.Errorf("card face: certificate or signature does not verify (%v)", err)
	}
	if face.BirthDate != "19800101" || face.Expiry != "20300101" || card.FacePNG(face.FaceJP2) == nil {
		t.Errorf("card face: birth %q, expiry %q, %d-byte photo", face.BirthDate, face.Expiry, len(face.FaceJP2))
	}

	// Selecting the other APs logged the JPKI AP out.
	if err := cl.VerifyPIN(card.SignPIN, "abc123"); err != nil {
		t.Fatal(err)
	}
	if err := cl.VerifyPIN(card.AuthPIN, "1234"); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("over PC/SC"))
	for _, p := range []card.Purpose{card.Auth, card.Sign} {
		signer, err := cl.Signer(p)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := signer.Sign(rand.Reader, sum[:], crypto.SHA256)
		if err != nil {
			t.Fatalf("Sign(%v): %v", p, err)
		}
		if err := rsa.VerifyPKCS1v15(signer.Public().(*rsa.PublicKey), crypto.SHA256, sum[:], sig); err != nil {
			t.Errorf("%v signature does not verify: %v", p, err)
		}
	}
}
