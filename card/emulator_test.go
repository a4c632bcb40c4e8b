package card

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mynaplat/mynaplat/apdu"
)

const (
	selJPKI  = "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"
	selText  = "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08"
	verAuth  = "00 20 00 80 04 31 32 33 34" // 1234
	verBad   = "00 20 00 80 04 39 39 39 39" // 9999
	verSign  = "00 20 00 80 06 41 42 43 31 32 33"
	verText  = "00 20 00 80 04 35 36 37 38"
	query    = "00 20 00 80"
	diSHA256 = "30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20" +
		"00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 10 11 12 13 14 15 16 17 18 19 1A 1B 1C 1D 1E 1F"
	signAPDU = "80 2A 00 80 33 " + diSHA256 + " 00"
)

func selEF(fid string) string { return "00 A4 02 0C 02 " + fid }

// step is one command and the status word it must get.
type step struct {
	cmd string
	sw  apdu.StatusWord
	// data, if set, is the exact response data; dataLen, if > 0, its length.
	data    []byte
	dataLen int
}

func ok(cmd string) step { return step{cmd: cmd, sw: apdu.OK} }

// TestStatusWords drives a fresh card through short command sequences, one for
// every status word the emulator can answer (jpki-card.md §3–§4, §11).
func TestStatusWords(t *testing.T) {
	t.Parallel()
	st, err := memState()
	if err != nil {
		t.Fatal(err)
	}
	label := append([]byte("JPKIAPICCTOKEN2"), bytes.Repeat([]byte{' '}, 17)...)
	tests := []struct {
		name  string
		steps []step
	}{
		{"select JPKI AP", []step{ok(selJPKI)}},
		{"select JPKI AP with P2 00", []step{ok("00 A4 04 00 0A D3 92 F0 00 26 01 00 00 00 01")}},
		{"select text AP", []step{ok(selText)}},
		{"select foreign AIDs probed by OpenSC", []step{
			{cmd: "00 A4 04 00 07 62 76 01 FF 00 00 00", sw: apdu.FileNotFound},
			{cmd: "00 A4 04 00 06 A0 00 00 00 01 01", sw: apdu.FileNotFound},
			{cmd: "00 A4 04 0C 07 A0 00 00 01 16 DB 00", sw: apdu.FileNotFound},
			{cmd: "00 A4 04 00 06 D2 76 00 01 24 01", sw: apdu.FileNotFound},
			{cmd: "00 A4 04 0C 09 D3 92 F0 00 26 01 00 00 00", sw: apdu.FileNotFound}, // prefix
		}},
		{"select AP with bad P2", []step{{cmd: "00 A4 04 04 0A D3 92 F0 00 26 01 00 00 00 01", sw: apdu.IncorrectP1P2}}},
		{"select with unknown P1", []step{{cmd: "00 A4 08 0C 02 00 01", sw: apdu.IncorrectP1P2}}},
		{"select every JPKI EF", []step{ok(selJPKI), ok(selEF("00 01")), ok(selEF("00 02")), ok(selEF("00 06")),
			ok(selEF("00 08")), ok(selEF("00 0A")), ok(selEF("00 0B")), ok(selEF("00 17")), ok(selEF("00 18")),
			ok(selEF("00 1A")), ok(selEF("00 1B"))}},
		{"select every text EF", []step{ok(selText), ok(selEF("00 01")), ok(selEF("00 02")), ok(selEF("00 11")),
			ok(selEF("00 14")), ok(selEF("00 15"))}},
		{"select unknown EF", []step{ok(selJPKI), {cmd: selEF("00 05"), sw: apdu.FileNotFound}, {cmd: selEF("00 11"), sw: apdu.FileNotFound}}},
		{"select EF before any AP", []step{{cmd: selEF("00 0A"), sw: apdu.FileNotFound}}},
		{"select EF with 3-byte FID", []step{ok(selJPKI), {cmd: "00 A4 02 0C 03 00 0A 00", sw: apdu.WrongLength}}},
		{"select MF after reset", []step{{cmd: "00 A4 00 00", sw: apdu.IncorrectP1P2}}},
		{"select MF with AP current keeps state", []step{ok(selJPKI), ok(selEF("00 06")), ok("00 A4 00 00"),
			{cmd: "00 B0 00 00 0F", sw: apdu.OK, data: []byte(tokenLabel)}}},
		{"select 3F00", []step{ok(selJPKI), {cmd: "00 A4 00 0C 02 3F 00", sw: apdu.FileNotFound}, {cmd: selEF("3F 00"), sw: apdu.FileNotFound}}},
		{"read token info label", []step{ok(selJPKI), ok(selEF("00 06")), {cmd: "00 B0 00 00 20", sw: apdu.OK, data: label}}},
		{"read token info whole, Le 00", []step{ok(selJPKI), ok(selEF("00 06")), {cmd: "00 B0 00 00 00", sw: apdu.OK, dataLen: 160}}},
		{"read token info by SFI", []step{ok(selJPKI), {cmd: "00 B0 86 00 20", sw: apdu.OK, data: label}}},
		{"read availability", []step{ok(selJPKI), ok(selEF("00 08")), {cmd: "00 B0 00 00 00", sw: apdu.OK, data: []byte{0x8F, 0x8F, 0x00}}}},
		{"read at end of file", []step{ok(selJPKI), ok(selEF("00 06")), {cmd: "00 B0 00 A0 01", sw: apdu.WrongParamsOffset}}},
		{"read last bytes", []step{ok(selJPKI), ok(selEF("00 06")), {cmd: "00 B0 00 9E 00", sw: apdu.OK, dataLen: 2}}},
		{"read auth cert header", []step{ok(selJPKI), ok(selEF("00 0A")),
			{cmd: "00 B0 00 00 04", sw: apdu.OK, data: st.Auth.Cert[:4]}}},
		{"read auth cert chunk", []step{ok(selJPKI), ok(selEF("00 0A")),
			{cmd: "00 B0 01 00 00", sw: apdu.OK, data: st.Auth.Cert[256:512]}}},
		{"read signing cert without password", []step{ok(selJPKI), ok(selEF("00 01")), {cmd: "00 B0 00 00 04", sw: apdu.SecurityStatus}}},
		{"read signing cert with password", []step{ok(selJPKI), ok(selEF("00 1B")), ok(verSign), ok(selEF("00 01")),
			{cmd: "00 B0 00 00 04", sw: apdu.OK, data: st.Sign.Cert[:4]}}},
		{"read with no current EF", []step{ok(selJPKI), {cmd: "00 B0 00 00 04", sw: apdu.NoCurrentEF}}},
		{"read without Le", []step{ok(selJPKI), ok(selEF("00 06")), {cmd: "00 B0 00 00", sw: apdu.WrongLength}}},
		{"read key EF", []step{ok(selJPKI), ok(selEF("00 17")), {cmd: "00 B0 00 00 04", sw: apdu.IncompatibleFile}}},
		{"retry queries", []step{ok(selJPKI), ok(selEF("00 18")), {cmd: query, sw: 0x63C3},
			ok(selEF("00 1B")), {cmd: query, sw: 0x63C5}, ok(selText), ok(selEF("00 11")), {cmd: query, sw: 0x63C3}}},
		{"retry query by SFI", []step{ok(selJPKI), {cmd: "00 20 00 98", sw: 0x63C3}, {cmd: "00 20 00 9B", sw: 0x63C5}}},
		{"retry query does not count", []step{ok(selJPKI), ok(selEF("00 18")), {cmd: query, sw: 0x63C3}, {cmd: query, sw: 0x63C3}}},
		{"retry query after verify still 63Cx", []step{ok(selJPKI), ok(selEF("00 18")), ok(verAuth), {cmd: query, sw: 0x63C3}}},
		{"wrong PIN to blocked", []step{ok(selJPKI), ok(selEF("00 18")),
			{cmd: verBad, sw: 0x63C2}, {cmd: verBad, sw: 0x63C1}, {cmd: verBad, sw: 0x63C0},
			{cmd: query, sw: 0x63C0}, {cmd: verAuth, sw: apdu.RefDataNotUsable}, {cmd: verBad, sw: apdu.RefDataNotUsable},
			{cmd: query, sw: 0x63C0}}},
		{"correct PIN resets counter", []step{ok(selJPKI), ok(selEF("00 18")),
			{cmd: verBad, sw: 0x63C2}, {cmd: verBad, sw: 0x63C1}, ok(verAuth), {cmd: query, sw: 0x63C3}}},
		{"signing password counts 5", []step{ok(selJPKI), ok(selEF("00 1B")),
			{cmd: "00 20 00 80 06 41 42 43 31 32 34", sw: 0x63C4}, {cmd: "00 20 00 80 06 61 62 63 31 32 33", sw: 0x63C3}}},
		{"verify with P1 01", []step{ok(selJPKI), ok(selEF("00 18")), {cmd: "00 20 01 80", sw: apdu.IncorrectP1P2}}},
		{"verify with no current EF", []step{ok(selJPKI), {cmd: query, sw: apdu.NoCurrentEF}}},
		{"verify on a non-PIN EF", []step{ok(selJPKI), ok(selEF("00 06")), {cmd: query, sw: apdu.RefDataNotFound}}},
		{"verify with bad P2", []step{ok(selJPKI), {cmd: "00 20 00 01", sw: apdu.IncorrectP1P2}}},
		{"text AP EF 0012 is blocked on issue", []step{ok(selText), ok(selEF("00 12")), {cmd: query, sw: 0x63C0},
			{cmd: "00 20 00 80 04 31 32 33 34", sw: apdu.RefDataNotUsable}}},
		{"sign with auth key", []step{ok(selJPKI), ok(selEF("00 18")), ok(verAuth), ok(selEF("00 17")),
			{cmd: signAPDU, sw: apdu.OK, dataLen: 256}}},
		{"sign with sign key, state survives selects and queries", []step{ok(selJPKI), ok(selEF("00 1B")), {cmd: query, sw: 0x63C5},
			ok(verSign), {cmd: query, sw: 0x63C5}, ok(verSign), ok(selEF("00 02")), ok(selEF("00 1A")),
			{cmd: signAPDU, sw: apdu.OK, dataLen: 256}}},
		{"sign by SFI P2 97", []step{ok(selJPKI), ok(selEF("00 18")), ok(verAuth),
			{cmd: "80 2A 00 97 33 " + diSHA256 + " 00", sw: apdu.OK, dataLen: 256}}},
		{"sign without PIN", []step{ok(selJPKI), ok(selEF("00 17")), {cmd: signAPDU, sw: apdu.SecurityStatus}}},
		{"sign with auth PIN on sign key", []step{ok(selJPKI), ok(selEF("00 18")), ok(verAuth), ok(selEF("00 1A")),
			{cmd: signAPDU, sw: apdu.SecurityStatus}}},
		{"sign with a non-key EF", []step{ok(selJPKI), ok(selEF("00 18")), ok(verAuth), ok(selEF("00 0A")),
			{cmd: signAPDU, sw: apdu.SecurityStatus}}},
		{"SELECT AP logs out", []step{ok(selJPKI), ok(selEF("00 18")), ok(verAuth), ok(selJPKI), ok(selEF("00 17")),
			{cmd: signAPDU, sw: apdu.SecurityStatus}}},
		{"wrong PIN revokes verification", []step{ok(selJPKI), ok(selEF("00 18")), ok(verAuth), {cmd: verBad, sw: 0x63C2},
			ok(selEF("00 17")), {cmd: signAPDU, sw: apdu.SecurityStatus}}},
		{"sign scheme P1 06", []step{ok(selJPKI), ok(selEF("00 18")), ok(verAuth), ok(selEF("00 17")),
			{cmd: "80 2A 06 80 01 00 00", sw: apdu.IncorrectP1P2}}},
		{"sign with bad P2", []step{ok(selJPKI), {cmd: "80 2A 00 81 01 00 00", sw: apdu.IncorrectP1P2}}},
		{"sign 246 bytes", []step{ok(selJPKI), ok(selEF("00 18")), ok(verAuth), ok(selEF("00 17")),
			{cmd: "80 2A 00 80 F6 " + strings.Repeat("00 ", 246) + "00", sw: apdu.ConditionsNotSatisfied}}},
		{"sign empty", []step{ok(selJPKI), ok(selEF("00 18")), ok(verAuth), ok(selEF("00 17")),
			{cmd: "80 2A 00 80 00", sw: apdu.WrongLength}}},
		{"sign P1 02 with 31 bytes", []step{ok(selJPKI), ok(selEF("00 18")), ok(verAuth), ok(selEF("00 17")),
			{cmd: "80 2A 02 80 1F " + strings.Repeat("00 ", 31) + "00", sw: apdu.WrongLength}}},
		{"sign schemes 01 to 05", []step{ok(selJPKI), ok(selEF("00 18")), ok(verAuth), ok(selEF("00 17")),
			{cmd: "80 2A 01 80 03 61 62 63 00", sw: apdu.OK, dataLen: 256},
			{cmd: "80 2A 02 80 20 " + strings.Repeat("11 ", 32) + "00", sw: apdu.OK, dataLen: 256},
			{cmd: "80 2A 03 80 03 61 62 63 00", sw: apdu.OK, dataLen: 256},
			{cmd: "80 2A 04 80 20 " + strings.Repeat("11 ", 32) + "00", sw: apdu.OK, dataLen: 256},
			{cmd: "80 2A 05 80 03 61 62 63 00", sw: apdu.OK, dataLen: 256}}},
		{"sign in text AP", []step{ok(selText), {cmd: signAPDU, sw: apdu.SecurityStatus}}},
		{"change PIN without verify", []step{ok(selJPKI), ok(selEF("00 18")), {cmd: "00 24 01 80 04 31 31 31 31", sw: apdu.SecurityStatus}}},
		{"change PIN bad format", []step{ok(selJPKI), ok(selEF("00 18")), ok(verAuth), {cmd: "00 24 01 80 05 31 31 31 31 31", sw: apdu.WrongData},
			{cmd: "00 24 01 80 04 31 31 31 41", sw: apdu.WrongData}}},
		{"change PIN without data", []step{ok(selJPKI), ok(selEF("00 18")), ok(verAuth), {cmd: "00 24 01 80", sw: apdu.WrongLength}}},
		{"change PIN with P1 00", []step{ok(selJPKI), ok(selEF("00 18")), ok(verAuth), {cmd: "00 24 00 80 04 31 31 31 31", sw: apdu.IncorrectP1P2}}},
		{"change PIN", []step{ok(selJPKI), ok(selEF("00 18")), ok(verAuth), ok("00 24 01 80 04 31 31 31 31"),
			{cmd: verAuth, sw: 0x63C2}, ok("00 20 00 80 04 31 31 31 31")}},
		{"change blocked PIN", []step{ok(selJPKI), ok(selEF("00 18")), ok(verAuth), {cmd: verBad, sw: 0x63C2}, {cmd: verBad, sw: 0x63C1},
			{cmd: verBad, sw: 0x63C0}, {cmd: "00 24 01 80 04 31 31 31 31", sw: apdu.RefDataNotUsable}}},
		{"My Number without PIN", []step{ok(selText), ok(selEF("00 01")), {cmd: "00 B0 00 00 11", sw: apdu.SecurityStatus}}},
		{"My Number with PIN", []step{ok(selText), ok(selEF("00 11")), ok(verText), ok(selEF("00 01")),
			{cmd: "00 B0 00 00 11", sw: apdu.OK, data: append(h("FF 10 0C"), []byte("123456789012\xff\xff")...)}}},
		{"attributes with PIN", []step{ok(selText), ok(selEF("00 11")), ok(verText), ok(selEF("00 02")),
			{cmd: "00 B0 00 00 04", sw: apdu.OK, data: h("FF 20 5E DF")}}},
		{"JPKI verification does not open the text AP", []step{ok(selJPKI), ok(selEF("00 18")), ok(verAuth), ok(selText),
			ok(selEF("00 01")), {cmd: "00 B0 00 00 11", sw: apdu.SecurityStatus}}},
		{"secure messaging CLA 0C", []step{{cmd: "0C A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01", sw: apdu.SecureMessagingUnsupp}}},
		{"secure messaging CLA 08", []step{{cmd: "08 B0 00 00 04", sw: apdu.SecureMessagingUnsupp}}},
		{"unknown CLA", []step{{cmd: "10 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01", sw: apdu.CLANotSupported},
			{cmd: "A0 A4 00 00 02 3F 00", sw: apdu.CLANotSupported}, {cmd: "01 B0 00 00 04", sw: apdu.CLANotSupported}}},
		{"sign with CLA 00", []step{{cmd: "00 2A 00 80 01 00 00", sw: apdu.CLANotSupported}}},
		{"GET DATA probes", []step{{cmd: "00 CA DF 30 05", sw: apdu.INSNotSupported}, {cmd: "00 CB 3F FF 03 5C 01 7E 08", sw: apdu.INSNotSupported}}},
		{"unknown INS", []step{{cmd: "00 84 00 00 08", sw: apdu.INSNotSupported}, {cmd: "80 AE 00 00", sw: apdu.INSNotSupported}}},
		{"malformed APDUs", []step{{cmd: "00 A4", sw: apdu.WrongLength}, {cmd: "", sw: apdu.WrongLength},
			{cmd: "00 A4 02 0C 05 00 01", sw: apdu.WrongLength}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newMemCard(t)
			for i, s := range tt.steps {
				out, err := c.Transmit(h(s.cmd))
				if err != nil {
					t.Fatalf("step %d %s: %v", i, s.cmd, err)
				}
				r, err := apdu.ParseResponse(out)
				if err != nil {
					t.Fatalf("step %d %s: %v", i, s.cmd, err)
				}
				if r.SW != s.sw {
					t.Fatalf("step %d %s: SW %v, want %v", i, s.cmd, r.SW, s.sw)
				}
				if s.data != nil {
					if diff := cmp.Diff(s.data, r.Data); diff != "" {
						t.Errorf("step %d %s: data mismatch (-want +got):\n%s", i, s.cmd, diff)
					}
				} else if len(r.Data) != s.dataLen {
					t.Errorf("step %d %s: %d data bytes, want %d", i, s.cmd, len(r.Data), s.dataLen)
				}
			}
		})
	}
}

// TestSignatureVerifies checks the OpenSC sign APDU against the certificate.
func TestSignatureVerifies(t *testing.T) {
	t.Parallel()
	c := newMemCard(t)
	for _, cmd := range []string{selJPKI, selEF("00 18"), verAuth, selEF("00 17")} {
		if _, err := c.Transmit(h(cmd)); err != nil {
			t.Fatal(err)
		}
	}
	msg := []byte("mynaplat")
	sum := sha256.Sum256(msg)
	cmd := append(append(h("80 2A 00 80 33"), digestInfoPrefix[crypto.SHA256]...), sum[:]...)
	out, err := c.Transmit(append(cmd, 0))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := apdu.ParseResponse(out)
	cert, err := x509.ParseCertificate(c.st.Auth.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, sum[:], r.Data); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
}

// TestResetClearsSession checks that reset and power-off forget the AP and
// every verified PIN, but not the tries used.
func TestResetClearsSession(t *testing.T) {
	t.Parallel()
	for name, power := range map[string]func(*Card){"reset": (*Card).Reset, "power off": (*Card).PowerOff} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := newMemCard(t)
			for _, cmd := range []string{selJPKI, selEF("00 18"), verBad, verAuth} {
				c.Transmit(h(cmd))
			}
			c.Transmit(h(verBad)) // 2 left
			power(c)
			steps := []step{{cmd: "00 A4 00 00", sw: apdu.IncorrectP1P2}, {cmd: selEF("00 17"), sw: apdu.FileNotFound},
				ok(selJPKI), ok(selEF("00 17")), {cmd: signAPDU, sw: apdu.SecurityStatus}, ok(selEF("00 18")), {cmd: query, sw: 0x63C2}}
			for i, s := range steps {
				out, _ := c.Transmit(h(s.cmd))
				if r, _ := apdu.ParseResponse(out); r.SW != s.sw {
					t.Fatalf("step %d %s: SW %v, want %v", i, s.cmd, r.SW, s.sw)
				}
			}
		})
	}
}

// TestPersistFailure checks that a failed write answers 6581 and still costs
// the try.
func TestPersistFailure(t *testing.T) {
	t.Parallel()
	c := newMemCard(t)
	for _, cmd := range []string{selJPKI, selEF("00 18")} {
		c.Transmit(h(cmd))
	}
	c.save = func(*state) error { return errors.New("disk full") }
	out, err := c.Transmit(h(verBad))
	if err == nil {
		t.Fatal("Transmit succeeded with a failing disk")
	}
	if !bytes.Equal(out, []byte{0x65, 0x81}) {
		t.Errorf("response % X, want 65 81", out)
	}
	c.save = nil
	out, _ = c.Transmit(h(query))
	if !bytes.Equal(out, []byte{0x63, 0xC2}) {
		t.Errorf("after failed write: % X, want 63 C2", out)
	}
}

// TestConcurrentTransmit exercises the lock under the race detector.
func TestConcurrentTransmit(t *testing.T) {
	t.Parallel()
	c := newMemCard(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 20 {
				for _, cmd := range []string{selJPKI, selEF("00 06"), "00 B0 00 00 20", selEF("00 18"), query} {
					if out, err := c.Transmit(h(cmd)); err != nil || len(out) < 2 {
						panic(fmt.Sprint(i, err))
					}
				}
			}
		})
	}
	wg.Wait()
}

func FuzzEmulator(f *testing.F) {
	seq := func(cmds ...string) []byte {
		var b []byte
		for _, c := range cmds {
			x := h(c)
			b = append(append(b, byte(len(x))), x...)
		}
		return b
	}
	f.Add(seq(selJPKI, selEF("00 18"), query, verAuth, selEF("00 17"), signAPDU))
	f.Add(seq(selJPKI, selEF("00 1B"), verSign, selEF("00 01"), "00 B0 00 00 07", "00 B0 01 00 00"))
	f.Add(seq(selText, selEF("00 11"), verText, selEF("00 02"), "00 B0 00 00 00", selEF("00 01"), "00 B0 00 00 11"))
	f.Add(seq(selJPKI, selEF("00 18"), verBad, verBad, verBad, verAuth, "00 24 01 80 04 31 31 31 31"))
	f.Add(seq("00 A4 00 00", "00 CA DF 30 05", "80 2A 04 97 20 "+strings.Repeat("11 ", 32)+"00", "00 B0 9B 00 00"))
	f.Add([]byte{0, 4, 0, 0xA4, 0, 0})
	f.Add(seq(selJPKI, selEF("00 18"), "00 84 00 00 08", "00 82 00 81 10 "+strings.Repeat("00 ", 16), "00 2C 02 80 04 31 31 31 31"))
	st, err := memState()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := newCard(st, nil)
		if err != nil {
			t.Fatal(err)
		}
		// The input is a sequence of length-prefixed APDUs; length 0 is a reset.
		for len(b) > 0 {
			n := int(b[0])
			b = b[1:]
			if n == 0 {
				c.Reset()
				continue
			}
			n = min(n, len(b))
			cmd := b[:n]
			b = b[n:]
			out, err := c.Transmit(cmd)
			if err != nil {
				t.Fatalf("Transmit(% X): %v", cmd, err)
			}
			if len(out) < 2 {
				t.Fatalf("Transmit(% X) = % X: shorter than a status word", cmd, out)
			}
			if r, _ := apdu.ParseResponse(out); r.SW == apdu.OK && len(r.Data) > apdu.MaxLe {
				t.Fatalf("Transmit(% X): %d data bytes", cmd, len(r.Data))
			}
		}
	})
}
