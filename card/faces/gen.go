//go:build ignore

// gen draws the emulator's neutral placeholder face photos: a grey
// head-and-shoulders silhouette on a plain background, four tones, no
// features, so that nobody mistakes them for a person. It writes face-N.png;
// opj_compress (Debian libopenjp2-tools) turns each into face-N.jp2, the
// JPEG 2000 the real card's 券面事項確認AP carries (jpki-card.md §7;
// docs/card-emulation.md):
//
//	go run gen.go && for f in face-*.png; do opj_compress -i $f -o ${f%.png}.jp2 -r 20; done
package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
)

const w, h = 90, 120 // 3:4, the card photo's proportions

func main() {
	tones := []struct{ bg, fg uint8 }{{0xE8, 0x70}, {0xDC, 0x58}, {0xF0, 0x88}, {0xE0, 0x64}}
	for i, t := range tones {
		img := image.NewGray(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				img.SetGray(x, y, color.Gray{Y: shade(x, y, i, t.bg, t.fg)})
			}
		}
		f, err := os.Create(fmt.Sprintf("face-%d.png", i))
		if err != nil {
			panic(err)
		}
		if err := png.Encode(f, img); err != nil {
			panic(err)
		}
		f.Close()
	}
}

// shade is the silhouette: an ellipse for the head (its width varies with
// the variant), a neck, and rounded shoulders.
func shade(x, y, variant int, bg, fg uint8) uint8 {
	cx := float64(w) / 2
	fx, fy := float64(x)-cx, float64(y)
	rx := 20.0 + float64(variant)*1.5
	head := (fx*fx)/(rx*rx)+((fy-48)*(fy-48))/(27*27) <= 1
	neck := fx > -9 && fx < 9 && fy > 70 && fy < 88
	sy := fy - 128
	shoulders := fy > 84 && (fx*fx)/(44*44)+(sy*sy)/(42*42) <= 1
	if head || neck || shoulders {
		return fg
	}
	return bg - uint8(y/12) // a faint vertical gradient, as a studio backdrop
}
