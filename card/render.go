package card

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// The card face's text images (name, address, security code, My Number) are
// 1-bit PNGs on the real card (SOL data.rs ImageFormat; AOKI schema.ts). The
// emulator draws them with a Japanese font of the machine — BIZ UD Gothic
// (Debian fonts-morisawa-bizud-gothic) or Noto Sans CJK JP (fonts-noto-cjk),
// the first found — and falls back to a fixed ASCII face, which draws
// digits right and other characters as boxes, where neither is installed.
var fontPaths = []struct {
	path  string
	index int // in a collection
}{
	{"/usr/share/fonts/truetype/bizud-gothic/BIZUDGothic-Regular.ttf", -1},
	{"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 0}, // index 0: JP
}

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
	for _, p := range fontPaths {
		b, err := os.ReadFile(p.path)
		if err != nil {
			continue
		}
		var f *sfnt.Font
		if p.index < 0 {
			f, err = sfnt.Parse(b)
		} else {
			var c *sfnt.Collection
			if c, err = sfnt.ParseCollection(b); err == nil {
				f, err = c.Font(p.index)
			}
		}
		if err != nil {
			continue
		}
		face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: 20, DPI: 72, Hinting: font.HintingFull})
		if err != nil {
			continue
		}
		return &fontSet{text: face}
	}
	return &fontSet{text: basicfont.Face7x13}
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
