package cms

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/digitorus/pdf"
)

// update is one incremental update of a PDF (PDF 32000-1 §7.5.6): new and
// redefined objects, a cross-reference section for them and a trailer
// whose /Prev is the file's last cross-reference section. Nothing of the
// original bytes changes, so every earlier signature still covers them.
//
// Only files with classic cross-reference tables are updated: the
// digitorus/pdf reader the package reads with cannot follow a table's
// /Prev into a cross-reference stream, and every PDF of the project (gopdf)
// has tables. A file with a cross-reference stream is refused.
type update struct {
	base []byte
	rdr  *pdf.Reader
	next int
	objs []updObj
}

type updObj struct {
	num  int
	body []byte
}

// errXrefStream is a PDF whose last cross-reference section is a stream.
var errXrefStream = errors.New("cms: PDF update: files with cross-reference streams are not supported")

// newUpdate reads in for an update. The reader panics on some malformed
// input: the callers recover.
func newUpdate(in []byte) (*update, error) {
	rdr, err := pdf.NewReader(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		return nil, fmt.Errorf("cms: PDF update: read PDF: %w", err)
	}
	if rdr.XrefInformation.Type != "table" {
		return nil, errXrefStream
	}
	if rdr.Trailer().Key("Encrypt").Kind() != pdf.Null {
		return nil, errors.New("cms: PDF update: encrypted PDFs are not supported")
	}
	size := rdr.Trailer().Key("Size").Int64()
	if size <= 0 {
		return nil, errors.New("cms: PDF update: the trailer has no /Size")
	}
	return &update{base: in, rdr: rdr, next: int(size)}, nil
}

// alloc reserves a new object number.
func (u *update) alloc() int {
	n := u.next
	u.next++
	return n
}

// set (re)defines object num with body (a PDF object, without "obj").
func (u *update) set(num int, body []byte) {
	u.objs = append(u.objs, updObj{num, body})
}

// root is the catalog.
func (u *update) root() (pdf.Value, int, error) {
	c := u.rdr.Trailer().Key("Root")
	p := ptrOf(c)
	if c.Kind() != pdf.Dict || p.id == 0 {
		return pdf.Value{}, 0, errors.New("cms: PDF update: no catalog")
	}
	return c, int(p.id), nil
}

// bytes is the file with the update appended.
func (u *update) bytes() []byte {
	var b bytes.Buffer
	b.Write(u.base)
	if len(u.base) > 0 && u.base[len(u.base)-1] != '\n' {
		b.WriteByte('\n')
	}
	offsets := make([]int, len(u.objs))
	for i, o := range u.objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n", o.num)
		b.Write(o.body)
		b.WriteString("\nendobj\n")
	}
	xref := b.Len()
	b.WriteString("xref\n")
	// One subsection per object: each entry is exactly 20 bytes (§7.5.4).
	for i, o := range u.objs {
		fmt.Fprintf(&b, "%d 1\n%010d 00000 n\r\n", o.num, offsets[i])
	}
	t := u.rdr.Trailer()
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Prev %d", u.next, u.rdr.XrefInformation.StartPos)
	for _, k := range []string{"Root", "Info", "ID"} {
		if v := t.Key(k); v.Kind() != pdf.Null {
			fmt.Fprintf(&b, " /%s ", k)
			writeValue(&b, v, ptrOf(t))
		}
	}
	fmt.Fprintf(&b, " >>\nstartxref\n%d\n%%%%EOF\n", xref)
	return b.Bytes()
}

// writeValue writes v as PDF syntax. A value that the reader resolved from
// an indirect reference carries that object's pointer, a direct one its
// parent's (self): references are written back as references.
func writeValue(b *bytes.Buffer, v pdf.Value, self ptr) {
	if p := ptrOf(v); p != self && p.id != 0 {
		fmt.Fprintf(b, "%d %d R", p.id, p.gen)
		return
	}
	switch v.Kind() {
	case pdf.Null:
		b.WriteString("null")
	case pdf.Bool:
		b.WriteString(strconv.FormatBool(v.Bool()))
	case pdf.Integer:
		b.WriteString(strconv.FormatInt(v.Int64(), 10))
	case pdf.Real:
		b.WriteString(strconv.FormatFloat(v.Float64(), 'f', -1, 64))
	case pdf.String:
		fmt.Fprintf(b, "<%x>", v.RawString())
	case pdf.Name:
		writeName(b, v.Name())
	case pdf.Array:
		b.WriteByte('[')
		for i := range v.Len() {
			if i > 0 {
				b.WriteByte(' ')
			}
			writeValue(b, v.Index(i), self)
		}
		b.WriteByte(']')
	case pdf.Dict:
		b.WriteString("<<")
		for _, k := range v.Keys() {
			b.WriteByte(' ')
			writeName(b, k)
			b.WriteByte(' ')
			writeValue(b, v.Key(k), self)
		}
		b.WriteString(" >>")
	default:
		// A stream is always an indirect object, written as a reference
		// above; reaching here is a direct stream, which PDF forbids.
		b.WriteString("null")
	}
}

// ptr is an object's number and generation.
type ptr struct {
	id  uint32
	gen uint16
}

// ptrOf is the object v was read from (its parent's, for a direct value).
func ptrOf(v pdf.Value) ptr {
	p := v.GetPtr()
	return ptr{p.GetID(), p.GetGen()}
}

// writeName writes a name object, escaping what is not a regular character
// (§7.3.5).
func writeName(b *bytes.Buffer, n string) {
	b.WriteByte('/')
	for i := range len(n) {
		c := n[i]
		if c < '!' || c > '~' || bytes.IndexByte([]byte("#()<>[]{}/%"), c) >= 0 {
			fmt.Fprintf(b, "#%02X", c)
			continue
		}
		b.WriteByte(c)
	}
}

// writeDictExcept writes the entries of dictionary d (an indirect object
// self) but those named in skip, without the brackets.
func writeDictExcept(b *bytes.Buffer, d pdf.Value, skip ...string) {
	self := ptrOf(d)
	for _, k := range d.Keys() {
		if slices.Contains(skip, k) {
			continue
		}
		b.WriteByte(' ')
		writeName(b, k)
		b.WriteByte(' ')
		writeValue(b, d.Key(k), self)
	}
}

// pdfString writes s as a literal string with \, ( and ) escaped.
func pdfString(s string) string {
	var b bytes.Buffer
	b.WriteByte('(')
	for i := range len(s) {
		if c := s[i]; c == '\\' || c == '(' || c == ')' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte(')')
	return b.String()
}
