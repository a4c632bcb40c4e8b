package terminal

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/internal/ratelimit"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/web"
)

// Outcome is what came of a step of the card flow, as the person in front
// of the terminal is told it. Every screen that runs a card (the /t/
// terminals, the kiosks, the reception stations, the payment page, the
// post box) words its outcomes from the one table below, so that "the PIN
// is blocked" says the same thing, with the same advice, everywhere.
type Outcome string

// The outcomes of the card flow.
const (
	NoCard         Outcome = "no_card"
	CardUnreadable Outcome = "card_unreadable"
	NoAuthCert     Outcome = "no_auth_certificate"
	NoSignCert     Outcome = "no_signing_certificate"
	PINFormat      Outcome = "pin_format"
	WrongPIN       Outcome = "wrong_pin"
	// LastTry is one try left: said before the PIN is entered, and after a
	// wrong one that leaves one.
	LastTry       Outcome = "last_try"
	PINBlocked    Outcome = "pin_blocked"
	SignFormat    Outcome = "sign_format"
	SignWrong     Outcome = "sign_wrong"
	SignLastTry   Outcome = "sign_last_try"
	SignBlocked   Outcome = "sign_blocked"
	Revoked       Outcome = "revoked"
	Expired       Outcome = "expired"
	NotYetValid   Outcome = "not_yet_valid"
	UnknownIssuer Outcome = "unknown_issuer"
	BadSignature  Outcome = "bad_signature"
	Malformed     Outcome = "malformed"
	// ChallengeGone is a challenge that expired, was used already or is
	// unknown to the platform.
	ChallengeGone Outcome = "challenge_gone"
	// Indeterminate is a check the platform could not complete (no fresh
	// revocation data, no linkage records). It is never a pass.
	Indeterminate Outcome = "indeterminate"
	Unreachable   Outcome = "unreachable"
	// TerminalRefused is a terminal the platform does not know or has
	// disabled.
	TerminalRefused Outcome = "terminal_refused"
	// PurposeRefused is an authentication the platform refuses for the
	// purpose the terminal asked it for.
	PurposeRefused Outcome = "purpose_refused"
	// LoginExpired is a login whose assertion a service no longer accepts.
	LoginExpired Outcome = "login_expired"
	// RateLimited is a try refused because too many were made (the kit's
	// limits or the platform's): {seconds} stands for how long to wait.
	RateLimited Outcome = "rate_limited"
	Verified    Outcome = "verified"
	Signed      Outcome = "signed"
)

// Entry is one outcome as people read it: what happened and what to do, in
// Japanese and English. {tries} in JA and EN stands for the tries left.
type Entry struct {
	// Kind is the flash kind: "ok", "warn" or "error".
	Kind       string
	JA, EN     string
	DoJA, DoEN string
	// Retry says whether the person may try again at this terminal with
	// this card; when false the flow ends with "remove the card".
	Retry bool
	// Anchor is the HTML id of the explanation on a screen.
	Anchor string
}

// The advice at the municipal counter, said alike for both PINs.
const (
	counterResetJA = "住所地の市区町村の窓口で暗証番号の初期化・再設定を受けてください。カードと本人確認書類をお持ちください。新しい暗証番号は窓口のPINパッドでご自身が入力します。"
	counterResetEN = "Have it reset at the municipal counter of your address; bring the card and proof of identity. You type the new PIN yourself on the PIN pad at the counter."
	againJA        = "もう一度入力してください（回数は減っていません）。"
	againEN        = "Enter it again (no try was used)."
	laterJA        = "しばらくしてからもう一度お試しください。"
	laterEN        = "Try again shortly."
)

// outcomes is the table.
var outcomes = map[Outcome]Entry{
	NoCard: {Kind: "error", JA: "カードがリーダーにありません。", EN: "There is no card on the reader.",
		DoJA: "カードをリーダーに置いてください。", DoEN: "Place your card on the reader.", Retry: true, Anchor: "no-card"},
	CardUnreadable: {Kind: "error", JA: "カードを読み取れませんでした。", EN: "The card could not be read.",
		DoJA: "カードを置き直してください。", DoEN: "Place the card again.", Retry: true, Anchor: "read-error"},
	NoAuthCert: {Kind: "error", JA: "このカードには利用者証明用電子証明書がありません。", EN: "This card has no user authentication certificate.",
		DoJA: "住所地の市区町村の窓口で電子証明書の発行を受けてください。", DoEN: "Get one at the municipal counter of your address.", Anchor: "no-cert"},
	NoSignCert: {Kind: "error", JA: "このカードには署名用電子証明書がありません。", EN: "This card has no signing certificate.",
		DoJA: "住所地の市区町村の窓口で電子証明書の発行を受けてください。", DoEN: "Get one at the municipal counter of your address.", Anchor: "no-sign-cert"},
	PINFormat: {Kind: "error", JA: "暗証番号は数字4桁です。", EN: "The PIN is 4 digits.",
		DoJA: againJA, DoEN: againEN, Retry: true, Anchor: "pin-format"},
	WrongPIN: {Kind: "error", JA: "暗証番号が違います。{tries}", EN: "Wrong PIN. {tries}",
		DoJA: "正しい暗証番号を入力してください。", DoEN: "Enter the right PIN.", Retry: true, Anchor: "wrong-pin"},
	LastTry: {Kind: "warn", JA: "あと1回間違えるとロックされます。", EN: "One more wrong try blocks it.",
		DoJA: "暗証番号に心当たりがなければ入力せず、住所地の市区町村の窓口で再設定を受けてください。",
		DoEN: "If you are not sure of it, do not enter it: have it reset at the municipal counter of your address.", Retry: true, Anchor: "last-try"},
	PINBlocked: {Kind: "error", JA: "利用者証明用電子証明書の暗証番号（数字4桁）が、続けて間違えたためロックされています。",
		EN:   "The 4-digit PIN of the authentication certificate is blocked after wrong tries.",
		DoJA: counterResetJA, DoEN: counterResetEN, Anchor: "blocked"},
	SignFormat: {Kind: "error", JA: "署名用電子証明書の暗証番号は、英大文字と数字の6〜16文字です。", EN: "The signing password is 6 to 16 capital letters and digits.",
		DoJA: againJA, DoEN: againEN, Retry: true, Anchor: "sign-format"},
	SignWrong: {Kind: "error", JA: "署名用電子証明書の暗証番号が違います。{tries}", EN: "Wrong signing password. {tries}",
		DoJA: "正しい暗証番号を入力してください。", DoEN: "Enter the right password.", Retry: true, Anchor: "sign-wrong"},
	SignLastTry: {Kind: "warn", JA: "あと1回間違えるとロックされます。", EN: "One more wrong try blocks it.",
		DoJA: "暗証番号に心当たりがなければ入力せず、住所地の市区町村の窓口で再設定を受けてください。",
		DoEN: "If you are not sure of it, do not enter it: have it reset at the municipal counter of your address.", Retry: true, Anchor: "sign-last-try"},
	SignBlocked: {Kind: "error", JA: "署名用電子証明書の暗証番号（英数字6〜16文字）が、続けて間違えたためロックされています。",
		EN:   "The signing password (6–16 letters and digits) is blocked after wrong tries.",
		DoJA: counterResetJA, DoEN: counterResetEN, Anchor: "sign-blocked"},
	Revoked: {Kind: "error", JA: "このカードの電子証明書は失効しているため、使えません。", EN: "This card's certificate is revoked, so it cannot be used.",
		DoJA: "住所地の市区町村の窓口にお問い合わせください。", DoEN: "Ask at the municipal counter of your address.", Anchor: "refused"},
	Expired: {Kind: "error", JA: "このカードの電子証明書は有効期限が切れているため、使えません。", EN: "This card's certificate has expired, so it cannot be used.",
		DoJA: "住所地の市区町村の窓口で電子証明書を更新してください。", DoEN: "Renew it at the municipal counter of your address.", Anchor: "refused"},
	NotYetValid: {Kind: "error", JA: "このカードの電子証明書は、まだ有効期間に入っていません。", EN: "This card's certificate is not valid yet.",
		DoJA: "有効期間が始まってからお使いください。", DoEN: "Use it once its validity has begun.", Anchor: "refused"},
	UnknownIssuer: {Kind: "error", JA: "このカードの電子証明書は、公的個人認証サービスの利用者証明用電子証明書として確認できません。",
		EN:   "This card's certificate is not a JPKI user authentication certificate.",
		DoJA: "住所地の市区町村の窓口にお問い合わせください。", DoEN: "Ask at the municipal counter of your address.", Anchor: "refused"},
	BadSignature: {Kind: "error", JA: "カードの署名を確認できませんでした。", EN: "The card's signature could not be verified.",
		DoJA: "カードを置き直して、もう一度お試しください。", DoEN: "Place the card again and retry.", Retry: true, Anchor: "bad-signature"},
	Malformed: {Kind: "error", JA: "カードの電子証明書または署名の形式が正しくありません。", EN: "The card's certificate or signature is malformed.",
		DoJA: "カードを置き直して、もう一度お試しください。", DoEN: "Place the card again and retry.", Retry: true, Anchor: "malformed"},
	ChallengeGone: {Kind: "warn", JA: "時間切れのため、本人確認をやり直します。", EN: "The check timed out and starts again.",
		DoJA: "もう一度暗証番号を入力してください。", DoEN: "Enter your PIN again.", Retry: true, Anchor: "challenge"},
	Indeterminate: {Kind: "warn", JA: "電子証明書が失効していないことを確認できないため、本人確認を完了できませんでした。",
		EN:   "Whether the certificate is revoked cannot be checked now, so the check could not be completed.",
		DoJA: laterJA, DoEN: laterEN, Retry: true, Anchor: "indeterminate"},
	Unreachable: {Kind: "error", JA: "本人確認サービスに接続できませんでした。", EN: "The authentication service could not be reached.",
		DoJA: laterJA, DoEN: laterEN, Retry: true, Anchor: "unreachable"},
	TerminalRefused: {Kind: "error", JA: "この端末は現在ご利用いただけません。", EN: "This terminal is out of service.",
		DoJA: "係員または設置者にお知らせください。", DoEN: "Please tell the staff or the terminal's operator.", Anchor: "terminal-refused"},
	PurposeRefused: {Kind: "error", JA: "この用途では、このカードで本人確認できません。", EN: "The card cannot be used for this purpose.",
		DoJA: "係員にお知らせください。", DoEN: "Please tell the staff.", Anchor: "refused"},
	LoginExpired: {Kind: "warn", JA: "時間が経ったため、本人確認の有効期限が切れました。", EN: "Some time has passed and the login expired.",
		DoJA: "もう一度暗証番号を入力してください。", DoEN: "Enter your PIN again.", Retry: true, Anchor: "login-expired"},
	RateLimited: {Kind: "warn", JA: "試行の回数が多すぎるため、受け付けを一時停止しています。", EN: "Too many tries, so tries are paused.",
		DoJA: "{seconds}秒後にもう一度お試しください。", DoEN: "Try again in {seconds} seconds.", Retry: true, Anchor: "rate-limited"},
	Verified: {Kind: "ok", JA: "本人確認ができました。", EN: "You are verified.", Retry: true, Anchor: "logged-in"},
	Signed:   {Kind: "ok", JA: "カードで署名しました。", EN: "The card signed.", Retry: true, Anchor: "signed"},
}

// Outcomes are every outcome, for tests and documentation.
func Outcomes() []Outcome {
	return []Outcome{NoCard, CardUnreadable, NoAuthCert, NoSignCert, PINFormat, WrongPIN, LastTry, PINBlocked,
		SignFormat, SignWrong, SignLastTry, SignBlocked, Revoked, Expired, NotYetValid, UnknownIssuer, BadSignature,
		Malformed, ChallengeGone, Indeterminate, Unreachable, TerminalRefused, PurposeRefused, LoginExpired, RateLimited, Verified, Signed}
}

// Entry is the outcome's table entry.
func (o Outcome) Entry() Entry { return outcomes[o] }

// Result is an outcome with what it needs to be told: the tries left of a
// wrong PIN.
type Result struct {
	Outcome   Outcome
	TriesLeft int
	// Wrong is set when the result is a wrong PIN (not the warning before
	// one is entered).
	Wrong bool
	// Report is the platform's answer, when it answered (Kit.Login).
	Report *platform.Report
	// RetryAfter is how long a RateLimited try must wait.
	RetryAfter time.Duration
}

// Of maps what a step of the card flow ended with — the card's error for
// the PIN pin (card.AuthPIN for the login, card.SignPIN for the signing
// step), the platform client's error, or the platform's report — to its
// outcome. A nil error with a PASSED report (or no report, at the signing
// step) is Verified (Signed).
func Of(pin card.PIN, err error, rep *platform.Report) Result {
	sign := pin == card.SignPIN
	pick := func(auth, sig Outcome) Outcome {
		if sign {
			return sig
		}
		return auth
	}
	var pe *card.PINError
	switch {
	case err == nil && rep == nil:
		return Result{Outcome: pick(Verified, Signed)}
	case err == nil:
		return Result{Outcome: ofReport(rep)}
	case errors.Is(err, ErrNoCard):
		return Result{Outcome: NoCard}
	case errors.Is(err, card.ErrPINFormat):
		return Result{Outcome: pick(PINFormat, SignFormat)}
	case errors.Is(err, card.ErrPINBlocked):
		return Result{Outcome: pick(PINBlocked, SignBlocked)}
	case errors.As(err, &pe) && pe.TriesLeft == 1:
		return Result{Outcome: pick(LastTry, SignLastTry), TriesLeft: 1, Wrong: true}
	case errors.As(err, &pe):
		return Result{Outcome: pick(WrongPIN, SignWrong), TriesLeft: pe.TriesLeft, Wrong: true}
	case errors.Is(err, ErrNoCertificate):
		return Result{Outcome: NoAuthCert}
	case errors.Is(err, card.ErrNotFound):
		return Result{Outcome: pick(NoAuthCert, NoSignCert)}
	case errors.Is(err, ratelimit.ErrLimited):
		d, _ := ratelimit.After(err)
		return Result{Outcome: RateLimited, RetryAfter: d}
	case errors.Is(err, platform.ErrTerminalDisabled), errors.Is(err, platform.ErrUnknownTerminal):
		return Result{Outcome: TerminalRefused}
	case errors.Is(err, platform.ErrBadAssertion):
		return Result{Outcome: LoginExpired}
	case errors.Is(err, platform.ErrPlatformUnavailable), errors.Is(err, context.DeadlineExceeded):
		return Result{Outcome: Unreachable}
	}
	// Anything else is the card or the reader failing mid-way.
	return Result{Outcome: CardUnreadable}
}

// ofReport is the outcome of the platform's answer.
func ofReport(rep *platform.Report) Outcome {
	if rep.Result == platform.Passed {
		return Verified
	}
	switch rep.Reason {
	case platform.ReasonRevoked:
		return Revoked
	case platform.ReasonExpired:
		return Expired
	case platform.ReasonNotYetValid:
		return NotYetValid
	case platform.ReasonUnknownIssuer:
		return UnknownIssuer
	case platform.ReasonBadSignature:
		return BadSignature
	case platform.ReasonUnknownChallenge, platform.ReasonExpiredChallenge, platform.ReasonReplayed:
		return ChallengeGone
	case platform.ReasonNoRevocationData, platform.ReasonNoLinkage:
		return Indeterminate
	case platform.ReasonMalformed:
		if rep.Detail == "purpose" {
			return PurposeRefused
		}
		return Malformed
	}
	// An answer this terminal does not know is never a pass.
	if rep.Result == platform.Indeterminate {
		return Indeterminate
	}
	return Malformed
}

// Message is an outcome worded for the screen.
type Message struct {
	Outcome
	Kind       string
	JA, EN     string
	DoJA, DoEN string
	Retry      bool
	Anchor     string
}

// Message words the result.
func (r Result) Message() Message {
	e := outcomes[r.Outcome]
	m := Message{Outcome: r.Outcome, Kind: e.Kind, JA: e.JA, EN: e.EN, DoJA: e.DoJA, DoEN: e.DoEN, Retry: e.Retry, Anchor: e.Anchor}
	if m.Kind == "" {
		m.Kind = "error"
	}
	switch r.Outcome {
	case LastTry, SignLastTry:
		// After a wrong try it is said with the wrong-PIN sentence first.
		if r.Wrong {
			w := outcomes[map[Outcome]Outcome{LastTry: WrongPIN, SignLastTry: SignWrong}[r.Outcome]]
			m.JA = strings.ReplaceAll(w.JA, "{tries}", e.JA)
			m.EN = strings.ReplaceAll(w.EN, "{tries}", e.EN)
		}
	case RateLimited:
		n := strconv.Itoa(ratelimit.Seconds(r.RetryAfter))
		m.DoJA = strings.ReplaceAll(m.DoJA, "{seconds}", n)
		m.DoEN = strings.ReplaceAll(m.DoEN, "{seconds}", n)
	case WrongPIN, SignWrong:
		n := strconv.Itoa(r.TriesLeft)
		m.JA = strings.ReplaceAll(m.JA, "{tries}", "残り "+n+" 回です。")
		m.EN = strings.ReplaceAll(m.EN, "{tries}", n+" tries left.")
	}
	return m
}

// Flash is the message as a one-time message on the next screen: what
// happened, then what to do.
func (m Message) Flash() web.Flash {
	return web.Flash{Kind: m.Kind, JA: join(m.JA, m.DoJA, ""), EN: join(m.EN, m.DoEN, " ")}
}

func join(a, b, sep string) string {
	if b == "" {
		return a
	}
	return a + sep + b
}

// Flash is the result's message as a flash.
func (r Result) Flash() web.Flash { return r.Message().Flash() }

// Passed reports whether the result lets the flow go on.
func (r Result) Passed() bool { return r.Outcome == Verified || r.Outcome == Signed }
