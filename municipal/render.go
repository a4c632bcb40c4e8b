package municipal

import (
	"compress/zlib"
	"fmt"
	"sync"
	"time"

	"github.com/signintech/gopdf"
	"golang.org/x/image/font/sfnt"

	"github.com/mynaplat/mynaplat/wareki"
)

// This file renders certificates: a Document (what the certificate says) is
// laid out on A4 pages with a header (title, certificate number), rows of
// label and value, the attestation with the date of issue in 和暦 and the
// mayor's seal on the last page, and 「1 / 2」 page numbers. Every value must
// fit its column on one line: Fit measures each with the embedded font and
// refuses with ErrTooLong rather than truncate or shrink it.

// Page geometry, in points (A4 is 595 × 842).
const (
	pageW, pageH  = 595.0, 842.0
	marginX       = 50.0
	contentW      = pageW - 2*marginX
	labelW        = 130.0
	valueX        = marginX + labelW + 6
	valueW        = pageW - marginX - valueX
	contentTop    = 112.0
	contentBottom = pageH - 140.0
	rowH          = 19.0
	headingH      = 24.0
	imageRowH     = 72.0
	closingH      = 150.0
	valueSize     = 10.5
	labelSize     = 9.0
	headingSize   = 11.0
	qrSize        = 72.0
)

// Document is what one certificate says, before layout.
type Document struct {
	Type CertType
	// Municipality is the issuing municipality's full name (山形県酒田市);
	// the certificate is signed by its 長 (山形県酒田市長).
	Municipality string
	// SealText is the text of the mayor's seal (酒田市長之印); "" draws no
	// seal.
	SealText string
	// Title, when set, is printed instead of Type's title, and Signatory
	// instead of the mayor (Municipality + 長): a document that is not a
	// municipal certificate (a business's 保険料控除証明書 sent to the post
	// box as a PDF) uses the same layout.
	Title, Signatory string
	Number           string // certificate number
	// NumberLabel, when set, is printed before Number instead of 証明書番号
	// (a contract's 契約番号).
	NumberLabel string
	Issued      time.Time // date of issue
	Sections    []Section
	// Attestation is the closing sentence above the date and seal.
	Attestation string
}

// Section is a group of rows with an optional heading (one person of a
// household, one 戸籍 member …).
type Section struct {
	Heading string
	Rows    []Row
}

// Row is a label and a one-line value; a row with Image shows the PNG (the
// registered seal) in the value column instead.
type Row struct {
	Label string
	Value string
	Image []byte
}

func (d *Document) title() string {
	if d.Title != "" {
		return d.Title
	}
	return d.Type.Title()
}

func (d *Document) signatory() string {
	if d.Signatory != "" {
		return d.Signatory
	}
	return d.Municipality + "長"
}

// Text returns everything the document says, one line per row: what a
// verification page shows and what a signed digest may cover.
func (d *Document) Text() []string {
	out := []string{d.title(), d.Municipality, d.Number}
	for _, s := range d.Sections {
		if s.Heading != "" {
			out = append(out, s.Heading)
		}
		for _, r := range s.Rows {
			out = append(out, r.Label+"\t"+r.Value)
		}
	}
	return append(out, d.Attestation)
}

// Decorations are what the caller (the J-LIS relay) adds to the pages: a QR
// code (PNG) at the bottom left of every page with a text line under it,
// and the 「複写」 ground pattern behind the content.
type Decorations struct {
	QR          []byte
	QRText      string
	CopyPattern bool
}

// Renderer lays out and renders certificates. It is safe for concurrent use.
type Renderer struct {
	mincho, gothic *face
	// mu guards measure, a document kept only to measure text widths.
	mu      sync.Mutex
	measure *gopdf.GoPdf
	// seals caches the mayors' seal images by their text: drawing and
	// encoding one was 8 % of an issuance.
	seals sync.Map // string → []byte
}

// NewRenderer loads the BIZ UD fonts: the embedded subsets when fontDir is
// empty, else the whole fonts from fontDir (laid out as Debian installs
// them under /usr/share/fonts/truetype).
func NewRenderer(fontDir string) (*Renderer, error) {
	r := &Renderer{}
	var err error
	if r.mincho, r.gothic, err = loadFaces(fontDir); err != nil {
		return nil, err
	}
	if r.measure, err = r.newPDF(); err != nil {
		return nil, err
	}
	r.measure.AddPage()
	return r, nil
}

func (r *Renderer) newPDF() (*gopdf.GoPdf, error) {
	gp := &gopdf.GoPdf{}
	gp.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4})
	// Deflate at its fastest: the default level made compressing the font
	// subsets and pages a third of an issuance's time, for files only a few
	// kilobytes smaller.
	gp.SetCompressLevel(zlib.BestSpeed)
	for _, f := range []*face{r.mincho, r.gothic} {
		if err := gp.AddTTFFontData(f.name, f.ttf); err != nil {
			return nil, fmt.Errorf("municipal: load %s: %w", f.name, err)
		}
	}
	return gp, nil
}

// TooLongError says which text does not fit; it wraps ErrTooLong. It names
// the field, never its content (which is personal data).
type TooLongError struct {
	Field string
	Width float64 // needed, in points
	Max   float64
}

func (e *TooLongError) Error() string {
	return fmt.Sprintf("%v: %s needs %.0fpt of %.0fpt", ErrTooLong, e.Field, e.Width, e.Max)
}

func (e *TooLongError) Unwrap() error { return ErrTooLong }

// Fit checks that every text of d fits its place on the page.
func (r *Renderer) Fit(d *Document) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fitWith(r.measure, d)
}

// UnprintableError says which text has a character the fonts cannot draw;
// it wraps ErrUnprintable. Like TooLongError it names the field, not the
// text or the character.
type UnprintableError struct {
	Field string
}

func (e *UnprintableError) Error() string {
	return fmt.Sprintf("%v: in %s", ErrUnprintable, e.Field)
}

func (e *UnprintableError) Unwrap() error { return ErrUnprintable }

func (r *Renderer) fitWith(gp *gopdf.GoPdf, d *Document) error {
	var glyphs sfnt.Buffer
	check := func(f *face, size float64, field, text string, max float64) error {
		if _, ok := f.missing(&glyphs, text); ok {
			return &UnprintableError{Field: field}
		}
		if err := gp.SetFont(f.name, "", size); err != nil {
			return err
		}
		w, err := gp.MeasureTextWidth(text)
		if err != nil {
			return fmt.Errorf("municipal: measure %s: %w", field, err)
		}
		if w > max {
			return &TooLongError{Field: field, Width: w, Max: max}
		}
		return nil
	}
	for _, s := range d.Sections {
		if err := check(r.gothic, headingSize, "heading", s.Heading, contentW-8); err != nil {
			return err
		}
		for _, row := range s.Rows {
			if err := check(r.gothic, labelSize, "label", row.Label, labelW-4); err != nil {
				return err
			}
			if err := check(r.mincho, valueSize, row.Label, row.Value, valueW); err != nil {
				return err
			}
		}
	}
	if err := check(r.mincho, valueSize, "attestation", d.Attestation, contentW); err != nil {
		return err
	}
	if err := check(r.mincho, 20, "title", d.title(), contentW); err != nil {
		return err
	}
	return check(r.mincho, 12, "mayor", d.signatory(), contentW-140)
}

// item is one laid-out block: a heading or a row.
type item struct {
	heading string
	row     *Row
}

func (it item) height() float64 {
	switch {
	case it.row == nil:
		return headingH
	case it.row.Image != nil:
		return imageRowH
	}
	return rowH
}

// paginate splits the items into pages, leaving room for the closing block
// on the last one.
func paginate(d *Document) [][]item {
	var items []item
	for i := range d.Sections {
		s := &d.Sections[i]
		if s.Heading != "" {
			items = append(items, item{heading: s.Heading})
		}
		for j := range s.Rows {
			items = append(items, item{row: &s.Rows[j]})
		}
	}
	var pages [][]item
	var cur []item
	y := contentTop
	for i, it := range items {
		// A heading never ends a page.
		need := it.height()
		if it.row == nil && i+1 < len(items) {
			need += items[i+1].height()
		}
		if y+need > contentBottom && len(cur) > 0 {
			pages = append(pages, cur)
			cur, y = nil, contentTop
		}
		cur = append(cur, it)
		y += it.height()
	}
	if y+closingH > contentBottom+qrSize && len(cur) > 0 {
		pages = append(pages, cur)
		cur = nil
	}
	return append(pages, cur)
}

// mayorSealCached is MayorSeal, drawn once per text.
func (r *Renderer) mayorSealCached(text string) ([]byte, error) {
	if b, ok := r.seals.Load(text); ok {
		return b.([]byte), nil
	}
	b, err := r.MayorSeal(text)
	if err != nil {
		return nil, err
	}
	r.seals.Store(text, b)
	return b, nil
}

// Render lays out d, decorated with dec, and returns the PDF and its page
// count. The mayor's seal is drawn from d.SealText.
func (r *Renderer) Render(d *Document, dec Decorations) ([]byte, int, error) {
	gp, err := r.newPDF()
	if err != nil {
		return nil, 0, err
	}
	if err := r.fitWith(gp, d); err != nil {
		return nil, 0, err
	}
	var seal []byte
	if d.SealText != "" {
		if seal, err = r.mayorSealCached(d.SealText); err != nil {
			return nil, 0, err
		}
	}
	issued, err := wareki.Long(d.Issued)
	if err != nil {
		return nil, 0, fmt.Errorf("municipal: date of issue: %w", err)
	}
	gp.SetInfo(gopdf.PdfInfo{Title: d.title() + " " + d.Number, Creator: "mynaplat municipal", Producer: "mynaplat"})
	pages := paginate(d)
	for n, items := range pages {
		gp.AddPage()
		if dec.CopyPattern {
			if err := copyPattern(gp); err != nil {
				return nil, 0, err
			}
		}
		if err := r.header(gp, d); err != nil {
			return nil, 0, err
		}
		y := contentTop
		for _, it := range items {
			if err := drawItem(gp, it, y); err != nil {
				return nil, 0, err
			}
			y += it.height()
		}
		if n == len(pages)-1 {
			if err := closing(gp, d, issued, seal, y+12); err != nil {
				return nil, 0, err
			}
		}
		if err := footer(gp, dec, n+1, len(pages)); err != nil {
			return nil, 0, err
		}
	}
	b, err := gp.GetBytesPdfReturnErr()
	if err != nil {
		return nil, 0, fmt.Errorf("municipal: write pdf: %w", err)
	}
	return b, len(pages), nil
}

// text draws s with its top-left corner at x, y.
func text(gp *gopdf.GoPdf, font string, size, x, y float64, s string) error {
	if err := gp.SetFont(font, "", size); err != nil {
		return err
	}
	gp.SetXY(x, y)
	return gp.Text(s)
}

// textRight draws s ending at x, baseline at y.
func textRight(gp *gopdf.GoPdf, font string, size, x, y float64, s string) error {
	if err := gp.SetFont(font, "", size); err != nil {
		return err
	}
	w, err := gp.MeasureTextWidth(s)
	if err != nil {
		return err
	}
	return text(gp, font, size, x-w, y, s)
}

func textCenter(gp *gopdf.GoPdf, font string, size, y float64, s string) error {
	if err := gp.SetFont(font, "", size); err != nil {
		return err
	}
	w, err := gp.MeasureTextWidth(s)
	if err != nil {
		return err
	}
	return text(gp, font, size, (pageW-w)/2, y, s)
}

// gopdf's Text writes at the baseline; these offsets put a line of the
// given size inside a row.
func baseline(top, size, h float64) float64 { return top + (h+size*0.75)/2 }

func (r *Renderer) header(gp *gopdf.GoPdf, d *Document) error {
	gp.SetTextColor(0, 0, 0)
	if err := textCenter(gp, "mincho", 20, 62, d.title()); err != nil {
		return err
	}
	label := "証明書番号"
	if d.NumberLabel != "" {
		label = d.NumberLabel
	}
	if err := textRight(gp, "gothic", 9, pageW-marginX, 92, label+"　"+d.Number); err != nil {
		return err
	}
	gp.SetStrokeColor(0, 0, 0)
	gp.SetLineWidth(0.8)
	gp.Line(marginX, 100, pageW-marginX, 100)
	return nil
}

func drawItem(gp *gopdf.GoPdf, it item, y float64) error {
	gp.SetLineWidth(0.4)
	gp.SetStrokeColor(150, 150, 150)
	if it.row == nil {
		gp.SetFillColor(235, 235, 235)
		gp.RectFromUpperLeftWithStyle(marginX, y+3, contentW, headingH-5, "F")
		return text(gp, "gothic", headingSize, marginX+4, baseline(y+3, headingSize, headingH-5), it.heading)
	}
	h := it.height()
	if err := text(gp, "gothic", labelSize, marginX+2, baseline(y, labelSize, h), it.row.Label); err != nil {
		return err
	}
	if it.row.Image != nil {
		img, err := gopdf.ImageHolderByBytes(it.row.Image)
		if err != nil {
			return fmt.Errorf("municipal: image: %w", err)
		}
		if err := gp.ImageByHolder(img, valueX, y+4, &gopdf.Rect{W: h - 8, H: h - 8}); err != nil {
			return fmt.Errorf("municipal: image: %w", err)
		}
	} else if err := text(gp, "mincho", valueSize, valueX, baseline(y, valueSize, h), it.row.Value); err != nil {
		return err
	}
	gp.Line(marginX, y+h, pageW-marginX, y+h)
	return nil
}

func closing(gp *gopdf.GoPdf, d *Document, issued string, seal []byte, y float64) error {
	if err := text(gp, "mincho", valueSize, marginX, y+14, d.Attestation); err != nil {
		return err
	}
	if err := text(gp, "mincho", valueSize, marginX, y+40, issued); err != nil {
		return err
	}
	right := pageW - marginX - 70
	if err := textRight(gp, "mincho", 12, right, y+80, d.signatory()); err != nil {
		return err
	}
	if seal == nil {
		return nil
	}
	img, err := gopdf.ImageHolderByBytes(seal)
	if err != nil {
		return fmt.Errorf("municipal: seal image: %w", err)
	}
	if err := gp.ImageByHolder(img, right+4, y+48, &gopdf.Rect{W: 62, H: 62}); err != nil {
		return fmt.Errorf("municipal: seal image: %w", err)
	}
	return nil
}

func footer(gp *gopdf.GoPdf, dec Decorations, page, pages int) error {
	gp.SetTextColor(0, 0, 0)
	if dec.QR != nil {
		img, err := gopdf.ImageHolderByBytes(dec.QR)
		if err != nil {
			return fmt.Errorf("municipal: QR image: %w", err)
		}
		if err := gp.ImageByHolder(img, marginX, pageH-60-qrSize, &gopdf.Rect{W: qrSize, H: qrSize}); err != nil {
			return fmt.Errorf("municipal: QR image: %w", err)
		}
		if dec.QRText != "" {
			if err := text(gp, "gothic", 7, marginX, pageH-48, dec.QRText); err != nil {
				return err
			}
		}
	}
	return textCenter(gp, "gothic", 9, pageH-30, fmt.Sprintf("%d / %d", page, pages))
}

// copyPattern draws 「複写」 in light grey across the page, turned 30°, so
// that it shows behind the content (drawn first).
func copyPattern(gp *gopdf.GoPdf) error {
	if err := gp.SetFont("gothic", "", 26); err != nil {
		return err
	}
	gp.SetTextColor(228, 228, 228)
	for y := 60.0; y < pageH; y += 110 {
		for x := 20.0; x < pageW; x += 130 {
			gp.Rotate(30, x, y)
			gp.SetXY(x, y)
			if err := gp.Text("複写"); err != nil {
				return err
			}
			gp.RotateReset()
		}
	}
	gp.SetTextColor(0, 0, 0)
	return nil
}
