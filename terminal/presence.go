package terminal

import (
	"errors"
	"net/http"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/web"
)

// PresenceRead reads the 利用者証明用 certificate of the card on the reader,
// without a PIN, for a gate where the holder cannot be asked for one (a
// child at the school or library gate, docs/community-tv.md §5.5). It is
// not a login and makes no signature: the certificate is public on the
// card, so the read proves that the card was presented, not who presented
// it, and the service that maps it (platform.PresentedPerson) records
// "card presented", never "authenticated". The card is taken out after the
// read, as a gate's reader does once it has beeped.
func (k *Kit) PresenceRead(r *http.Request, ss *web.Session) ([]byte, Result) {
	tr, err := k.Placed(r, ss)
	if err != nil {
		return nil, Result{Outcome: NoCard}
	}
	defer k.Remove(ss)
	der, err := card.NewClient(tr).Certificate(card.Auth)
	switch {
	case errors.Is(err, card.ErrNotFound):
		return nil, Result{Outcome: NoAuthCert}
	case err != nil:
		k.cfg.Logger.InfoContext(r.Context(), "terminal: presence read", "terminal", k.cfg.Terminal.ID, "err", err)
		return nil, Result{Outcome: CardUnreadable}
	}
	return der, Result{Outcome: Verified}
}
