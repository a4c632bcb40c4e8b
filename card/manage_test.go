package card

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mynaplat/mynaplat/apdu"
)

// testSAM is a SAM with a fixed master key.
func testSAM(t testing.TB) *SAM {
	t.Helper()
	s, err := NewSAM(bytes.Repeat([]byte{0x5A}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestManagementAPDUs drives GET CHALLENGE, EXTERNAL AUTHENTICATE and RESET
// RETRY COUNTER. "{auth}" is EXTERNAL AUTHENTICATE with the right cryptogram
// for the last challenge, "{bad}" with a wrong one.
func TestManagementAPDUs(t *testing.T) {
	t.Parallel()
	const (
		challenge = "00 84 00 00 08"
		rrcAuth   = "00 2C 02 80 04 32 34 36 38"       // 2468 on the current EF
		rrcSign   = "00 2C 02 9B 06 4E 45 57 50 57 31" // NEWPW1 on 001B by SFI
		ver2468   = "00 20 00 80 04 32 34 36 38"
	)
	tests := []struct {
		name  string
		steps []step
	}{
		{"reset a blocked auth PIN", []step{ok(selJPKI), ok(selEF("00 18")),
			{cmd: verBad, sw: 0x63C2}, {cmd: verBad, sw: 0x63C1}, {cmd: verBad, sw: 0x63C0},
			{cmd: query, sw: 0x63C0}, {cmd: verAuth, sw: apdu.RefDataNotUsable},
			{cmd: challenge, sw: apdu.OK, dataLen: 8}, ok("{auth}"), ok(rrcAuth),
			{cmd: query, sw: 0x63C3}, {cmd: verAuth, sw: 0x63C2}, ok(ver2468), {cmd: query, sw: 0x63C3}}},
		{"reset the signing password by SFI", []step{ok(selJPKI),
			{cmd: challenge, sw: apdu.OK, dataLen: 8}, ok("{auth}"), ok(rrcSign),
			ok(selEF("00 1B")), {cmd: query, sw: 0x63C5}, ok("00 20 00 80 06 4E 45 57 50 57 31")}},
		{"reset the text PIN", []step{ok(selText), ok(selEF("00 11")),
			{cmd: challenge, sw: apdu.OK, dataLen: 8}, ok("{auth}"), ok(rrcAuth), ok(ver2468)}},
		{"one proof, two resets", []step{ok(selJPKI), ok(selEF("00 18")),
			{cmd: challenge, sw: apdu.OK, dataLen: 8}, ok("{auth}"), ok(rrcAuth), ok(rrcSign)}},
		{"no proof", []step{ok(selJPKI), ok(selEF("00 18")), {cmd: rrcAuth, sw: apdu.SecurityStatus}, ok(verAuth)}},
		{"wrong cryptogram", []step{ok(selJPKI), ok(selEF("00 18")),
			{cmd: challenge, sw: apdu.OK, dataLen: 8}, {cmd: "{bad}", sw: 0x6300}, {cmd: rrcAuth, sw: apdu.SecurityStatus}}},
		{"a challenge is good once", []step{ok(selJPKI), ok(selEF("00 18")),
			{cmd: challenge, sw: apdu.OK, dataLen: 8}, {cmd: "{bad}", sw: 0x6300}, {cmd: "{auth}", sw: apdu.ConditionsNotSatisfied}}},
		{"external authenticate without a challenge", []step{ok(selJPKI),
			{cmd: "00 82 00 81 10 " + strings.Repeat("00 ", 16), sw: apdu.ConditionsNotSatisfied}}},
		{"SELECT of the AP ends the proof", []step{ok(selJPKI), ok(selEF("00 18")),
			{cmd: challenge, sw: apdu.OK, dataLen: 8}, ok("{auth}"), ok(selJPKI), ok(selEF("00 18")), {cmd: rrcAuth, sw: apdu.SecurityStatus}}},
		{"GET CHALLENGE with no AP", []step{{cmd: challenge, sw: apdu.INSNotSupported}}},
		{"GET CHALLENGE wrong P1", []step{ok(selJPKI), {cmd: "00 84 01 00 08", sw: apdu.IncorrectP1P2}}},
		{"GET CHALLENGE wrong Le", []step{ok(selJPKI), {cmd: "00 84 00 00 10", sw: apdu.WrongLength}}},
		{"external authenticate wrong key", []step{ok(selJPKI), {cmd: challenge, sw: apdu.OK, dataLen: 8},
			{cmd: "00 82 00 82 10 " + strings.Repeat("00 ", 16), sw: apdu.RefDataNotFound}}},
		{"external authenticate wrong P1", []step{ok(selJPKI), {cmd: "00 82 01 81 10 " + strings.Repeat("00 ", 16), sw: apdu.IncorrectP1P2}}},
		{"external authenticate short", []step{ok(selJPKI), {cmd: challenge, sw: apdu.OK, dataLen: 8},
			{cmd: "00 82 00 81 08 " + strings.Repeat("00 ", 8), sw: apdu.WrongLength}}},
		{"reset wrong P1", []step{ok(selJPKI), ok(selEF("00 18")), {cmd: "00 2C 00 80 04 32 34 36 38", sw: apdu.IncorrectP1P2}}},
		{"reset no data", []step{ok(selJPKI), ok(selEF("00 18")),
			{cmd: challenge, sw: apdu.OK, dataLen: 8}, ok("{auth}"), {cmd: "00 2C 02 80", sw: apdu.WrongLength}}},
		{"reset bad format", []step{ok(selJPKI), ok(selEF("00 18")),
			{cmd: challenge, sw: apdu.OK, dataLen: 8}, ok("{auth}"), {cmd: "00 2C 02 80 05 31 32 33 34 35", sw: apdu.WrongData},
			{cmd: "00 2C 02 9B 06 6E 65 77 70 77 31", sw: apdu.WrongData}, ok(verAuth)}},
		{"reset a key EF", []step{ok(selJPKI), {cmd: challenge, sw: apdu.OK, dataLen: 8}, ok("{auth}"),
			{cmd: "00 2C 02 97 04 32 34 36 38", sw: apdu.RefDataNotFound}}},
		{"reset 照合番号A with another value", []step{ok(selText), {cmd: challenge, sw: apdu.OK, dataLen: 8}, ok("{auth}"),
			{cmd: "00 2C 02 94 0C 31 32 33 34 35 36 37 38 39 30 31 33", sw: apdu.WrongData}}},
		{"reset 照合番号A with its value", []step{ok(selText), ok(selEF("00 14")),
			{cmd: "00 20 00 80 0C 31 32 33 34 35 36 37 38 39 30 31 33", sw: 0x63C9},
			{cmd: challenge, sw: apdu.OK, dataLen: 8}, ok("{auth}"),
			ok("00 2C 02 94 0C 31 32 33 34 35 36 37 38 39 30 31 32"), {cmd: "00 20 00 80", sw: 0x63CA}}},
		{"reset the blocked text EF 0012", []step{ok(selText), {cmd: challenge, sw: apdu.OK, dataLen: 8}, ok("{auth}"),
			{cmd: "00 2C 02 92 04 32 34 36 38", sw: apdu.RefDataNotUsable}}},
		{"reset with no current EF", []step{ok(selJPKI), {cmd: rrcAuth, sw: apdu.NoCurrentEF}}},
	}
	sam := testSAM(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newMemCard(t)
			c.mgmtKey = sam.cardKey(c.ID())
			var last []byte
			for i, s := range tt.steps {
				cmd := s.cmd
				switch cmd {
				case "{auth}", "{bad}":
					var crypt []byte
					if last != nil {
						var err error
						if crypt, err = sam.Authenticator(c.ID())(last); err != nil {
							t.Fatal(err)
						}
					} else {
						crypt = make([]byte, 16)
					}
					if cmd == "{bad}" {
						crypt[0] ^= 1
					}
					cmd = fmt.Sprintf("00 82 00 81 10 % X", crypt)
				}
				out, err := c.Transmit(h(cmd))
				if err != nil {
					t.Fatalf("step %d %s: %v", i, cmd, err)
				}
				r, err := apdu.ParseResponse(out)
				if err != nil {
					t.Fatal(err)
				}
				if r.SW != s.sw {
					t.Fatalf("step %d %s: SW %v, want %v", i, cmd, r.SW, s.sw)
				}
				if len(r.Data) != s.dataLen {
					t.Fatalf("step %d %s: %d data bytes, want %d", i, cmd, len(r.Data), s.dataLen)
				}
				if s.dataLen == 8 {
					last = r.Data
				}
			}
		})
	}
}

// TestClientResetPIN resets each PIN of a store's card through the driver with
// the store's SAM, and is refused with another SAM's key.
func TestClientResetPIN(t *testing.T) {
	t.Parallel()
	s, c := newStoreCard(t)
	cl := NewClient(c)
	for range 3 {
		_ = cl.VerifyPIN(AuthPIN, "9999")
	}
	if n, _ := cl.PINStatus(AuthPIN); n != 0 {
		t.Fatalf("auth PIN tries %d, want blocked", n)
	}
	if err := cl.ResetPIN(AuthPIN, "2468", testSAM(t).Authenticator(c.ID())); !errors.Is(err, ErrNotAuthorised) {
		t.Fatalf("reset with a foreign SAM: %v, want ErrNotAuthorised", err)
	}
	if err := cl.ResetPIN(AuthPIN, "24", s.SAM().Authenticator(c.ID())); !errors.Is(err, ErrPINFormat) {
		t.Fatalf("reset to a short PIN: %v, want ErrPINFormat", err)
	}
	for _, tc := range []struct {
		ref PIN
		pin string
	}{{AuthPIN, "2468"}, {SignPIN, "newpass9"}, {TextPIN, "1357"}} {
		if err := cl.ResetPIN(tc.ref, tc.pin, s.SAM().Authenticator(c.ID())); err != nil {
			t.Fatalf("reset %s: %v", tc.ref, err)
		}
		if n, err := cl.PINStatus(tc.ref); err != nil || n != tc.ref.MaxTries() {
			t.Fatalf("%s after reset: %d tries, %v", tc.ref, n, err)
		}
		if err := cl.VerifyPIN(tc.ref, tc.pin); err != nil {
			t.Fatalf("verify new %s: %v", tc.ref, err)
		}
	}
	// The new PINs are on disk: another store on the same directory sees them.
	s2, err := NewStore(s.Dir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := s2.Open(c.ID())
	if err != nil {
		t.Fatal(err)
	}
	if err := NewClient(c2).VerifyPIN(SignPIN, "NEWPASS9"); err != nil {
		t.Fatalf("verify after reopen: %v", err)
	}
	if !bytes.Equal(s2.SAM().master, s.SAM().master) {
		t.Fatal("a second store on the directory has another master key")
	}
	fi, err := os.Stat(filepath.Join(s.Dir(), managementKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("management key file: %v, %v", fi, err)
	}
	if infos, err := s.List(); err != nil || len(infos) != 1 {
		t.Fatalf("List = %d cards, %v; the key file is no card", len(infos), err)
	}
}
