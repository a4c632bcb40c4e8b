package contract_test

import (
	"archive/zip"
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/procure/contract"
)

// FuzzParseBundle: the bundle parser never panics, and what it accepts
// writes back to a bundle that reads the same.
func FuzzParseBundle(f *testing.F) {
	tl := &contract.Timeline{PDF: []byte("%PDF-1.4 not really"), Steps: [][]byte{[]byte("one"), []byte("two")}, OCSPs: [][]byte{[]byte("ocsp")}}
	b, err := tl.Bundle()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add([]byte("PK\x03\x04"))
	// A ZIP whose first entry is not the mimetype.
	var z bytes.Buffer
	w := zip.NewWriter(&z)
	fw, _ := w.Create("contract.pdf")
	fw.Write([]byte("%PDF-"))
	w.Close()
	f.Add(z.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		tl, err := contract.ParseBundle(data)
		if err != nil {
			return
		}
		again, err := tl.Bundle()
		if err != nil {
			t.Fatal(err)
		}
		tl2, err := contract.ParseBundle(again)
		if err != nil {
			t.Fatalf("a written bundle does not parse: %v", err)
		}
		if diff := cmp.Diff(tl, tl2); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	})
}
