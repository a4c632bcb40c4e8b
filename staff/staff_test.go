package staff

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// clock is a settable clock for the tests.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func openDir(t *testing.T, db *store.DB, c *clock) *Directory {
	t.Helper()
	d, err := Open(context.Background(), db, c.now, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestAddValidates(t *testing.T) {
	c := &clock{time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
	d := openDir(t, storetest.SQLite(t), c)
	ok := Grant{PlatformID: "p1", Name: "酒田 職員", Office: "municipal:062049", Role: RegistryClerk, StaffNumber: "S-1"}
	tests := []struct {
		name string
		edit func(g *Grant)
	}{
		{"no platform ID", func(g *Grant) { g.PlatformID = "" }},
		{"no name", func(g *Grant) { g.Name = " " }},
		{"no staff number", func(g *Grant) { g.StaffNumber = "" }},
		{"unknown role", func(g *Grant) { g.Role = "mayor" }},
		{"role of another kind of office", func(g *Grant) { g.Role = InsurerClerk }},
		{"unknown office kind", func(g *Grant) { g.Office = "school:1" }},
		{"office without its ID", func(g *Grant) { g.Office = "municipal" }},
		{"operator office with an ID", func(g *Grant) { g.Office, g.Role = "platform-operator:x", PlatformOperator }},
		{"office ID with a slash", func(g *Grant) { g.Office = "municipal:06/2049" }},
		{"period backwards", func(g *Grant) { g.ValidFrom, g.ValidUntil = c.t, c.t.Add(-time.Hour) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := ok
			tt.edit(&g)
			if _, err := d.Add(context.Background(), g); !errors.Is(err, ErrInvalid) {
				t.Errorf("Add: %v, want ErrInvalid", err)
			}
		})
	}
	g, err := d.Add(context.Background(), ok)
	if err != nil {
		t.Fatal(err)
	}
	if !g.ValidFrom.Equal(c.t) || !g.ValidUntil.Equal(c.t.AddDate(1, 0, 0)) {
		t.Errorf("default period %s – %s", g.ValidFrom, g.ValidUntil)
	}
	op, err := d.Add(context.Background(), Grant{PlatformID: "p9", Name: "運営 者", Office: "platform-operator", Role: PlatformOperator, StaffNumber: "OP-1"})
	if err != nil || op.Office != "platform-operator" {
		t.Errorf("the operator's grant: %+v, %v", op, err)
	}
}

// TestCheck runs on both databases: every answer the directory gives an
// office about a person.
func TestCheck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := &clock{time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
		d := openDir(t, db, c)
		add := func(g Grant) Grant {
			t.Helper()
			g, err := d.Add(ctx, g)
			if err != nil {
				t.Fatal(err)
			}
			return g
		}
		sakata := "municipal:062049"
		clerk := add(Grant{PlatformID: "clerk", Name: "窓口 一", Office: sakata, Role: RegistryClerk, StaffNumber: "1"})
		add(Grant{PlatformID: "suzaka", Name: "須坂 職員", Office: "municipal:202070", Role: RegistryClerk, StaffNumber: "2"})
		add(Grant{PlatformID: "future", Name: "新人", Office: sakata, Role: RegistryClerk, StaffNumber: "3",
			ValidFrom: c.t.Add(24 * time.Hour), ValidUntil: c.t.Add(48 * time.Hour)})
		add(Grant{PlatformID: "past", Name: "退職者", Office: sakata, Role: RegistryClerk, StaffNumber: "4",
			ValidFrom: c.t.Add(-48 * time.Hour), ValidUntil: c.t.Add(-time.Hour)})
		gone := add(Grant{PlatformID: "gone", Name: "取消", Office: sakata, Role: RegistryClerk, StaffNumber: "5"})
		if _, err := d.Revoke(ctx, gone.ID); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			who  string
			want error
		}{
			{"clerk", nil},
			{"nobody", ErrNoGrant},
			{"suzaka", ErrOtherOffice},
			{"future", ErrExpired},
			{"past", ErrExpired},
			{"gone", ErrRevoked},
		}
		for _, tt := range tests {
			t.Run(tt.who, func(t *testing.T) {
				g, err := d.Check(ctx, tt.who, sakata)
				if !errors.Is(err, tt.want) {
					t.Fatalf("Check: %v, want %v", err, tt.want)
				}
				if tt.want == nil {
					if diff := cmp.Diff(clerk, g); diff != "" {
						t.Errorf("grant (-want +got):\n%s", diff)
					}
				}
			})
		}
		// A new grant after a revoked one is the one that holds.
		again := add(Grant{PlatformID: "gone", Name: "取消", Office: sakata, Role: RegistryClerk, StaffNumber: "5"})
		if g, err := d.Check(ctx, "gone", sakata); err != nil || g.ID != again.ID {
			t.Errorf("after a new grant: %v, %v", g.ID, err)
		}
		list, err := d.List(ctx, sakata)
		if err != nil || len(list) != 5 {
			t.Errorf("List: %d grants, %v; want 5", len(list), err)
		}
		all, err := d.List(ctx, "")
		if err != nil || len(all) != 6 {
			t.Errorf("List all: %d grants, %v; want 6", len(all), err)
		}
	})
}

func TestLoginOnceAndAudited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := &clock{time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
		d := openDir(t, db, c)
		sakata := "municipal:062049"
		g, err := d.Add(ctx, Grant{PlatformID: "clerk", Name: "窓口 一", Office: sakata, Role: RegistryClerk, StaffNumber: "1"})
		if err != nil {
			t.Fatal(err)
		}
		req := LoginRequest{PlatformID: "clerk", Office: sakata, AssertionID: "jti-1", AssertionExpiry: c.t.Add(5 * time.Minute), Terminal: "desk-1"}
		if got, err := d.Login(ctx, req); err != nil || got.ID != g.ID {
			t.Fatalf("Login: %+v, %v", got, err)
		}
		if _, err := d.Login(ctx, req); !errors.Is(err, ErrReplayed) {
			t.Errorf("the same assertion again: %v, want ErrReplayed", err)
		}
		req.AssertionID, req.PlatformID = "jti-2", "stranger"
		if _, err := d.Login(ctx, req); !errors.Is(err, ErrNoGrant) {
			t.Errorf("a stranger: %v, want ErrNoGrant", err)
		}
		if err := d.Refused(ctx, "clerk", sakata, ErrWrongLogin, "terminal kiosk-1"); err != nil {
			t.Fatal(err)
		}
		es, err := d.Audit(ctx, sakata, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range es {
			got = append(got, e.Action+" "+e.Result+" "+e.PlatformID+" "+e.Name)
		}
		// Rows of one millisecond come in ID order; compare as a set.
		want := map[string]bool{"grant OK clerk 窓口 一": true, "login OK clerk 窓口 一": true,
			"login REFUSED:staff_login_replayed clerk 窓口 一": true, "login REFUSED:staff_no_grant stranger ": true,
			"login REFUSED:staff_wrong_login clerk ": true}
		for _, s := range got {
			if !want[s] {
				t.Errorf("unexpected audit row %q", s)
			}
			delete(want, s)
		}
		for s := range want {
			t.Errorf("missing audit row %q (have %q)", s, got)
		}
		c.t = c.t.Add(time.Hour)
		if err := d.PurgeLogins(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRulesTable(t *testing.T) {
	if err := apiRules.Check(); err != nil {
		t.Error(err)
	}
}

// FuzzOfficeKind: an office ID is accepted only in one of its shapes, and
// one with a login path names a path under its own kind.
func FuzzOfficeKind(f *testing.F) {
	for _, s := range []string{"municipal:062049", "counter:062049", "platform-operator", "municipal", "municipal:", "x:y", "municipal:06/2049", "clinic:0611000019"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, office string) {
		kind, err := OfficeKind(office)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%q: %v is not ErrInvalid", office, err)
			}
			return
		}
		if k, _, _ := strings.Cut(office, ":"); k != kind {
			t.Fatalf("%q: kind %q", office, kind)
		}
		under := "/" + kind + "/"
		if office == OperatorOffice {
			under = "/staff/operator/" // beside the directory it manages
		}
		if p, err := LoginPath(office); err == nil && (!strings.HasPrefix(p, under) || strings.Contains(p, "//") || strings.ContainsAny(p, "?#")) {
			t.Fatalf("%q: login path %q", office, p)
		}
	})
}
