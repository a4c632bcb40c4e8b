package card

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mynaplat/mynaplat/apdu"
)

// countingTransport counts the APDUs that reach the card.
type countingTransport struct {
	Transport
	n int
}

func (c *countingTransport) Transmit(cmd []byte) ([]byte, error) {
	c.n++
	return c.Transport.Transmit(cmd)
}

func TestClientCertificates(t *testing.T) {
	t.Parallel()
	card := newMemCard(t)
	cl := NewClient(card)
	tests := []struct {
		name string
		read func() ([]byte, error)
		want []byte
	}{
		{"auth", func() ([]byte, error) { return cl.Certificate(Auth) }, card.st.Auth.Cert},
		{"auth CA", func() ([]byte, error) { return cl.CACertificate(Auth) }, card.st.Auth.CACert},
		{"sign CA", func() ([]byte, error) { return cl.CACertificate(Sign) }, card.st.Sign.CACert},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.read()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("certificate differs: got %d bytes, want %d", len(got), len(tt.want))
			}
		})
	}
	t.Run("sign needs password", func(t *testing.T) {
		if _, err := cl.Certificate(Sign); !errors.Is(err, ErrSecurityStatus) {
			t.Fatalf("Certificate(Sign) without password: %v, want ErrSecurityStatus", err)
		}
		var se *apdu.StatusError
		if _, err := cl.Certificate(Sign); !errors.As(err, &se) || se.SW != apdu.SecurityStatus {
			t.Errorf("error chain lacks *apdu.StatusError 6982: %v", err)
		}
		if err := cl.VerifyPIN(SignPIN, "abc123"); err != nil { // lower case is upper-cased
			t.Fatal(err)
		}
		got, err := cl.Certificate(Sign)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, card.st.Sign.Cert) {
			t.Error("signing certificate differs")
		}
	})
	t.Run("token label", func(t *testing.T) {
		got, err := cl.TokenLabel()
		if err != nil || got != "JPKIAPICCTOKEN2" {
			t.Errorf("TokenLabel() = %q, %v", got, err)
		}
	})
}

// filler is a fake card with one EF, to check long-form lengths and filler.
type fillerCard struct{ ef []byte }

func (f fillerCard) Transmit(b []byte) ([]byte, error) {
	cmd, err := apdu.Parse(b)
	if err != nil {
		return nil, err
	}
	if cmd.INS != insReadBinary {
		return []byte{0x90, 0x00}, nil
	}
	off := int(cmd.P1)<<8 | int(cmd.P2)
	if off >= len(f.ef) {
		return []byte{0x6B, 0x00}, nil
	}
	return append(bytes.Clone(f.ef[off:off+min(cmd.Le, len(f.ef)-off)]), 0x90, 0x00), nil
}

func TestReadTLV(t *testing.T) {
	t.Parallel()
	big := append(h("30 82 01 2C"), bytes.Repeat([]byte{0xAB}, 300)...)
	tests := []struct {
		name string
		ef   []byte
		want []byte
	}{
		{"long form with filler", append(bytes.Clone(big), 0xFF, 0xFF, 0xFF), big},
		{"short form shorter than 7", h("04 02 01 02"), h("04 02 01 02")},
		{"81 form", append(append(h("30 81 80"), bytes.Repeat([]byte{1}, 128)...), 0xFF), append(h("30 81 80"), bytes.Repeat([]byte{1}, 128)...)},
		{"two-byte tag", h("FF 10 03 31 32 33 FF FF"), h("FF 10 03 31 32 33")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClient(fillerCard{tt.ef})
			got, err := c.readTLV()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("readTLV mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := NewClient(fillerCard{h("30 82 01 00 00")}).readTLV(); err == nil {
		t.Error("truncated object read without error")
	}
}

func TestClientPINs(t *testing.T) {
	t.Parallel()
	t.Run("status", func(t *testing.T) {
		t.Parallel()
		cl := NewClient(newMemCard(t))
		for ref, want := range map[PIN]int{AuthPIN: 3, SignPIN: 5, TextPIN: 3} {
			if got, err := cl.PINStatus(ref); err != nil || got != want {
				t.Errorf("PINStatus(%v) = %d, %v; want %d", ref, got, err, want)
			}
		}
	})
	t.Run("format checked before sending", func(t *testing.T) {
		t.Parallel()
		tr := &countingTransport{Transport: newMemCard(t)}
		cl := NewClient(tr)
		for ref, pin := range map[PIN]string{AuthPIN: "123", SignPIN: "AB12", TextPIN: "12a4"} {
			if err := cl.VerifyPIN(ref, pin); !errors.Is(err, ErrPINFormat) {
				t.Errorf("VerifyPIN(%v, %q) = %v, want ErrPINFormat", ref, pin, err)
			}
		}
		if tr.n != 0 {
			t.Errorf("%d APDUs sent for malformed PINs", tr.n)
		}
	})
	for _, ref := range []PIN{AuthPIN, SignPIN, TextPIN} {
		t.Run("to blocked "+ref.String(), func(t *testing.T) {
			t.Parallel()
			cl := NewClient(newMemCard(t))
			wrong := map[PIN]string{AuthPIN: "0000", SignPIN: "WRONG1", TextPIN: "0000"}[ref]
			right := map[PIN]string{AuthPIN: testAuthPIN, SignPIN: testSignPIN, TextPIN: testTextPIN}[ref]
			for left := ref.MaxTries() - 1; left >= 0; left-- {
				err := cl.VerifyPIN(ref, wrong)
				var pe *PINError
				if !errors.As(err, &pe) || pe.TriesLeft != left || !errors.Is(err, ErrWrongPIN) {
					t.Fatalf("VerifyPIN(wrong) = %v, want *PINError with %d left", err, left)
				}
				if got := errors.Is(err, ErrPINBlocked); got != (left == 0) {
					t.Errorf("errors.Is(ErrPINBlocked) = %v with %d left", got, left)
				}
				if n, err := cl.PINStatus(ref); err != nil || n != left {
					t.Errorf("PINStatus = %d, %v; want %d", n, err, left)
				}
			}
			if err := cl.VerifyPIN(ref, right); !errors.Is(err, ErrPINBlocked) || errors.Is(err, ErrWrongPIN) {
				t.Errorf("VerifyPIN(right) on blocked PIN = %v, want ErrPINBlocked", err)
			}
		})
	}
	t.Run("change", func(t *testing.T) {
		t.Parallel()
		cl := NewClient(newMemCard(t))
		if err := cl.ChangePIN(SignPIN, testSignPIN, "newpass99"); err != nil {
			t.Fatal(err)
		}
		if err := cl.VerifyPIN(SignPIN, testSignPIN); !errors.Is(err, ErrWrongPIN) {
			t.Errorf("old password: %v, want ErrWrongPIN", err)
		}
		if err := cl.VerifyPIN(SignPIN, "NEWPASS99"); err != nil {
			t.Errorf("new password: %v", err)
		}
		if err := cl.ChangePIN(AuthPIN, "9999", "1111"); !errors.Is(err, ErrWrongPIN) {
			t.Errorf("ChangePIN with wrong old PIN = %v, want ErrWrongPIN", err)
		}
		if err := cl.ChangePIN(AuthPIN, testAuthPIN, "11111"); !errors.Is(err, ErrPINFormat) {
			t.Errorf("ChangePIN to bad format = %v, want ErrPINFormat", err)
		}
	})
}

func TestClientSigner(t *testing.T) {
	t.Parallel()
	cl := NewClient(newMemCard(t))
	if _, err := cl.SignDigestInfo(Auth, []byte{1}); !errors.Is(err, ErrSecurityStatus) {
		t.Fatalf("sign without PIN: %v, want ErrSecurityStatus", err)
	}
	if err := cl.VerifyPIN(AuthPIN, testAuthPIN); err != nil {
		t.Fatal(err)
	}
	if err := cl.VerifyPIN(SignPIN, testSignPIN); err != nil {
		t.Fatal(err)
	}
	msg := []byte("署名対象")
	sums := map[crypto.Hash][]byte{}
	s1 := sha1.Sum(msg)
	s224 := sha256.Sum224(msg)
	s256 := sha256.Sum256(msg)
	s384 := sha512.Sum384(msg)
	s512 := sha512.Sum512(msg)
	sums[crypto.SHA1], sums[crypto.SHA224], sums[crypto.SHA256], sums[crypto.SHA384], sums[crypto.SHA512] = s1[:], s224[:], s256[:], s384[:], s512[:]
	for _, p := range []Purpose{Auth, Sign} {
		signer, err := cl.Signer(p)
		if err != nil {
			t.Fatal(err)
		}
		pub := signer.Public().(*rsa.PublicKey)
		for hash, sum := range sums {
			t.Run(p.String()+" "+hash.String(), func(t *testing.T) {
				sig, err := signer.Sign(rand.Reader, sum, hash)
				if err != nil {
					t.Fatal(err)
				}
				if err := rsa.VerifyPKCS1v15(pub, hash, sum, sig); err != nil {
					t.Errorf("signature does not verify: %v", err)
				}
			})
		}
		t.Run(p.String()+" rejects PSS", func(t *testing.T) {
			_, err := signer.Sign(rand.Reader, s256[:], &rsa.PSSOptions{Hash: crypto.SHA256})
			if !errors.Is(err, ErrUnsupportedSignature) {
				t.Errorf("PSS: %v, want ErrUnsupportedSignature", err)
			}
		})
		t.Run(p.String()+" rejects MD5 and wrong sizes", func(t *testing.T) {
			if _, err := signer.Sign(rand.Reader, make([]byte, 16), crypto.MD5); !errors.Is(err, ErrUnsupportedSignature) {
				t.Errorf("MD5: %v", err)
			}
			if _, err := signer.Sign(rand.Reader, make([]byte, 31), crypto.SHA256); err == nil {
				t.Error("31-byte SHA-256 digest signed")
			}
		})
	}
}

func TestClientTextAP(t *testing.T) {
	t.Parallel()
	cl := NewClient(newMemCard(t))
	if _, err := cl.MyNumber(); !errors.Is(err, ErrSecurityStatus) {
		t.Fatalf("MyNumber without PIN: %v", err)
	}
	if _, err := cl.Attributes(); !errors.Is(err, ErrSecurityStatus) {
		t.Fatalf("Attributes without PIN: %v", err)
	}
	if err := cl.VerifyPIN(TextPIN, testTextPIN); err != nil {
		t.Fatal(err)
	}
	n, err := cl.MyNumber()
	if err != nil || n != "123456789012" {
		t.Errorf("MyNumber() = %q, %v", n, err)
	}
	a, err := cl.Attributes()
	if err != nil {
		t.Fatal(err)
	}
	spec := testSpec()
	want := Attributes{Name: spec.Name, Address: spec.Address, BirthDate: spec.BirthDate, Sex: spec.Sex}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("Attributes() mismatch (-want +got):\n%s", diff)
	}
}

// TestAttributesOffsets checks the DF21 directory: each offset points at the
// tag of its attribute.
func TestAttributesOffsets(t *testing.T) {
	t.Parallel()
	long := Attributes{Name: "長い\u3000名前", Address: string(bytes.Repeat([]byte("あ"), 200)), BirthDate: "20000229", Sex: "9"}
	for name, a := range map[string]Attributes{"short": {Name: "A\u3000B", BirthDate: "19700101", Sex: "1"}, "long": long} {
		t.Run(name, func(t *testing.T) {
			f := attributesFile(a)
			hdr, n, err := berHeader(f)
			if err != nil || hdr+n != len(f) {
				t.Fatalf("outer TLV: hdr %d len %d, file %d, %v", hdr, n, len(f), err)
			}
			if !bytes.Equal(f[hdr:hdr+3], h("DF 21 08")) {
				t.Fatalf("no DF21 at %d", hdr)
			}
			for i, tag := range []byte{0x22, 0x23, 0x24, 0x25} {
				off := int(f[hdr+3+2*i])<<8 | int(f[hdr+4+2*i])
				if f[off] != 0xDF || f[off+1] != tag {
					t.Errorf("offset %d for DF%02X points at % X", off, tag, f[off:off+2])
				}
			}
			got, err := parseAttributes(f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(a, got); diff != "" {
				t.Errorf("round trip mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
