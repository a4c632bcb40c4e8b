package contract

import (
	"archive/zip"
	"bytes"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
)

// A timeline travels as one ZIP, laid out like an ETSI ASiC-E container
// (EN 319 162-1): a stored "mimetype" entry first, then each element as
// its own file — contract.pdf, steps/N.p7m, validation/ocsp-N.der.
// A ZIP rather than a JSON bundle: every element can be taken out and
// checked with the usual tools as it is (pdfsig on the PDF, openssl cms
// on a step), and nothing is re-encoded. There is no signed manifest: the
// steps' chain of hashes already binds every element to the one before,
// and Verify reports a change, a removal or a reordering.

// MIMEType is the bundle's "mimetype" entry.
const MIMEType = "application/vnd.mynaplat.contract-timeline+zip"

// Limits of what ParseBundle reads.
const (
	maxBundle  = 64 << 20
	maxEntries = 64
	maxPDF     = 8 << 20
	maxOCSP    = 16 << 10
)

var (
	stepName = regexp.MustCompile(`^steps/([1-9][0-9]{0,2})\.p7m$`)
	ocspName = regexp.MustCompile(`^validation/ocsp-([1-9][0-9]{0,2})\.der$`)
)

// IsBundle reports whether data starts like a timeline bundle: a ZIP whose
// first entry is "mimetype", stored, with MIMEType.
func IsBundle(data []byte) bool {
	const head = 30 + len("mimetype")
	return len(data) >= head+len(MIMEType) && bytes.HasPrefix(data, []byte("PK\x03\x04")) &&
		string(data[30:head]) == "mimetype" && string(data[head:head+len(MIMEType)]) == MIMEType
}

// Bundle writes the timeline as one ZIP. The same timeline gives the same
// bytes.
func (t *Timeline) Bundle() ([]byte, error) {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	// The mimetype entry is written raw: stored, without a data descriptor
	// or extra field, so that its text is at a fixed offset (IsBundle).
	fw, err := w.CreateRaw(&zip.FileHeader{Name: "mimetype", Method: zip.Store, CRC32: crc32.ChecksumIEEE([]byte(MIMEType)),
		CompressedSize64: uint64(len(MIMEType)), UncompressedSize64: uint64(len(MIMEType))})
	if err != nil {
		return nil, err
	}
	if _, err := fw.Write([]byte(MIMEType)); err != nil {
		return nil, err
	}
	add := func(name string, data []byte) error {
		fw, err := w.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
		if err != nil {
			return err
		}
		_, err = fw.Write(data)
		return err
	}
	if err := add("contract.pdf", t.PDF); err != nil {
		return nil, err
	}
	for i, s := range t.Steps {
		if err := add(fmt.Sprintf("steps/%d.p7m", i+1), s); err != nil {
			return nil, err
		}
	}
	for i, o := range t.OCSPs {
		if err := add(fmt.Sprintf("validation/ocsp-%d.der", i+1), o); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ParseBundle reads a timeline bundle. It refuses (ErrBundle) a file that
// is not one: another first entry, an unknown or repeated name, an entry
// beyond the limits. Steps are taken in the order of their numbers; a gap
// in the numbers is not refused here, Verify reports it as a broken chain.
func ParseBundle(data []byte) (*Timeline, error) {
	bad := func(why string) error { return fmt.Errorf("%w: %s", ErrBundle, why) }
	if len(data) > maxBundle {
		return nil, bad("too large")
	}
	if !IsBundle(data) {
		return nil, bad("not a contract timeline (the first entry is not its mimetype)")
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, bad(err.Error())
	}
	if len(zr.File) > maxEntries {
		return nil, bad("too many entries")
	}
	t := &Timeline{}
	steps := map[int][]byte{}
	ocsps := map[int][]byte{}
	seen := map[string]bool{}
	for i, f := range zr.File {
		if seen[f.Name] {
			return nil, bad("a repeated entry " + strconv.Quote(f.Name))
		}
		seen[f.Name] = true
		limit := int64(maxStep * 4)
		switch {
		case i == 0 && f.Name == "mimetype":
			limit = int64(len(MIMEType))
		case f.Name == "contract.pdf":
			limit = maxPDF
		case stepName.MatchString(f.Name):
		case ocspName.MatchString(f.Name):
			limit = maxOCSP
		default:
			return nil, bad("an unexpected entry " + strconv.Quote(f.Name))
		}
		b, err := readEntry(f, limit)
		if err != nil {
			return nil, bad(f.Name + ": " + err.Error())
		}
		switch {
		case f.Name == "mimetype":
			if string(b) != MIMEType {
				return nil, bad("another mimetype")
			}
		case f.Name == "contract.pdf":
			t.PDF = b
		case stepName.MatchString(f.Name):
			n, _ := strconv.Atoi(stepName.FindStringSubmatch(f.Name)[1])
			if steps[n] != nil {
				return nil, bad("two steps numbered " + strconv.Itoa(n))
			}
			steps[n] = b
		default:
			n, _ := strconv.Atoi(ocspName.FindStringSubmatch(f.Name)[1])
			ocsps[n] = b
		}
	}
	if t.PDF == nil {
		return nil, bad("no contract.pdf")
	}
	for _, n := range slices.Sorted(maps.Keys(steps)) {
		t.Steps = append(t.Steps, steps[n])
	}
	for _, n := range slices.Sorted(maps.Keys(ocsps)) {
		t.OCSPs = append(t.OCSPs, ocsps[n])
	}
	return t, nil
}

// readEntry reads one entry, refusing one longer than limit (whatever its
// header claims: a ZIP's sizes are not to be trusted).
func readEntry(f *zip.File, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("longer than %d bytes", limit)
	}
	return b, nil
}
