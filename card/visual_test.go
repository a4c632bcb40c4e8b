package card

import (
	"bytes"
	"errors"
	"image/png"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/apdu"
)

const (
	selVisual = "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 02"
	// 照合番号A (the test card's My Number), 照合番号B, the birth-date key.
	verA     = "00 20 00 80 0C 31 32 33 34 35 36 37 38 39 30 31 32"
	verABad  = "00 20 00 80 0C 31 32 33 34 35 36 37 38 39 30 31 33"
	verB     = "00 20 00 80 0E 30 32 30 34 30 31 32 30 33 36 32 32 38 35"
	verBBad  = "00 20 00 80 0E 30 32 30 34 30 31 32 30 33 36 32 32 38 36"
	verBirth = "00 20 00 80 06 30 32 30 34 30 31"
	read4    = "00 B0 00 00 04"
)

// visualInfo is the visual AP's EF 0003, byte for byte.
var visualInfo = h("FF 30 26 DF 31 04 06 03 0E 01 DF 32 10 37 30 30 30 30 32 34 08 05 30 30 31 00 00 00 00" +
	" DF 33 01 01 DF 34 05 30 30 30 30 30")

// TestVisualAP drives the 券面事項確認AP and the text AP's issuer files APDU
// by APDU: for each, the good case, a wrong PIN, a blocked PIN, the wrong
// state and the wrong length.
func TestVisualAP(t *testing.T) {
	t.Parallel()
	wrongA := []step{}
	for i := 9; i >= 0; i-- {
		wrongA = append(wrongA, step{cmd: verABad, sw: apdu.Retries(i)})
	}
	tests := []struct {
		name  string
		steps []step
	}{
		// SELECT
		{"select by DF name", []step{ok(selVisual), ok("00 A4 04 00 0A D3 92 10 00 31 00 01 01 04 02")}},
		{"select with bad P2", []step{{cmd: "00 A4 04 04 0A D3 92 10 00 31 00 01 01 04 02", sw: apdu.IncorrectP1P2}}},
		{"select an unknown EF", []step{ok(selVisual), {cmd: selEF("00 06"), sw: apdu.FileNotFound},
			{cmd: selEF("00 14"), sw: apdu.FileNotFound}, {cmd: selEF("00 18"), sw: apdu.FileNotFound}}},
		{"select EF with 3 bytes", []step{ok(selVisual), {cmd: "00 A4 02 0C 03 00 00 13", sw: apdu.WrongLength}}},
		{"MF with the visual AP current", []step{ok(selVisual), ok("00 A4 00 00")}},
		// VERIFY: the retry query
		{"retry queries", []step{ok(selVisual), ok(selEF("00 13")), {cmd: query, sw: 0x63CA},
			ok(selEF("00 12")), {cmd: query, sw: 0x63CA}, ok(selEF("00 11")), {cmd: query, sw: 0x63CA},
			{cmd: "00 20 00 93", sw: 0x63CA}, {cmd: "00 20 00 92", sw: 0x63CA}}},
		{"retry query on a data EF", []step{ok(selVisual), ok(selEF("00 02")), {cmd: query, sw: apdu.RefDataNotFound}}},
		{"retry query with no current EF", []step{ok(selVisual), {cmd: query, sw: apdu.NoCurrentEF}}},
		// VERIFY 照合番号A
		{"PIN A good", []step{ok(selVisual), ok(selEF("00 13")), ok(verA), {cmd: query, sw: 0x63CA}}},
		{"PIN A wrong", []step{ok(selVisual), ok(selEF("00 13")), {cmd: verABad, sw: 0x63C9}, {cmd: query, sw: 0x63C9},
			ok(verA), {cmd: query, sw: 0x63CA}}},
		{"PIN A blocked", append(append([]step{ok(selVisual), ok(selEF("00 13"))}, wrongA...),
			step{cmd: query, sw: 0x63C0}, step{cmd: verA, sw: apdu.RefDataNotUsable},
			ok(selEF("00 05")), step{cmd: read4, sw: apdu.SecurityStatus},
			// 照合番号B has its own counter.
			ok(selEF("00 12")), step{cmd: query, sw: 0x63CA}, ok(verB))},
		{"PIN A wrong length", []step{ok(selVisual), ok(selEF("00 13")),
			{cmd: "00 20 00 80 0B 31 32 33 34 35 36 37 38 39 30 31", sw: apdu.WrongLength}, {cmd: query, sw: 0x63CA}}},
		{"PIN A by SFI", []step{ok(selVisual), ok("00 20 00 93 0C 31 32 33 34 35 36 37 38 39 30 31 32"),
			ok(selEF("00 05")), {cmd: read4, sw: apdu.OK, dataLen: 4}}},
		{"PIN A cannot be changed", []step{ok(selVisual), ok(selEF("00 13")), ok(verA),
			{cmd: "00 24 01 80 0C 31 31 31 31 31 31 31 31 31 31 31 31", sw: apdu.ConditionsNotSatisfied}}},
		// VERIFY 照合番号B
		{"PIN B good", []step{ok(selVisual), ok(selEF("00 12")), ok(verB), ok(selEF("00 02")),
			{cmd: read4, sw: apdu.OK, dataLen: 4}}},
		{"PIN B wrong", []step{ok(selVisual), ok(selEF("00 12")), {cmd: verBBad, sw: 0x63C9},
			ok(selEF("00 02")), {cmd: read4, sw: apdu.SecurityStatus}}},
		{"PIN B wrong length", []step{ok(selVisual), ok(selEF("00 12")), {cmd: verA, sw: apdu.WrongLength}}},
		{"wrong PIN B revokes it", []step{ok(selVisual), ok(selEF("00 12")), ok(verB), {cmd: verBBad, sw: 0x63C9},
			ok(selEF("00 02")), {cmd: read4, sw: apdu.SecurityStatus}}},
		// VERIFY birth-date key
		{"birth key good", []step{ok(selVisual), ok(selEF("00 11")), ok(verBirth), ok(selEF("00 01")),
			{cmd: "00 B0 00 00 05", sw: apdu.OK, data: h("FF 10 82 02 1E")}}},
		{"birth key wrong", []step{ok(selVisual), ok(selEF("00 11")), {cmd: "00 20 00 80 06 30 32 30 34 30 32", sw: 0x63C9}}},
		{"birth key wrong length", []step{ok(selVisual), ok(selEF("00 11")), {cmd: "00 20 00 80 08 31 39 39 30 30 34 30 31", sw: apdu.WrongLength}}},
		// READ BINARY and the access rules
		{"EF 0003 free", []step{ok(selVisual), ok(selEF("00 03")), {cmd: "00 B0 00 00 00", sw: apdu.OK, data: visualInfo}}},
		{"EF 0003 past the end", []step{ok(selVisual), ok(selEF("00 03")), {cmd: "00 B0 00 29 01", sw: apdu.WrongParamsOffset}}},
		{"EF 0004 free", []step{ok(selVisual), ok(selEF("00 04")), {cmd: "00 B0 00 00 05", sw: apdu.OK, data: h("7F 21 82 02 33")},
			{cmd: "00 B0 02 38 01", sw: apdu.WrongParamsOffset}}},
		{"EF 0002 without a PIN", []step{ok(selVisual), ok(selEF("00 02")), {cmd: read4, sw: apdu.SecurityStatus}}},
		{"EF 0002 with PIN A", []step{ok(selVisual), ok(selEF("00 13")), ok(verA), ok(selEF("00 02")),
			{cmd: "00 B0 00 00 02", sw: apdu.OK, data: h("FF 20")}}},
		{"EF 0005 not with PIN B", []step{ok(selVisual), ok(selEF("00 12")), ok(verB), ok(selEF("00 05")), {cmd: read4, sw: apdu.SecurityStatus}}},
		{"EF 0001 not with PIN A", []step{ok(selVisual), ok(selEF("00 13")), ok(verA), ok(selEF("00 01")), {cmd: read4, sw: apdu.SecurityStatus}}},
		{"EF 0001 not with the birth key of the text AP", []step{ok(selText), ok(selEF("00 11")), ok(verText),
			ok(selVisual), ok(selEF("00 01")), {cmd: read4, sw: apdu.SecurityStatus}}},
		{"READ with no current EF", []step{ok(selVisual), {cmd: read4, sw: apdu.NoCurrentEF}}},
		{"READ with data", []step{ok(selVisual), ok(selEF("00 03")), {cmd: "00 B0 00 00 01 00 04", sw: apdu.WrongLength}}},
		{"READ a PIN EF", []step{ok(selVisual), ok(selEF("00 13")), {cmd: read4, sw: apdu.IncompatibleFile}}},
		{"READ by SFI", []step{ok(selVisual), {cmd: "00 B0 83 00 03", sw: apdu.OK, data: h("FF 30 26")}}},
		{"reselecting the AP logs out", []step{ok(selVisual), ok(selEF("00 13")), ok(verA), ok(selVisual),
			ok(selEF("00 02")), {cmd: read4, sw: apdu.SecurityStatus}}},
		{"no signing in the visual AP", []step{ok(selVisual), ok(selEF("00 13")), ok(verA), {cmd: signAPDU, sw: apdu.SecurityStatus}}},
		// The text AP's issuer files and printed keys
		{"text EF 0004 free", []step{ok(selText), ok(selEF("00 04")), {cmd: "00 B0 00 00 05", sw: apdu.OK, data: h("7F 21 82 02 33")}}},
		{"text EF 0005 free, 256 bytes", []step{ok(selText), ok(selEF("00 05")), {cmd: "00 B0 00 00 00", sw: apdu.OK, dataLen: 256},
			{cmd: "00 B0 00 00 03", sw: apdu.OK, data: h("FF 40 81")}}},
		{"text EF 0003 without a PIN", []step{ok(selText), ok(selEF("00 03")), {cmd: read4, sw: apdu.SecurityStatus}}},
		{"text EF 0003 with the PIN", []step{ok(selText), ok(selEF("00 11")), ok(verText), ok(selEF("00 03")),
			{cmd: "00 B0 00 00 05", sw: apdu.OK, data: h("FF 30 82 01 4B")}, {cmd: "00 B0 01 00 00", sw: apdu.OK, dataLen: 80}}},
		{"text PIN A opens EF 0001 and 0003, not 0002", []step{ok(selText), ok(selEF("00 14")), ok(verA),
			ok(selEF("00 01")), {cmd: "00 B0 00 00 03", sw: apdu.OK, data: h("FF 10 0C")},
			ok(selEF("00 03")), {cmd: read4, sw: apdu.OK, dataLen: 4},
			ok(selEF("00 02")), {cmd: read4, sw: apdu.SecurityStatus}}},
		{"text PIN B opens EF 0002, not 0001", []step{ok(selText), ok(selEF("00 15")), ok(verB),
			ok(selEF("00 02")), {cmd: "00 B0 00 00 02", sw: apdu.OK, data: h("FF 20")},
			ok(selEF("00 01")), {cmd: read4, sw: apdu.SecurityStatus}}},
		{"text and visual counters are apart", []step{ok(selText), ok(selEF("00 14")), {cmd: verABad, sw: 0x63C9},
			ok(selVisual), ok(selEF("00 13")), {cmd: query, sw: 0x63CA}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			runSteps(t, newMemCard(t), tt.steps)
		})
	}
}

// runSteps sends each step's command and checks its answer.
func runSteps(t *testing.T, c *Card, steps []step) {
	t.Helper()
	for i, s := range steps {
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
			if !bytes.Equal(s.data, r.Data) {
				t.Errorf("step %d %s: data % X, want % X", i, s.cmd, r.Data, s.data)
			}
		} else if len(r.Data) != s.dataLen {
			t.Errorf("step %d %s: %d data bytes, want %d", i, s.cmd, len(r.Data), s.dataLen)
		}
	}
}

// TestSurfaceSignatures reads both 券面 APs through the driver and checks
// every signature as a relying terminal does: EF 0004 against the J-LIS CA
// key held out of band, the records against the key it certifies.
func TestSurfaceSignatures(t *testing.T) {
	t.Parallel()
	_, c := newStoreCard(t)
	is, err := c.issuer()
	if err != nil {
		t.Fatal(err)
	}
	visualCA, textCA := is.CAKeys()
	cl := NewClient(c)

	// The text AP: EF 0003 signed by the key of EF 0004, its digests those
	// of EF 0001 (with its filler) and EF 0002.
	textCert, err := cl.SurfaceCertificate(false)
	if err != nil {
		t.Fatal(err)
	}
	if err := textCert.Verify(textCA); err != nil {
		t.Errorf("text CV certificate: %v", err)
	}
	if !bytes.Equal(textCert.IssuerKeyID, keyIDTextCA) || !bytes.Equal(textCert.SubjectKeyID, keyIDIssuer) {
		t.Errorf("text CV certificate key IDs % X → % X", textCert.IssuerKeyID, textCert.SubjectKeyID)
	}
	if err := textCert.Verify(visualCA); err == nil {
		t.Error("the text AP's certificate verifies under the visual AP's CA")
	}
	if _, err := cl.TextIntegrity(); !errors.Is(err, ErrSecurityStatus) {
		t.Errorf("TextIntegrity without a PIN: %v, want ErrSecurityStatus", err)
	}
	if err := cl.VerifyPIN(TextPIN, testTextPIN); err != nil {
		t.Fatal(err)
	}
	rec, err := cl.TextIntegrity()
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Verify(textCert.PublicKey); err != nil {
		t.Errorf("text EF 0003 signature: %v", err)
	}
	mn, err := cl.readFile(apText, efMyNumber)
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := cl.readFile(apText, efAttributes)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.CheckTextFiles(append(mn, 0xFF, 0xFF), attrs); err != nil {
		t.Error(err)
	}
	rec.Signature[10] ^= 1
	if rec.Verify(textCert.PublicKey) == nil {
		t.Error("a tampered EF 0003 signature verifies")
	}

	// The visual AP.
	visualCert, err := cl.SurfaceCertificate(true)
	if err != nil {
		t.Fatal(err)
	}
	if err := visualCert.Verify(visualCA); err != nil {
		t.Errorf("visual CV certificate: %v", err)
	}
	if err := cl.VerifyPIN(VisualPINB, testPINB); err != nil {
		t.Fatal(err)
	}
	face, err := cl.CardFace()
	if err != nil {
		t.Fatal(err)
	}
	if err := face.Verify(visualCert.PublicKey); err != nil {
		t.Errorf("card face signature: %v", err)
	}
	if face.BirthDate != "19900401" || face.Sex != "2" || face.Expiry != "20360401" {
		t.Errorf("card face: birth %q sex %q expiry %q", face.BirthDate, face.Sex, face.Expiry)
	}
	if !bytes.HasPrefix(face.FaceJP2, []byte("\x00\x00\x00\x0CjP  \r\n\x87\n")) || FacePNG(face.FaceJP2) == nil {
		t.Error("the face photo is not one of the JPEG 2000 placeholders")
	}
	for name, b := range map[string][]byte{"name": face.NamePNG, "address": face.AddressPNG, "security code": face.SecurityCodePNG} {
		if _, err := png.Decode(bytes.NewReader(b)); err != nil {
			t.Errorf("%s image: %v", name, err)
		}
	}
	if _, err := cl.MyNumberImage(); !errors.Is(err, ErrSecurityStatus) {
		t.Errorf("My Number image with PIN B: %v, want ErrSecurityStatus", err)
	}
	if err := cl.VerifyPIN(VisualPINA, testPINA); err != nil {
		t.Fatal(err)
	}
	img, err := cl.MyNumberImage()
	if err != nil {
		t.Fatal(err)
	}
	if err := img.Verify(visualCert.PublicKey); err != nil {
		t.Errorf("My Number image signature: %v", err)
	}
	if err := cl.VerifyPIN(VisualBirth, "020401"); err != nil {
		t.Fatal(err)
	}
	age, err := cl.AgeRecord()
	if err != nil {
		t.Fatal(err)
	}
	if err := age.Verify(visualCert.PublicKey); err != nil || string(age.Value) != "19900401" {
		t.Errorf("age record %q: %v", age.Value, err)
	}

	// A new name rewrites the face and the text AP's record, both signed anew.
	if err := c.SetSurface("試験\u3000春子", "長野県須坂市大字須坂1528番地の1"); err != nil {
		t.Fatal(err)
	}
	cl = NewClient(c)
	if err := cl.VerifyPIN(VisualPINB, testPINB); err != nil {
		t.Fatal(err)
	}
	face2, err := cl.CardFace()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(face2.NamePNG, face.NamePNG) || face2.Verify(visualCert.PublicKey) != nil {
		t.Error("the card face was not redrawn and signed after SetSurface")
	}
}

// TestPrintedKeys checks the values of the keys printed on the card.
func TestPrintedKeys(t *testing.T) {
	t.Parallel()
	tests := []struct{ birth, expiry, code, want string }{
		{"19800217", "20350217", "2285", "55021720352285"}, // SOL data.rs: 昭和55
		{"19890107", "20300107", "0001", "64010720300001"}, // the last day of 昭和
		{"19890108", "20300108", "0001", "01010820300001"}, // 平成元年
		{"20190501", "20240501", "9999", "01050120249999"}, // 令和元年
	}
	for _, tt := range tests {
		s := state{MyNumber: testPINA, Attrs: Attributes{BirthDate: tt.birth}, Expiry: tt.expiry, SecurityCode: tt.code}
		if got := s.derivedValue(VisualPINB); got != tt.want {
			t.Errorf("照合番号B of %s: %q, want %q", tt.birth, got, tt.want)
		}
		if got := s.derivedValue(VisualBirth); got != tt.want[:6] {
			t.Errorf("birth key of %s: %q, want %q", tt.birth, got, tt.want[:6])
		}
	}
	for _, tt := range []struct{ birth, issued, want string }{
		{"19900401", "20260102", "20350401"}, // adult: the 10th birthday after issuance
		{"20100615", "20260102", "20300615"}, // 15 at issuance: 5th birthday
		{"19900102", "20260102", "20360102"}, // issued on the birthday: the next one counts
		{"19800229", "20261124", "20360229"}, // a leap-day birthday in a leap year
		{"19800229", "20251124", "20350228"}, // and in another year
	} {
		issued, _ := time.Parse("20060102", tt.issued)
		if got := DefaultExpiry(tt.birth, issued); got != tt.want {
			t.Errorf("DefaultExpiry(%s, %s) = %s, want %s", tt.birth, tt.issued, got, tt.want)
		}
	}
}

// FuzzVisualAP feeds the visual AP's command parser: any sequence after its
// SELECT. Whatever the sequence, the card answers with a status word, and
// the My Number image never leaves without 照合番号A.
func FuzzVisualAP(f *testing.F) {
	seq := func(cmds ...string) []byte {
		var b []byte
		for _, c := range cmds {
			x := h(c)
			b = append(append(b, byte(len(x))), x...)
		}
		return b
	}
	f.Add(seq(selEF("00 13"), verA, selEF("00 05"), "00 B0 00 00 00", "00 B0 01 00 00"))
	f.Add(seq(selEF("00 12"), verBBad, verB, selEF("00 02"), "00 B0 00 00 07", selEF("00 05"), read4))
	f.Add(seq(selEF("00 11"), verBirth, "00 B0 81 00 00", "00 20 00 93", "00 24 01 93 01 00"))
	f.Add(seq("00 B0 85 00 10", "00 A4 00 00", selText, selEF("00 03"), read4))
	st, err := memState()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := newCard(st, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.issuer = sharedIssuer
		if out, _ := c.Transmit(h(selVisual)); !bytes.Equal(out, []byte{0x90, 0x00}) {
			t.Fatalf("SELECT visual AP: % X", out)
		}
		for len(b) > 0 {
			n := min(int(b[0]), len(b)-1)
			cmd := b[1 : 1+n]
			b = b[1+n:]
			before := c.verified[VisualPINA] && c.ap == apVisual
			out, err := c.Transmit(cmd)
			if err != nil {
				t.Fatalf("Transmit(% X): %v", cmd, err)
			}
			if len(out) < 2 {
				t.Fatalf("Transmit(% X): %d bytes", cmd, len(out))
			}
			if len(out) > 2 && c.ap == apVisual && c.ef == efMyNumberImage && !before && !c.verified[VisualPINA] {
				t.Fatalf("Transmit(% X) read the My Number image without 照合番号A", cmd)
			}
		}
	})
}

// TestCardFacesConcurrently draws several cards' faces at once: they share
// the issuer's font (run with -race).
func TestCardFacesConcurrently(t *testing.T) {
	t.Parallel()
	done := make(chan error)
	for range 4 {
		go func() {
			c := newMemCard(t)
			cl := NewClient(c)
			if err := cl.VerifyPIN(VisualPINB, testPINB); err != nil {
				done <- err
				return
			}
			_, err := cl.CardFace()
			done <- err
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
