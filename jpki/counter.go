package jpki

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/jpkiap"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/wareki"
)

// This file is the centre's side of the municipal counter (市区町村窓口):
// certifying the keys of a new card, renewal, change of name or address,
// loss, death and the revocation of one certificate. The card never comes
// here: the counter has the card generate its key pairs and sends only the
// public keys (personalise.go runs the card's steps), and the centre answers
// with the certificates to write. Over HTTP the counter reaches these
// operations through CounterClient (counter_http.go); in this process
// through Centre.Counter.

// Errors of the counter operations. Each has its own problem code
// (counterRules); the general sentinels they wrap still match.
var (
	// ErrInvalidResident: the resident's data cannot go into a certificate.
	ErrInvalidResident = fmt.Errorf("%w: resident", ErrInvalid)
	// ErrCardNotFound: the centre issued nothing to this card.
	ErrCardNotFound = fmt.Errorf("%w: card", ErrNotFound)
	// ErrCardExists: the card has been issued already.
	ErrCardExists = fmt.Errorf("%w: the card has been issued already", ErrInvalid)
	// ErrNoLiveCertificate: the card has no certificate left to renew or
	// revoke.
	ErrNoLiveCertificate = fmt.Errorf("%w: the card has no live certificate", ErrInvalid)
	// ErrNotOnCard: the certificate is not one of the card's.
	ErrNotOnCard = fmt.Errorf("%w: the certificate is not one of the card's", ErrInvalid)
	// ErrWrongKeys: the public keys do not fit the request (not RSA-2048
	// with e=65537, or a signing key missing from age 15, or given below).
	ErrWrongKeys = fmt.Errorf("%w: the card's keys", ErrInvalid)
	// ErrIdempotencyKey: a change came without a usable Idempotency-Key.
	ErrIdempotencyKey = fmt.Errorf("%w: Idempotency-Key must be 1 to 64 printable ASCII characters", ErrInvalid)
	// ErrIdempotencyReused: the Idempotency-Key was used for another
	// request of the same caller.
	ErrIdempotencyReused = errors.New("jpki: Idempotency-Key reused with another request")
)

// CounterActor is who asks for a counter operation: the counter terminal,
// named by its caller key (or the program in this process: "local"), its
// town and the clerk signed in at it, so that every operation and its
// audit rows name the person too (counterstaff.go).
type CounterActor struct {
	Caller string
	// Town is the counter's municipality code: it serves the residents of
	// that town only ("" for the program's own counter: every town).
	Town string
	// Staff is the clerk signed in at the counter (nil for the program's
	// own counter in this process).
	Staff *CounterStaff
}

// auditActor is the actor of the jpki_audit row of an operation on a card
// of municipality code.
func (a CounterActor) auditActor(code string) string {
	return "counter:" + code + ":" + a.Caller
}

// CardWriter is a card being personalised at the counter; *card.Card is one
// (asserted in cardview's tests: the centre does not import the card).
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

// Validate checks that r can go into a certificate issued at now, and
// returns r's municipality; errors wrap ErrInvalidResident and say what is
// wrong. The counter calls it before the card makes its keys, the centre
// again before it certifies them.
func (r Resident) Validate(now time.Time) (Municipality, error) {
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
		problems = append(problems, strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "))
	}
	if len(problems) > 0 {
		return Municipality{}, fmt.Errorf("%w: %s", ErrInvalidResident, strings.Join(problems, "; "))
	}
	return m, nil
}

// WithSign reports whether r gets a signing certificate at now.
func (r Resident) WithSign(now time.Time) bool { return AgeOn(r.BirthDate, now) >= MinSigningAge }

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

// CardKeys are the public keys a card generated, by kind.
type CardKeys map[Kind]*rsa.PublicKey

// check refuses keys that are not RSA-2048 with e=65537, or whose kinds
// do not fit: the authentication key always, the signing key exactly when
// withSign.
func (ks CardKeys) check(withSign bool) error {
	if _, ok := ks[Auth]; !ok {
		return fmt.Errorf("%w: the authentication key is missing", ErrWrongKeys)
	}
	if _, ok := ks[Sign]; ok != withSign {
		if withSign {
			return fmt.Errorf("%w: a signing key is needed from age %d", ErrWrongKeys, MinSigningAge)
		}
		return fmt.Errorf("%w: no signing certificate is issued below age %d", ErrWrongKeys, MinSigningAge)
	}
	for k, pub := range ks {
		if err := checkKey(k, pub); err != nil {
			return err
		}
	}
	return nil
}

func checkKey(k Kind, pub *rsa.PublicKey) error {
	if k != Auth && k != Sign {
		return fmt.Errorf("%w: no such kind %q", ErrWrongKeys, k)
	}
	if pub == nil || pub.N == nil || pub.N.BitLen() != 2048 || pub.E != 65537 {
		return fmt.Errorf("%w: the %s key must be RSA-2048 with e=65537", ErrWrongKeys, k)
	}
	return nil
}

// IssueRequest asks for the certificates of a new card.
type IssueRequest struct {
	// IdempotencyKey makes the request safe to send again: the centre
	// answers a second request with the key as it answered the first,
	// without issuing again. On the wire it is the Idempotency-Key header.
	IdempotencyKey string   `json:"-"`
	CardID         string   `json:"card_id"`
	Resident       Resident `json:"resident"`
	Keys           CardKeys `json:"keys"`
}

// RenewRequest asks for new certificates of a card for new keys; the old
// ones are revoked as superseded.
type RenewRequest struct {
	IdempotencyKey string   `json:"-"`
	CardID         string   `json:"-"`
	Keys           CardKeys `json:"keys"`
}

// ChangeRequest records a change of name, address or municipality (異動);
// an empty field is unchanged. SignKey is the card's new signing key (nil
// for holders under 15).
type ChangeRequest struct {
	IdempotencyKey string         `json:"-"`
	CardID         string         `json:"-"`
	Name           string         `json:"name,omitempty"`
	Address        string         `json:"address,omitempty"`
	Municipality   string         `json:"municipality,omitempty"`
	SignKey        *rsa.PublicKey `json:"-"`
}

// RevokeRequest revokes one certificate of a card.
type RevokeRequest struct {
	IdempotencyKey string   `json:"-"`
	CardID         string   `json:"-"`
	Kind           Kind     `json:"kind"`
	Serial         string   `json:"serial"`
	Reason         Reason   `json:"reason"`
	Approval       Approval `json:"approval"`
	// Withdraw says the certificate was issued moments ago and the card
	// did not take it: the counter's clean-up, which needs no approval
	// (the centre checks the certificate is that new).
	Withdraw bool `json:"withdraw,omitempty"`
}

// maxWithdrawAge is how new a certificate revoked as not taken must be.
const maxWithdrawAge = 15 * time.Minute

// CardEvent is what ends every live certificate of a card.
type CardEvent string

// The card events and the reasons they revoke with.
const (
	// Loss: whoever holds the card may try its PINs (keyCompromise).
	Loss CardEvent = "loss"
	// Death of the holder (cessationOfOperation).
	Death CardEvent = "death"
	// Withdrawn: the card never left the counter, as when writing the
	// certificates failed (cessationOfOperation).
	Withdrawn CardEvent = "withdrawn"
)

// cardEvents are the events' reasons and audit actions, and whether they
// need a supervisor's approval: a loss and a death do; withdrawing a card
// whose personalisation failed at the counter is the counter's own
// clean-up of a card that never left it.
var cardEvents = map[CardEvent]struct {
	reason   Reason
	action   string
	approved bool
}{
	Loss:      {KeyCompromise, "report-loss", true},
	Death:     {CessationOfOperation, "death", true},
	Withdrawn: {CessationOfOperation, "withdraw", false},
}

// CloseRequest revokes every live certificate of a card for an event.
type CloseRequest struct {
	IdempotencyKey string    `json:"-"`
	CardID         string    `json:"-"`
	Event          CardEvent `json:"event"`
	Approval       Approval  `json:"approval"`
}

// CardRecord is what the centre holds about a card: its resident and its
// certificates, newest first.
type CardRecord struct {
	CardID       string      `json:"card_id"`
	Resident     Resident    `json:"resident"`
	Certificates []*CertInfo `json:"certificates"`
}

// Live is the card's live (unrevoked, unexpired at now) certificate of
// kind k, or nil.
func (rec *CardRecord) Live(k Kind, now time.Time) *CertInfo {
	for _, ci := range rec.Certificates {
		if ci.Kind == k && ci.Status == StatusGood && now.Before(ci.NotAfter) {
			return ci
		}
	}
	return nil
}

// IssuedCertificate is a certificate for the card to hold, with the
// certificate of the CA that issued it, which the card keeps beside it.
type IssuedCertificate struct {
	Kind   Kind   `json:"kind"`
	Serial string `json:"serial"`
	DER    []byte `json:"der"`
	CA     []byte `json:"ca"`
}

// Certified is the centre's answer to an issuance, renewal or change.
type Certified struct {
	CardID string `json:"card_id"`
	// Name and Address are the holder's as recorded now: the card's
	// surface.
	Name    string `json:"name"`
	Address string `json:"address"`
	// Certificates are the new certificates to write, authentication
	// first.
	Certificates []IssuedCertificate `json:"certificates"`
	// Auth and Sign are the card's live certificates after the operation.
	Auth *CertInfo `json:"auth,omitempty"`
	Sign *CertInfo `json:"sign,omitempty"`
}

// CounterAPI is the centre as the counter needs it: a card's record, the
// certification of a card's keys, and revocation. In this process it is
// Centre.Counter; across processes CounterClient, with the same errors.
type CounterAPI interface {
	CardRecord(ctx context.Context, cardID string) (*CardRecord, error)
	IssueCertificates(ctx context.Context, rq IssueRequest) (*Certified, error)
	RenewCertificates(ctx context.Context, rq RenewRequest) (*Certified, error)
	ChangeHolder(ctx context.Context, rq ChangeRequest) (*Certified, error)
	RevokeCertificate(ctx context.Context, rq RevokeRequest) (*CertInfo, error)
	CloseCard(ctx context.Context, rq CloseRequest) ([]*CertInfo, error)
	RecordPINReset(ctx context.Context, rq PINResetRequest) (*PINReset, error)
	TownCards(ctx context.Context) ([]*CardRecord, error)
}

// Counter is the centre's counter operations for a, in this process: the
// same checks, idempotency and audit as over HTTP (CounterRoutes serves
// them with the caller as a).
func (c *Centre) Counter(a CounterActor) CounterAPI { return centreCounter{c: c, a: a} }

type centreCounter struct {
	c *Centre
	a CounterActor
}

// CardRecord returns the resident and the certificates of a card
// (ErrCardNotFound: not issued here).
func (cc centreCounter) CardRecord(ctx context.Context, cardID string) (*CardRecord, error) {
	_, r, err := cc.c.residentOfTx(ctx, cc.c.db, cardID)
	if err != nil {
		return nil, err
	}
	if err := cc.a.checkTown(cardID, r.Municipality); err != nil {
		return nil, err
	}
	certs, err := cc.c.CardCertificates(ctx, cardID)
	if err != nil {
		return nil, err
	}
	for _, ci := range certs {
		ci.DER = nil // a record, not the certificates: the card has them
	}
	return &CardRecord{CardID: cardID, Resident: r, Certificates: certs}, nil
}

// maxTownCards bounds the cards of a town a counter lists.
const maxTownCards = 500

// TownCards is the records of the cards whose holders live in the
// actor's town (every card for the program's own counter), newest first.
func (cc centreCounter) TownCards(ctx context.Context) ([]*CardRecord, error) {
	rows, err := cc.c.db.QueryContext(ctx, qTownCards, cc.a.Town, maxTownCards)
	if err != nil {
		return nil, fmt.Errorf("jpki: cards of the town: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := []*CardRecord{}
	for _, id := range ids {
		rec, err := cc.CardRecord(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// IssueCertificates records the resident and the card and certifies the
// card's keys: the authentication certificate always, the signing one from
// age 15, both valid to the holder's fifth birthday after today.
func (cc centreCounter) IssueCertificates(ctx context.Context, rq IssueRequest) (*Certified, error) {
	c := cc.c
	return once(ctx, c, cc.a, rq.IdempotencyKey, "issue-card", rq, func(tx *sql.Tx) (*Certified, error) {
		now := c.now()
		r := rq.Resident
		m, err := r.Validate(now)
		if err != nil {
			return nil, err
		}
		if err := cc.a.checkTown(rq.CardID, m.Code); err != nil {
			return nil, err
		}
		if rq.CardID == "" {
			return nil, fmt.Errorf("%w: no card ID", ErrInvalid)
		}
		if err := rq.Keys.check(r.WithSign(now)); err != nil {
			return nil, err
		}
		residentID := newID()
		if _, err := tx.ExecContext(ctx, qInsertResident, residentID, r.Name, r.Kana,
			r.BirthDate.In(wareki.JST()).Format(time.DateOnly), int(r.Sex), r.Address, m.Code, now.Unix()); err != nil {
			return nil, fmt.Errorf("jpki: record resident: %w", err)
		}
		if _, err := tx.ExecContext(ctx, qInsertCard, rq.CardID, residentID, now.Unix()); err != nil {
			if store.IsUniqueViolation(err) {
				return nil, fmt.Errorf("%w: card %s", ErrCardExists, rq.CardID)
			}
			return nil, fmt.Errorf("jpki: record card %s: %w", rq.CardID, err)
		}
		got, err := c.issuePairTx(ctx, tx, rq.CardID, rq.Keys, r.holder(m), endOfDayJST(FifthBirthdayAfter(r.BirthDate, now)))
		if err != nil {
			return nil, err
		}
		if err := c.pairGotTx(ctx, tx, got, nil); err != nil {
			return nil, err
		}
		if err := c.counterAuditTx(ctx, tx, cc.a, m.Code, "issue-card", rq.CardID, nil); err != nil {
			return nil, err
		}
		return c.certifiedTx(ctx, tx, rq.CardID, r, got)
	})
}

// RenewCertificates replaces both certificates of a card before they
// expire: the old ones are revoked as superseded, the new keys certified,
// and the old → new linkage recorded so that relying parties keep
// recognising the holder.
func (cc centreCounter) RenewCertificates(ctx context.Context, rq RenewRequest) (*Certified, error) {
	c := cc.c
	fp := struct {
		RenewRequest
		CardID string
	}{rq, rq.CardID}
	return once(ctx, c, cc.a, rq.IdempotencyKey, "renew", fp, func(tx *sql.Tx) (*Certified, error) {
		now := c.now()
		_, r, err := c.residentOfTx(ctx, tx, rq.CardID)
		if err != nil {
			return nil, err
		}
		if err := cc.a.checkTown(rq.CardID, r.Municipality); err != nil {
			return nil, err
		}
		m, err := LookupMunicipality(r.Municipality)
		if err != nil {
			return nil, err
		}
		old := map[Kind]*CertInfo{}
		for _, k := range Kinds {
			ci, err := c.currentTx(ctx, tx, rq.CardID, k)
			if err != nil {
				return nil, err
			}
			old[k] = ci
		}
		if old[Auth] == nil && old[Sign] == nil {
			return nil, fmt.Errorf("%w: card %s; issue a new card", ErrNoLiveCertificate, rq.CardID)
		}
		if err := rq.Keys.check(r.WithSign(now)); err != nil {
			return nil, err
		}
		got, err := c.issuePairTx(ctx, tx, rq.CardID, rq.Keys, r.holder(m), endOfDayJST(FifthBirthdayAfter(r.BirthDate, now)))
		if err != nil {
			return nil, err
		}
		for _, is := range got {
			if prev := old[is.kind]; prev != nil {
				if err := c.revokeTx(ctx, tx, prev.Kind, prev.Serial, Superseded); err != nil {
					return nil, err
				}
				if err := c.link(ctx, tx, linkRenewal, issuedRef{prev.Kind, prev.Serial}, issuedRef{is.kind, is.serial}); err != nil {
					return nil, err
				}
			}
		}
		if err := c.pairGotTx(ctx, tx, got, nil); err != nil {
			return nil, err
		}
		if err := c.crlsTx(ctx, tx); err != nil {
			return nil, err
		}
		if err := c.counterAuditTx(ctx, tx, cc.a, m.Code, "renew", rq.CardID, nil); err != nil {
			return nil, err
		}
		return c.certifiedTx(ctx, tx, rq.CardID, r, got)
	})
}

// ChangeHolder records a change of name or address (異動). The signing
// certificate, which carries both, is revoked (affiliationChanged) and the
// card's new signing key certified and linked old → new; the
// authentication certificate carries neither and stays.
func (cc centreCounter) ChangeHolder(ctx context.Context, rq ChangeRequest) (*Certified, error) {
	c := cc.c
	return once(ctx, c, cc.a, rq.IdempotencyKey, "change-address", rq.fingerprint(), func(tx *sql.Tx) (*Certified, error) {
		now := c.now()
		residentID, r, err := c.residentOfTx(ctx, tx, rq.CardID)
		if err != nil {
			return nil, err
		}
		from := r.Municipality
		r = rq.apply(r)
		m, err := r.Validate(now)
		if err != nil {
			return nil, err
		}
		// A move is recorded where the holder lives now: at the counter of
		// the town they left, or (転入届) of the town they moved to.
		if cc.a.checkTown(rq.CardID, from) != nil {
			if err := cc.a.checkTown(rq.CardID, m.Code); err != nil {
				return nil, err
			}
		}
		keys := CardKeys{}
		if rq.SignKey != nil {
			keys[Sign] = rq.SignKey
		}
		if r.WithSign(now) != (rq.SignKey != nil) {
			if rq.SignKey == nil {
				return nil, fmt.Errorf("%w: a signing key is needed from age %d", ErrWrongKeys, MinSigningAge)
			}
			return nil, fmt.Errorf("%w: no signing certificate is issued below age %d", ErrWrongKeys, MinSigningAge)
		}
		if rq.SignKey != nil {
			if err := checkKey(Sign, rq.SignKey); err != nil {
				return nil, err
			}
		}
		if _, err := tx.ExecContext(ctx, qUpdateResident, r.Name, r.Address, m.Code, now.Unix(), residentID); err != nil {
			return nil, fmt.Errorf("jpki: update resident: %w", err)
		}
		oldSign, err := c.currentTx(ctx, tx, rq.CardID, Sign)
		if err != nil {
			return nil, err
		}
		auth, err := c.currentTx(ctx, tx, rq.CardID, Auth)
		if err != nil {
			return nil, err
		}
		if oldSign != nil {
			if err := c.revokeTx(ctx, tx, Sign, oldSign.Serial, AffiliationChanged); err != nil {
				return nil, err
			}
			if _, err := c.crlTx(ctx, tx, Sign); err != nil {
				return nil, err
			}
		}
		var got []issued
		if rq.SignKey != nil {
			notAfter := endOfDayJST(FifthBirthdayAfter(r.BirthDate, now))
			if auth != nil && auth.NotAfter.Before(notAfter) {
				notAfter = auth.NotAfter
			}
			if got, err = c.issuePairTx(ctx, tx, rq.CardID, keys, r.holder(m), notAfter); err != nil {
				return nil, err
			}
			if oldSign != nil {
				if err := c.link(ctx, tx, linkRenewal, issuedRef{Sign, oldSign.Serial}, issuedRef{Sign, got[0].serial}); err != nil {
					return nil, err
				}
			}
			if err := c.pairGotTx(ctx, tx, got, auth); err != nil {
				return nil, err
			}
		}
		if err := c.counterAuditTx(ctx, tx, cc.a, m.Code, "change-address", rq.CardID, nil); err != nil {
			return nil, err
		}
		return c.certifiedTx(ctx, tx, rq.CardID, r, got)
	})
}

// apply is r with the request's changes.
func (rq ChangeRequest) apply(r Resident) Resident {
	if rq.Name != "" {
		r.Name = rq.Name
	}
	if rq.Address != "" {
		r.Address = rq.Address
	}
	if rq.Municipality != "" {
		r.Municipality = rq.Municipality
	}
	return r
}

// fingerprint is what identifies the request for its Idempotency-Key: its
// fields, the signing key included.
func (rq ChangeRequest) fingerprint() any {
	keys := CardKeys{}
	if rq.SignKey != nil {
		keys[Sign] = rq.SignKey
	}
	return struct {
		ChangeRequest
		CardID string
		Keys   CardKeys
	}{rq, rq.CardID, keys}
}

// RevokeCertificate revokes one certificate of a card and publishes its
// CA's new CRL.
func (cc centreCounter) RevokeCertificate(ctx context.Context, rq RevokeRequest) (*CertInfo, error) {
	c := cc.c
	return once(ctx, c, cc.a, rq.IdempotencyKey, "revoke", rq.fingerprint(), func(tx *sql.Tx) (*CertInfo, error) {
		serial, err := ParseSerial(rq.Serial)
		if err != nil {
			return nil, err
		}
		if _, ok := reasonNames[rq.Reason]; !ok {
			return nil, fmt.Errorf("%w: revocation reason %d", ErrInvalid, rq.Reason)
		}
		if _, err := ParseKind(string(rq.Kind)); err != nil {
			return nil, err
		}
		_, r, err := c.residentOfTx(ctx, tx, rq.CardID)
		if err != nil {
			return nil, err
		}
		if err := cc.a.checkTown(rq.CardID, r.Municipality); err != nil {
			return nil, err
		}
		ci, err := scanCert(tx.QueryRowContext(ctx, qCertificate, string(rq.Kind), serial))
		if errors.Is(err, ErrNotFound) || err == nil && ci.CardID != rq.CardID {
			return nil, fmt.Errorf("%w: %s certificate %s, card %s", ErrNotOnCard, rq.Kind, serial, rq.CardID)
		}
		if err != nil {
			return nil, err
		}
		var ap *Approval
		if !rq.Withdraw || c.now().Sub(ci.NotBefore) > maxWithdrawAge {
			if err := cc.a.checkApproval(rq.Approval, c.now(), false); err != nil {
				return nil, err
			}
			ap = &rq.Approval
		}
		if err := c.revokeTx(ctx, tx, rq.Kind, serial, rq.Reason); err != nil {
			return nil, err
		}
		if _, err := c.crlTx(ctx, tx, rq.Kind); err != nil {
			return nil, err
		}
		if err := c.counterAuditTx(ctx, tx, cc.a, r.Municipality, "revoke", rq.CardID+" "+string(rq.Kind)+":"+serial, ap); err != nil {
			return nil, err
		}
		ci, err = scanCert(tx.QueryRowContext(ctx, qCertificate, string(rq.Kind), serial))
		if err != nil {
			return nil, err
		}
		ci.DER = nil
		return ci, nil
	})
}

func (rq RevokeRequest) fingerprint() any {
	return struct {
		RevokeRequest
		CardID string
	}{rq, rq.CardID}
}

// CloseCard revokes every live certificate of a card for the event, and
// publishes new CRLs.
func (cc centreCounter) CloseCard(ctx context.Context, rq CloseRequest) ([]*CertInfo, error) {
	c := cc.c
	ev, ok := cardEvents[rq.Event]
	if !ok {
		return nil, fmt.Errorf("%w: card event %q (loss, death or withdrawn)", ErrInvalid, rq.Event)
	}
	fp := struct {
		CloseRequest
		CardID string
	}{rq, rq.CardID}
	return once(ctx, c, cc.a, rq.IdempotencyKey, ev.action, fp, func(tx *sql.Tx) ([]*CertInfo, error) {
		_, r, err := c.residentOfTx(ctx, tx, rq.CardID)
		if err != nil {
			return nil, err
		}
		if err := cc.a.checkTown(rq.CardID, r.Municipality); err != nil {
			return nil, err
		}
		if ev.approved {
			if err := cc.a.checkApproval(rq.Approval, c.now(), false); err != nil {
				return nil, err
			}
		}
		var revoked []*CertInfo
		for _, k := range Kinds {
			ci, err := c.currentTx(ctx, tx, rq.CardID, k)
			if err != nil {
				return nil, err
			}
			if ci == nil {
				continue
			}
			if err := c.revokeTx(ctx, tx, k, ci.Serial, ev.reason); err != nil {
				return nil, err
			}
			if _, err := c.crlTx(ctx, tx, k); err != nil {
				return nil, err
			}
			ci.DER = nil
			revoked = append(revoked, ci)
		}
		if len(revoked) == 0 {
			return nil, fmt.Errorf("%w: card %s", ErrNoLiveCertificate, rq.CardID)
		}
		var ap *Approval
		if ev.approved {
			ap = &rq.Approval
		}
		return revoked, c.counterAuditTx(ctx, tx, cc.a, r.Municipality, ev.action, rq.CardID, ap)
	})
}

// certifiedTx is the answer to an operation that issued got to a card of r.
func (c *Centre) certifiedTx(ctx context.Context, tx *sql.Tx, cardID string, r Resident, got []issued) (*Certified, error) {
	out := &Certified{CardID: cardID, Name: r.Name, Address: r.Address, Certificates: []IssuedCertificate{}}
	for _, is := range got {
		out.Certificates = append(out.Certificates, IssuedCertificate{Kind: is.kind, Serial: is.serial, DER: is.der, CA: c.CACertificate(is.kind)})
	}
	for _, k := range Kinds {
		ci, err := c.currentTx(ctx, tx, cardID, k)
		if err != nil {
			return nil, err
		}
		if ci != nil {
			ci.DER = nil // in Certificates when new; the card has it otherwise
		}
		if k == Auth {
			out.Auth = ci
		} else {
			out.Sign = ci
		}
	}
	return out, nil
}

// once runs op in one transaction with the record of its answer under the
// caller's Idempotency-Key: the same request sent again with the key gets
// that answer again and op does not run twice, so a counter that lost an
// answer asks again and writes the same certificates. The key of another
// request is refused (ErrIdempotencyReused). Without a key (a call in this
// process) nothing is recorded.
func once[T any](ctx context.Context, c *Centre, a CounterActor, key, action string, request any, op func(*sql.Tx) (T, error)) (T, error) {
	var out T
	if key == "" {
		err := c.db.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			out, err = op(tx)
			return err
		})
		return out, err
	}
	if !httpapi.ValidIdempotencyKey(key) {
		return out, ErrIdempotencyKey
	}
	b, err := json.Marshal(request)
	if err != nil {
		return out, fmt.Errorf("jpki: fingerprint the request: %w", err)
	}
	sum := sha256.Sum256(append([]byte(action+"\x00"), b...))
	hash := hex.EncodeToString(sum[:])
	// A concurrent request with the key that committed first is found on
	// the second try (PostgreSQL may report the race as a unique violation
	// of the claim rather than a serialization failure, which Tx retries).
	for attempt := 0; ; attempt++ {
		err = c.db.Tx(ctx, func(tx *sql.Tx) error { return onceTx(ctx, tx, c, a, key, action, hash, op, &out) })
		if !errors.Is(err, errClaimRaced) || attempt > 0 {
			return out, err
		}
	}
}

// errClaimRaced: another request claimed the Idempotency-Key first.
var errClaimRaced = errors.New("jpki: the Idempotency-Key was claimed concurrently")

// onceTx is one try of once: the stored answer, or op and its answer kept.
func onceTx[T any](ctx context.Context, tx *sql.Tx, c *Centre, a CounterActor, key, action, hash string, op func(*sql.Tx) (T, error), out *T) error {
	var zero T
	*out = zero // a try whose commit failed leaves nothing behind
	var storedHash string
	var answer []byte
	err := tx.QueryRowContext(ctx, qReply, a.Caller, key).Scan(&storedHash, &answer)
	switch {
	case err == nil && storedHash != hash:
		return fmt.Errorf("%w (%s)", ErrIdempotencyReused, key)
	case err == nil:
		c.logger.InfoContext(ctx, "counter: answered a repeated request again", "caller", a.Caller, "action", action)
		return json.Unmarshal(answer, out)
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("jpki: read the answer of %s: %w", key, err)
	}
	// Claim the key first: a concurrent request with it waits here
	// (and, serialized, finds the answer) rather than issuing again.
	if _, err := tx.ExecContext(ctx, qClaimReply, a.Caller, key, action, hash, []byte{}, c.now().Unix()); err != nil {
		if store.IsUniqueViolation(err) {
			return errClaimRaced
		}
		return fmt.Errorf("jpki: claim %s: %w", key, err)
	}
	res, err := op(tx)
	if err != nil {
		return err
	}
	if answer, err = json.Marshal(res); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, qSetReply, answer, a.Caller, key); err != nil {
		return fmt.Errorf("jpki: keep the answer of %s: %w", key, err)
	}
	*out = res
	return nil
}

// NewIdempotencyKey is a fresh Idempotency-Key for one counter operation.
func NewIdempotencyKey() string { return newID() }

// issuePairTx issues a certificate for each key and links the pair.
func (c *Centre) issuePairTx(ctx context.Context, tx *sql.Tx, cardID string, keys CardKeys, h *Holder, notAfter time.Time) ([]issued, error) {
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

// ResidentOfCard is the resident the card with ID cardID was issued to
// (ErrCardNotFound: not issued here).
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
		return "", r, fmt.Errorf("%w %s was not issued here", ErrCardNotFound, cardID)
	}
	if err != nil {
		return "", r, fmt.Errorf("jpki: read resident of card: %w", err)
	}
	r.Sex = Sex(sex)
	r.BirthDate, err = time.ParseInLocation(time.DateOnly, birth, wareki.JST())
	return id, r, err
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

// localActor is the program's own counter in this process (the CLI, the
// demo seeding, tests).
var localActor = CounterActor{Caller: "local"}

// personaliser runs the counter's card steps against this centre.
func (c *Centre) personaliser() *Personaliser {
	return &Personaliser{Centre: c.Counter(localActor), Now: c.now, Logger: c.logger}
}

// IssueCard personalises a new card at a counter in this process: the card
// makes its keys, the centre certifies them, the card takes the
// certificates (Personaliser.Issue).
func (c *Centre) IssueCard(ctx context.Context, r Resident, w CardWriter) (*IssuedCard, error) {
	return c.personaliser().Issue(ctx, r, w)
}

// Renew renews both certificates of the card w, whose ID is cardID, at a
// counter in this process (Personaliser.Renew).
func (c *Centre) Renew(ctx context.Context, cardID string, w CardWriter) (*IssuedCard, error) {
	if w.ID() != cardID {
		return nil, fmt.Errorf("%w: card on the reader is %s, not %s", ErrInvalid, w.ID(), cardID)
	}
	return c.personaliser().Renew(ctx, w)
}

// ChangeAddress records a change of name, address or municipality of the
// card w, whose ID is cardID, at a counter in this process; an empty value
// is unchanged (Personaliser.ChangeHolder).
func (c *Centre) ChangeAddress(ctx context.Context, cardID, name, address, municipality string, w CardWriter) (*IssuedCard, error) {
	if w.ID() != cardID {
		return nil, fmt.Errorf("%w: card on the reader is %s, not %s", ErrInvalid, w.ID(), cardID)
	}
	return c.personaliser().ChangeHolder(ctx, w, name, address, municipality)
}

// ReportLoss revokes every live certificate of a lost card as keyCompromise:
// whoever holds the card may try its PINs.
func (c *Centre) ReportLoss(ctx context.Context, cardID string) ([]*CertInfo, error) {
	return c.Counter(localActor).CloseCard(ctx, CloseRequest{CardID: cardID, Event: Loss})
}

// RecordDeath revokes every live certificate of a card whose holder died
// (cessationOfOperation).
func (c *Centre) RecordDeath(ctx context.Context, cardID string) ([]*CertInfo, error) {
	return c.Counter(localActor).CloseCard(ctx, CloseRequest{CardID: cardID, Event: Death})
}

// ResetPIN resets one PIN of the card w at a counter in this process
// (Personaliser.ResetPIN).
func (c *Centre) ResetPIN(ctx context.Context, w PINResetter, which PINKind, a Approval, newPIN string) (*PINReset, error) {
	return c.personaliser().ResetPIN(ctx, w, which, a, newPIN)
}

// auditTx writes an audit row: who did what to which record.
func (c *Centre) auditTx(ctx context.Context, tx *sql.Tx, actor, action, subject string) error {
	if _, err := tx.ExecContext(ctx, qInsertAudit, newID(), c.now().UnixMilli(), actor, action, subject, trace.ID(ctx)); err != nil {
		return fmt.Errorf("jpki: audit: %w", err)
	}
	return nil
}

// counterAuditTx writes the audit row of a counter operation on a card of
// municipality: the counter, the clerk and, for one that needs four eyes,
// the approval (nil: none).
func (c *Centre) counterAuditTx(ctx context.Context, tx *sql.Tx, a CounterActor, municipality, action, subject string, ap *Approval) error {
	var approver, identity string
	if ap != nil {
		approver, identity = ap.approver(), string(ap.Identity)
	}
	if _, err := tx.ExecContext(ctx, qInsertCounterAudit, newID(), c.now().UnixMilli(), a.auditActor(municipality), action, subject, trace.ID(ctx),
		a.Staff.String(), approver, identity); err != nil {
		return fmt.Errorf("jpki: audit: %w", err)
	}
	return nil
}
