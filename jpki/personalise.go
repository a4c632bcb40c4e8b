package jpki

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mynaplat/mynaplat/jpkiap"
)

// Personaliser runs the counter's side of a card's personalisation, the
// one sequence every counter uses (the counter's pages over HTTP, the CLI
// and the demo seeding in this process): the card generates its key pairs,
// the centre certifies the public keys, the card takes the certificates
// and, on a change, its new surface. Only public keys leave the card.
type Personaliser struct {
	// Centre certifies: Centre.Counter in this process, CounterClient
	// across processes.
	Centre CounterAPI
	// Now is the counter's clock (the holder's age decides whether the
	// card makes a signing key); nil is time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

func (p *Personaliser) now() time.Time {
	if p.Now == nil {
		return time.Now()
	}
	return p.Now()
}

func (p *Personaliser) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Logger
}

// Issue personalises a new card for r: the authentication certificate
// always, the signing certificate from age 15. r is checked before the card
// makes a key. When the card cannot take the certificates they are revoked
// again, so no certificate stays live that no card holds.
func (p *Personaliser) Issue(ctx context.Context, r Resident, w CardWriter) (*IssuedCard, error) {
	now := p.now()
	if _, err := r.Validate(now); err != nil {
		return nil, err
	}
	keys, err := generateKeys(w, r.WithSign(now))
	if err != nil {
		return nil, err
	}
	got, err := p.Centre.IssueCertificates(ctx, IssueRequest{IdempotencyKey: NewIdempotencyKey(), CardID: w.ID(), Resident: r, Keys: keys})
	if errors.Is(err, ErrUnavailable) {
		// The centre may have issued without the answer arriving: the card
		// will not be handed out, so end whatever it was given.
		p.withdraw(ctx, w.ID())
	}
	if err != nil {
		return nil, err
	}
	return p.install(ctx, w, got)
}

// Renew replaces both certificates of the card w: the card makes new key
// pairs, the centre revokes the old certificates as superseded and
// certifies the new keys.
func (p *Personaliser) Renew(ctx context.Context, w CardWriter) (*IssuedCard, error) {
	rec, err := p.Centre.CardRecord(ctx, w.ID())
	if err != nil {
		return nil, err
	}
	now := p.now()
	// Checked here too, before the card replaces its keys.
	if rec.Live(Auth, now) == nil && rec.Live(Sign, now) == nil {
		return nil, fmt.Errorf("%w: card %s; issue a new card", ErrNoLiveCertificate, w.ID())
	}
	keys, err := generateKeys(w, rec.Resident.WithSign(now))
	if err != nil {
		return nil, err
	}
	got, err := p.Centre.RenewCertificates(ctx, RenewRequest{IdempotencyKey: NewIdempotencyKey(), CardID: w.ID(), Keys: keys})
	if err != nil {
		return nil, err
	}
	return p.install(ctx, w, got)
}

// ChangeHolder records a change of name, address or municipality of the
// card w's holder (an empty value is unchanged): the card makes a new
// signing key, the centre revokes the old signing certificate
// (affiliationChanged) and certifies the new key, and the card takes the
// certificate and its new surface. Holders under 15 have no signing
// certificate; their card only changes its surface.
func (p *Personaliser) ChangeHolder(ctx context.Context, w CardWriter, name, address, municipality string) (*IssuedCard, error) {
	rec, err := p.Centre.CardRecord(ctx, w.ID())
	if err != nil {
		return nil, err
	}
	now := p.now()
	rq := ChangeRequest{IdempotencyKey: NewIdempotencyKey(), CardID: w.ID(), Name: name, Address: address, Municipality: municipality}
	r := rq.apply(rec.Resident)
	// Checked before the card replaces its signing key.
	if _, err := r.Validate(now); err != nil {
		return nil, err
	}
	if r.WithSign(now) {
		if rq.SignKey, err = w.GenerateKey(jpkiap.Sign); err != nil {
			return nil, fmt.Errorf("jpki: card %s could not generate its sign key: %w", w.ID(), err)
		}
	}
	got, err := p.Centre.ChangeHolder(ctx, rq)
	if err != nil {
		return nil, err
	}
	if err := w.SetSurface(got.Name, got.Address); err != nil {
		return nil, fmt.Errorf("jpki: update the card surface: %w", err)
	}
	if rq.SignKey == nil {
		if err := w.RemoveCertificate(jpkiap.Sign); err != nil {
			return nil, err
		}
	}
	return p.install(ctx, w, got)
}

// generateKeys has the card make its key pairs.
func generateKeys(w CardWriter, withSign bool) (CardKeys, error) {
	keys := CardKeys{}
	for _, k := range Kinds {
		if k == Sign && !withSign {
			continue
		}
		pub, err := w.GenerateKey(purpose(k))
		if err != nil {
			return nil, fmt.Errorf("jpki: card %s could not generate its %s key: %w", w.ID(), k, err)
		}
		keys[k] = pub
	}
	return keys, nil
}

func purpose(k Kind) jpkiap.Purpose {
	if k == Sign {
		return jpkiap.Sign
	}
	return jpkiap.Auth
}

// install writes the new certificates to the card. If the card cannot take
// them, they are revoked again, so no certificate stays live that no card
// holds.
func (p *Personaliser) install(ctx context.Context, w CardWriter, got *Certified) (*IssuedCard, error) {
	for _, is := range got.Certificates {
		if err := w.WriteCertificate(purpose(is.Kind), is.DER, is.CA); err != nil {
			for _, g := range got.Certificates {
				_, rerr := p.Centre.RevokeCertificate(ctx, RevokeRequest{IdempotencyKey: NewIdempotencyKey(), CardID: w.ID(),
					Kind: g.Kind, Serial: g.Serial, Reason: CessationOfOperation, Withdraw: true})
				if rerr != nil && !errors.Is(rerr, ErrAlreadyRevoked) {
					p.logger().ErrorContext(ctx, "could not revoke a certificate the card did not take", "kind", g.Kind, "serial", g.Serial, "err", rerr)
				}
			}
			return nil, fmt.Errorf("jpki: write %s certificate to card %s: %w", is.Kind, w.ID(), err)
		}
	}
	out := &IssuedCard{CardID: got.CardID, Auth: withDER(got.Auth, got.Certificates), Sign: withDER(got.Sign, got.Certificates)}
	return out, nil
}

// withDER is ci with its DER when it is one of the new certificates.
func withDER(ci *CertInfo, certs []IssuedCertificate) *CertInfo {
	if ci == nil {
		return nil
	}
	for _, is := range certs {
		if is.Kind == ci.Kind && is.Serial == ci.Serial {
			c := *ci
			c.DER = is.DER
			return &c
		}
	}
	return ci
}

// withdraw ends every live certificate of a card that will not be handed
// out, when whether the centre issued is not known.
func (p *Personaliser) withdraw(ctx context.Context, cardID string) {
	_, err := p.Centre.CloseCard(ctx, CloseRequest{IdempotencyKey: NewIdempotencyKey(), CardID: cardID, Event: Withdrawn})
	switch {
	case err == nil:
		p.logger().WarnContext(ctx, "withdrew the certificates of a card whose issuance was not answered", "card", cardID)
	case errors.Is(err, ErrCardNotFound), errors.Is(err, ErrNoLiveCertificate):
	default:
		p.logger().ErrorContext(ctx, "could not withdraw a card whose issuance was not answered; revoke its certificates by hand",
			"card", cardID, "err", err)
	}
}
