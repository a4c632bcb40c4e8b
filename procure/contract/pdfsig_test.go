package contract_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mynaplat/mynaplat/internal/testutil"
)

// TestPdfsig: Debian's pdfsig calls both signatures of the B-LTA contract
// valid, and lists the document time-stamp.
func TestPdfsig(t *testing.T) {
	bin := testutil.NeedProgram(t, "pdfsig", "poppler-utils")
	f := newFixture(t)
	pdf := f.signedContract(t)
	path := filepath.Join(t.TempDir(), "contract.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(bin, path).CombinedOutput()
	if n := bytes.Count(out, []byte("Signature Validation: Signature is Valid.")); n != 2 || !bytes.Contains(out, []byte("Signature #3")) {
		t.Errorf("pdfsig: %d valid signatures, want 2 and the document time-stamp:\n%s", n, out)
	}
	// One byte changed in the content: pdfsig finds it.
	c := bytes.Clone(pdf)
	c[bytes.Index(c, []byte("/MediaBox"))+1] ^= 1
	if err := os.WriteFile(path, c, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ = exec.Command(bin, path).CombinedOutput()
	if n := bytes.Count(out, []byte("Signature Validation: Signature is Valid.")); n != 0 {
		t.Errorf("pdfsig on a changed contract: %d valid signatures, want none:\n%s", n, out)
	}
}
