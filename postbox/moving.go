package postbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/verify"
)

// feedCursor names the post box's position in the JPKI revocation feed.
const feedCursor = "jpki_feed"

// FollowFeed reads the JPKI revocation feed from where it last stopped and
// leaves a 変更案内 in the box of every owner whose signing certificate was
// revoked for a change of name or address (affiliationChanged, as the
// centre's 記載事項変更 does). With the linkage records it also follows an
// owner's certificate to the one that replaced it, so that the next move,
// or a move after a renewal, is noticed too. It returns how many notices it
// made.
func (s *Service) FollowFeed(ctx context.Context) (int, error) {
	if s.feed == nil {
		return 0, nil
	}
	made := 0
	for {
		var after int64
		err := s.db.QueryRowContext(ctx, qState, feedCursor).Scan(&after)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return made, fmt.Errorf("postbox: feed cursor: %w", err)
		}
		page, err := s.feed(ctx, after, jpki.MaxFeedPage)
		if err != nil {
			return made, fmt.Errorf("postbox: read the revocation feed: %w", err)
		}
		if len(page.Revocations) == 0 {
			return made, nil
		}
		// The boxes of the signing certificates revoked on this page, and
		// the certificates that replaced them (renewal or change of
		// address): the box follows its owner's next certificate too.
		type hit struct {
			rev  jpki.Revocation
			box  string
			next []string
		}
		var hits []hit
		// learned are the successors found on this page: a renewal and a
		// move may both be on it.
		learned := map[string]string{}
		for _, r := range page.Revocations {
			if r.Kind != jpki.Sign {
				continue
			}
			boxID, ok := learned[r.Serial]
			if !ok {
				err := s.db.QueryRowContext(ctx, qSignerBox, r.Serial).Scan(&boxID)
				if errors.Is(err, sql.ErrNoRows) {
					continue // not a signer any box has seen
				}
				if err != nil {
					return made, fmt.Errorf("postbox: find box of signer: %w", err)
				}
			}
			h := hit{rev: r, box: boxID}
			if s.linkage != nil {
				l, err := s.linkage(ctx, jpki.Sign, r.Serial)
				if err != nil {
					return made, fmt.Errorf("postbox: linkage of %s: %w", r.Serial, err)
				}
				for _, nx := range l.Next {
					if nx.Kind == jpki.Sign {
						h.next = append(h.next, nx.Serial)
						learned[nx.Serial] = boxID
					}
				}
			}
			hits = append(hits, h)
		}
		n := 0
		err = s.db.Tx(ctx, func(tx *sql.Tx) error {
			n = 0
			for _, h := range hits {
				for _, serial := range h.next {
					if _, err := tx.ExecContext(ctx, qUpsertSigner, serial, h.box, 0, s.now().Unix()); err != nil {
						return err
					}
				}
				if h.rev.Reason != jpki.AffiliationChanged.String() {
					continue
				}
				res, err := tx.ExecContext(ctx, qInsertNotice, newID("ntc_"), h.box, h.rev.Serial, h.rev.RevokedAt.Unix(), s.now().Unix())
				if err != nil {
					return err
				}
				if k, _ := res.RowsAffected(); k > 0 {
					n++
					if err := s.audit(ctx, tx, h.box, "operator", "change-notice", "signing certificate "+h.rev.Serial); err != nil {
						return err
					}
				}
			}
			// The cursor moves in the same transaction as the notices, so a
			// crash neither loses nor repeats one.
			_, err := tx.ExecContext(ctx, qSetState, feedCursor, page.Next)
			return err
		})
		if err != nil {
			return made, fmt.Errorf("postbox: record change notices: %w", err)
		}
		made += n
		if len(page.Revocations) < jpki.MaxFeedPage {
			return made, nil
		}
	}
}

// Notice is a 変更案内: the owner's signing certificate was revoked for a
// change of name or address.
type Notice struct {
	ID         string    `json:"id"`
	OldSerial  string    `json:"old_serial"`
	RevokedAt  time.Time `json:"revoked_at"`
	CreatedAt  time.Time `json:"created_at"`
	AnsweredAt time.Time `json:"answered_at"`
}

// Open reports whether the owner has not yet chosen whom to tell.
func (n *Notice) Open() bool { return n.AnsweredAt.IsZero() }

// Notices lists a box's change notices, newest first.
func (s *Service) Notices(ctx context.Context, box *Box) ([]*Notice, error) {
	rows, err := s.db.QueryContext(ctx, qNotices, box.ID)
	if err != nil {
		return nil, fmt.Errorf("postbox: notices: %w", err)
	}
	defer rows.Close()
	var out []*Notice
	for rows.Next() {
		n, err := scanNotice(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Notice returns one change notice of a box.
func (s *Service) Notice(ctx context.Context, box *Box, id string) (*Notice, error) {
	n, err := scanNotice(s.db.QueryRowContext(ctx, qNotice, box.ID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: notice %s", ErrNotFound, id)
	}
	return n, err
}

func scanNotice(sc interface{ Scan(...any) error }) (*Notice, error) {
	var n Notice
	var revoked, created int64
	var answered sql.NullInt64
	if err := sc.Scan(&n.ID, &n.OldSerial, &revoked, &created, &answered); err != nil {
		return nil, err
	}
	n.RevokedAt, n.CreatedAt = time.Unix(revoked, 0), time.Unix(created, 0)
	if answered.Valid {
		n.AnsweredAt = time.Unix(answered.Int64, 0)
	}
	return &n, nil
}

// MaxNoticeAge is how old a signed address notice may be when it is sent.
const MaxNoticeAge = 15 * time.Minute

// AddressNoticeContent is what the owner signs, with the new signing
// certificate, for one business: the business reads the new address from
// that certificate, not from anything typed.
func AddressNoticeContent(p *Party, customerRef string, at time.Time) *verify.Content {
	return &verify.Content{Type: AddressNoticeType, Title: p.NameJA + " への住所変更の届出", IssuedAt: at, To: p.ID,
		Fields: []verify.Field{
			{Label: "届出先", Value: p.NameJA},
			{Label: "お客さま番号", Value: customerRef},
			{Label: "新しい住所", Value: "この届出に署名した署名用電子証明書に記載の住所"},
		}}
}

// NotifyAddress answers a change notice: for each chosen business (party
// ID → the owner's signed AddressNoticeContent) it queues one notice. Each
// must be a business the owner consented to be told, signed with a signing
// certificate other than the revoked one; a business already notified for
// this change is not sent to again.
func (s *Service) NotifyAddress(ctx context.Context, box *Box, noticeID string, signed map[string][]byte) ([]*Send, error) {
	return s.notifyAddress(ctx, box, noticeID, "", signed)
}

// notifyAddress is NotifyAddress with the ID the owner's terminal gave the
// request (or ""): the notice to each business is sent as client ID
// "<ID>/<party>", and one the box has sent already is answered as it is,
// its signature not checked again (a retry may come after MaxNoticeAge).
func (s *Service) notifyAddress(ctx context.Context, box *Box, noticeID, clientID string, signed map[string][]byte) ([]*Send, error) {
	n, err := s.Notice(ctx, box, noticeID)
	if err != nil {
		return nil, err
	}
	if len(signed) == 0 {
		return nil, fmt.Errorf("%w: choose at least one business", ErrInvalid)
	}
	var out []*Send
	if clientID != "" {
		todo := map[string][]byte{}
		for partyID, doc := range signed {
			sd, err := s.sentAs(ctx, box, noticeClientID(clientID, partyID), partyID, KindAddressNotice)
			if err != nil {
				return nil, err
			}
			if sd == nil {
				todo[partyID] = doc
				continue
			}
			out = append(out, sd)
		}
		if len(todo) == 0 {
			return out, nil
		}
		signed = todo
	}
	consents, err := s.Consents(ctx, box)
	if err != nil {
		return nil, err
	}
	refs := map[string]string{}
	for _, c := range consents {
		if c.AddressNotice {
			refs[c.PartyID] = c.CustomerRef
		}
	}
	type checked struct {
		p   *Party
		rep *verify.Report
		doc []byte
	}
	var todo []checked
	for partyID, doc := range signed {
		ref, ok := refs[partyID]
		if !ok {
			return nil, fmt.Errorf("%w: %s", ErrNoConsent, partyID)
		}
		p, err := s.Party(ctx, partyID)
		if err != nil {
			return nil, err
		}
		rep, err := s.ownSignature(ctx, box, "address-notice", doc)
		if err != nil {
			return nil, err
		}
		if jpki.Serial(rep.SignerCert.SerialNumber) == n.OldSerial {
			return nil, ErrOldCert
		}
		// A notice signed long ago (with a certificate since replaced by a
		// second move) would tell an outdated address.
		if rep.SigningTime == nil || s.now().Sub(*rep.SigningTime) > MaxNoticeAge {
			return nil, fmt.Errorf("%w: sign the notice now", ErrStale)
		}
		if !sameFields(rep.Content, AddressNoticeContent(p, ref, time.Time{})) {
			return nil, fmt.Errorf("%w: the signed notice for %s does not say what was asked", ErrInvalid, p.ID)
		}
		todo = append(todo, checked{p, rep, doc})
	}
	for _, c := range todo {
		env := Envelope{Kind: KindAddressNotice, CustomerRef: refs[c.p.ID],
			Documents: []EnvelopeDoc{{Name: "address-notice", Type: AddressNoticeType, Format: verify.FormatCMS, Data: c.doc}}}
		cid := ""
		if clientID != "" {
			cid = noticeClientID(clientID, c.p.ID)
		}
		sd, err := s.queue(ctx, box, c.p, KindAddressNotice, n.ID, cid, c.rep.Content.Title, env)
		if err != nil && store.IsUniqueViolation(err) {
			continue // told already: nothing is sent twice
		}
		if err != nil {
			return out, err
		}
		out = append(out, sd)
	}
	if _, err := s.db.Write(ctx, qAnswerNotice, s.now().Unix(), n.ID); err != nil {
		return out, fmt.Errorf("postbox: answer notice: %w", err)
	}
	return out, nil
}

// noticeClientID is the client ID of one business's notice among those
// sent under clientID. The "/" is never in a client ID the API takes, so
// it names no other send.
func noticeClientID(clientID, partyID string) string { return clientID + "/" + partyID }

// Notified lists the parties already sent a notice for a change notice.
func (s *Service) Notified(ctx context.Context, box *Box, noticeID string) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, qNoticeSends, box.ID, noticeID)
	if err != nil {
		return nil, fmt.Errorf("postbox: notice sends: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}
