package terminal

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/platform"
)

// TestAppTerminal: the provider's card page (an App terminal) is laid out
// for a phone and is named for what it is, not for a place.
func TestAppTerminal(t *testing.T) {
	if got := ScreenOf(platform.App); got != ScreenPhone {
		t.Errorf("ScreenOf(App) = %s, want %s", got, ScreenPhone)
	}
	for _, k := range platform.TerminalKinds {
		if ja, en := KindName(k); ja == string(k) || en == string(k) {
			t.Errorf("kind %s has no name", k)
		}
	}
}

// TestWordWhere: /me/audit says where a row happened: the terminal's
// owner, or the provider's name for its logins and its disclosures.
func TestWordWhere(t *testing.T) {
	for _, tc := range []struct {
		name   string
		e      platform.AuditEntry
		ja, en string
	}{
		{"a kiosk", platform.AuditEntry{Action: "authenticate", TerminalKind: platform.Kiosk, Owner: "酒田市"}, "酒田市", "酒田市"},
		{"the provider's card page", platform.AuditEntry{Action: "authenticate", TerminalKind: platform.App, Owner: "mynaplat"},
			"デジタル認証アプリ（mynaplat）", "Digital authentication app (mynaplat)"},
		{"a disclosure", platform.AuditEntry{Action: platform.ActionOIDCDisclosure, TerminalID: "caller:oidc"},
			"デジタル認証アプリ（mynaplat）", "Digital authentication app (mynaplat)"},
		{"another caller", platform.AuditEntry{Action: platform.AuditCallerSigner, TerminalID: "caller:postbox"}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var row auditRow
			wordWhere(tc.e, &row)
			if row.WhereJA != tc.ja || row.WhereEN != tc.en {
				t.Errorf("where %q / %q, want %q / %q", row.WhereJA, row.WhereEN, tc.ja, tc.en)
			}
		})
	}
}

// TestWordDisclosure: a disclosure's row says who received which items,
// in both languages, the items in the order a person reads them.
func TestWordDisclosure(t *testing.T) {
	reason := func(d platform.Disclosure) string { return platform.DisclosureReason(d) }
	for _, tc := range []struct {
		name string
		e    platform.AuditEntry
		want *auditRow
	}{
		{"name and date of birth", platform.AuditEntry{Action: platform.ActionOIDCDisclosure, Result: "OK",
			Reason: reason(platform.Disclosure{Recipient: "須坂市ウェブサイト (RP00000001)", Items: []string{"birthdate", "name"}})},
			&auditRow{WhatJA: "須坂市ウェブサイト (RP00000001)に 氏名・生年月日 を提供",
				WhatEN: "Gave name, date of birth to 須坂市ウェブサイト (RP00000001)"}},
		{"all four and a signature", platform.AuditEntry{Action: platform.ActionOIDCDisclosure, Result: "OK",
			Reason: reason(platform.Disclosure{Recipient: "日本生命 (RP00000002)", Items: []string{"signature", "gender", "address", "birthdate", "name"},
				SignTransactionID: "7b0c5a3e-2f4d-4c1a-9e8b-0a1b2c3d4e5f"})},
			&auditRow{WhatJA: "日本生命 (RP00000002)に 氏名・住所・生年月日・性別・電子署名 を提供",
				WhatEN: "Gave name, address, date of birth, gender, signature to 日本生命 (RP00000002)"}},
		{"a login", platform.AuditEntry{Action: "authenticate", Result: "PASSED", Reason: ":"}, nil},
		{"an unreadable reason", platform.AuditEntry{Action: platform.ActionOIDCDisclosure, Result: "OK", Reason: "name to someone"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var row auditRow
			ok := wordDisclosure(tc.e, &row)
			if ok != (tc.want != nil) {
				t.Fatalf("worded %v, want %v", ok, tc.want != nil)
			}
			if ok {
				if diff := cmp.Diff(*tc.want, row); diff != "" {
					t.Errorf("row (-want +got):\n%s", diff)
				}
			}
		})
	}
}
