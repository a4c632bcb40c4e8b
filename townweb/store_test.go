package townweb

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/web"
)

// newTown opens the site on db for a provider at issuer, served at base.
func newTown(t *testing.T, db *store.DB, issuer, base string, now func() time.Time) *Town {
	t.Helper()
	ctx := context.Background()
	site, err := web.New(ctx, web.Options{DB: db, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	town, err := Open(ctx, Config{DB: db, Site: site, Now: now, Issuer: issuer, ClientID: "RP00000001", Key: key, BaseURL: base,
		HTTP: &http.Client{Timeout: 5 * time.Second}, Scopes: []string{"name"}})
	if err != nil {
		t.Fatal(err)
	}
	return town
}

func TestQueryPlaceholders(t *testing.T) {
	for _, q := range queries {
		if err := store.CheckPlaceholders(q); err != nil {
			t.Errorf("%v\n%s", err, q)
		}
	}
}

// TestFollowsAndNotices: an account is made by the sub alone at the first
// login; the topics followed pick the notices; read marks are per resident;
// an unknown topic or notice is refused and changes nothing.
func TestFollowsAndNotices(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tw := newTown(t, db, "http://127.0.0.1:1/api/realms/main", "http://127.0.0.1:2", time.Now)
		for range 2 { // seeding twice is seeding once
			if err := tw.SeedNotices(ctx); err != nil {
				t.Fatal(err)
			}
		}
		const alice, bob = "pairwise-sub-of-alice-43-characters-long-xx", "pairwise-sub-of-bob"
		for _, sub := range []string{alice, bob, alice} {
			if err := tw.login(ctx, sub); err != nil {
				t.Fatal(err)
			}
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM townweb_accounts`).Scan(&n); err != nil || n != 2 {
			t.Errorf("%d accounts (%v), want 2", n, err)
		}

		ids := func(ns []Notice) []string {
			var out []string
			for _, n := range ns {
				id := n.ID
				if n.Read {
					id += " read"
				}
				out = append(out, id)
			}
			return out
		}
		if err := tw.SetFollows(ctx, alice, []string{"childcare", "waste", "childcare"}); err != nil {
			t.Fatal(err)
		}
		if err := tw.SetFollows(ctx, alice, []string{"health", "lottery"}); !errors.Is(err, ErrUnknownTopic) {
			t.Errorf("an unknown topic: %v", err)
		}
		if err := tw.SetFollows(ctx, bob, []string{"tax"}); err != nil {
			t.Fatal(err)
		}
		if err := tw.MarkRead(ctx, alice, "n2026-102"); err != nil {
			t.Fatal(err)
		}
		if err := tw.MarkRead(ctx, alice, "n2026-102"); err != nil {
			t.Errorf("marking read again: %v", err)
		}
		if err := tw.MarkRead(ctx, alice, "n1999"); !errors.Is(err, ErrNoNotice) {
			t.Errorf("an unknown notice: %v", err)
		}
		follows, err := tw.Follows(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"childcare", "waste"}, follows); diff != "" {
			t.Errorf("alice follows (-want +got):\n%s", diff)
		}
		for _, tc := range []struct {
			sub  string
			want []string
		}{
			{alice, []string{"n2026-103", "n2026-105", "n2026-102 read"}},
			{bob, []string{"n2026-107"}},
			{"no-such-sub", nil},
		} {
			ns, err := tw.MyNotices(ctx, tc.sub)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, ids(ns)); diff != "" {
				t.Errorf("notices of %s (-want +got):\n%s", tc.sub, diff)
			}
		}
		pub, err := tw.PublicNotices(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"n2026-107", "n2026-103", "n2026-105"}, ids(pub)); diff != "" {
			t.Errorf("public notices (-want +got):\n%s", diff)
		}
		if got := pub[0].Published.Format("2006-01-02 MST"); got != "2026-12-04 JST" {
			t.Errorf("published %s", got)
		}
		audit, err := tw.Audit(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		actions := map[string]int{}
		for _, e := range audit {
			actions[e.Action+" "+e.Result]++
		}
		if diff := cmp.Diff(map[string]int{"login ok": 3, "topics ok": 2}, actions); diff != "" {
			t.Errorf("audit (-want +got):\n%s", diff)
		}
	})
}

// TestRefusalTexts: every refusal the site shows has both languages and
// something to do; a card that cannot succeed offers no retry.
func TestRefusalTexts(t *testing.T) {
	for _, tc := range []struct {
		code, desc string
		retry      bool
	}{
		{"access_denied", "revoked", false},
		{"access_denied", "expired", false},
		{"access_denied", "pin_blocked", false},
		{"access_denied", "consent_refused", true},
		{"access_denied", "unknown_issuer", true},
		{"temporarily_unavailable", "indeterminate", true},
		{"state_mismatch", "", true},
		{"token", "", true},
		{"invalid_scope", "", true},
	} {
		t.Run(tc.code+" "+tc.desc, func(t *testing.T) {
			rf := refusalFor(tc.code, tc.desc)
			if rf.TitleJA == "" || rf.TitleEN == "" || rf.WhatJA == "" || rf.WhatEN == "" || rf.DoJA == "" || rf.DoEN == "" {
				t.Errorf("missing text: %+v", rf)
			}
			if rf.Retry != tc.retry {
				t.Errorf("retry %v, want %v", rf.Retry, tc.retry)
			}
		})
	}
}
