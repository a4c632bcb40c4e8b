package business_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/business"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/verify"
	"github.com/mynaplat/mynaplat/wareki"
)

func webFirm(t *testing.T, db *store.DB) *business.Service {
	t.Helper()
	ctx := context.Background()
	s, err := business.Open(ctx, business.Config{DB: db, Policy: &verify.Policy{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddFirm(ctx, business.Firm{ID: "nissay", NameJA: "日本生命", NameEN: "Nippon Life"}); err != nil {
		t.Fatal(err)
	}
	day := func(s string) time.Time { d, _ := time.ParseInLocation(time.DateOnly, s, wareki.JST()); return d }
	for _, c := range []business.Customer{
		{Ref: "NL-1", Name: "酒田　一郎", BirthDate: day("1975-06-30"), Address: "山形県酒田市本町二丁目２番４５号"},
		{Ref: "NL-2", Name: "双子　一", BirthDate: day("2000-01-01"), Address: "A"},
		{Ref: "NL-3", Name: "双子 一", BirthDate: day("2000-01-01"), Address: "B"},
	} {
		if err := s.PutCustomer(ctx, "nissay", c); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// TestMatchCustomer: the card's name (spaces ignored) and birth date find
// one customer; none or two is ErrNoMatch.
func TestMatchCustomer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := webFirm(t, db)
		for _, tc := range []struct {
			name, birth, want string
		}{
			{"酒田　一郎", "1975-06-30", "NL-1"},
			{"酒田 一郎", "1975-06-30", "NL-1"},
			{"酒田　一郎", "1975-07-01", ""},
			{"酒田　次郎", "1975-06-30", ""},
			{"双子　一", "2000-01-01", ""}, // two records: no single customer
		} {
			b, _ := time.Parse(time.DateOnly, tc.birth)
			c, err := s.MatchCustomer(context.Background(), "nissay", tc.name, b)
			if tc.want == "" {
				if !errors.Is(err, business.ErrNoMatch) {
					t.Errorf("%s %s: %v, want ErrNoMatch", tc.name, tc.birth, err)
				}
				continue
			}
			if err != nil || c.Ref != tc.want {
				t.Errorf("%s %s: %q %v, want %s", tc.name, tc.birth, c.Ref, err, tc.want)
			}
		}
	})
}

// TestChangeAddressOnce: a signed change applies once per change ID and is
// listed as a notice; the second call changes nothing.
func TestChangeAddressOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := webFirm(t, db)
		var got []bool
		for _, addr := range []string{"新住所", "別の住所"} {
			ok, err := s.ChangeAddress(ctx, "nissay", "NL-1", "tx-1", addr, "0A", time.Unix(1_800_000_000, 0))
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ok)
		}
		if diff := cmp.Diff([]bool{true, false}, got); diff != "" {
			t.Errorf("applied (-want +got):\n%s", diff)
		}
		c, err := s.CustomerByRef(ctx, "nissay", "NL-1")
		if err != nil || c.Address != "新住所" {
			t.Errorf("address %q %v, want 新住所", c.Address, err)
		}
		ns, err := s.Notices(ctx, "nissay", "test")
		if err != nil || len(ns) != 1 || ns[0].SendID != "web-tx-1" || ns[0].OldAddress != "山形県酒田市本町二丁目２番４５号" {
			t.Errorf("notices %+v %v", ns, err)
		}
		if _, err := s.ChangeAddress(ctx, "nissay", "NL-9", "tx-2", "x", "0A", time.Now()); !errors.Is(err, business.ErrNotFound) {
			t.Errorf("an unknown customer: %v", err)
		}
	})
}
