package municipal

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Seal images. Both are drawn here from text, so that nothing resembles a
// real seal: the mayor's is a red square with 「○○市長之印」 in columns read
// right to left, and a resident's registered seal is a red circle with the
// surname written top to bottom.

// sealRed is the colour of seal ink.
func sealRed() color.NRGBA { return color.NRGBA{R: 0xd0, G: 0x1c, B: 0x1f, A: 0xff} }

const sealPx = 240

// MayorSeal draws the mayor's seal with text (e.g. 酒田市長之印) as a PNG.
func (r *Renderer) MayorSeal(text string) ([]byte, error) {
	img := image.NewNRGBA(image.Rect(0, 0, sealPx, sealPx))
	for i := range 12 { // the square frame
		for k := range sealPx {
			img.Set(k, i, sealRed())
			img.Set(k, sealPx-1-i, sealRed())
			img.Set(i, k, sealRed())
			img.Set(sealPx-1-i, k, sealRed())
		}
	}
	if err := r.sealText(img, []rune(text), 22); err != nil {
		return nil, err
	}
	return encodePNG(img)
}

// PersonalSeal draws a resident's seal from their name (the surname, the
// part before the first space) as a PNG: a stand-in for a registered
// imprint.
func (r *Renderer) PersonalSeal(name string) ([]byte, error) {
	surname := strings.FieldsFunc(name, func(c rune) bool { return c == ' ' || c == '\u3000' })
	if len(surname) == 0 {
		return nil, fmt.Errorf("%w: empty name", ErrInvalid)
	}
	runes := []rune(surname[0])
	if len(runes) > 4 {
		runes = runes[:4] // a seal carries at most four characters
	}
	img := image.NewNRGBA(image.Rect(0, 0, sealPx, sealPx))
	c := float64(sealPx) / 2
	for y := range sealPx {
		for x := range sealPx {
			d := math.Hypot(float64(x)+0.5-c, float64(y)+0.5-c)
			if d <= c-1 && d >= c-11 {
				img.Set(x, y, sealRed())
			}
		}
	}
	if err := r.sealText(img, runes, 46); err != nil {
		return nil, err
	}
	return encodePNG(img)
}

// sealText writes runes in columns, right column first, top to bottom,
// inside the image less inset pixels on each side.
func (r *Renderer) sealText(img *image.NRGBA, runes []rune, inset int) error {
	n := len(runes)
	if n == 0 {
		return nil
	}
	cols := int(math.Ceil(math.Sqrt(float64(n))))
	if n <= 4 && n > 1 {
		cols = 1 // a short text reads as one column
	}
	rows := (n + cols - 1) / cols
	inner := float64(sealPx - 2*inset)
	cell := math.Min(inner/float64(cols), inner/float64(rows))
	face, err := opentype.NewFace(r.gothic.sfnt, &opentype.FaceOptions{Size: cell * 0.92, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		return fmt.Errorf("municipal: seal face: %w", err)
	}
	defer face.Close()
	dr := font.Drawer{Dst: img, Src: image.NewUniform(sealRed()), Face: face}
	x0 := float64(sealPx)/2 + float64(cols)*cell/2 // right edge of the text block
	y0 := float64(sealPx)/2 - float64(rows)*cell/2
	for i, c := range runes {
		col, row := i/rows, i%rows
		adv := dr.MeasureString(string(c))
		x := x0 - float64(col+1)*cell + (cell-float64(adv)/64)/2
		y := y0 + float64(row)*cell + cell*0.86
		dr.Dot = fixed.Point26_6{X: fixed.Int26_6(x * 64), Y: fixed.Int26_6(y * 64)}
		dr.DrawString(string(c))
	}
	return nil
}

func encodePNG(img image.Image) ([]byte, error) {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("municipal: encode seal: %w", err)
	}
	return b.Bytes(), nil
}
