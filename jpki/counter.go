package jpki

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/jpkiap"
	"github.com/mynaplat/mynaplat/wareki"
)

// This file is the municipal counter (市区町村窓口): issuing the certificates
// onto a new card, renewal, change of name or address, loss and death. The
// counter asks the card to generate its key pairs, so only public keys reach
// the centre.

// CardWriter is a card being personalised at the counter; *card.Card is one
// (asserted in card's tests: the centre does not import the card).
type CardWriter interface {
	ID() string
	GenerateKey(p jpkiap.Purpose) (*rsa.PublicKey, error)
	WriteCertificate(p jpkiap.Purpose, cert, caCert []byte) error
	RemoveCertificate(p jpkiap.Purpose) error
	SetSurface(name, address string) error
}

// Resident is a person at the counter, as the resident register has them.
type Resident struct {
	Name      string    // 氏名, surname U+3000 given name
	Kana      string    // フリガナ
	BirthDate time.Time // civil date
	Sex       Sex
	Address   string // from the prefecture on
	// Municipality is the six-digit local government code (全国地方公共団体コード).
	Municipality string
}

// MinSigningAge is the age from which a signing certificate is issued.
const MinSigningAge = 15

// MaxAddress is the longest address (in characters) the signing certificate
// can carry.
const MaxAddress = 200

func (r Resident) validate(now time.Time) (Municipality, error) {
	var problems []string
	if strings.TrimSpace(r.Name) == "" {
		problems = append(problems, "name is empty")
	}
	if strings.TrimSpace(r.Kana) == "" {
		problems = append(problems, "kana is empty")
	}
	if r.BirthDate.IsZero() || r.BirthDate.After(now) {
		problems = append(problems, "birth date is missing or in the future")
	} else if _, err := wareki.JPKIDate(r.BirthDate); err != nil {
		problems = append(problems, err.Error())
	}
	if r.Sex != Male && r.Sex != Female && r.Sex != Unknown {
		problems = append(problems, "sex must be 1 (male), 2 (female) or 3 (unknown)")
	}
	if strings.TrimSpace(r.Address) == "" || utf8.RuneCountInString(r.Address) > MaxAddress {
		problems = append(problems, fmt.Sprintf("address must have 1 to %d characters", MaxAddress))
	}
	m, err := LookupMunicipality(r.Municipality)
	if err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return Municipality{}, fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
	}
	return m, nil
}

func (r Resident) holder(m Municipality) *Holder {
	return &Holder{Name: r.Name, BirthDate: r.BirthDate, Sex: r.Sex, Address: r.Address,
		Prefecture: m.PrefectureRomaji, City: m.NameRomaji}
}

// IssuedCard says what was written to a card.
type IssuedCard struct {
	CardID string
	Auth   *CertInfo
	// Sign is nil for holders under 15.
	Sign *CertInfo
}

func newID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// IssueCard issues the certificates of a new card: the authentication
// certificate always, the signing certificate from age 15. Both are valid to
// the holder's fifth birthday after today.
func (c *Centre) IssueCard(ctx context.Context, r Resident, w CardWriter) (*IssuedCard, error) {
	now := c.now()
	m, err := r.validate(now)
	if err != nil {
		return nil, err
	}
	withSign := AgeOn(r.BirthDate, now) >= MinSigningAge
	keys, err := generateKeys(w, withSign)
	if err != nil {
		return nil, err
	}
	notAfter := endOfDayJST(FifthBirthdayAfter(r.BirthDate, now))
	var got []issued
	err = c.db.Tx(ctx, func(tx *sql.Tx) error {
		got = got[:0]
		residentID := newID()
		if _, err := tx.ExecContext(ctx, qInsertResident, residentID, r.Name, r.Kana,
			r.BirthDate.In(wareki.JST()).Format(time.DateOnly), int(r.Sex), r.Address, m.Code, now.Unix()); err != nil {
			return fmt.Errorf("jpki: record resident: %w", err)
		}
		if _, err := tx.ExecContext(ctx, qInsertCard, w.ID(), residentID, now.Unix()); err != nil {
			return fmt.Errorf("jpki: record card %s: %w", w.ID(), err)
		}
		got, err = c.issuePairTx(ctx, tx, w.ID(), keys, r.holder(m), notAfter)
		if err != nil {
			return err
		}
		if err := c.pairGotTx(ctx, tx, got, nil); err != nil {
			return err
		}
		return c.auditTx(ctx, tx, "counter:"+m.Code, "issue-card", w.ID())
	})
	if err != nil {
		return nil, err
	}
	return c.install(ctx, w, got)
}

// generateKeys has the card make its key pairs.
func generateKeys(w CardWriter, withSign bool) (map[Kind]*rsa.PublicKey, error) {
	keys := map[Kind]*rsa.PublicKey{}
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

// issuePairTx issues a certificate for each key and links the pair.
func (c *Centre) issuePairTx(ctx context.Context, tx *sql.Tx, cardID string, keys map[Kind]*rsa.PublicKey, h *Holder, notAfter time.Time) ([]issued, error) {
	var out []issued
	for _, k := range Kinds {
		pub, ok := keys[k]
		if !ok {
			continue
		}
		hh := h
		if k == Auth {
			hh = nil
		}
		is, err := c.issueTx(ctx, tx, k, cardID, pub, hh, notAfter)
		if err != nil {
			return nil, err
		}
		out = append(out, is)
	}
	return out, nil
}

// linkPairTx records that a signing and an authentication certificate are on
// one card.
func (c *Centre) linkPairTx(ctx context.Context, tx *sql.Tx, sign, auth issuedRef) error {
	return c.link(ctx, tx, linkPair, sign, auth)
}

// install writes freshly issued certificates to the card. If the card cannot
// take them, they are revoked again, so no certificate stays live that no
// card holds.
func (c *Centre) install(ctx context.Context, w CardWriter, got []issued) (*IssuedCard, error) {
	out := &IssuedCard{CardID: w.ID()}
	for _, is := range got {
		if err := w.WriteCertificate(purpose(is.kind), is.der, c.CACertificate(is.kind)); err != nil {
			for _, g := range got {
				if rerr := c.Revoke(ctx, g.kind, g.serial, CessationOfOperation); rerr != nil && !errors.Is(rerr, ErrAlreadyRevoked) {
					c.logger.ErrorContext(ctx, "could not revoke a certificate the card did not take", "kind", g.kind, "serial", g.serial, "err", rerr)
				}
			}
			return nil, fmt.Errorf("jpki: write %s certificate to card %s: %w", is.kind, w.ID(), err)
		}
		ci, err := c.Certificate(ctx, is.kind, is.serial)
		if err != nil {
			return nil, err
		}
		if is.kind == Auth {
			out.Auth = ci
		} else {
			out.Sign = ci
		}
	}
	return out, nil
}

// ResidentOfCard is the resident the card with ID cardID was issued to
// (ErrNotFound: not issued here).
func (c *Centre) ResidentOfCard(ctx context.Context, cardID string) (Resident, error) {
	_, r, err := c.residentOfTx(ctx, c.db, cardID)
	return r, err
}

// residentOfTx returns the resident a card was issued to.
func (c *Centre) residentOfTx(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, cardID string) (string, Resident, error) {
	var id, birth string
	var r Resident
	var sex int
	err := q.QueryRowContext(ctx, qCardResident, cardID).Scan(&id, &r.Name, &r.Kana, &birth, &sex, &r.Address, &r.Municipality)
	if errors.Is(err, sql.ErrNoRows) {
		return "", r, fmt.Errorf("%w: card %s was not issued here", ErrNotFound, cardID)
	}
	if err != nil {
		return "", r, fmt.Errorf("jpki: read resident of card: %w", err)
	}
	r.Sex = Sex(sex)
	r.BirthDate, err = time.ParseInLocation(time.DateOnly, birth, wareki.JST())
	return id, r, err
}

// Renew replaces both certificates of a card before they expire: the old ones
// are revoked as superseded, the card makes new key pairs, and the old → new
// linkage is recorded so that relying parties keep recognising the holder.
func (c *Centre) Renew(ctx context.Context, cardID string, w CardWriter) (*IssuedCard, error) {
	if w.ID() != cardID {
		return nil, fmt.Errorf("%w: card on the reader is %s, not %s", ErrInvalid, w.ID(), cardID)
	}
	now := c.now()
	_, r, err := c.residentOfTx(ctx, c.db, cardID)
	if err != nil {
		return nil, err
	}
	m, err := LookupMunicipality(r.Municipality)
	if err != nil {
		return nil, err
	}
	keys, err := generateKeys(w, AgeOn(r.BirthDate, now) >= MinSigningAge)
	if err != nil {
		return nil, err
	}
	notAfter := endOfDayJST(FifthBirthdayAfter(r.BirthDate, now))
	var got []issued
	err = c.db.Tx(ctx, func(tx *sql.Tx) error {
		old := map[Kind]*CertInfo{}
		for _, k := range Kinds {
			ci, err := c.currentTx(ctx, tx, cardID, k)
			if err != nil {
				return err
			}
			old[k] = ci
		}
		if old[Auth] == nil && old[Sign] == nil {
			return fmt.Errorf("%w: card %s has no live certificate to renew; issue a new card", ErrInvalid, cardID)
		}
		got, err = c.issuePairTx(ctx, tx, cardID, keys, r.holder(m), notAfter)
		if err != nil {
			return err
		}
		for _, is := range got {
			if prev := old[is.kind]; prev != nil {
				if err := c.revokeTx(ctx, tx, prev.Kind, prev.Serial, Superseded); err != nil {
					return err
				}
				if err := c.link(ctx, tx, linkRenewal, issuedRef{prev.Kind, prev.Serial}, issuedRef{is.kind, is.serial}); err != nil {
					return err
				}
			}
		}
		if err := c.pairGotTx(ctx, tx, got, nil); err != nil {
			return err
		}
		if err := c.crlsTx(ctx, tx); err != nil {
			return err
		}
		return c.auditTx(ctx, tx, "counter:"+m.Code, "renew", cardID)
	})
	if err != nil {
		return nil, err
	}
	return c.install(ctx, w, got)
}

// pairGotTx links the signing and authentication certificates among got; when
// got has only a signing certificate, it is paired with auth.
func (c *Centre) pairGotTx(ctx context.Context, tx *sql.Tx, got []issued, auth *CertInfo) error {
	var s, a *issuedRef
	for _, is := range got {
		ref := issuedRef{is.kind, is.serial}
		if is.kind == Sign {
			s = &ref
		} else {
			a = &ref
		}
	}
	if a == nil && auth != nil {
		a = &issuedRef{auth.Kind, auth.Serial}
	}
	if s == nil || a == nil {
		return nil
	}
	return c.linkPairTx(ctx, tx, *s, *a)
}

func (c *Centre) crlsTx(ctx context.Context, tx *sql.Tx) error {
	for _, k := range Kinds {
		if _, err := c.crlTx(ctx, tx, k); err != nil {
			return err
		}
	}
	return nil
}

// ChangeAddress records a change of name or address (異動). The signing
// certificate, which carries both, is revoked (affiliationChanged) and a new
// one is written to the same card with a fresh key pair and linked old → new;
// the authentication certificate carries neither and stays.
func (c *Centre) ChangeAddress(ctx context.Context, cardID, name, address, municipality string, w CardWriter) (*IssuedCard, error) {
	if w.ID() != cardID {
		return nil, fmt.Errorf("%w: card on the reader is %s, not %s", ErrInvalid, w.ID(), cardID)
	}
	now := c.now()
	residentID, r, err := c.residentOfTx(ctx, c.db, cardID)
	if err != nil {
		return nil, err
	}
	if name != "" {
		r.Name = name
	}
	if address != "" {
		r.Address = address
	}
	if municipality != "" {
		r.Municipality = municipality
	}
	m, err := r.validate(now)
	if err != nil {
		return nil, err
	}
	withSign := AgeOn(r.BirthDate, now) >= MinSigningAge
	var keys map[Kind]*rsa.PublicKey
	if withSign {
		pub, err := w.GenerateKey(jpkiap.Sign)
		if err != nil {
			return nil, fmt.Errorf("jpki: card %s could not generate its sign key: %w", cardID, err)
		}
		keys = map[Kind]*rsa.PublicKey{Sign: pub}
	}
	var got []issued
	err = c.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, qUpdateResident, r.Name, r.Address, m.Code, now.Unix(), residentID); err != nil {
			return fmt.Errorf("jpki: update resident: %w", err)
		}
		oldSign, err := c.currentTx(ctx, tx, cardID, Sign)
		if err != nil {
			return err
		}
		auth, err := c.currentTx(ctx, tx, cardID, Auth)
		if err != nil {
			return err
		}
		if oldSign != nil {
			if err := c.revokeTx(ctx, tx, Sign, oldSign.Serial, AffiliationChanged); err != nil {
				return err
			}
			if _, err := c.crlTx(ctx, tx, Sign); err != nil {
				return err
			}
		}
		got = nil
		if keys != nil {
			notAfter := endOfDayJST(FifthBirthdayAfter(r.BirthDate, now))
			if auth != nil && auth.NotAfter.Before(notAfter) {
				notAfter = auth.NotAfter
			}
			if got, err = c.issuePairTx(ctx, tx, cardID, keys, r.holder(m), notAfter); err != nil {
				return err
			}
			if oldSign != nil {
				if err := c.link(ctx, tx, linkRenewal, issuedRef{Sign, oldSign.Serial}, issuedRef{Sign, got[0].serial}); err != nil {
					return err
				}
			}
			if err := c.pairGotTx(ctx, tx, got, auth); err != nil {
				return err
			}
		}
		return c.auditTx(ctx, tx, "counter:"+m.Code, "change-address", cardID)
	})
	if err != nil {
		return nil, err
	}
	if err := w.SetSurface(r.Name, r.Address); err != nil {
		return nil, fmt.Errorf("jpki: update the card surface: %w", err)
	}
	if keys == nil {
		if err := w.RemoveCertificate(jpkiap.Sign); err != nil {
			return nil, err
		}
	}
	out, err := c.install(ctx, w, got)
	if err != nil {
		return nil, err
	}
	if out.Auth == nil {
		out.Auth, _ = c.currentCert(ctx, cardID, Auth)
	}
	return out, nil
}

func (c *Centre) currentCert(ctx context.Context, cardID string, k Kind) (*CertInfo, error) {
	var out *CertInfo
	err := c.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = c.currentTx(ctx, tx, cardID, k)
		return err
	})
	return out, err
}

// ReportLoss revokes every live certificate of a lost card as keyCompromise:
// whoever holds the card may try its PINs.
func (c *Centre) ReportLoss(ctx context.Context, cardID string) ([]*CertInfo, error) {
	return c.revokeCard(ctx, cardID, KeyCompromise, "report-loss")
}

// RecordDeath revokes every live certificate of a card whose holder died
// (cessationOfOperation).
func (c *Centre) RecordDeath(ctx context.Context, cardID string) ([]*CertInfo, error) {
	return c.revokeCard(ctx, cardID, CessationOfOperation, "death")
}

func (c *Centre) revokeCard(ctx context.Context, cardID string, reason Reason, action string) ([]*CertInfo, error) {
	var revoked []*CertInfo
	err := c.db.Tx(ctx, func(tx *sql.Tx) error {
		revoked = revoked[:0]
		if _, _, err := c.residentOfTx(ctx, tx, cardID); err != nil {
			return err
		}
		for _, k := range Kinds {
			ci, err := c.currentTx(ctx, tx, cardID, k)
			if err != nil {
				return err
			}
			if ci == nil {
				continue
			}
			if err := c.revokeTx(ctx, tx, k, ci.Serial, reason); err != nil {
				return err
			}
			if _, err := c.crlTx(ctx, tx, k); err != nil {
				return err
			}
			revoked = append(revoked, ci)
		}
		if len(revoked) == 0 {
			return fmt.Errorf("%w: card %s has no live certificate", ErrInvalid, cardID)
		}
		return c.auditTx(ctx, tx, "counter", action, cardID)
	})
	return revoked, err
}

// auditTx writes an audit row: who did what to which record.
func (c *Centre) auditTx(ctx context.Context, tx *sql.Tx, actor, action, subject string) error {
	if _, err := tx.ExecContext(ctx, qInsertAudit, newID(), c.now().UnixMilli(), actor, action, subject, trace.ID(ctx)); err != nil {
		return fmt.Errorf("jpki: audit: %w", err)
	}
	return nil
}
