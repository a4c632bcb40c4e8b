package card

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"

	"github.com/mynaplat/mynaplat/internal/jpfont"
)

// The card face's text images (name, address, security code, My Number) are
// 1-bit PNGs on the real card (SOL data.rs ImageFormat; AOKI schema.ts). The
// emulator draws the name and the address with BIZ UD Gothic, embedded in the
// binary (package jpfont: JIS X 0208 and the Windows-31J extensions, what a
// name or an address holds), so that a fresh machine draws them as any
// other does; should the font not parse, a fixed ASCII face draws digits
// right and other characters as boxes.
// fontSet is the faces the issuer draws with. An opentype face keeps
// buffers while it draws, so cards drawing at once take turns.
type fontSet struct {
	mu   sync.Mutex
	text font.Face // name and address
}

// draw is textPNG with the name-and-address face.
func (f *fontSet) draw(s string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return textPNG(f.text, s)
}

func loadFonts() *fontSet {
	b, err := jpfont.Gothic()
	if err != nil {
		return &fontSet{text: basicfont.Face7x13}
	}
	f, err := sfnt.Parse(b)
	if err != nil {
		return &fontSet{text: basicfont.Face7x13}
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: 20, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return &fontSet{text: basicfont.Face7x13}
	}
	return &fontSet{text: face}
}

func (is *Issuer) faces() *fontSet {
	is.fontOnce.Do(func() { is.fonts = loadFonts() })
	return is.fonts
}

// textPNG draws s in black on white as a 1-bit PNG, one line.
func textPNG(face font.Face, s string) []byte {
	m := face.Metrics()
	adv := font.MeasureString(face, s)
	w := adv.Ceil() + 4
	h := (m.Ascent + m.Descent).Ceil() + 4
	img := image.NewPaletted(image.Rect(0, 0, max(w, 8), h), color.Palette{color.White, color.Black})
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	d := &font.Drawer{Dst: img, Src: image.Black, Face: face, Dot: fixed.Point26_6{X: fixed.I(2), Y: m.Ascent + fixed.I(2)}}
	d.DrawString(s)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err) // an in-memory image always encodes
	}
	return buf.Bytes()
}

// digitsPNG draws digits with the fixed face, as the card's small security
// code and My Number images (24×12 and 72×12 on the card SOL surveyed).
func digitsPNG(s string) []byte { return textPNG(basicfont.Face7x13, s) }
