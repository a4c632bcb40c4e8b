package mail_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/community/mail"
	"github.com/mynaplat/mynaplat/community/mail/mailbox"
)

// selfSigned is a server certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// TestSenderTLSAndAuth: with a server that offers STARTTLS and requires
// AUTH PLAIN, the sender upgrades, logs in and sends; a wrong password, a
// certificate it does not trust and a server without STARTTLS when it is
// required are errors (the outbox would retry them).
func TestSenderTLSAndAuth(t *testing.T) {
	ctx := context.Background()
	cert, pool := selfSigned(t)
	box, err := mailbox.StartWith(mailbox.Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}, User: "hoken", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer box.Close()
	plain, err := mailbox.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	m := mail.Message{To: "family@example.jp", Subject: "件名", Body: "本文"}
	for _, tc := range []struct {
		name string
		cfg  mail.Config
		want string // "" for sent
	}{
		{name: "STARTTLS and AUTH PLAIN", cfg: mail.Config{Addr: box.Addr(), From: "a@b.example", Username: "hoken", Password: "s3cret",
			StartTLS: true, TLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}}},
		{name: "a wrong password", cfg: mail.Config{Addr: box.Addr(), From: "a@b.example", Username: "hoken", Password: "no",
			TLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}}, want: "AUTH PLAIN"},
		{name: "no login", cfg: mail.Config{Addr: box.Addr(), From: "a@b.example", TLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}},
			want: "MAIL FROM"},
		{name: "an untrusted certificate", cfg: mail.Config{Addr: box.Addr(), From: "a@b.example", Username: "hoken", Password: "s3cret"},
			want: "STARTTLS"},
		{name: "STARTTLS required, not offered", cfg: mail.Config{Addr: plain.Addr(), From: "a@b.example", StartTLS: true}, want: "does not offer STARTTLS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.DialTimeout, tc.cfg.Deadline = 2*time.Second, 5*time.Second
			s, err := mail.NewSender(tc.cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = s.Send(ctx, m)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if got := box.Mails(); len(got) != 1 || got[0].Subject != "件名" {
		t.Errorf("mails %+v, want the one sent with TLS and a login", got)
	}
	if len(plain.Mails()) != 0 {
		t.Error("a mail went to the server without STARTTLS")
	}
}
