package verify_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/verify"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestReportInputs validates the three inputs `mynaplat verify` takes (a
// CMS signature, a PDF, a time-stamp token) through the main indications,
// and checks the report's detail for each: the time-stamps and their
// kinds, the chain, where the revocation data came from, DocMDP.
func TestReportInputs(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	cmsDoc := f.sign(t, application, true)
	bt := f.signPDF(t)
	lta, err := f.policy.Extend(ctx, bt, f.stamper)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("a document"))
	token, err := f.stamper.Stamp(ctx, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	flip := func(b []byte, at int) []byte {
		c := bytes.Clone(b)
		c[at] ^= 1
		return c
	}
	// A byte of the token's TSTInfo (its genTime region, well inside).
	badToken := flip(token, bytes.Index(token, sum[:])+3)
	untrusted := *f.policy
	untrusted.TSARoots = x509.NewCertPool()

	type detail struct {
		Format     string
		Indication verify.Indication
		Sub        verify.SubIndication
		Kinds      string // the time-stamps' kinds
		Chain      int
		Source     string
		DocMDP     int
		Claimed    bool
	}
	for _, tc := range []struct {
		name   string
		data   []byte
		policy *verify.Policy
		off    bool // the OCSP responder is down
		want   detail
	}{
		{"cms passed", cmsDoc, f.policy, false, detail{verify.FormatCMS, verify.TotalPassed, "", "signature", 2, verify.SourceOCSPResponder, 0, false}},
		{"cms responder down", cmsDoc, f.policy, true, detail{verify.FormatCMS, verify.Indeterminate, verify.TryLater, "signature", 2, verify.SourceOCSPResponder, 0, false}},
		{"cms tampered", flip(cmsDoc, bytes.Index(cmsDoc, []byte("生命保険料控除"))), f.policy, false, detail{verify.FormatCMS, verify.TotalFailed, verify.HashFailure, "", 0, "", 0, false}},
		{"pdf B-T", bt, f.policy, false, detail{verify.FormatPAdES, verify.TotalPassed, "", "signature", 2, verify.SourceOCSPResponder, 0, true}},
		{"pdf B-LTA offline", lta, f.policy, true, detail{verify.FormatPAdES, verify.TotalPassed, "", "signature,document", 2, verify.SourceDSSOCSP, 0, true}},
		{"pdf tampered", flip(bt, bytes.Index(bt, []byte("stream"))+10), f.policy, false, detail{verify.FormatPAdES, verify.TotalFailed, verify.HashFailure, "", 0, "", 0, true}},
		{"token", token, f.policy, true, detail{verify.FormatTimestamp, verify.TotalPassed, "", "token", 2, "", 0, false}},
		{"token untrusted TSA", token, &untrusted, true, detail{verify.FormatTimestamp, verify.Indeterminate, verify.NoPOE, "", 0, "", 0, false}},
		{"token altered", badToken, f.policy, true, detail{verify.FormatTimestamp, verify.Indeterminate, verify.NoPOE, "", 0, "", 0, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.ocspOff.Store(tc.off)
			defer f.ocspOff.Store(false)
			r := tc.policy.Validate(ctx, verify.Document{Name: tc.name, Format: verify.DetectFormat(tc.data), Data: tc.data})
			got := detail{Format: r.Format, Indication: r.Indication, Sub: r.SubIndication, Chain: len(r.Chain), DocMDP: 0, Claimed: r.ClaimedTime != nil}
			var kinds []string
			for _, ts := range r.Timestamps {
				kinds = append(kinds, ts.Kind)
				if ts.TSA == "" || ts.Time.IsZero() {
					t.Errorf("time-stamp %+v lacks its TSA or time", ts)
				}
			}
			got.Kinds = strings.Join(kinds, ",")
			if r.RevocationData != nil {
				got.Source = r.RevocationData.Source
			}
			if r.Certification != nil {
				got.DocMDP = r.Certification.P
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("report (-want +got):\n%s\n%s %s", diff, r.MessageEN, r.Revocation)
			}
			if r.Format == verify.FormatTimestamp && r.Passed() && r.Token == nil {
				t.Error("a token's report does not show its imprint")
			}
			// The three renderings come from the one report.
			var text, page bytes.Buffer
			r.WriteText(&text)
			if err := r.WritePage(&page); err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{text.String(), page.String()} {
				if !strings.Contains(s, string(r.Indication)) {
					t.Errorf("a rendering lacks the indication %s:\n%s", r.Indication, s)
				}
			}
		})
	}
}

// TestReportJSONShape pins the JSON form of a report (its keys and their
// types, not the values of one run) to testdata/report_shape.json: tools
// read it.
func TestReportJSONShape(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	lta, err := f.policy.Extend(ctx, f.signPDF(t), f.stamper)
	if err != nil {
		t.Fatal(err)
	}
	r := f.policy.Validate(ctx, verify.Document{Name: "lta.pdf", Format: verify.FormatPAdES, Data: lta})
	// A delegation part, as a document from an organisation has.
	r.Delegation = &verify.Delegation{Result: verify.DelegationPassed, PowerID: "p", Corporation: "c", CorporateNumber: "1",
		Representative: "r", Agent: "a", Powers: []string{"x"}, NotBefore: r.ValidatedAt, NotAfter: r.ValidatedAt}
	r.Certification = &verify.Certification{P: 1, MeaningJA: "ja", MeaningEN: "en"}
	// Each signature's entry: a certification with a note about what
	// follows it, as a PDF with an approval after it has (TestSeveralSignatures).
	if len(r.Signatures) == 0 {
		t.Fatal("no signatures in the report of a B-LTA PDF")
	}
	r.Signatures[0].Certification, r.Signatures[0].NoteJA, r.Signatures[0].NoteEN = r.Certification, "ja", "en"
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	got := shape(v)
	path := filepath.Join("testdata", "report_shape.json")
	if *update {
		out, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSON shape (-testdata +got; go test -run TestReportJSONShape -update to accept):\n%s", diff)
	}
}

// shape replaces each JSON value by its type's name; an array by the shape
// of its elements (the distinct shapes, sorted).
func shape(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = shape(e)
		}
		return out
	case []any:
		seen := map[string]any{}
		for _, e := range x {
			s := shape(e)
			b, _ := json.Marshal(s)
			seen[string(b)] = s
		}
		keys := make([]string, 0, len(seen))
		for k := range seen {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := []any{}
		for _, k := range keys {
			out = append(out, seen[k])
		}
		return out
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return "?"
}
