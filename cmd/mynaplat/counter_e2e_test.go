package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// counterFlow: at the municipal counter (/counter/, the counter role) a
// clerk issues a card to a new resident of 須坂市, renews it and records
// its loss. Each step goes from the counter's pages to the JPKI centre over
// the counter API, across processes in the split topology.
func counterFlow(t *testing.T, r *flowRun) outcome {
	u := r.tp.at(roleCounter)
	r.do("the issue form", chromedp.Navigate(u+"/counter/issue"), chromedp.WaitVisible(css("#f-name")),
		chromedp.SendKeys(css("#f-name"), "窓口 太郎"), chromedp.SendKeys(css("#f-kana"), "マドグチ タロウ"),
		chromedp.SendKeys(css("#f-birth"), "1990-04-01"), chromedp.Click(css(`input[name=sex][value="1"]`)),
		chromedp.SendKeys(css("#f-address"), "長野県須坂市大字須坂１番地"), chromedp.SetValue(css("#f-municipality"), "202070"),
		chromedp.SendKeys(css("#f-auth_pin"), "2468"), chromedp.SendKeys(css("#f-sign_pin"), "COUNTER1"))
	r.do("issue", chromedp.Click(css(`form[action="/counter/issue"] button[type=submit]`)), chromedp.WaitVisible(css(".flash")))
	o := outcome{"issued": has(r.text(".flash"), "カードを発行しました", "利用者証明用電子証明書 シリアル", "署名用電子証明書 シリアル")}
	r.shot("counter-1-issued")
	loc, err := chromedp.Run(r.ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	// act opens the card page afresh (its flash is shown once), opens the
	// action's panel and submits it.
	act := func(name, action string) string {
		r.do(name, chromedp.Navigate(loc), chromedp.WaitVisible(css("details.action")),
			chromedp.Click(css(`details:has(form[action$="/`+action+`"]) > summary`)),
			chromedp.Click(css(`form[action$="/`+action+`"] button[type=submit]`)), chromedp.WaitVisible(css(".flash")))
		return r.text(".flash")
	}
	o["renewed"] = has(act("renew", "renew"), "電子証明書を更新しました", "superseded")
	r.shot("counter-2-renewed")
	lost := act("loss", "loss")
	o["lost"] = has(lost, "紛失の届出を受け付け", "keyCompromise")
	o["lost certificates"] = strings.Repeat("serial ", strings.Count(lost, "シリアル"))
	r.shot("counter-3-lost")
	for k, v := range o {
		if k != "lost certificates" && v != "yes" {
			t.Errorf("counter at %s: %s %s", r.tp.name, k, v)
		}
	}
	return o
}
