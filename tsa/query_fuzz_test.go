package tsa

import (
	"crypto"
	"encoding/asn1"
	"math/big"
	"testing"

	"github.com/digitorus/timestamp"
)

// FuzzCheckQuery feeds the request reader any bytes: it must not panic,
// grant only what respond can stamp, and refuse with a TimeStampResp that
// reads back as a rejection with the one failure bit it names.
func FuzzCheckQuery(f *testing.F) {
	for _, r := range []timestamp.Request{
		{HashAlgorithm: crypto.SHA256, HashedMessage: make([]byte, 32), Certificates: true, Nonce: big.NewInt(42)},
		{HashAlgorithm: crypto.SHA512, HashedMessage: make([]byte, 64), TSAPolicyOID: Policy()},
		{HashAlgorithm: crypto.SHA1, HashedMessage: make([]byte, 20)},
		{HashAlgorithm: crypto.SHA384, HashedMessage: make([]byte, 12), TSAPolicyOID: asn1.ObjectIdentifier{1, 2, 3}},
	} {
		b, err := r.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		req, ref := checkQuery(der)
		if (req == nil) == (ref == nil) {
			t.Fatalf("checkQuery: request %v and refusal %v", req, ref)
		}
		if req != nil {
			if !supported(req.HashAlgorithm) || len(req.HashedMessage) != req.HashAlgorithm.Size() ||
				len(req.Extensions) > 0 || (req.TSAPolicyOID != nil && !req.TSAPolicyOID.Equal(Policy())) {
				t.Fatalf("granted a request the TSA cannot stamp: %+v", req)
			}
			return
		}
		var resp struct {
			Status struct {
				Status       int
				StatusString []string       `asn1:"optional,utf8"`
				FailInfo     asn1.BitString `asn1:"optional"`
			}
		}
		if rest, err := asn1.Unmarshal(ref.response(), &resp); err != nil || len(rest) > 0 {
			t.Fatalf("rejection is no TimeStampResp: %v", err)
		}
		if resp.Status.Status != int(timestamp.Rejection) || resp.Status.FailInfo.BitLength != int(ref.info)+1 ||
			resp.Status.FailInfo.At(int(ref.info)) != 1 || len(resp.Status.StatusString) != 2 {
			t.Fatalf("rejection %+v for %+v", resp.Status, ref)
		}
	})
}

// TestTokenOf: the token and serial read from the DER are those the
// library reads (verifying the signature); a rejection has none.
func TestTokenOf(t *testing.T) {
	k, err := LoadOrCreate(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	a := New(k, nil, nil)
	for _, certs := range []bool{true, false} {
		resp, token, err := a.respond(t.Context(), &timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: make([]byte, 32),
			Certificates: certs, Nonce: big.NewInt(9)})
		if err != nil {
			t.Fatal(err)
		}
		ts, err := timestamp.ParseResponse(resp)
		if err != nil {
			t.Fatal(err)
		}
		tok, serial, err := tokenOf(resp)
		if err != nil || string(tok) != string(ts.RawToken) || string(token) != string(ts.RawToken) || serial.Cmp(ts.SerialNumber) != 0 {
			t.Errorf("certReq %v: serial %v, want %v (%v)", certs, serial, ts.SerialNumber, err)
		}
	}
	if _, _, err := tokenOf(badDataFormat("x", "x").response()); err == nil {
		t.Error("a rejection has a token")
	}
}
