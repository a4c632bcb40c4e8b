package seal

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

func newService(t testing.TB, db *store.DB, a *Authority) *Service {
	t.Helper()
	s, err := New(context.Background(), Config{DB: db, Authority: a, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRegister(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := testAuthority(t)
		s := newService(t, db, a)
		req := IssueRequest{Municipality: sakata, Number: "R08-000123", Type: "住民票の写し", Content: sampleContent}
		iss, err := s.Issue(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Issue(ctx, req); !errors.Is(err, ErrDuplicate) {
			t.Errorf("second issue of one number: %v, want ErrDuplicate", err)
		}
		if typ, err := s.RegisteredType(ctx, sakata.Code, "R08-000123"); typ != "住民票の写し" || err != nil {
			t.Errorf("registered type: %q, %v", typ, err)
		}
		if _, err := s.RegisteredType(ctx, "202070", "R08-000123"); !errors.Is(err, ErrUnknown) {
			t.Errorf("registered type of another municipality's number: %v, want ErrUnknown", err)
		}

		v, err := s.Verify(ctx, iss.QRText, ChannelAPI)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if v.Content != sampleContent || v.Type != "住民票の写し" || v.MunicipalityJA != "酒田市" || !v.IssuedAt.Equal(testNow) {
			t.Errorf("verification %+v", v)
		}

		// QR codes signed with the municipality's real key but not matching
		// the register: the issuing side's key alone does not make a
		// certificate genuine.
		signed := func(number, content string, secret *[16]byte) string {
			p, err := NewQRPayload(number, sakata.Code, testNow, content)
			if err != nil {
				t.Fatal(err)
			}
			if secret != nil {
				p.Secret = *secret
			}
			if err := SignQR(p, iss.Seal.QRSigner); err != nil {
				t.Fatal(err)
			}
			return p.Text()
		}
		var wrongSecret [16]byte
		forged := *iss.Payload
		forged.Digest = ContentDigest("住民票の写し\n氏名 別人")
		forgedDigest := forged.Text() // with the old signature, no longer valid
		for _, c := range []struct {
			name, text string
			want       error
		}{
			{"malformed", "MS1.not-a-payload", ErrMalformed},
			{"digest changed, signature not renewed", forgedDigest, ErrBadSignature},
			{"not in the register", signed("R08-999999", sampleContent, nil), ErrUnknown},
			{"other content under a registered number", signed("R08-000123", sampleContent+"改", &iss.Payload.Secret), ErrAltered},
			{"wrong secret", signed("R08-000123", sampleContent, &wrongSecret), ErrAltered},
		} {
			t.Run(c.name, func(t *testing.T) {
				if v, err := s.Verify(ctx, c.text, ChannelAPI); !errors.Is(err, c.want) || v != nil {
					t.Errorf("Verify: %v, %v; want %v", v, err, c.want)
				}
			})
		}
		counts, err := s.VerificationCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[Outcome]int{Genuine: 1, Malformed: 1, BadSignature: 1, Unknown: 1, Altered: 2}
		for o, n := range want {
			if counts[o] != n {
				t.Errorf("%d audit rows for %s, want %d (all: %v)", counts[o], o, n, counts)
			}
		}
		// The register holds no readable content.
		var ct []byte
		if err := db.QueryRowContext(ctx, `SELECT content FROM seal_certificates WHERE number = $1`, "R08-000123").Scan(&ct); err != nil {
			t.Fatal(err)
		}
		if len(ct) == 0 || containsAny(ct, "酒田 一郎", "本町") {
			t.Errorf("register content is readable or empty: %q", ct)
		}
	})
}

func containsAny(b []byte, subs ...string) bool {
	for _, s := range subs {
		if strings.Contains(string(b), s) {
			return true
		}
	}
	return false
}

func TestQueriesPlaceholders(t *testing.T) {
	for _, q := range []string{qInsertCertificate, qCertificate, qInsertVerification, qCountVerifications} {
		if err := store.CheckPlaceholders(q); err != nil {
			t.Error(err)
		}
	}
}
