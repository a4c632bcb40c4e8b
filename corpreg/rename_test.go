package corpreg

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/internal/inproc"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// TestRename: a change of name keeps the former names with their periods,
// answers NameAt on both sides of each change, is the same over HTTP, keeps
// the representative in office and their certificate's O=, and certifies a
// representative again under the new name; every refusal changes nothing.
func TestRename(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := &clock{t: t0}
		r := newRegistry(t, db, c)
		const old, mid, last = "株式会社テスト商事", "株式会社テスト物産", "テスト物産ホールディングス株式会社"
		if err := r.RegisterCorporation(ctx, numberA, old, "東京都千代田区霞が関三丁目1番1号"); err != nil {
			t.Fatal(err)
		}
		if err := r.RegisterCorporation(ctx, numberB, "テスト工業株式会社", "東京都港区"); err != nil {
			t.Fatal(err)
		}
		rep, err := r.AppointRepresentative(ctx, numberA, "代表 一郎", newKey(t).Public())
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Close(ctx, numberB); err != nil {
			t.Fatal(err)
		}
		first := t0.Add(time.Hour)
		c.set(t0.Add(2 * time.Hour))
		// The change took effect an hour before it was registered (登記 follows
		// the resolution).
		if err := r.Rename(ctx, numberA, mid, first.Add(500*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		second := c.set(t0.Add(3 * time.Hour))
		if err := r.Rename(ctx, numberA, last, time.Time{}); err != nil {
			t.Fatal(err)
		}
		corp, err := r.Corporation(ctx, numberA)
		if err != nil {
			t.Fatal(err)
		}
		wantFormer := []FormerName{{Name: old, From: t0, Until: first}, {Name: mid, From: first, Until: second}}
		if diff := cmp.Diff(wantFormer, corp.FormerNames); diff != "" || corp.Name != last || !corp.NameSince.Equal(second) {
			t.Fatalf("record: %s since %s; former names (-want +got):\n%s", corp.Name, corp.NameSince, diff)
		}
		for _, tc := range []struct {
			at   time.Time
			want string
		}{
			{t0.Add(-time.Hour), old}, {t0, old}, {first.Add(-time.Second), old}, {first, mid},
			{second.Add(-time.Millisecond), mid}, {second, last}, {second.Add(time.Hour), last},
		} {
			if got := corp.NameAt(tc.at); got != tc.want {
				t.Errorf("NameAt(%s) = %s, want %s", tc.at.Format(time.RFC3339Nano), got, tc.want)
			}
		}
		cert, err := x509.ParseCertificate(corp.Current().Certificate)
		if err != nil {
			t.Fatal(err)
		}
		if got := cert.Subject.Organization; len(got) != 1 || got[0] != old || !cert.Equal(rep) {
			t.Errorf("the representative certificate's O= after the change: %v", got)
		}
		if err := r.RepresentativeAt(ctx, numberA, rep, c.now()); err != nil {
			t.Errorf("the representative after the change: %v", err)
		}
		c.set(t0.Add(4 * time.Hour))
		again, err := r.AppointRepresentative(ctx, numberA, "代表 一郎", newKey(t).Public())
		if err != nil {
			t.Fatal(err)
		}
		if got := again.Subject.Organization; len(got) != 1 || got[0] != last {
			t.Errorf("a certificate issued after the change: O=%v, want %s", got, last)
		}

		events, err := r.Events(ctx, numberA)
		if err != nil {
			t.Fatal(err)
		}
		var renames []Event
		for _, e := range events {
			if e.Kind == "renamed" {
				renames = append(renames, e)
			}
		}
		wantRenames := []Event{{At: first, Number: numberA, Kind: "renamed", Detail: old + " → " + mid},
			{At: second, Number: numberA, Kind: "renamed", Detail: mid + " → " + last}}
		if diff := cmp.Diff(wantRenames, renames); diff != "" {
			t.Errorf("rename events (-want +got):\n%s", diff)
		}

		mux := http.NewServeMux()
		r.Routes(mux)
		got, err := (&Client{BaseURL: "http://corpreg.test", HTTP: inproc.Client(mux)}).Corporation(ctx, numberA)
		if err != nil {
			t.Fatal(err)
		}
		want, err := r.Corporation(ctx, numberA)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("renamed corporation over HTTP (-in-process +client):\n%s", diff)
		}

		for _, tc := range []struct {
			name, number, to string
			at               time.Time
			want             error
		}{
			{"same name", numberA, last, time.Time{}, ErrSameName},
			{"closed", numberB, "テスト重工株式会社", time.Time{}, ErrClosed},
			{"unknown", numberC, "新商号株式会社", time.Time{}, ErrUnknownCorporation},
			{"malformed number", "123", "新商号株式会社", time.Time{}, ErrUnknownCorporation},
			{"wrong check digit", "4010001000012", "新商号株式会社", time.Time{}, ErrUnknownCorporation},
			{"empty name", numberA, "", time.Time{}, ErrInvalid},
			{"surrounding spaces", numberA, " 新商号株式会社", time.Time{}, ErrInvalid},
			{"at the current name's start", numberA, "新商号株式会社", second, ErrInvalid},
			{"before the current name", numberA, "新商号株式会社", first, ErrInvalid},
			{"in the future", numberA, "新商号株式会社", c.now().Add(time.Minute), ErrInvalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before, _ := r.Corporation(ctx, tc.number)
				evBefore, _ := r.Events(ctx, tc.number)
				err := r.Rename(ctx, tc.number, tc.to, tc.at)
				if !errors.Is(err, tc.want) {
					t.Fatalf("Rename: %v, want %v", err, tc.want)
				}
				if p := Rules.Problem(err); p.MessageJA == "" || p.MessageEN == "" || p.Status >= 500 {
					t.Errorf("answer: %+v", p)
				}
				after, _ := r.Corporation(ctx, tc.number)
				evAfter, _ := r.Events(ctx, tc.number)
				if diff := cmp.Diff(before, after); diff != "" {
					t.Errorf("a refused change of name changed the record:\n%s", diff)
				}
				if len(evAfter) != len(evBefore) {
					t.Errorf("a refused change of name logged %d events", len(evAfter)-len(evBefore))
				}
			})
		}
	})
}
