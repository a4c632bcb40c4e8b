package cms

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"

	"github.com/digitorus/pdf"
)

// ValidationData is what a verifier needs to validate signatures without
// asking anyone: the certificates of every chain, and the revocation
// answers for them (ETSI EN 319 142-1 §5.4.2, the DSS's /Certs, /OCSPs and
// /CRLs).
type ValidationData struct {
	Certs []*x509.Certificate
	// OCSPs are DER OCSPResponses (RFC 6960 §4.2.1).
	OCSPs [][]byte
	// CRLs are DER CertificateLists (RFC 5280 §5).
	CRLs [][]byte
}

// AddDSS appends to a PDF an incremental update with a Document Security
// Store (PDF 2.0 §12.8.4.3, ETSI EN 319 142-1 §5.4.2): the catalog's /DSS
// lists every certificate, OCSP answer and CRL of vd as a stream, and those
// of an earlier DSS, each once. No VRI: the validator looks up what it
// needs by issuer and serial, which the DSS alone allows. The update
// changes nothing a signature covers, so earlier signatures stay valid and
// VerifyPDF reports them OnlyLTVAfter.
func AddDSS(in []byte, vd ValidationData) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("cms: add DSS: unreadable PDF (%v)", r)
		}
	}()
	u, err := newUpdate(in)
	if err != nil {
		return nil, err
	}
	cat, rootNum, err := u.root()
	if err != nil {
		return nil, err
	}
	old := cat.Key("DSS")
	certs := make([][]byte, len(vd.Certs))
	for i, c := range vd.Certs {
		certs[i] = c.Raw
	}
	var d bytes.Buffer
	d.WriteString("<< /Type /DSS")
	if old.Kind() == pdf.Dict {
		writeDictExcept(&d, old, "Type", "Certs", "OCSPs", "CRLs")
	}
	for _, e := range []struct {
		key string
		add [][]byte
	}{{"Certs", certs}, {"OCSPs", vd.OCSPs}, {"CRLs", vd.CRLs}} {
		arr := old.Key(e.key)
		var have [][]byte
		var refs bytes.Buffer
		for i := range arr.Len() {
			s := arr.Index(i)
			b, err := streamData(s)
			if err != nil {
				return nil, fmt.Errorf("cms: add DSS: %s: %w", e.key, err)
			}
			have = append(have, b)
			writeValue(&refs, s, ptrOf(arr))
			refs.WriteByte(' ')
		}
		for _, b := range e.add {
			if containsBytes(have, b) {
				continue
			}
			have = append(have, b)
			n := u.alloc()
			u.set(n, fmt.Appendf(nil, "<< /Length %d >>\nstream\n%s\nendstream", len(b), b))
			fmt.Fprintf(&refs, "%d 0 R ", n)
		}
		if refs.Len() > 0 {
			fmt.Fprintf(&d, " /%s [%s]", e.key, bytes.TrimSpace(refs.Bytes()))
		}
	}
	d.WriteString(" >>")
	dssNum := u.alloc()
	u.set(dssNum, d.Bytes())
	u.set(rootNum, catalogWith(u, cat, "", false, 0, fmt.Sprintf("%d 0 R", dssNum)))
	return u.bytes(), nil
}

// DSS is the validation data of a PDF's Document Security Store.
func DSS(file []byte) (vd ValidationData, err error) {
	defer func() {
		if r := recover(); r != nil {
			vd, err = ValidationData{}, fmt.Errorf("%w: unreadable PDF (%v)", ErrFormat, r)
		}
	}()
	rdr, err := pdf.NewReader(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		return vd, fmt.Errorf("%w: unreadable PDF: %v", ErrFormat, err)
	}
	dss := rdr.Trailer().Key("Root").Key("DSS")
	for _, key := range []string{"Certs", "OCSPs", "CRLs"} {
		arr := dss.Key(key)
		for i := range arr.Len() {
			b, err := streamData(arr.Index(i))
			if err != nil {
				return vd, fmt.Errorf("%w: DSS %s: %v", ErrFormat, key, err)
			}
			switch key {
			case "Certs":
				c, err := x509.ParseCertificate(b)
				if err != nil {
					return vd, fmt.Errorf("%w: DSS certificate: %v", ErrFormat, err)
				}
				vd.Certs = append(vd.Certs, c)
			case "OCSPs":
				vd.OCSPs = append(vd.OCSPs, b)
			case "CRLs":
				vd.CRLs = append(vd.CRLs, b)
			}
		}
	}
	return vd, nil
}

func streamData(s pdf.Value) ([]byte, error) {
	if s.Kind() != pdf.Stream {
		return nil, errors.New("not a stream")
	}
	rc := s.Reader()
	defer rc.Close()
	return io.ReadAll(rc)
}

func containsBytes(list [][]byte, b []byte) bool {
	for _, x := range list {
		if bytes.Equal(x, b) {
			return true
		}
	}
	return false
}

// AddDocTimeStamp appends a document time-stamp (ETSI EN 319 142-1 §5.4.3,
// PDF 2.0 §12.8.5): a signature field whose dictionary has /Type
// /DocTimeStamp and SubFilter ETSI.RFC3161, and whose /Contents is an RFC
// 3161 token from st over SHA-256 of the /ByteRange bytes. After a DSS it
// makes the file PAdES B-LTA; a new DSS and document time-stamp before the
// last TSA certificate expires renews it. ctx is for st.
func AddDocTimeStamp(ctx context.Context, in []byte, st Stamper) ([]byte, error) {
	if st == nil {
		return nil, errors.New("cms: document time-stamp: no stamper")
	}
	return appendSignature(in, " /Type /DocTimeStamp /Filter /Adobe.PPKLite /SubFilter /ETSI.RFC3161", tokenReserve, false,
		func(signed []byte) ([]byte, error) {
			h := sha256.Sum256(signed)
			tok, err := st.Stamp(ctx, crypto.SHA256, h[:])
			if err != nil {
				return nil, fmt.Errorf("cms: document time-stamp: %w", err)
			}
			return tok, nil
		})
}

// docMDP is the DocMDP permission of a signature dictionary's /Reference
// (PDF 32000-1 §12.8.2.2 Table 254: /P defaults to 2), 0 without one.
func docMDP(sig pdf.Value) int {
	ref := sig.Key("Reference")
	for i := range ref.Len() {
		r := ref.Index(i)
		if r.Key("TransformMethod").Name() != "DocMDP" {
			continue
		}
		p := r.Key("TransformParams").Key("P")
		if p.Kind() == pdf.Null {
			return 2
		}
		return int(p.Int64())
	}
	return 0
}

// onlyLTVAfter reports whether everything file adds after its first end
// bytes is validation data and document time-stamps: every object of the
// earlier revision is unchanged but the catalog, whose only changes are its
// /DSS, its /Version and new /DocTimeStamp fields at the end of /AcroForm's
// /Fields. New objects are reachable only from those, so nothing that
// shows or was signed changed.
func onlyLTVAfter(file []byte, end int64) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	// What follows must be whole revisions: the last one's cross-reference
	// section after the signed bytes, and nothing after its %%EOF.
	if !bytes.HasSuffix(bytes.TrimRight(file, "\r\n"), []byte("%%EOF")) {
		return false
	}
	oldR, err := pdf.NewReader(bytes.NewReader(file[:end]), end)
	if err != nil {
		return false
	}
	newR, err := pdf.NewReader(bytes.NewReader(file), int64(len(file)))
	if err != nil || newR.XrefInformation.StartPos < end {
		return false
	}
	oldRoot, newRoot := oldR.Trailer().Key("Root"), newR.Trailer().Key("Root")
	if ptrOf(oldRoot) != ptrOf(newRoot) || newR.Trailer().Key("Encrypt").Kind() != pdf.Null {
		return false
	}
	for _, x := range oldR.Xref() {
		p := x.Ptr()
		ov, nv := oldR.Resolve(p, p), newR.Resolve(p, p)
		if ov.String() == nv.String() {
			continue
		}
		if ptrOf(ov) != ptrOf(oldRoot) || !catalogOnlyLTV(oldRoot, newRoot) {
			return false
		}
	}
	return true
}

func catalogOnlyLTV(o, n pdf.Value) bool {
	keys := map[string]bool{}
	for _, k := range append(o.Keys(), n.Keys()...) {
		keys[k] = true
	}
	for k := range keys {
		switch k {
		case "DSS", "Version":
		case "AcroForm":
			if !fieldsOnlyDocTimeStamps(o.Key(k), n.Key(k)) {
				return false
			}
		default:
			if o.Key(k).String() != n.Key(k).String() {
				return false
			}
		}
	}
	return true
}

func fieldsOnlyDocTimeStamps(o, n pdf.Value) bool {
	keys := map[string]bool{}
	for _, k := range append(o.Keys(), n.Keys()...) {
		keys[k] = true
	}
	for k := range keys {
		if k != "Fields" && k != "SigFlags" && o.Key(k).String() != n.Key(k).String() {
			return false
		}
	}
	of, nf := o.Key("Fields"), n.Key("Fields")
	if nf.Len() < of.Len() {
		return false
	}
	for i := range nf.Len() {
		f := nf.Index(i)
		if i < of.Len() {
			if ptrOf(f) != ptrOf(of.Index(i)) {
				return false
			}
			continue
		}
		if f.Key("FT").Name() != "Sig" || f.Key("V").Key("Type").Name() != "DocTimeStamp" {
			return false
		}
	}
	return true
}
