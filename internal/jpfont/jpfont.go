// Package jpfont holds the Japanese fonts embedded in the binary, so that
// drawing Japanese text needs nothing installed on the machine: subsets of
// BIZ UD Mincho and BIZ UD Gothic, the fonts Japanese municipalities use on
// their forms (ASCII, JIS X 0208 and the Windows-31J extensions such as 髙,
// 﨑, ①, ㈱ — the characters names and addresses hold), made by
// scripts/subset-fonts.sh and kept gzipped. They are under the SIL Open Font
// License 1.1 (fonts/OFL.txt, embedded with them so that the binary carries
// its licence). The municipal certificates (package municipal) and the
// emulated card's surface images (package card) draw with them.
package jpfont

import (
	"bytes"
	"compress/gzip"
	"embed"
	"fmt"
	"io"
)

//go:embed fonts/BIZUDMincho-Regular.subset.ttf.gz fonts/BIZUDGothic-Regular.subset.ttf.gz fonts/OFL.txt
var embedded embed.FS

// Mincho is BIZ UD Mincho's subset as a TrueType file.
func Mincho() ([]byte, error) { return gunzip("fonts/BIZUDMincho-Regular.subset.ttf.gz") }

// Gothic is BIZ UD Gothic's subset as a TrueType file.
func Gothic() ([]byte, error) { return gunzip("fonts/BIZUDGothic-Regular.subset.ttf.gz") }

// License is the fonts' licence text.
func License() []byte {
	b, _ := embedded.ReadFile("fonts/OFL.txt")
	return b
}

func gunzip(name string) ([]byte, error) {
	gz, err := embedded.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("jpfont: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("jpfont: %s: %w", name, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("jpfont: %s: %w", name, err)
	}
	return b, nil
}
