package municipal

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mynaplat/mynaplat/internal/testutil"
)

// TestRenderWithoutSystemFonts renders a certificate where no font is
// installed: the test runs itself again in a mount namespace with an empty
// /usr/share/fonts, as on a fresh machine with Go only. The PDF must carry
// both fonts and say what it was given, including names outside JIS X 0208
// level 1 (髙, 﨑).
func TestRenderWithoutSystemFonts(t *testing.T) {
	if os.Getenv("MYNAPLAT_TEST_NO_FONTS") == "1" {
		renderWithoutFonts(t)
		return
	}
	unshare := testutil.NeedProgram(t, "unshare", "util-linux")
	if os.Geteuid() != 0 {
		testutil.Missing(t, "root (to hide /usr/share/fonts in a mount namespace)")
	}
	cmd := exec.Command(unshare, "--mount", "--propagation", "private", "--", "sh", "-c",
		`mount -t tmpfs none /usr/share/fonts && exec "$0" -test.run '^TestRenderWithoutSystemFonts$' -test.v -test.count=1`, os.Args[0])
	cmd.Env = append(os.Environ(), "MYNAPLAT_TEST_NO_FONTS=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestRenderWithoutSystemFonts") {
		t.Fatalf("in a namespace without fonts: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

func renderWithoutFonts(t *testing.T) {
	if entries, err := os.ReadDir("/usr/share/fonts"); err != nil || len(entries) > 0 {
		t.Fatalf("/usr/share/fonts is not empty in the namespace (%d entries, %v)", len(entries), err)
	}
	r, err := NewRenderer("")
	if err != nil {
		t.Fatalf("NewRenderer without system fonts: %v", err)
	}
	d := &Document{Type: Juminhyo, Municipality: "山形県酒田市", SealText: "酒田市長之印", Number: "062049-00000001",
		Issued: muniTuesday, Attestation: "この写しは、世帯全員の住民票の原本と相違ないことを証明する。",
		Sections: []Section{{Heading: "世帯主　髙橋　吉", Rows: []Row{
			{Label: "氏名", Value: "髙橋　吉"},
			{Label: "住所", Value: "山形県酒田市山﨑町一丁目２番３号"},
			{Label: "生年月日", Value: "昭和41年6月6日"},
		}}}}
	pdf, _, err := r.Render(d, Decorations{CopyPattern: true})
	if err != nil {
		t.Fatal(err)
	}
	muniWant(t, muniSquash(muniText(t, pdf)), []string{"住民票の写し", "髙橋吉", "山形県酒田市山﨑町一丁目２番３号", "複写"}, nil)
	f := filepath.Join(t.TempDir(), "c.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(testutil.NeedProgram(t, "pdffonts", "poppler-utils"), f).Output()
	if err != nil {
		t.Fatalf("pdffonts: %v", err)
	}
	// gopdf names each font by its family; the "emb" column must say yes.
	for _, name := range []string{"mincho", "gothic"} {
		embedded := false
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) > 5 && f[0] == name && f[len(f)-5] == "yes" {
				embedded = true
			}
		}
		if !embedded {
			t.Errorf("pdffonts does not list %s as embedded:\n%s", name, out)
		}
	}
}

// TestUnprintableCharacter: a character that the fonts do not have is
// refused by name of the field, never drawn as a substitute glyph.
func TestUnprintableCharacter(t *testing.T) {
	r, err := NewRenderer("")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, label, value string
		want               error
	}{
		{"JIS X 0208", "氏名", "渡邊　花子", nil},
		{"IBM extension", "氏名", "髙橋　吉", nil},
		{"JIS X 0213 plane 2", "氏名", "𠮷田　太郎", ErrUnprintable}, // 𠮷 (U+20BB7) is outside the subset
		{"emoji in an address", "住所", "酒田市😀町", ErrUnprintable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := r.Fit(&Document{Type: Juminhyo, Municipality: "山形県酒田市", Sections: []Section{{Rows: []Row{{Label: tc.label, Value: tc.value}}}}})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if err == nil {
				return
			}
			ue, ok := errors.AsType[*UnprintableError](err)
			if !ok || ue.Field != tc.label || strings.Contains(err.Error(), tc.value) {
				t.Errorf("err %v: want the field %s named and the value not", err, tc.label)
			}
			if info, ok := Refusal(err); !ok || info.Code != CodeUnprintable {
				t.Errorf("refusal %+v %v", info, ok)
			}
		})
	}
}

func TestFontLicenseEmbedded(t *testing.T) {
	l := string(FontLicense())
	for _, want := range []string{"SIL OPEN FONT LICENSE Version 1.1", "The BIZ UDMincho Project Authors", "The BIZ UDGothic Project Authors"} {
		if !strings.Contains(l, want) {
			t.Errorf("licence lacks %q", want)
		}
	}
}
