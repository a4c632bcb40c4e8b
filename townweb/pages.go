package townweb

import (
	"errors"
	"net/http"
	"slices"

	"github.com/mynaplat/mynaplat/web"
)

// problemProvider is the provider not answering.
var problemProvider = web.Problem{Status: http.StatusBadGateway,
	TitleJA: "ログインの窓口につながりません", TitleEN: "The login service is not answering",
	WhatJA: "マイナンバーカードでのログインを受け付けるサービス（デジタル認証アプリ）に、いまつながりません。",
	WhatEN: "The service that handles My Number Card logins (the digital authentication app) cannot be reached now.",
	DoJA:   "しばらくしてから、もう一度ログインしてください。お知らせは、ログインしなくても見られます。",
	DoEN:   "Please log in again in a while. The notices can be read without logging in."}

// refusal is what the refusal page says: why, in both languages, and what
// to do; Code is the provider's error (and outcome code), shown for the
// record.
type refusal struct {
	Code                       string
	TitleJA, TitleEN           string
	WhatJA, WhatEN, DoJA, DoEN string
	Retry                      bool
}

// refusalFor words a refused login: the provider's error and its
// error_description, which for a card refusal is the card outcome code
// (docs/oidc-provider.md §3 row 9), or the site's own reasons.
func refusalFor(code, desc string) refusal {
	rf := refusal{Code: code, Retry: true, TitleJA: "ログインできませんでした", TitleEN: "You could not log in"}
	if desc != "" {
		rf.Code = code + " / " + desc
	}
	switch {
	case code == "access_denied" && desc == "revoked":
		rf.WhatJA, rf.WhatEN = "このカードの電子証明書は失効しています（紛失の届出などによるもの）。失効したカードではログインできません。",
			"The certificates of this card are revoked (for example after it was reported lost). A revoked card cannot log in."
		rf.DoJA, rf.DoEN = "お住まいの市区町村の窓口で、電子証明書の再発行を受けてください。", "Ask your town hall's counter to issue new certificates."
		rf.Retry = false
	case code == "access_denied" && desc == "expired":
		rf.WhatJA, rf.WhatEN = "このカードの電子証明書は有効期限が切れています。", "The certificates of this card have expired."
		rf.DoJA, rf.DoEN = "市区町村の窓口で電子証明書を更新してください。", "Renew the certificates at your town hall's counter."
		rf.Retry = false
	case code == "access_denied" && (desc == "pin_blocked" || desc == "sign_blocked"):
		rf.WhatJA, rf.WhatEN = "暗証番号を続けて間違えたため、カードがロックされています。", "The card is locked after too many wrong PINs."
		rf.DoJA, rf.DoEN = "市区町村の窓口で、暗証番号の再設定を受けてください。", "Ask your town hall's counter to reset the PIN."
		rf.Retry = false
	case code == "access_denied" && desc == "consent_refused":
		rf.TitleJA, rf.TitleEN = "ログインを中止しました", "You cancelled the login"
		rf.WhatJA, rf.WhatEN = "デジタル認証アプリでログインが中止されました。市のサイトには何も伝わっていません。",
			"The login was cancelled at the digital authentication app. Nothing was passed to the city's site."
		rf.DoJA, rf.DoEN = "ログインするときは、もう一度ボタンを押してください。", "To log in, press the button again."
	case code == "access_denied":
		rf.WhatJA, rf.WhatEN = "マイナンバーカードの確認ができませんでした。", "Your My Number Card could not be verified."
		rf.DoJA, rf.DoEN = "カードを確かめて、もう一度お試しください。続くときは市区町村の窓口にご相談ください。",
			"Check the card and try again. If it keeps happening, ask your town hall's counter."
	case code == "temporarily_unavailable":
		rf.WhatJA, rf.WhatEN = "カードの失効情報をいま確認できないため、ログインを受け付けられませんでした。",
			"Whether the card is revoked cannot be checked right now, so the login was not accepted."
		rf.DoJA, rf.DoEN = "しばらくしてから、もう一度ログインしてください。", "Please log in again in a while."
	case code == "state_mismatch":
		rf.WhatJA, rf.WhatEN = "このブラウザで始めたログインの応答ではありませんでした（古い画面や、別の画面からの戻りなど）。安全のため使いませんでした。",
			"The answer did not belong to a login started in this browser (an old tab, or another window). For safety it was not used."
		rf.DoJA, rf.DoEN = "もう一度ログインしてください。", "Please log in again."
	case code == "token":
		rf.WhatJA, rf.WhatEN = "ログインの確認（トークンの受け取りと検証）に失敗しました。", "Confirming the login (receiving and checking the tokens) failed."
		rf.DoJA, rf.DoEN = "もう一度ログインしてください。続くときは市にお問い合わせください。", "Please log in again. If it keeps happening, contact the city."
	default:
		rf.WhatJA, rf.WhatEN = "ログインの窓口がログインを受け付けませんでした。", "The login service did not accept the login."
		rf.DoJA, rf.DoEN = "もう一度ログインしてください。", "Please log in again."
	}
	return rf
}

func (t *Town) showRefusal(w http.ResponseWriter, r *http.Request, status int, rf refusal) {
	t.pages.Render(w, r, status, "refused", rf)
}

// resident is the logged-in resident of the session: their sub and the
// name the provider gave, if any ("" when not logged in).
func (t *Town) resident(w http.ResponseWriter, r *http.Request) (sub, name string, ss *web.Session, ok bool) {
	ss, err := t.site.Session(w, r)
	if err != nil {
		t.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return "", "", nil, false
	}
	return ss.Get(keySub), ss.Get(keyName), ss, true
}

// topicName is a topic's name in both languages.
type topicName struct{ JA, EN string }

func (t *Town) topicNames(r *http.Request) (map[string]topicName, []Topic, error) {
	tps, err := t.Topics(r.Context())
	if err != nil {
		return nil, nil, err
	}
	m := map[string]topicName{}
	for _, tp := range tps {
		m[tp.ID] = topicName{tp.NameJA, tp.NameEN}
	}
	return m, tps, nil
}

// top is the public page: the newest notices and the login button.
func (t *Town) top(w http.ResponseWriter, r *http.Request) {
	sub, name, _, ok := t.resident(w, r)
	if !ok {
		return
	}
	ns, err := t.PublicNotices(r.Context(), 10)
	names, _, err2 := t.topicNames(r)
	if err = errors.Join(err, err2); err != nil {
		t.log.ErrorContext(r.Context(), "townweb: top", "err", err)
		t.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	t.pages.Render(w, r, http.StatusOK, "top", struct {
		LoggedIn bool
		Name     string
		Notices  []Notice
		Topics   map[string]topicName
	}{sub != "", name, ns, names})
}

// my is "my notices": those of the topics followed.
func (t *Town) my(w http.ResponseWriter, r *http.Request) {
	sub, name, _, ok := t.resident(w, r)
	if !ok {
		return
	}
	if sub == "" {
		http.Redirect(w, r, Home, http.StatusSeeOther)
		return
	}
	ctx := r.Context()
	ns, err := t.MyNotices(ctx, sub)
	follows, err2 := t.Follows(ctx, sub)
	names, _, err3 := t.topicNames(r)
	if err = errors.Join(err, err2, err3); err != nil {
		t.log.ErrorContext(ctx, "townweb: my notices", "err", err)
		t.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	// The logout form's answer goes on to the provider's end-session
	// endpoint, at another host when the site is apart from it.
	if err := web.AllowFormAction(w, t.cfg.Issuer); err != nil {
		t.log.ErrorContext(ctx, "townweb: form action", "err", err)
	}
	unread := 0
	for _, n := range ns {
		if !n.Read {
			unread++
		}
	}
	t.pages.Render(w, r, http.StatusOK, "my", struct {
		Name    string
		Notices []Notice
		Follows []string
		Topics  map[string]topicName
		Unread  int
	}{name, ns, follows, names, unread})
}

// topicChoice is one topic on the topics page.
type topicChoice struct {
	Topic
	Followed bool
}

// topics is the page to choose the topics followed.
func (t *Town) topics(w http.ResponseWriter, r *http.Request) {
	sub, _, _, ok := t.resident(w, r)
	if !ok {
		return
	}
	if sub == "" {
		http.Redirect(w, r, Home, http.StatusSeeOther)
		return
	}
	_, tps, err := t.topicNames(r)
	follows, err2 := t.Follows(r.Context(), sub)
	if err = errors.Join(err, err2); err != nil {
		t.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	var cs []topicChoice
	for _, tp := range tps {
		cs = append(cs, topicChoice{tp, slices.Contains(follows, tp.ID)})
	}
	t.pages.Render(w, r, http.StatusOK, "topics", cs)
}

// saveTopics stores the topics chosen.
func (t *Town) saveTopics(w http.ResponseWriter, r *http.Request) {
	sub, _, ss, ok := t.resident(w, r)
	if !ok {
		return
	}
	if sub == "" {
		http.Redirect(w, r, Home, http.StatusSeeOther)
		return
	}
	if err := r.ParseForm(); err != nil {
		t.site.Error(w, r, web.Problem{Status: http.StatusBadRequest})
		return
	}
	err := t.SetFollows(r.Context(), sub, r.PostForm["topic"])
	switch {
	case errors.Is(err, ErrUnknownTopic):
		t.site.Error(w, r, web.Problem{Status: http.StatusBadRequest, TitleJA: "その分野はありません", TitleEN: "No such topic",
			WhatJA: "選ばれた分野のなかに、市のサイトにないものがありました。何も変えていません。",
			WhatEN: "One of the topics chosen is not one of the city's. Nothing was changed.",
			DoJA:   "分野の選択画面から選び直してください。", DoEN: "Choose again on the topics page."})
		return
	case err != nil:
		t.log.ErrorContext(r.Context(), "townweb: topics", "err", err)
		t.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	ss.SetFlash(web.Flash{Kind: "ok", JA: "受け取る分野を保存しました。", EN: "Your topics are saved."})
	if err := ss.Save(r.Context()); err != nil {
		t.log.ErrorContext(r.Context(), "townweb: flash", "err", err)
	}
	http.Redirect(w, r, Home+"my", http.StatusSeeOther)
}

// markRead marks a notice read.
func (t *Town) markRead(w http.ResponseWriter, r *http.Request) {
	sub, _, _, ok := t.resident(w, r)
	if !ok {
		return
	}
	if sub == "" {
		http.Redirect(w, r, Home, http.StatusSeeOther)
		return
	}
	switch err := t.MarkRead(r.Context(), sub, r.PathValue("id")); {
	case errors.Is(err, ErrNoNotice):
		t.site.Error(w, r, web.Problem{Status: http.StatusNotFound, TitleJA: "そのお知らせはありません", TitleEN: "No such notice",
			WhatJA: "お知らせが見つかりませんでした。", WhatEN: "The notice was not found.",
			DoJA: "「わたしのお知らせ」に戻ってください。", DoEN: "Go back to My notices."})
		return
	case err != nil:
		t.log.ErrorContext(r.Context(), "townweb: mark read", "err", err)
		t.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	http.Redirect(w, r, Home+"my#"+r.PathValue("id"), http.StatusSeeOther)
}

// loggedOut is where the provider sends the resident back after logout.
func (t *Town) loggedOut(w http.ResponseWriter, r *http.Request) {
	_, _, ss, ok := t.resident(w, r)
	if !ok {
		return
	}
	ss.SetFlash(web.Flash{Kind: "ok", JA: "ログアウトしました。", EN: "You are logged out."})
	if err := ss.Save(r.Context()); err != nil {
		t.log.ErrorContext(r.Context(), "townweb: flash", "err", err)
	}
	http.Redirect(w, r, Home, http.StatusSeeOther)
}
