package townweb

import (
	"context"
	"net/http"
	"slices"

	"github.com/mynaplat/mynaplat/internal/oidcrp"
	"github.com/mynaplat/mynaplat/web"
)

// The session keys of a login in flight and of a logged-in resident. The
// session is the site's (web.Site), server-side; these are the site's own
// keys in it.
const (
	keyState    = "townweb.state"
	keyNonce    = "townweb.nonce"
	keyVerifier = "townweb.verifier"
	keySub      = "townweb.sub"
	keyIDToken  = "townweb.id_token"
	keyName     = "townweb.name"
)

// ErrProvider is the provider not answering, or not as a provider should.
var ErrProvider = oidcrp.ErrProvider

// startLogin sends the browser to the provider's authorization endpoint
// with a fresh state, nonce and PKCE verifier kept in the session.
func (t *Town) startLogin(w http.ResponseWriter, r *http.Request) {
	f, err := t.rp.Start(r.Context(), t.cfg.Scopes, web.Lang(r) == "en", nil)
	if err != nil {
		t.log.WarnContext(r.Context(), "townweb: login", "err", err)
		t.site.Error(w, r, problemProvider)
		return
	}
	ss, err := t.site.Session(w, r)
	if err != nil {
		t.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	ss.Set(keyState, f.State)
	ss.Set(keyNonce, f.Nonce)
	ss.Set(keyVerifier, f.Verifier)
	if err := ss.Save(r.Context()); err != nil {
		t.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	http.Redirect(w, r, f.URL, http.StatusSeeOther)
}

// callback takes the provider's answer: a refusal is shown as the site's
// refusal page; a code is exchanged, the ID token verified (signature,
// iss, aud, exp, nonce, at_hash, acr) and the resident logged in under its
// sub.
func (t *Town) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ss, err := t.site.Session(w, r)
	if err != nil {
		t.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	state, nonce, verifier := ss.Get(keyState), ss.Get(keyNonce), ss.Get(keyVerifier)
	q := r.URL.Query()
	if state == "" || q.Get("state") != state {
		// Not the answer to this browser's login: a stale tab, or someone
		// else's code pushed into this browser. It is not used.
		t.refused(ctx, "state_mismatch")
		t.showRefusal(w, r, http.StatusBadRequest, refusalFor("state_mismatch", ""))
		return
	}
	// A login's state, nonce and verifier are good once.
	ss.Delete(keyState)
	ss.Delete(keyNonce)
	ss.Delete(keyVerifier)
	if err := ss.Save(ctx); err != nil {
		t.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	if e := q.Get("error"); e != "" {
		desc := q.Get("error_description")
		t.refused(ctx, e+" "+desc)
		t.showRefusal(w, r, http.StatusOK, refusalFor(e, desc))
		return
	}
	sub, rawID, name, err := t.exchange(ctx, q.Get("code"), verifier, nonce)
	if err != nil {
		t.log.WarnContext(ctx, "townweb: login", "err", err)
		t.refused(ctx, "token")
		t.showRefusal(w, r, http.StatusBadGateway, refusalFor("token", ""))
		return
	}
	if err := t.login(ctx, sub); err != nil {
		t.log.ErrorContext(ctx, "townweb: login", "err", err)
		t.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	ss.Set(keySub, sub)
	ss.Set(keyIDToken, rawID)
	ss.Set(keyName, name)
	ss.SetFlash(web.Flash{Kind: "ok", JA: "マイナンバーカードでログインしました。", EN: "You are logged in with your My Number Card."})
	if err := ss.Save(ctx); err != nil {
		t.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	http.Redirect(w, r, Home+"my", http.StatusSeeOther)
}

// exchange redeems code at the token endpoint with the client assertion and
// the PKCE verifier, verifies the ID token and, when the provider granted
// the name scope, reads the name from UserInfo.
func (t *Town) exchange(ctx context.Context, code, verifier, nonce string) (sub, rawID, name string, err error) {
	l, err := t.rp.Exchange(ctx, code, verifier, nonce)
	if err != nil {
		return "", "", "", err
	}
	// The granted scopes may be fewer than asked: the person consents per
	// attribute. Only a granted name is read.
	if l.UserInfo != nil && slices.Contains(l.Granted, "name") {
		var uc struct {
			Name string `json:"name"`
		}
		if err := l.UserInfo.Claims(&uc); err == nil {
			name = uc.Name
		}
	}
	return l.Sub, l.RawIDToken, name, nil
}

// logout ends the resident's session here, then asks the provider to end
// its own (RP-initiated logout) with the ID token as the hint and the
// registered post-logout URI.
func (t *Town) logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ss, err := t.site.Session(w, r)
	if err != nil {
		t.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	sub, hint := ss.Get(keySub), ss.Get(keyIDToken)
	for _, k := range []string{keySub, keyIDToken, keyName} {
		ss.Delete(k)
	}
	if err := ss.Save(ctx); err != nil {
		t.site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
		return
	}
	if sub != "" {
		if _, err := t.db.Write(ctx, qInsertAudit, newID(), t.now().UnixMilli(), sub, "logout", "ok", ""); err != nil {
			t.log.ErrorContext(ctx, "townweb: audit logout", "err", err)
		}
	}
	// Logged out here; the provider ends its grant of this login. Without
	// a hint or an end-session endpoint the site's own page says so (the
	// provider keeps no single sign-on session anyway: every login is a
	// card login).
	t.rp.RedirectLogout(w, r, hint, t.PostLogoutURI(), Home+LoggedOutPath)
}
