package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/internal/browsertest"
	"github.com/mynaplat/mynaplat/staff"
)

// TestCounterClerkDay is the README's "A clerk's day at the JPKI counter":
// 日和山 翼, clerk of 酒田市's counter, signs in with his own card at the
// staff terminal and issues a card. 本間 光's authentication PIN is
// blocked: the kiosk sends her to the counter, where 日和山 prepares the
// reset (her card on the reader), tries to approve it himself and is
// refused, and 山居 節子, the supervisor, approves it with her card; then
// 本間 types a new PIN twice on the counter's pad and logs in with it at
// the kiosk, where her audit page (/me/audit) shows the counter's office
// and the clerk's staff number, not his name. Last, 山居 approves the
// revocation of the new card's signing certificate, which runs once.
func TestCounterClerkDay(t *testing.T) {
	tp := oneProcess(t, buildBinary(t))
	r := newFlowRun(t, tp)
	u := tp.at(roleCounter)
	clerkCard, clerkPIN := demoCounterStaff(t, tp.bin, tp.data, staff.CounterClerk)
	superCard, superPIN := demoCounterStaff(t, tp.bin, tp.data, staff.CounterSupervisor)

	// Signed in with his card: the strip names him.
	r.do("the clerk signs in", staffCardSignIn(u, "/counter/", clerkCard, clerkPIN)...)
	if got := has(r.text("#staff-strip"), "日和山　翼", "窓口担当（電子証明書）", "C-062049-01"); got != "yes" {
		t.Errorf("staff strip: %s", got)
	}
	r.shot("day-1-signed-in")

	// A new card for a resident of 酒田市.
	r.do("issue", chromedp.Navigate(u+"/counter/issue"), chromedp.WaitVisible(css("#f-name")),
		chromedp.SendKeys(css("#f-name"), "山居 一郎"), chromedp.SendKeys(css("#f-kana"), "サンキョ イチロウ"),
		chromedp.SendKeys(css("#f-birth"), "1985-07-07"), chromedp.Click(css(`input[name=sex][value="1"]`)),
		chromedp.SendKeys(css("#f-address"), "山形県酒田市山居町二丁目１番地"), chromedp.SetValue(css("#f-municipality"), "062049"),
		chromedp.SendKeys(css("#f-auth_pin"), "1357"), chromedp.SendKeys(css("#f-sign_pin"), "SANKYO85"),
		chromedp.Click(css(`form[action="/counter/issue"] button[type=submit]`)), chromedp.WaitVisible(css(".flash")))
	if got := has(r.text(".flash"), "カードを発行しました", "署名用電子証明書 シリアル"); got != "yes" {
		t.Errorf("issued: %s", got)
	}
	newCard, err := chromedp.Run(r.ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	r.shot("day-2-issued")

	// 本間 光's blocked PIN, at the kiosk first.
	id := r.card("本間　光")
	kiosk, desk := tp.at(roleTerminals)+"/t/kiosk-suzaka-1/", u+"/counter/cards/"+id
	r.do("the blocked card at the kiosk", chromedp.Navigate(kiosk), chromedp.WaitVisible(css("#place")),
		chromedp.SetValue(css("#card"), id), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#blocked")))
	if got := has(r.text("#blocked"), "ロックされています", "窓口で暗証番号の初期化・再設定", "窓口のPINパッド"); got != "yes" {
		t.Errorf("blocked screen: %s", got)
	}
	r.do("remove the card", chromedp.Click(css("#remove")), chromedp.WaitVisible(css("#place")))

	r.do("prepare the PIN reset", chromedp.Navigate(desk), chromedp.WaitVisible(css("details#pin-reset")),
		chromedp.Click(css("details#pin-reset > summary")), chromedp.SetValue(css("#p-which"), "auth"),
		chromedp.Click(css(`form:has(#pin-request) input[name=identity][value=card]`)),
		chromedp.Click(css("#pin-request")), chromedp.WaitVisible(css("#awaiting-approval")))
	if got := has(r.text("#request"), "利用者証明用電子証明書の暗証番号の初期化・再設定", "本人のカード", "日和山　翼"); got != "yes" {
		t.Errorf("the request: %s", got)
	}
	r.shot("day-3-request")
	request, err := chromedp.Run(r.ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	// The clerk's own card does not approve his request.
	steps := staffCardApprove(clerkCard, clerkPIN)
	r.do("the clerk tries to approve", append(steps, chromedp.WaitVisible(css("#refusal")))...)
	if code := r.attr("#refusal", "data-code"); code != "staff_self_approval" {
		t.Errorf("self-approval refused with %q", code)
	}
	if got := has(r.text("main"), "承認できませんでした", "自分の申請を承認できません"); got != "yes" {
		t.Errorf("self-approval page: %s", got)
	}
	r.shot("day-4-self-approval")
	// The supervisor asks again from the request and approves with her card.
	r.do("back to the request", chromedp.Navigate(request), chromedp.WaitVisible(css("#request")))
	r.do("the supervisor approves", staffCardApprove(superCard, superPIN)...)
	r.do("approved", chromedp.WaitVisible(css("#approved")))
	if got := has(r.text("#approved"), "山居　節子", "C-062049-90"); got != "yes" {
		t.Errorf("approval: %s", got)
	}
	r.shot("day-5-approved")
	r.do("turn the pad to the holder", chromedp.Click(css("#pin-pad-open")), chromedp.WaitVisible(css("#pin-step")))
	if got := has(r.text("#pin-step"), "新しい暗証番号を2回入力してください", "0 / 3"); got != "yes" {
		t.Errorf("PIN pad screen: %s", got)
	}
	// The new PIN on the pad, then the confirmation: the pad moves on to
	// the second field by itself once the first is full.
	r.do("type the new PIN twice", browsertest.PinPad("2580"),
		chromedp.Click(css(`.pinpad button[data-key="2"]`)), chromedp.Click(css(`.pinpad button[data-key="5"]`)),
		chromedp.Click(css(`.pinpad button[data-key="8"]`)), chromedp.Click(css(`.pinpad button[data-key="0"]`)),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			pin, err := chromedp.Value(css("#pin"))(ctx, tg)
			if err != nil {
				return err
			}
			confirm, err := chromedp.Value(css("#pin_confirm"))(ctx, tg)
			if err != nil {
				return err
			}
			if pin != "2580" || confirm != "2580" {
				return fmt.Errorf("the fields hold %q and %q, want 2580 twice", pin, confirm)
			}
			return nil
		}),
		chromedp.Click(css("#set-pin")), chromedp.WaitVisible(css("#holder")), chromedp.WaitVisible(css(".flash")))
	if got := has(r.text(".flash"), "利用者証明用電子証明書の暗証番号を再設定しました", "残り回数は3回に戻りました", "山居　節子"); got != "yes" {
		t.Errorf("counter flash: %s", got)
	}
	r.shot("day-6-pin-reset")
	r.do("log in with the new PIN", chromedp.Navigate(kiosk), chromedp.WaitVisible(css("#place")),
		chromedp.SetValue(css("#card"), id), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")))
	if got := r.text("#tries-left"); got != "3" {
		t.Errorf("tries left after the reset: %q, want 3", got)
	}
	r.do("the new PIN", browsertest.PinPad("2580"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#platform-id")))
	if got := has(r.text("#result"), "本人確認ができました"); got != "yes" {
		t.Errorf("login: %s", got)
	}
	// Her audit page: the counter's history names the office and the
	// clerk's and the supervisor's staff numbers, never their names.
	r.do("her audit page", chromedp.Navigate(tp.at(roleTerminals)+"/me/audit"), chromedp.WaitVisible(css(".history-staff-number")))
	page := r.text("main")
	_, counterPart, _ := strings.Cut(page, "電子証明書の窓口")
	if got := has(counterPart, "山形県酒田市 電子証明書窓口 · 職員番号 C-062049-01", "利用者証明用電子証明書の暗証番号の初期化・再設定",
		"責任者 職員番号 C-062049-90 の承認", "カードの記録の閲覧"); got != "yes" {
		t.Errorf("/me/audit, the JPKI counter's history: %s", got)
	}
	for _, name := range []string{"日和山", "節子"} {
		if strings.Contains(page, name) {
			t.Errorf("/me/audit names the staff (%s):\n%s", name, page)
		}
	}
	r.shot("day-6b-her-audit")

	// The revocation of the new card's signing certificate, approved.
	r.do("prepare the revocation", chromedp.Navigate(newCard), chromedp.WaitVisible(css("details#revoke-one")),
		chromedp.Click(css("details#revoke-one > summary")), chromedp.SetValue(css("#r-reason"), "keyCompromise"),
		chromedp.Click(css(`form:has(#revoke-request) input[name=identity][value=documents]`)),
		chromedp.Click(css("#revoke-request")), chromedp.WaitVisible(css("#awaiting-approval")))
	r.do("the supervisor approves the revocation", staffCardApprove(superCard, superPIN)...)
	r.do("run the revocation", chromedp.WaitVisible(css("#approved")), chromedp.Click(css("#request-run")), chromedp.WaitVisible(css("#holder")), chromedp.WaitVisible(css(".flash")))
	if got := has(r.text(".flash"), "を失効しました", "keyCompromise", "山居　節子"); got != "yes" {
		t.Errorf("revocation flash: %s", got)
	}
	if got := has(r.text("main table"), "失効"); got != "yes" {
		t.Errorf("the certificates: %s", got)
	}
	r.shot("day-7-revoked")
}
