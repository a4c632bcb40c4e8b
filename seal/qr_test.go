package seal

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
)

func TestQRRoundTrip(t *testing.T) {
	t.Parallel()
	a := testAuthority(t)
	s, err := a.Seal(sakata)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewQRPayload("R08-000123", sakata.Code, testNow, sampleContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := SignQR(p, s.QRSigner); err != nil {
		t.Fatal(err)
	}
	text := p.Text()
	if !strings.HasPrefix(text, QRPrefix) || len(text) > 213 {
		t.Errorf("QR text of %d characters (version 10-M holds 213 bytes): %s", len(text), text)
	}
	png, err := QRPNG(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := decodePNG(t, png); got != text {
		t.Fatalf("decoded %q, want %q", got, text)
	}
	q, err := ParseQR(text + "\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if q.Number != p.Number || q.Municipality != p.Municipality || !q.IssuedAt.Equal(testNow) || q.Digest != ContentDigest(sampleContent) || q.Secret != p.Secret {
		t.Errorf("parsed %+v, want %+v", q, p)
	}
	if err := VerifyQR(q, a); err != nil {
		t.Errorf("VerifyQR: %v", err)
	}

	t.Run("changed digest", func(t *testing.T) {
		f := *q
		f.Digest = ContentDigest(sampleContent + "改")
		g, err := ParseQR(f.Text())
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyQR(g, a); !errors.Is(err, ErrBadSignature) {
			t.Errorf("VerifyQR of a changed digest: %v", err)
		}
	})
	t.Run("another key", func(t *testing.T) {
		_, other, _ := ed25519.GenerateKey(rand.Reader)
		f := *q
		if err := SignQR(&f, other); err != nil {
			t.Fatal(err)
		}
		if err := VerifyQR(&f, a); !errors.Is(err, ErrBadSignature) {
			t.Errorf("VerifyQR signed by another key: %v", err)
		}
	})
	t.Run("unknown municipality", func(t *testing.T) {
		f := *q
		f.Municipality = "131016"
		if err := VerifyQR(&f, a); !errors.Is(err, ErrBadSignature) || !errors.Is(err, ErrUnknownMunicipality) {
			t.Errorf("VerifyQR of an unknown municipality: %v", err)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		for _, s := range []string{"", "https://example.jp/", QRPrefix, QRPrefix + "!!!", text[:len(text)-4], text + "AAAA", "ms1." + text[4:]} {
			if _, err := ParseQR(s); !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseQR(%q): %v, want ErrMalformed", s, err)
			}
		}
	})
}

func FuzzParseQR(f *testing.F) {
	p, _ := NewQRPayload("R08-000123", "062049", testNow, sampleContent)
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	SignQR(p, k)
	f.Add(p.Text())
	f.Add(QRPrefix)
	f.Add(QRPrefix + "AAAA")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQR(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseQR error %v is not ErrMalformed", err)
			}
			return
		}
		// Whatever parses encodes back to the same canonical text.
		again, err := ParseQR(q.Text())
		if err != nil {
			t.Fatalf("re-parse of %q: %v", q.Text(), err)
		}
		if again.Text() != q.Text() {
			t.Fatalf("not stable: %q then %q", q.Text(), again.Text())
		}
	})
}
