package terminal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/internal/ratelimit"
	"github.com/mynaplat/mynaplat/platform"
)

// TestOutcomeTable: every outcome has a kind, both languages, an anchor,
// and — unless it is a success — what to do, in both languages.
func TestOutcomeTable(t *testing.T) {
	if len(Outcomes()) != len(outcomes) {
		t.Fatalf("Outcomes() lists %d, the table has %d", len(Outcomes()), len(outcomes))
	}
	for _, o := range Outcomes() {
		e, ok := outcomes[o]
		if !ok {
			t.Errorf("%s: not in the table", o)
			continue
		}
		switch {
		case e.Kind != "ok" && e.Kind != "warn" && e.Kind != "error":
			t.Errorf("%s: kind %q", o, e.Kind)
		case e.JA == "" || e.EN == "":
			t.Errorf("%s: text JA %q EN %q", o, e.JA, e.EN)
		case e.Kind != "ok" && (e.DoJA == "" || e.DoEN == ""):
			t.Errorf("%s: no action: JA %q EN %q", o, e.DoJA, e.DoEN)
		case e.Anchor == "":
			t.Errorf("%s: no anchor", o)
		}
		m := Result{Outcome: o, TriesLeft: 2, Wrong: true}.Message()
		for _, s := range []string{m.JA, m.EN, m.DoJA, m.DoEN} {
			if strings.Contains(s, "{") {
				t.Errorf("%s: placeholder left in %q", o, s)
			}
		}
		if hasASCIIWord(m.JA) {
			t.Errorf("%s: English in the Japanese text %q", o, m.JA)
		}
	}
}

func hasASCIIWord(s string) bool {
	n := 0
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			n++
			if n >= 3 {
				return true
			}
		} else {
			n = 0
		}
	}
	return false
}

// TestOf maps each card error and each platform refusal to its outcome.
func TestOf(t *testing.T) {
	rep := func(res platform.Result, reason platform.Reason, detail string) *platform.Report {
		return &platform.Report{Result: res, Reason: reason, Detail: detail}
	}
	for _, tc := range []struct {
		name string
		pin  card.PIN
		err  error
		rep  *platform.Report
		want Result
	}{
		{"passed", card.AuthPIN, nil, rep(platform.Passed, "", ""), Result{Outcome: Verified}},
		{"signed", card.SignPIN, nil, nil, Result{Outcome: Signed}},
		{"no card", card.AuthPIN, fmt.Errorf("%w: gone", ErrNoCard), nil, Result{Outcome: NoCard}},
		{"PIN format", card.AuthPIN, fmt.Errorf("x: %w", card.ErrPINFormat), nil, Result{Outcome: PINFormat}},
		{"password format", card.SignPIN, card.ErrPINFormat, nil, Result{Outcome: SignFormat}},
		{"wrong PIN", card.AuthPIN, &card.PINError{PIN: card.AuthPIN, TriesLeft: 2}, nil, Result{Outcome: WrongPIN, TriesLeft: 2, Wrong: true}},
		{"wrong PIN, one left", card.AuthPIN, &card.PINError{PIN: card.AuthPIN, TriesLeft: 1}, nil, Result{Outcome: LastTry, TriesLeft: 1, Wrong: true}},
		{"wrong PIN, now blocked", card.AuthPIN, &card.PINError{PIN: card.AuthPIN, TriesLeft: 0}, nil, Result{Outcome: PINBlocked}},
		{"PIN blocked", card.AuthPIN, fmt.Errorf("%w: 6983", card.ErrPINBlocked), nil, Result{Outcome: PINBlocked}},
		{"wrong password", card.SignPIN, &card.PINError{PIN: card.SignPIN, TriesLeft: 4}, nil, Result{Outcome: SignWrong, TriesLeft: 4, Wrong: true}},
		{"wrong password, one left", card.SignPIN, &card.PINError{PIN: card.SignPIN, TriesLeft: 1}, nil, Result{Outcome: SignLastTry, TriesLeft: 1, Wrong: true}},
		{"password blocked", card.SignPIN, card.ErrPINBlocked, nil, Result{Outcome: SignBlocked}},
		{"no auth certificate", card.AuthPIN, ErrNoCertificate, nil, Result{Outcome: NoAuthCert}},
		{"no signing certificate", card.SignPIN, fmt.Errorf("%w: 6A82", card.ErrNotFound), nil, Result{Outcome: NoSignCert}},
		{"terminal disabled", card.AuthPIN, fmt.Errorf("%w", platform.ErrTerminalDisabled), nil, Result{Outcome: TerminalRefused}},
		{"terminal unknown", card.AuthPIN, platform.ErrUnknownTerminal, nil, Result{Outcome: TerminalRefused}},
		{"platform down", card.AuthPIN, fmt.Errorf("%w: refused", platform.ErrPlatformUnavailable), nil, Result{Outcome: Unreachable}},
		{"timeout", card.AuthPIN, context.DeadlineExceeded, nil, Result{Outcome: Unreachable}},
		{"assertion refused", card.AuthPIN, platform.ErrBadAssertion, nil, Result{Outcome: LoginExpired}},
		{"card failed", card.AuthPIN, errors.New("transmit: broken pipe"), nil, Result{Outcome: CardUnreadable}},
		{"too many tries", card.AuthPIN, fmt.Errorf("platform: %w", ratelimit.Refuse(41*time.Second)), nil, Result{Outcome: RateLimited, RetryAfter: 41 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Of(tc.pin, tc.err, tc.rep)); diff != "" {
				t.Errorf("Of (-want +got):\n%s", diff)
			}
		})
	}
	// Every reason the platform gives (platform/auth.go verifyAnswer and
	// Authenticate).
	for reason, want := range map[platform.Reason]Outcome{
		platform.ReasonMalformed:        Malformed,
		platform.ReasonUnknownChallenge: ChallengeGone,
		platform.ReasonExpiredChallenge: ChallengeGone,
		platform.ReasonReplayed:         ChallengeGone,
		platform.ReasonUnknownIssuer:    UnknownIssuer,
		platform.ReasonExpired:          Expired,
		platform.ReasonNotYetValid:      NotYetValid,
		platform.ReasonBadSignature:     BadSignature,
		platform.ReasonRevoked:          Revoked,
		platform.ReasonNoRevocationData: Indeterminate,
		platform.ReasonNoLinkage:        Indeterminate,
	} {
		res := platform.Failed
		if reason == platform.ReasonNoRevocationData || reason == platform.ReasonNoLinkage {
			res = platform.Indeterminate
		}
		if got := Of(card.AuthPIN, nil, rep(res, reason, "")).Outcome; got != want {
			t.Errorf("%s: %s, want %s", reason, got, want)
		}
	}
	if got := Of(card.AuthPIN, nil, rep(platform.Failed, platform.ReasonMalformed, "purpose")).Outcome; got != PurposeRefused {
		t.Errorf("unknown purpose: %s", got)
	}
	// INDETERMINATE is never a pass, whatever its reason.
	if got := Of(card.AuthPIN, nil, rep(platform.Indeterminate, "something_new", "")); got.Passed() {
		t.Errorf("an unknown INDETERMINATE passed: %v", got)
	}
}

// TestMessages: the tries left are said, the last try warns, a blocked PIN
// sends the person to the municipal counter.
func TestMessages(t *testing.T) {
	for _, tc := range []struct {
		r          Result
		kind       string
		ja, en, do string
		retry      bool
	}{
		{Result{Outcome: WrongPIN, TriesLeft: 2, Wrong: true}, "error", "暗証番号が違います。残り 2 回です。", "Wrong PIN. 2 tries left.", "正しい暗証番号", true},
		{Result{Outcome: LastTry, TriesLeft: 1, Wrong: true}, "warn", "暗証番号が違います。あと1回間違えるとロックされます。", "Wrong PIN. One more wrong try blocks it.", "再設定", true},
		{Result{Outcome: LastTry}, "warn", "あと1回間違えるとロックされます。", "One more wrong try blocks it.", "再設定", true},
		{Result{Outcome: PINBlocked}, "error", "ロックされています", "blocked", "市区町村の窓口で暗証番号の初期化・再設定", false},
		{Result{Outcome: SignBlocked}, "error", "ロックされています", "blocked", "窓口のPINパッドでご自身が入力", false},
		{Result{Outcome: SignWrong, TriesLeft: 4, Wrong: true}, "error", "署名用電子証明書の暗証番号が違います。残り 4 回です。", "Wrong signing password. 4 tries left.", "正しい暗証番号", true},
		{Result{Outcome: Revoked}, "error", "失効しているため", "revoked", "窓口", false},
		{Result{Outcome: RateLimited, RetryAfter: 14500 * time.Millisecond}, "warn", "試行の回数が多すぎる", "Too many tries", "15秒後にもう一度お試しください。", true},
	} {
		m := tc.r.Message()
		if m.Kind != tc.kind || !strings.Contains(m.JA, tc.ja) || !strings.Contains(m.EN, tc.en) || !strings.Contains(m.DoJA, tc.do) || m.Retry != tc.retry {
			t.Errorf("%+v: %+v", tc.r, m)
		}
		f := m.Flash()
		if !strings.HasPrefix(f.JA, m.JA) || !strings.HasSuffix(f.JA, m.DoJA) || f.Kind != m.Kind {
			t.Errorf("%+v: flash %+v", tc.r, f)
		}
	}
}

// TestPINRefusalOf: what the kit reports to the platform for each result
// of a card step — only what the card refused, never a format error or the
// warning before a last try.
func TestPINRefusalOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		pin  card.PIN
		res  Result
		want *platform.PINRefusal
	}{
		{"wrong, 2 left", card.AuthPIN, Of(card.AuthPIN, &card.PINError{PIN: card.AuthPIN, TriesLeft: 2}, nil),
			&platform.PINRefusal{PIN: platform.PINAuth, Result: platform.ResultPINWrong, TriesLeft: 2}},
		{"wrong, 1 left", card.AuthPIN, Of(card.AuthPIN, &card.PINError{PIN: card.AuthPIN, TriesLeft: 1}, nil),
			&platform.PINRefusal{PIN: platform.PINAuth, Result: platform.ResultPINWrong, TriesLeft: 1}},
		{"the wrong try that blocks it", card.AuthPIN, Of(card.AuthPIN, &card.PINError{PIN: card.AuthPIN, TriesLeft: 0}, nil),
			&platform.PINRefusal{PIN: platform.PINAuth, Result: platform.ResultPINBlocked}},
		{"blocked already", card.AuthPIN, Of(card.AuthPIN, card.ErrPINBlocked, nil),
			&platform.PINRefusal{PIN: platform.PINAuth, Result: platform.ResultPINBlocked}},
		{"signing password wrong, 4 left", card.SignPIN, SignResult(&card.PINError{PIN: card.SignPIN, TriesLeft: 4}),
			&platform.PINRefusal{PIN: platform.PINSign, Result: platform.ResultPINWrong, TriesLeft: 4}},
		{"signing password wrong, 1 left", card.SignPIN, SignResult(&card.PINError{PIN: card.SignPIN, TriesLeft: 1}),
			&platform.PINRefusal{PIN: platform.PINSign, Result: platform.ResultPINWrong, TriesLeft: 1}},
		{"signing password blocked", card.SignPIN, SignResult(card.ErrPINBlocked),
			&platform.PINRefusal{PIN: platform.PINSign, Result: platform.ResultPINBlocked}},
		{"format: never reached the card", card.AuthPIN, Of(card.AuthPIN, card.ErrPINFormat, nil), nil},
		{"the warning before the last try", card.AuthPIN, Result{Outcome: LastTry, TriesLeft: 1}, nil},
		{"verified", card.AuthPIN, Result{Outcome: Verified}, nil},
		{"signed", card.SignPIN, Result{Outcome: Signed}, nil},
		{"revoked: the platform's refusal, audited there", card.AuthPIN, Result{Outcome: Revoked}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := PINRefusalOf(tc.pin, tc.res)
			if ok != (tc.want != nil) {
				t.Fatalf("reported %v, want %v", ok, tc.want != nil)
			}
			if ok {
				if diff := cmp.Diff(*tc.want, got); diff != "" {
					t.Errorf("report (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestWordPINRefusal: the rows /me/audit words itself, in both languages.
func TestWordPINRefusal(t *testing.T) {
	for _, tc := range []struct {
		name string
		e    platform.AuditEntry
		want *auditRow
	}{
		{"wrong", platform.AuditEntry{Action: platform.ActionPINRefusal, Result: platform.ResultPINWrong, Reason: "auth:2"},
			&auditRow{WhatJA: "カードが暗証番号を受け付けませんでした：利用者証明用電子証明書の暗証番号（数字4桁）",
				WhatEN: "The card refused the PIN of the authentication certificate (4 digits)", ResultJA: "暗証番号の誤り（残り 2 回）", ResultEN: "Wrong PIN (2 tries left)"}},
		{"one left", platform.AuditEntry{Action: platform.ActionPINRefusal, Result: platform.ResultPINWrong, Reason: "sign:1"},
			&auditRow{WhatJA: "カードが暗証番号を受け付けませんでした：署名用電子証明書の暗証番号（英数字6〜16文字）",
				WhatEN: "The card refused the signing password (6–16 letters and digits)", ResultJA: "暗証番号の誤り（残り 1 回）", ResultEN: "Wrong PIN (1 try left)"}},
		{"blocked", platform.AuditEntry{Action: platform.ActionPINRefusal, Result: platform.ResultPINBlocked, Reason: "auth:0"},
			&auditRow{WhatJA: "カードが暗証番号を受け付けませんでした：利用者証明用電子証明書の暗証番号（数字4桁）",
				WhatEN: "The card refused the PIN of the authentication certificate (4 digits)", ResultJA: "ロックされています（窓口で再設定が必要）", ResultEN: "Blocked (to be reset at the municipal counter)"}},
		{"a login", platform.AuditEntry{Action: "authenticate", Result: "PASSED", Reason: ":"}, nil},
		{"an unreadable reason", platform.AuditEntry{Action: platform.ActionPINRefusal, Result: platform.ResultPINWrong, Reason: "text:x"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var row auditRow
			ok := wordPINRefusal(tc.e, &row)
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
