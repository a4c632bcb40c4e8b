package seal

import "testing"

// TestQRDecodesEveryTime: 400 signed QR codes, each with other random
// bytes, all read back. One orientation alone missed about one in forty.
func TestQRDecodesEveryTime(t *testing.T) {
	t.Parallel()
	s, err := testAuthority(t).Seal(sakata)
	if err != nil {
		t.Fatal(err)
	}
	for range 400 {
		p, err := NewQRPayload("R08-000123", sakata.Code, testNow, sampleContent)
		if err != nil {
			t.Fatal(err)
		}
		if err := SignQR(p, s.QRSigner); err != nil {
			t.Fatal(err)
		}
		png, err := QRPNG(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := decodePNG(t, png); got != p.Text() {
			t.Fatalf("decoded %q, want %q", got, p.Text())
		}
	}
}
