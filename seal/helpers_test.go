package seal

import (
	"bytes"
	"image"
	_ "image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/internal/testutil"
	"github.com/mynaplat/mynaplat/municipal"
)

// testNow is the fixed clock of the tests: 令和8年11月24日 10:00 JST.
var testNow = time.Date(2026, 11, 24, 10, 0, 0, 0, time.FixedZone("JST", 9*3600))

var sakata = Municipality{Code: "062049", NameJA: "酒田市", NameEN: "Sakata City"}

// sampleContent is the canonical content text of the sample 住民票の写し.
const sampleContent = "住民票の写し\n証明書番号 R08-000123\n氏名 酒田 一郎\n生年月日 昭和45年4月1日\n" +
	"住所 山形県酒田市本町二丁目2番45号\n世帯主 酒田 一郎\n" +
	"この写しは、住民票の原本と相違ないことを証明する。\n令和8年11月24日 酒田市長"

// samplePDF renders a one-page certificate with the municipal renderer
// (its embedded fonts, the 「複写」 ground pattern and the QR PNG), one row
// per line of content.
func samplePDF(t testing.TB, content string, qrPNG []byte) []byte {
	t.Helper()
	r, err := municipal.NewRenderer("")
	if err != nil {
		t.Fatal(err)
	}
	var rows []municipal.Row
	for _, line := range strings.Split(content, "\n") {
		rows = append(rows, municipal.Row{Label: "記載事項", Value: line})
	}
	d := &municipal.Document{Type: municipal.Juminhyo, Municipality: "山形県酒田市", SealText: "酒田市長之印",
		Number: "R08-000123", Issued: testNow, Sections: []municipal.Section{{Rows: rows}},
		Attestation: "この写しは、住民票の原本と相違ないことを証明する。"}
	pdf, _, err := r.Render(d, municipal.Decorations{QR: qrPNG, CopyPattern: true})
	if err != nil {
		t.Fatal(err)
	}
	return pdf
}

// pdfsig runs poppler's pdfsig on a PDF and returns its output and whether it
// said the signature is valid.
func pdfsig(t *testing.T, pdf []byte) (string, bool) {
	t.Helper()
	bin := testutil.NeedProgram(t, "pdfsig", "poppler-utils")
	path := filepath.Join(t.TempDir(), "signed.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(bin, path).CombinedOutput()
	return string(out), bytes.Contains(out, []byte("Signature Validation: Signature is Valid."))
}

// decodePagePNG decodes a QR code from a PNG image with gozxing.
func decodePNG(t *testing.T, png []byte) string {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(png))
	if err != nil {
		t.Fatal(err)
	}
	return decodeImage(t, img)
}

func decodeImage(t *testing.T, img image.Image) string {
	t.Helper()
	text, err := DecodeQRImage(img)
	if err != nil {
		t.Fatalf("decode QR: %v", err)
	}
	return text
}

func testAuthority(t testing.TB) *Authority {
	t.Helper()
	a, err := OpenAuthority(t.TempDir(), func() time.Time { return testNow })
	if err != nil {
		t.Fatal(err)
	}
	return a
}
