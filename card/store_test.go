package card

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCreateValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Spec)
		want   error
	}{
		{"auth PIN too short", func(s *Spec) { s.AuthPIN = "123" }, ErrPINFormat},
		{"auth PIN letters", func(s *Spec) { s.AuthPIN = "12a4" }, ErrPINFormat},
		{"sign PIN too short", func(s *Spec) { s.SignPIN = "AB12" }, ErrPINFormat},
		{"sign PIN too long", func(s *Spec) { s.SignPIN = "ABCDEFGHIJ1234567" }, ErrPINFormat},
		{"sign PIN symbol", func(s *Spec) { s.SignPIN = "ABC-123" }, ErrPINFormat},
		{"text PIN missing", func(s *Spec) { s.TextPIN = "" }, ErrPINFormat},
		{"My Number 11 digits", func(s *Spec) { s.MyNumber = "12345678901" }, ErrInvalidSpec},
		{"no name", func(s *Spec) { s.Name = "" }, ErrInvalidSpec},
		{"bad birth date", func(s *Spec) { s.BirthDate = "19900231" }, ErrInvalidSpec},
		{"bad sex", func(s *Spec) { s.Sex = "3" }, ErrInvalidSpec},
	}
	s, err := NewStore(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := testSpec()
			tt.change(&spec)
			if _, err := s.Create(spec); !errors.Is(err, tt.want) || !errors.Is(err, ErrInvalidSpec) {
				t.Errorf("Create: %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("no signing password, lower case accepted", func(t *testing.T) {
		spec := testSpec()
		spec.SignPIN = ""
		if _, err := s.Create(spec); err != nil {
			t.Errorf("Create without signing password: %v", err)
		}
		spec.SignPIN = "abc123"
		c, err := s.Create(spec)
		if err != nil {
			t.Fatal(err)
		}
		if err := NewClient(c).VerifyPIN(SignPIN, "ABC123"); err != nil {
			t.Errorf("upper-cased password: %v", err)
		}
	})
}

// TestCounterSurvivesReopen is the crash test: a wrong PIN's decrement is on
// disk when the card answers, so a new Store (a restarted server) sees it.
func TestCounterSurvivesReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s1, err := NewStore(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s1.Create(testSpec())
	if err != nil {
		t.Fatal(err)
	}
	cl := NewClient(c)
	if err := cl.VerifyPIN(AuthPIN, "0000"); !errors.Is(err, ErrWrongPIN) {
		t.Fatal(err)
	}
	if err := cl.VerifyPIN(SignPIN, "WRONG1"); !errors.Is(err, ErrWrongPIN) {
		t.Fatal(err)
	}
	if err := cl.ChangePIN(TextPIN, testTextPIN, "4321"); err != nil {
		t.Fatal(err)
	}
	s2, err := NewStore(dir, nil) // nothing shared with s1
	if err != nil {
		t.Fatal(err)
	}
	c2, err := s2.Open(c.ID())
	if err != nil {
		t.Fatal(err)
	}
	if c2 == c {
		t.Fatal("second store returned the first store's card")
	}
	cl2 := NewClient(c2)
	for ref, want := range map[PIN]int{AuthPIN: 2, SignPIN: 4, TextPIN: 3} {
		if got, err := cl2.PINStatus(ref); err != nil || got != want {
			t.Errorf("after reopen PINStatus(%v) = %d, %v; want %d", ref, got, err, want)
		}
	}
	if err := cl2.VerifyPIN(TextPIN, "4321"); err != nil {
		t.Errorf("changed PIN after reopen: %v", err)
	}
	// A correct PIN restores the counter, also on disk.
	if err := cl2.VerifyPIN(AuthPIN, testAuthPIN); err != nil {
		t.Fatal(err)
	}
	s3, _ := NewStore(dir, nil)
	c3, err := s3.Open(c.ID())
	if err != nil {
		t.Fatal(err)
	}
	if in := c3.Info(); in.AuthTriesLeft != 3 {
		t.Errorf("after correct PIN and reopen: %d auth tries, want 3", in.AuthTriesLeft)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("store directory holds %d entries, want the card and %s (no temp files left)", len(entries), managementKeyFile)
	}
	fi, err := os.Stat(filepath.Join(dir, c.ID()+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("card file mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestStoreOpenAndList(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { now = now.Add(time.Minute); return now }
	s, err := NewStore(t.TempDir(), clock)
	if err != nil {
		t.Fatal(err)
	}
	spec := testSpec()
	spec.Label, spec.Demo = "demo", true
	demo, err := s.Create(spec)
	if err != nil {
		t.Fatal(err)
	}
	spec = testSpec()
	spec.Label, spec.SignPIN = "child", ""
	child, err := s.Create(spec)
	if err != nil {
		t.Fatal(err)
	}
	personalise(t, child, Auth)

	if c, err := s.Open(demo.ID()); err != nil || c != demo {
		t.Errorf("Open(demo) = %p, %v; want the shared card %p", c, err, demo)
	}
	for _, id := range []string{"0000000000000000", "../../etc/passwd", ""} {
		if _, err := s.Open(id); !errors.Is(err, ErrCardNotFound) {
			t.Errorf("Open(%q) = %v, want ErrCardNotFound", id, err)
		}
	}

	// A second store reads the files; the first serves its live cards.
	s2, _ := NewStore(s.Dir(), nil)
	for _, st := range []*Store{s, s2} {
		got, err := st.List()
		if err != nil {
			t.Fatal(err)
		}
		want := []Info{
			{ID: demo.ID(), Label: "demo", Demo: true, Created: time.Date(2026, 4, 1, 9, 1, 0, 0, time.UTC), Holder: spec.Name,
				AuthTriesLeft: 3, SignTriesLeft: 5, TextTriesLeft: 3, Tries: triesOf(3, 5, 3), Expiry: spec.Expiry,
				DemoPINs: &DemoPINs{Auth: testAuthPIN, Sign: testSignPIN, Text: testTextPIN, PINB: testPINB}},
			{ID: child.ID(), Label: "child", Created: time.Date(2026, 4, 1, 9, 2, 0, 0, time.UTC), Holder: spec.Name,
				AuthTriesLeft: 3, SignTriesLeft: 0, TextTriesLeft: 3, Tries: triesOf(3, 0, 3), Expiry: spec.Expiry,
				HasAuthKey: true, HasAuthCert: true},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("List() mismatch (-want +got):\n%s", diff)
		}
	}
}

func TestPersonalisation(t *testing.T) {
	t.Parallel()
	t.Run("no signing password", func(t *testing.T) {
		t.Parallel()
		spec := testSpec()
		spec.SignPIN = ""
		s, _ := NewStore(t.TempDir(), nil)
		c, err := s.Create(spec)
		if err != nil {
			t.Fatal(err)
		}
		personalise(t, c, Auth)
		cl := NewClient(c)
		if n, err := cl.PINStatus(SignPIN); err != nil || n != 0 {
			t.Errorf("PINStatus(SignPIN) = %d, %v; want 0 (unset)", n, err)
		}
		if err := cl.VerifyPIN(SignPIN, "ABC123"); !errors.Is(err, ErrPINBlocked) {
			t.Errorf("VerifyPIN(unset) = %v, want ErrPINBlocked", err)
		}
		if _, err := cl.CACertificate(Sign); !errors.Is(err, ErrNotFound) {
			t.Errorf("CACertificate(Sign) = %v, want ErrNotFound", err)
		}
		out, _ := c.Transmit(h(selEF("00 08")))
		if !bytes.Equal(out, []byte{0x90, 0}) {
			t.Fatalf("SELECT 0008: % X", out)
		}
		if out, _ := c.Transmit(h("00 B0 00 00 00")); !bytes.Equal(out, h("8F 00 00 90 00")) {
			t.Errorf("EF 0008 = % X, want 8F 00 00 90 00", out)
		}
		// Reaching 15: the counter sets a password and issues the certificate.
		if err := c.ResetPIN(SignPIN, "newpass1"); err != nil {
			t.Fatal(err)
		}
		personalise(t, c, Sign)
		if err := cl.VerifyPIN(SignPIN, "NEWPASS1"); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Certificate(Sign); err != nil {
			t.Errorf("Certificate(Sign) after issue: %v", err)
		}
	})
	t.Run("certificate checks", func(t *testing.T) {
		t.Parallel()
		_, c := newStoreCard(t)
		f := testFixture(t)
		other, _ := rsa.GenerateKey(rand.Reader, 2048)
		der, err := f.authCA.issue(&other.PublicKey, 9, "x", 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.WriteCertificate(Auth, der, f.authCA.der); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("foreign key certificate: %v, want ErrInvalidSpec", err)
		}
		if err := c.WriteCertificate(Auth, append(bytes.Clone(c.st.Auth.Cert), 0), f.authCA.der); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("trailing byte: %v, want ErrInvalidSpec", err)
		}
		if err := c.WriteCertificate(Auth, []byte{0x30, 0x03, 1, 2, 3}, f.authCA.der); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("short form: %v, want ErrInvalidSpec", err)
		}
	})
	t.Run("remove, regenerate, surface, reset PIN", func(t *testing.T) {
		t.Parallel()
		s, c := newStoreCard(t)
		cl := NewClient(c)
		if err := c.RemoveCertificate(Sign); err != nil {
			t.Fatal(err)
		}
		if err := cl.VerifyPIN(SignPIN, testSignPIN); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Certificate(Sign); !errors.Is(err, ErrNotFound) {
			t.Errorf("Certificate(Sign) after removal: %v, want ErrNotFound", err)
		}
		old := c.st.Auth.Cert
		if _, err := c.GenerateKey(Auth); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Certificate(Auth); !errors.Is(err, ErrNotFound) {
			t.Errorf("Certificate(Auth) after new key: %v, want ErrNotFound", err)
		}
		if err := c.WriteCertificate(Auth, old, testFixture(t).authCA.der); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("old certificate on new key: %v, want ErrInvalidSpec", err)
		}
		if err := c.SetSurface("新姓\u3000花子", "大阪府大阪市北区1-1"); err != nil {
			t.Fatal(err)
		}
		if err := c.SetSurface("", "x"); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("SetSurface with no name: %v", err)
		}
		for range 3 {
			cl.VerifyPIN(AuthPIN, "0000")
		}
		if err := c.ResetPIN(AuthPIN, "2468"); err != nil {
			t.Fatal(err)
		}
		s2, _ := NewStore(s.Dir(), nil)
		c2, err := s2.Open(c.ID())
		if err != nil {
			t.Fatal(err)
		}
		cl2 := NewClient(c2)
		if err := cl2.VerifyPIN(AuthPIN, "2468"); err != nil {
			t.Errorf("reset PIN after reopen: %v", err)
		}
		if err := cl2.VerifyPIN(TextPIN, testTextPIN); err != nil {
			t.Fatal(err)
		}
		if a, err := cl2.Attributes(); err != nil || a.Name != "新姓\u3000花子" || a.BirthDate != "19900401" {
			t.Errorf("Attributes after SetSurface and reopen = %+v, %v", a, err)
		}
		in := c2.Info()
		if in.HasSignKey || in.HasSignCert || !in.HasAuthKey || in.HasAuthCert || in.DemoPINs != nil {
			t.Errorf("Info after changes = %+v", in)
		}
	})
}

// TestStoreSeesOtherProcess is the server's store while mynaplat jpki
// change-address (another process) writes the card a new signing
// certificate: the server's next Open has it, on the same shared *Card, and
// does not write the old state back over it.
func TestStoreSeesOtherProcess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	server, err := NewStore(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := server.Create(testSpec())
	if err != nil {
		t.Fatal(err)
	}
	personalise(t, c, Auth)
	cli, _ := NewStore(dir, nil)
	other, err := cli.Open(c.ID())
	if err != nil {
		t.Fatal(err)
	}
	personalise(t, other, Sign)

	got, err := server.Open(c.ID())
	if err != nil || got != c {
		t.Fatalf("Open = %p, %v; want the shared card %p", got, err, c)
	}
	if in := got.Info(); !in.HasSignKey || !in.HasSignCert || !in.HasAuthCert {
		t.Errorf("after the other process's change: %+v", in)
	}
	// A change by the server now keeps the other process's.
	if err := NewClient(got).VerifyPIN(AuthPIN, "0000"); err == nil {
		t.Fatal("wrong PIN accepted")
	}
	again, _ := NewStore(dir, nil)
	reread, err := again.Open(c.ID())
	if err != nil {
		t.Fatal(err)
	}
	if in := reread.Info(); !in.HasSignCert || in.AuthTriesLeft != 2 {
		t.Errorf("on disk after the server's change: %+v", in)
	}
	if lst, err := server.List(); err != nil || len(lst) != 1 || !lst[0].HasSignCert {
		t.Errorf("List: %+v %v", lst, err)
	}
}

func TestStoreRemove(t *testing.T) {
	t.Parallel()
	s, err := NewStore(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Create(testSpec())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(c.ID()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(c.ID()); !errors.Is(err, ErrCardNotFound) {
		t.Errorf("Open after Remove = %v, want ErrCardNotFound", err)
	}
	if err := s.Remove(c.ID()); !errors.Is(err, ErrCardNotFound) {
		t.Errorf("second Remove = %v, want ErrCardNotFound", err)
	}
	if l, err := s.List(); err != nil || len(l) != 0 {
		t.Errorf("List after Remove = %v, %v", l, err)
	}
}

// TestStoreCacheSeesChanges: the store keeps what it read and stats the
// files instead, yet every change of a PIN counter shows, whether this
// process made it or another (mynaplat card … at the counter) did, on a
// card the server opened and on one it only listed; cards another process
// creates or removes appear and go.
func TestStoreCacheSeesChanges(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	server, err := NewStore(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := server.Create(testSpec())
	if err != nil {
		t.Fatal(err)
	}
	cli, _ := NewStore(dir, nil)
	listedOnly, err := cli.Create(testSpec())
	if err != nil {
		t.Fatal(err)
	}
	tries := func(want map[string]int) {
		t.Helper()
		l, err := server.List()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, in := range l {
			got[in.ID] = in.AuthTriesLeft
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("List's auth tries (-want +got):\n%s", diff)
		}
	}
	wrongPIN := func(c *Card) {
		t.Helper()
		if err := NewClient(c).VerifyPIN(AuthPIN, "0000"); err == nil {
			t.Fatal("wrong PIN accepted")
		}
	}
	tries(map[string]int{opened.ID(): 3, listedOnly.ID(): 3})

	// This process's PIN try, after the listing was cached.
	wrongPIN(opened)
	tries(map[string]int{opened.ID(): 2, listedOnly.ID(): 3})

	// Another process's PIN try on the card the server only listed.
	wrongPIN(listedOnly)
	tries(map[string]int{opened.ID(): 2, listedOnly.ID(): 2})

	// Another process's PIN try on the card the server opened: its Open
	// (each PIN post) and List have it, and its own next try counts from it.
	inCLI, err := cli.Open(opened.ID())
	if err != nil {
		t.Fatal(err)
	}
	wrongPIN(inCLI)
	tries(map[string]int{opened.ID(): 1, listedOnly.ID(): 2})
	c, err := server.Open(opened.ID())
	if err != nil || c != opened {
		t.Fatalf("Open = %p, %v; want the shared card %p", c, err, opened)
	}
	wrongPIN(c)
	if in := c.Info(); in.AuthTriesLeft != 0 {
		t.Errorf("after the fourth wrong PIN in two processes: %+v", in)
	}
	tries(map[string]int{opened.ID(): 0, listedOnly.ID(): 2})

	// A card made and one removed by another process.
	made, err := cli.Create(testSpec())
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.Remove(listedOnly.ID()); err != nil {
		t.Fatal(err)
	}
	tries(map[string]int{opened.ID(): 0, made.ID(): 3})
}

// TestStoreListReadsOnlyChangedFiles: a listing reads no file that was not
// replaced since the last one. The test overwrites a file in place, keeping
// its size and time, which no writer of card files does: a store that read
// it would fail to parse it.
func TestStoreListReadsOnlyChangedFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cli, err := NewStore(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cli.Create(testSpec())
	if err != nil {
		t.Fatal(err)
	}
	server, _ := NewStore(dir, nil)
	first, err := server.List()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, c.ID()+".json")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, bytes.Repeat([]byte("x"), int(fi.Size())), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	again, err := server.List()
	if err != nil {
		t.Fatalf("List read the unchanged file: %v", err)
	}
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("second List (-first +second):\n%s", diff)
	}
}
