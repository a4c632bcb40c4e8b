package platform

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/mynaplat/mynaplat/internal/trace"
)

// Deferred authentication: a terminal that cannot reach the platform (a
// mobile terminal on a poor network, a reception during an outage) has the
// card sign a nonce of its own, binding the time of use, verifies what it
// can locally (the CA and its last CRL), and sends the signed answer when
// the network returns. The platform then runs the same checks as for a
// challenge — validity and revocation as of the time of use — and answers
// with an assertion whose auth_time is that time.
//
// The terminal's own ID of the answer makes it idempotent: sending the same
// answer again (a lost response, a restart) gets the same result and writes
// no second audit row; another answer under a used ID is a replay.

// MaxDeferral is how long after the card signed an offline answer it may
// still be confirmed.
const MaxDeferral = 7 * 24 * time.Hour

// DeferredAuthRequest is an offline answer, sent when the network returns.
type DeferredAuthRequest struct {
	ID          string    `json:"id"` // the terminal's ID of the answer: 16–64 of A–Z a–z 0–9 - _
	SignedAt    time.Time `json:"signed_at"`
	Nonce       []byte    `json:"nonce"` // the terminal's random nonce (32 bytes)
	Certificate []byte    `json:"certificate"`
	Signature   []byte    `json:"signature"` // over OfflineMessage
	Purpose     string    `json:"purpose,omitempty"`
}

var deferredIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)

// OfflineMessage is what the card signs for an offline answer: the same
// framing as a challenge, with the terminal's ID of the answer and the time
// of use in place of the platform's challenge ID.
func OfflineMessage(id string, signedAt time.Time, nonce []byte, terminalID string) []byte {
	return SignedMessage("offline/"+id+"/"+strconv.FormatInt(signedAt.UnixMilli(), 10), nonce, terminalID)
}

// AuthenticateDeferred checks an offline answer. See the section comment.
func (p *Platform) AuthenticateDeferred(ctx context.Context, t *Terminal, req DeferredAuthRequest) (*Report, string, error) {
	now := p.now()
	at := req.SignedAt
	rep := &Report{TerminalID: t.ID, At: at.UTC(), Checks: []Check{}}
	switch {
	case !deferredIDPattern.MatchString(req.ID) || len(req.Nonce) < 16 || (req.Purpose != "" && req.Purpose != PurposeEligibility):
		rep.check("challenge", false, "malformed offline answer")
		return rep.fail(Failed, ReasonMalformed, ""), "", nil
	case !purposeFits(t.Kind, req.Purpose):
		// Offline answers carry no staff or provider purpose, so a staff
		// terminal or the provider's has none to give.
		rep.check("challenge", false, "purpose of another kind of terminal")
		return rep.fail(Failed, ReasonMalformed, DetailPurpose), "", nil
	case at.After(now.Add(clockSkew)) || now.Sub(at) > MaxDeferral:
		rep.check("challenge", false, "signed at "+at.UTC().Format(time.RFC3339)+", outside the allowed window")
		return rep.fail(Failed, ReasonExpiredChallenge, ""), "", nil
	}
	rep.check("challenge", true, "offline answer "+req.ID+", signed at "+at.UTC().Format(time.RFC3339))
	signed, err := p.verifyAnswer(ctx, rep, req.Certificate, req.Signature, OfflineMessage(req.ID, at, req.Nonce, t.ID), at, req.Purpose)
	if err != nil {
		return nil, "", err
	}
	// Record the answer as a used challenge and the audit row together; the
	// same answer again is answered again but recorded once.
	key := "offline/" + t.ID + "/" + req.ID
	err = p.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, qInsertUsedChallenge, key, t.ID, req.Nonce, at.UnixMilli(), at.UnixMilli(), now.UnixMilli())
		if err != nil {
			return fmt.Errorf("platform: record offline answer: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var nonce []byte
			if err := tx.QueryRowContext(ctx, qChallengeNonce, key).Scan(&nonce); err != nil {
				return fmt.Errorf("platform: read offline answer: %w", err)
			}
			if !bytes.Equal(nonce, req.Nonce) {
				rep.PlatformID = ""
				rep.check("challenge", false, "offline answer ID already used")
				rep.fail(Failed, ReasonReplayed, "")
			}
			return nil
		}
		var pid any
		if rep.PlatformID != "" {
			pid = rep.PlatformID
		} else if signed && rep.Serial != "" {
			var s sql.NullString
			if err := tx.QueryRowContext(ctx, qPersonOfCert, "auth", rep.Serial).Scan(&s); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if s.Valid {
				pid = s.String
			}
		}
		_, err = tx.ExecContext(ctx, qInsertAudit, newSortableID(at), at.UnixMilli(), pid, t.ID, "authenticate-offline",
			string(rep.Result), string(rep.Reason)+":"+rep.Detail, rep.Serial, trace.ID(ctx))
		return err
	})
	if err != nil {
		return nil, "", err
	}
	p.results.WithLabelValues(string(rep.Result), string(rep.Reason)).Inc()
	if rep.Result != Passed {
		return rep, "", nil
	}
	assertion, err := p.keys.sign(p.claims(rep, t, now, at, req.Purpose), now)
	if err != nil {
		return nil, "", err
	}
	return rep, assertion, nil
}
