package delegation

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/store"
)

func samplePower() *Power {
	return &Power{ID: "0123456789abcdef0123456789abcdef",
		Principal: Principal{CorporateNumber: numberA, CorporationName: "株式会社テスト商事", RepresentativeName: "代表 一郎"},
		Agent:     Agent{PlatformID: "P-ALICE", Name: "受任者 花子"},
		Powers:    []string{"源泉徴収票", "保険料控除証明書", "源泉徴収票"},
		NotBefore: time.Date(2026, 4, 1, 9, 0, 0, 500, time.FixedZone("JST", 9*3600)),
		NotAfter:  time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)}
}

// sampleCanonical is samplePower's signed form, written out: it is the
// format, so a change to it must show here.
const sampleCanonical = `{"type":"mynaplat-delegation-power/1","id":"0123456789abcdef0123456789abcdef",` +
	`"principal":{"corporate_number":"4010001000011","corporation_name":"株式会社テスト商事","representative_name":"代表 一郎"},` +
	`"agent":{"platform_id":"P-ALICE","name":"受任者 花子"},"powers":["保険料控除証明書","源泉徴収票"],` +
	`"not_before":"2026-04-01T00:00:00Z","not_after":"2027-03-31T00:00:00Z","sub_delegation":false}`

func TestCanonical(t *testing.T) {
	t.Parallel()
	p := samplePower()
	b, err := p.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sampleCanonical, string(b)); diff != "" {
		t.Errorf("canonical form (-want +got):\n%s", diff)
	}
	got, err := ParsePower(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("parsed (-want +got):\n%s", diff)
	}
	child := *p
	child.ID, child.Parent, child.SubDelegation = "fedcba9876543210fedcba9876543210", p.ID, true
	cb, err := child.Canonical()
	if err != nil || !bytes.HasSuffix(cb, []byte(`"sub_delegation":true,"parent":"0123456789abcdef0123456789abcdef"}`)) {
		t.Errorf("child: %s %v", cb, err)
	}
}

// TestParsePowerRefuses: anything but the canonical form, and powers that
// lack a recorded item.
func TestParsePowerRefuses(t *testing.T) {
	t.Parallel()
	c := sampleCanonical
	variants := map[string]string{
		"trailing space":       c + " ",
		"trailing newline":     c + "\n",
		"leading space":        " " + c,
		"spaced":               strings.Replace(c, `"id":`, `"id": `, 1),
		"second object":        c + "{}",
		"unknown member":       strings.Replace(c, `"sub_delegation":false`, `"sub_delegation":false,"x":1`, 1),
		"no type":              strings.Replace(c, `"type":"mynaplat-delegation-power/1",`, ``, 1),
		"revocation type":      strings.Replace(c, `power/1`, `revocation/1`, 1),
		"members reordered":    strings.Replace(strings.Replace(c, `"sub_delegation":false`, ``, 1), `{"type"`, `{"sub_delegation":false,"type"`, 1),
		"duplicate member":     strings.Replace(c, `"id":`, `"id":"x","id":`, 1),
		"unsorted matters":     strings.Replace(c, `["保険料控除証明書","源泉徴収票"]`, `["源泉徴収票","保険料控除証明書"]`, 1),
		"duplicate matters":    strings.Replace(c, `["保険料控除証明書","源泉徴収票"]`, `["保険料控除証明書","保険料控除証明書","源泉徴収票"]`, 1),
		"no matters":           strings.Replace(c, `["保険料控除証明書","源泉徴収票"]`, `[]`, 1),
		"empty matter":         strings.Replace(c, `["保険料控除証明書","源泉徴収票"]`, `[""]`, 1),
		"offset time":          strings.Replace(c, `"2026-04-01T00:00:00Z"`, `"2026-04-01T09:00:00+09:00"`, 1),
		"fraction of a second": strings.Replace(c, `"2026-04-01T00:00:00Z"`, `"2026-04-01T00:00:00.5Z"`, 1),
		"period reversed":      strings.Replace(c, `"2027-03-31T00:00:00Z"`, `"2026-03-31T00:00:00Z"`, 1),
		"empty period":         strings.Replace(c, `"2027-03-31T00:00:00Z"`, `"2026-04-01T00:00:00Z"`, 1),
		"bad corporate number": strings.Replace(c, `4010001000011`, `4010001000012`, 1),
		"no agent":             strings.Replace(c, `"platform_id":"P-ALICE"`, `"platform_id":""`, 1),
		"no representative":    strings.Replace(c, `"representative_name":"代表 一郎"`, `"representative_name":""`, 1),
		"short ID":             strings.Replace(c, `0123456789abcdef0123456789abcdef`, `0123`, 1),
		"ID with a slash":      strings.Replace(c, `0123456789abcdef0123456789abcdef`, `0123456789abcdef/123456789abcdef`, 1),
		"own parent":           strings.Replace(c, `false}`, `false,"parent":"0123456789abcdef0123456789abcdef"}`, 1),
		"escaped letter":       strings.Replace(c, `"P-ALICE"`, `"P-\u0041LICE"`, 1),
		"control character":    strings.Replace(c, `受任者 花子`, `受任者\t花子`, 1),
		"not JSON":             "power",
		"empty":                "",
		"null":                 "null",
		"too large":            c[:len(c)-1] + strings.Repeat(" ", maxContent) + "}",
	}
	for name, v := range variants {
		t.Run(name, func(t *testing.T) {
			if _, err := ParsePower([]byte(v)); !errors.Is(err, ErrInvalid) {
				t.Errorf("ParsePower: %v, want ErrInvalid", err)
			}
		})
	}
}

func TestRevocationCanonical(t *testing.T) {
	t.Parallel()
	r := Revocation{PowerID: "0123456789abcdef0123456789abcdef", CorporateNumber: numberA}
	b, err := r.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"type":"mynaplat-delegation-revocation/1","power_id":"0123456789abcdef0123456789abcdef","corporate_number":"4010001000011"}`; string(b) != want {
		t.Errorf("got %s", b)
	}
	if got, err := ParseRevocation(b); err != nil || *got != r {
		t.Errorf("parsed %+v %v", got, err)
	}
	for _, bad := range []string{string(b) + " ", sampleCanonical, strings.Replace(string(b), "4010001000011", "1", 1), "{}"} {
		if _, err := ParseRevocation([]byte(bad)); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseRevocation(%s): %v", bad, err)
		}
	}
}

// TestVerifierWithoutTime: a verifier that finds no trusted time (a CMS
// without a time-stamp) makes the power invalid; a panicking verifier, a
// forged one.
func TestVerifierWithoutTime(t *testing.T) {
	t.Parallel()
	b, _ := samplePower().Canonical()
	for _, tc := range []struct {
		name   string
		verify SignatureVerifier
		want   error
	}{
		{"no time", func([]byte) ([]byte, *x509.Certificate, time.Time, error) {
			return b, &x509.Certificate{}, time.Time{}, nil
		}, ErrInvalid},
		{"no signer", func([]byte) ([]byte, *x509.Certificate, time.Time, error) { return b, nil, time.Now(), nil }, ErrForged},
		{"panic", func([]byte) ([]byte, *x509.Certificate, time.Time, error) { panic("index out of range") }, ErrForged},
	} {
		s := &Service{verify: tc.verify, logger: discard()}
		if _, err := s.open([]byte{0x30, 0x00}); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestNewNeedsItsDependencies: New refuses a Config without a verifier or
// SignerPerson rather than failing at the first check.
func TestNewNeedsItsDependencies(t *testing.T) {
	t.Parallel()
	if _, err := New(context.Background(), Config{DB: &store.DB{}}); err == nil {
		t.Error("New without dependencies succeeded")
	}
}

func TestQueriesKeepPlaceholderOrder(t *testing.T) {
	for _, q := range []string{qInsertPower, qPower, qRevoke, qAgentPowers} {
		if err := store.CheckPlaceholders(q); err != nil {
			t.Errorf("%v in %s", err, q)
		}
	}
}
