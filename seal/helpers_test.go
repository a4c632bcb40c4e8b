package seal

import (
	"bytes"
	"image"
	_ "image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/signintech/gopdf"

	"github.com/mynaplat/mynaplat/internal/testutil"
)

// bizUDGothic is Debian's BIZ UD Gothic (fonts-morisawa-bizud-gothic).
const bizUDGothic = "/usr/share/fonts/truetype/bizud-gothic/BIZUDGothic-Regular.ttf"

// testNow is the fixed clock of the tests: 令和8年11月24日 10:00 JST.
var testNow = time.Date(2026, 11, 24, 10, 0, 0, 0, time.FixedZone("JST", 9*3600))

var sakata = Municipality{Code: "062049", NameJA: "酒田市", NameEN: "Sakata City"}

// sampleContent is the canonical content text of the sample 住民票の写し.
const sampleContent = "住民票の写し\n証明書番号 R08-000123\n氏名 酒田 一郎\n生年月日 昭和45年4月1日\n" +
	"住所 山形県酒田市本町二丁目2番45号\n世帯主 酒田 一郎\n" +
	"この写しは、住民票の原本と相違ないことを証明する。\n令和8年11月24日 酒田市長"

// samplePDF makes a one-page certificate like the municipal renderer's:
// Japanese text in BIZ UD Gothic, a light 「複写」 ground pattern, and the QR
// PNG at the lower right.
func samplePDF(t testing.TB, content string, qrPNG []byte) []byte {
	t.Helper()
	if _, err := os.Stat(bizUDGothic); err != nil {
		testutil.Missing(t, bizUDGothic+" (Debian package fonts-morisawa-bizud-gothic)")
	}
	var p gopdf.GoPdf
	p.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4})
	p.SetInfo(gopdf.PdfInfo{Title: "R08-000123", Producer: "mynaplat seal test", CreationDate: testNow})
	if err := p.AddTTFFont("gothic", bizUDGothic); err != nil {
		t.Fatal(err)
	}
	p.AddPage()
	// The ground pattern: 「複写」 in light grey across the page. On a real
	// printer's pattern it would vanish on the original and show on a copy;
	// here it is drawn lightly so the text stays legible.
	if err := p.SetFont("gothic", "", 28); err != nil {
		t.Fatal(err)
	}
	p.SetTextColor(236, 236, 236)
	for y := 60.0; y < 800; y += 90 {
		for x := 20.0; x < 560; x += 140 {
			p.SetXY(x, y)
			p.Rotate(30, x+40, y+14)
			if err := p.Text("複写"); err != nil {
				t.Fatal(err)
			}
			p.RotateReset()
		}
	}
	p.SetTextColor(0, 0, 0)
	if err := p.SetFont("gothic", "", 12); err != nil {
		t.Fatal(err)
	}
	y := 60.0
	for line := range bytes.SplitSeq([]byte(content), []byte("\n")) {
		p.SetXY(60, y)
		if err := p.Cell(nil, string(line)); err != nil {
			t.Fatal(err)
		}
		y += 24
	}
	if qrPNG != nil {
		h, err := gopdf.ImageHolderByBytes(qrPNG)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.ImageByHolder(h, 420, 650, &gopdf.Rect{W: 140, H: 140}); err != nil {
			t.Fatal(err)
		}
	}
	b, err := p.GetBytesPdfReturnErr()
	if err != nil {
		t.Fatal(err)
	}
	return b
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
