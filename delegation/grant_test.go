package delegation_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/tsa"
)

// TestGrantAndWithdraw: Grant signs and time-stamps a power with the
// representative's key, the register takes it and Check passes it; a
// request that is no power signs nothing; a key that is not the
// representative's is refused by the register; Withdraw revokes at once.
func TestGrantAndWithdraw(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		dir := t.TempDir()
		const number = "8120005900001"
		ca, err := corpreg.OpenAuthority(filepath.Join(dir, "corpreg"), time.Now)
		if err != nil {
			t.Fatal(err)
		}
		reg, err := corpreg.New(ctx, corpreg.Config{DB: db, Authority: ca})
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.RegisterCorporation(ctx, number, "日本生命保険相互会社", "大阪府大阪市中央区今橋三丁目５番１２号"); err != nil {
			t.Fatal(err)
		}
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		cert, err := reg.AppointRepresentative(ctx, number, "生田　正人", key.Public())
		if err != nil {
			t.Fatal(err)
		}
		keys, err := tsa.LoadOrCreate(filepath.Join(dir, "tsa"), time.Now)
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AddCert(keys.Root)
		stamper := tsa.New(keys, time.Now, nil)
		agentCert := func(context.Context, *x509.Certificate) (string, error) { return "agent-0001", nil }
		svc, err := delegation.New(ctx, delegation.Config{DB: db, Corporations: reg, Verify: delegation.VerifyCMS(roots), SignerPerson: agentCert})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().Truncate(time.Second)
		rq := delegation.GrantRequest{Principal: delegation.Principal{CorporateNumber: number, CorporationName: "日本生命保険相互会社",
			RepresentativeName: "生田　正人"}, Agent: delegation.Agent{PlatformID: "agent-0001", Name: "酒井　由美"},
			Powers: []string{"保険料控除証明書"}, NotBefore: now.Add(-time.Minute), NotAfter: now.AddDate(0, 1, 0)}

		bad := rq
		bad.NotAfter = bad.NotBefore
		calls := 0
		count := func(ctx context.Context, der []byte) (*delegation.Record, error) {
			calls++
			return svc.Register(ctx, der)
		}
		if _, err := delegation.Grant(ctx, bad, key, cert, stamper, count); !errors.Is(err, delegation.ErrInvalid) || calls != 0 {
			t.Fatalf("empty period: %v, %d registrations", err, calls)
		}
		badID := rq
		badID.ID = "../short"
		if _, err := delegation.Grant(ctx, badID, key, cert, stamper, count); !errors.Is(err, delegation.ErrInvalid) || calls != 0 {
			t.Fatalf("a malformed ID: %v, %d registrations", err, calls)
		}
		// The same request with its ID granted twice is one power: the
		// second, signed anew, answers the first's record.
		once := rq
		if once.ID, err = delegation.NewID(); err != nil {
			t.Fatal(err)
		}
		first, err := delegation.Grant(ctx, once, key, cert, stamper, count)
		if err != nil || first.Power.ID != once.ID {
			t.Fatalf("grant with an ID: %+v %v", first, err)
		}
		second, err := delegation.Grant(ctx, once, key, cert, stamper, count)
		if err != nil || second.Power.ID != once.ID || !bytes.Equal(second.CMS, first.CMS) || calls != 2 {
			t.Fatalf("the same grant again: %+v %v (%d registrations)", second, err, calls)
		}
		other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if _, err := delegation.Grant(ctx, rq, other, cert, stamper, svc.Register); err == nil {
			t.Fatal("a key that is not the certificate's signed a power the register took")
		}

		rec, err := delegation.Grant(ctx, rq, key, cert, stamper, svc.Register)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Status != delegation.StatusActive || rec.Power.Agent.PlatformID != "agent-0001" || rec.SignedAt.IsZero() || rec.Power.ID == "" {
			t.Fatalf("granted: %+v", rec)
		}
		// The agent's document, signed with some certificate the stand-in
		// SignerPerson takes for the agent's.
		q := delegation.Query{Power: rec.CMS, CorporateNumber: number, DocType: "保険料控除証明書", Signer: cert, At: time.Now()}
		if res, err := svc.Check(ctx, q); err != nil || !res.OK {
			t.Fatalf("check after grant: %+v %v", res, err)
		}
		if rec, err = delegation.Withdraw(ctx, rec.Power.ID, number, key, cert, stamper, svc.Revoke); err != nil || rec.Status != delegation.StatusRevoked {
			t.Fatalf("withdraw: %+v %v", rec, err)
		}
		q.At = time.Now()
		if res, err := svc.Check(ctx, q); err != nil || res.OK || res.Reason != delegation.Revoked {
			t.Fatalf("check after withdraw: %+v %v", res, err)
		}
	})
}

// TestRepresentativeCert: the current representative's certificate for
// its key; another key, no key, or no one in office is
// ErrNotRepresentative.
func TestRepresentativeCert(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	ca, err := corpreg.OpenAuthority(filepath.Join(t.TempDir(), "corpreg"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := corpreg.New(ctx, corpreg.Config{DB: db, Authority: ca})
	if err != nil {
		t.Fatal(err)
	}
	const number = "8120005900001"
	if err := reg.RegisterCorporation(ctx, number, "日本生命保険相互会社", "大阪府大阪市中央区今橋三丁目５番１２号"); err != nil {
		t.Fatal(err)
	}
	corp, _ := reg.Corporation(ctx, number)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := delegation.RepresentativeCert(corp, key); !errors.Is(err, delegation.ErrNotRepresentative) {
		t.Errorf("no one in office: %v", err)
	}
	cert, err := reg.AppointRepresentative(ctx, number, "生田　正人", key.Public())
	if err != nil {
		t.Fatal(err)
	}
	corp, _ = reg.Corporation(ctx, number)
	if got, err := delegation.RepresentativeCert(corp, key); err != nil || !got.Equal(cert) {
		t.Errorf("the representative's key: %v", err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for name, k := range map[string]*ecdsa.PrivateKey{"another key": other, "no key": nil} {
		var s crypto.Signer
		if k != nil {
			s = k
		}
		if _, err := delegation.RepresentativeCert(corp, s); !errors.Is(err, delegation.ErrNotRepresentative) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
