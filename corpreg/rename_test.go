package corpreg

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestChangeName: a change of trade name is the registry's current name
// from then on and an event; the representative stays in office; an
// unknown, closed or badly named change is refused and changes nothing.
func TestChangeName(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := &clock{t: t0}
		r := newRegistry(t, db, c)
		if err := r.RegisterCorporation(ctx, numberA, "株式会社テスト商事", "東京都千代田区霞が関三丁目1番1号"); err != nil {
			t.Fatal(err)
		}
		key := newKey(t)
		cert, err := r.AppointRepresentative(ctx, numberA, "代表 一郎", key.Public())
		if err != nil {
			t.Fatal(err)
		}
		c.set(t0.Add(time.Hour))
		if err := r.ChangeName(ctx, numberA, "株式会社新テスト商事"); err != nil {
			t.Fatal(err)
		}
		corp, err := r.Corporation(ctx, numberA)
		if err != nil || corp.Name != "株式会社新テスト商事" || corp.Current() == nil || corp.Current().Name != "代表 一郎" {
			t.Fatalf("after the change: %+v %v", corp, err)
		}
		if err := r.RepresentativeAt(ctx, numberA, cert, c.now()); err != nil {
			t.Errorf("the representative after the change: %v", err)
		}
		evs, err := r.Events(ctx, numberA)
		if err != nil || len(evs) == 0 || !strings.Contains(evs[len(evs)-1].Detail, "株式会社テスト商事 → 株式会社新テスト商事") {
			t.Errorf("events: %+v %v", evs, err)
		}
		for _, tc := range []struct {
			name, number, corp string
			want               error
		}{
			{"unknown", numberC, "x", ErrUnknownCorporation},
			{"empty name", numberA, "", ErrInvalid},
			{"bad number", "4010001000012", "x", ErrUnknownCorporation},
		} {
			if err := r.ChangeName(ctx, tc.number, tc.corp); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
		if err := r.Close(ctx, numberA); err != nil {
			t.Fatal(err)
		}
		if err := r.ChangeName(ctx, numberA, "株式会社三代目"); !errors.Is(err, ErrClosed) {
			t.Errorf("a closed corporation renamed: %v", err)
		}
		if corp, _ := r.Corporation(ctx, numberA); corp.Name != "株式会社新テスト商事" {
			t.Errorf("the name after refusals: %s", corp.Name)
		}
	})
}
