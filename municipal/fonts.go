package municipal

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/image/font/sfnt"

	"github.com/mynaplat/mynaplat/internal/jpfont"
)

// The certificate fonts are BIZ UD Mincho (values) and BIZ UD Gothic
// (labels, headings, the seal), which Japanese municipalities use on their
// forms: the subsets embedded in package jpfont, or the full fonts of a font
// directory.

// The font files under a font directory (Debian packages
// fonts-morisawa-bizud-mincho and fonts-morisawa-bizud-gothic), used
// instead of the embedded subsets when Config.FontDir is set.
const (
	minchoFile = "bizud-mincho/BIZUDMincho-Regular.ttf"
	gothicFile = "bizud-gothic/BIZUDGothic-Regular.ttf"
)

// FontLicense returns the licence of the embedded fonts.
func FontLicense() []byte { return jpfont.License() }

// face is one font: its bytes for gopdf and its parsed form, to draw the
// seal and to ask whether it has a character.
type face struct {
	name string // gopdf's family name: "mincho" or "gothic"
	ttf  []byte
	sfnt *sfnt.Font
}

// loadFaces reads the two fonts from dir, or the embedded subsets when dir
// is empty.
func loadFaces(dir string) (mincho, gothic *face, err error) {
	load := func(name string, embedded func() ([]byte, error), file string) (*face, error) {
		var b []byte
		var err error
		if dir == "" {
			b, err = embedded()
		} else if b, err = os.ReadFile(filepath.Join(dir, file)); err != nil {
			err = fmt.Errorf("municipal: font %s (set no font directory to use the embedded fonts): %w", file, err)
		}
		if err != nil {
			return nil, err
		}
		f, err := sfnt.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("municipal: parse font %s: %w", name, err)
		}
		return &face{name: name, ttf: b, sfnt: f}, nil
	}
	if mincho, err = load("mincho", jpfont.Mincho, minchoFile); err != nil {
		return nil, nil, err
	}
	if gothic, err = load("gothic", jpfont.Gothic, gothicFile); err != nil {
		return nil, nil, err
	}
	return mincho, gothic, nil
}

// missing returns the first character of s that the font has no glyph for.
// gopdf silently draws a substitute for such a character; a certificate
// must not show a name or an address other than what the register holds.
func (f *face) missing(buf *sfnt.Buffer, s string) (rune, bool) {
	for _, c := range s {
		if c == '\t' || c == '\n' {
			continue
		}
		if i, err := f.sfnt.GlyphIndex(buf, c); err != nil || i == 0 {
			return c, true
		}
	}
	return 0, false
}
