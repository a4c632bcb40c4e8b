package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/card"
)

// cardTestCard creates a demo card in DIR/cards with both certificates from a
// throw-away self-signed CA.
func cardTestCard(t *testing.T, dir string) *card.Card {
	t.Helper()
	s, err := card.NewStore(filepath.Join(dir, "cards"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Create(card.Spec{Label: "demo 1", Demo: true, AuthPIN: "1234", SignPIN: "ABC123", TextPIN: "5678",
		MyNumber: "123456789018", Name: "見本\u3000花子", Address: "東京都", BirthDate: "19900401", Sex: "2",
		Expiry: "20360401", SecurityCode: "1357"})
	if err != nil {
		t.Fatal(err)
	}
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{Organization: []string{"JPKI-TEST"}, CommonName: "cli test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	for i, p := range []card.Purpose{card.Auth, card.Sign} {
		pub, err := c.GenerateKey(p)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(0x1234 + i)), Subject: pkix.Name{CommonName: "leaf " + p.String()},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.WriteCertificate(p, der, caDER); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// runCardOut runs "mynaplat card ARGS…" and returns its output, or its
// standard error as an error when it fails.
func runCardOut(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, errOut, code := runArgs(t.Context(), append([]string{"card"}, args...)...)
	if code != 0 {
		return out, fmt.Errorf("exit %d: %s", code, errOut)
	}
	return out, nil
}

func TestCardCommands(t *testing.T) {
	dir := t.TempDir()
	c := cardTestCard(t, dir)
	id := c.ID()
	imgDir := t.TempDir()
	// A wrong PIN before, so the tries show.
	if err := card.NewClient(c).VerifyPIN(card.AuthPIN, "0000"); err == nil {
		t.Fatal("wrong PIN accepted")
	}

	tests := []struct {
		name    string
		args    []string
		want    []string
		notWant []string
	}{
		{"list", []string{"list", "--data", dir}, []string{id, "demo 1", "見本\u3000花子", "2/5/3", "auth,sign", "1234/ABC123/5678/02040120361357"}, nil},
		{"show", []string{"show", "--data", dir, id},
			[]string{"auth PIN:              2 of 3 tries left", "CN=leaf auth", "serial:   1234", "RSA 2048 bits", "CN=cli test CA,O=JPKI-TEST",
				"protected by the signing password"},
			[]string{"CN=leaf sign"}},
		{"show with password after ID", []string{"show", id, "--data", dir, "--sign-pin", "abc123"},
			[]string{"CN=leaf sign", "serial:   1235"}, []string{"protected"}},
		{"pin-status", []string{"pin-status", "--data", dir, id},
			[]string{"auth PIN:              2 of 3", "signing password:      5 of 5", "text PIN:              3 of 3",
				"visual AP (券面事項確認AP)", "visual 照合番号A:      10 of 10", "visual 照合番号B:      10 of 10",
				"text 照合番号B:        10 of 10", "visual birth-date key: 10 of 10"}, nil},
		{"show the demo card's surface", []string{"show", "--data", dir, id, "--images", imgDir},
			[]string{"card surface (visual AP EF 0002, read with 照合番号B)", "birth date:     19900401", "sex:            2 (女性 / female)",
				"expiry:         20360401", "face photo:     JPEG 2000", "neutral placeholder", "name image:     PNG ",
				"key 7100001/001 certified by 7000023/001: verified with the J-LIS CA key", "signature:      verified with the certified key"},
			[]string{"DOES NOT VERIFY"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runCardOut(t, tt.args...)
			if err != nil {
				t.Fatalf("%v: %v\n%s", tt.args, err, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}

	t.Run("surface images", func(t *testing.T) {
		for _, name := range []string{"face.jp2", "face.png", "name.png", "address.png", "security-code.png"} {
			if fi, err := os.Stat(filepath.Join(imgDir, name)); err != nil || fi.Size() == 0 {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
	t.Run("surface with a wrong 照合番号B", func(t *testing.T) {
		out, err := runCardOut(t, "show", "--data", dir, id, "--pin-b", "02040120360000")
		if err == nil || !strings.Contains(err.Error(), "照合番号B") {
			t.Errorf("wrong 照合番号B: %v\n%s", err, out)
		}
	})
	t.Run("list json", func(t *testing.T) {
		out, err := runCardOut(t, "list", "--json", "--data", dir)
		if err != nil {
			t.Fatal(err)
		}
		var infos []card.Info
		if err := json.Unmarshal([]byte(out), &infos); err != nil {
			t.Fatal(err)
		}
		if len(infos) != 1 || infos[0].ID != id || infos[0].DemoPINs == nil || infos[0].AuthTriesLeft != 2 ||
			infos[0].DemoPINs.PINB != "02040120361357" || len(infos[0].Tries) != 8 || infos[0].Tries[5].PIN != card.VisualPINA {
			t.Errorf("list --json = %+v", infos)
		}
	})
	t.Run("errors", func(t *testing.T) {
		for _, args := range [][]string{
			{"show", "--data", dir},
			{"show", "--data", dir, "ffffffffffffffff"},
			{"show", "--data", dir, id, "--sign-pin", "WRONG1"},
			{"frobnicate"},
		} {
			if _, err := runCardOut(t, args...); err == nil {
				t.Errorf("%v succeeded", args)
			}
		}
	})
}

// TestCardPlug plugs the card into a fake vpcd and unplugs it on cancel.
func TestCardPlug(t *testing.T) {
	dir := t.TempDir()
	id := cardTestCard(t, dir).ID()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() {
		var stderr bytes.Buffer
		if code := run(ctx, []string{"card", "plug", "--data", dir, "--vpcd", ln.Addr().String(), id}, &out, &stderr); code != 0 {
			done <- fmt.Errorf("exit %d: %s", code, stderr.String())
			return
		}
		done <- nil
	}()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte{0, 1, 0x04}); err != nil { // get ATR
		t.Fatal(err)
	}
	var n uint16
	if err := binary.Read(conn, binary.BigEndian, &n); err != nil {
		t.Fatal(err)
	}
	atr := make([]byte, n)
	if _, err := io.ReadFull(conn, atr); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(atr, card.ATR()) {
		t.Errorf("ATR % X", atr)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("plug returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("plug did not stop")
	}
	if !strings.Contains(out.String(), "plugging card "+id) {
		t.Errorf("plug printed %q", out.String())
	}
}
