package procure

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/corpreg"
)

// The notices to the representative (docs/procurement.md §3 rule 4): Apply
// writes one row in procure_notices, in its transaction, when the register
// first sees an agent (platform ID) act for a 法人番号; the representative
// reads them with a request signed with the representative key.

// NoticesType is the "type" member of the representative's signed request
// for notices: it keeps the request from being taken for another signed
// document of the representative's (a power, a revocation).
const NoticesType = "mynaplat-procure-notices/1"

// NoticeWindow is how far a request for notices may be from the register's
// clock: its time-stamp's time, and the "at" it names, both within it of
// now. A request is answered once (procure_notice_requests), so the window
// only bounds how long its digest is kept.
const NoticeWindow = 5 * time.Minute

// Notice is the register's notice that it first saw an agent act for the
// company: who, under which power and its period, and when.
type Notice struct {
	AgentPlatformID string    `json:"agent_platform_id"`
	AgentName       string    `json:"agent_name"`
	PowerID         string    `json:"power_id"`
	PowerNotBefore  time.Time `json:"power_not_before"`
	PowerNotAfter   time.Time `json:"power_not_after"`
	CreatedAt       time.Time `json:"created_at"`
}

// NoticesRequest is what the representative signs to read the notices.
type NoticesRequest struct {
	Type            string `json:"type"`
	CorporateNumber string `json:"corporate_number"`
	// At is when the request was made.
	At time.Time `json:"at"`
	// Nonce is random (32 hex digits): it makes each request's content
	// unique, which the replay check relies on, even for two requests made
	// at one instant of a clock.
	Nonce string `json:"nonce"`
}

// Canonical is the request's signed form.
func (r NoticesRequest) Canonical() ([]byte, error) {
	r.Type, r.At = NoticesType, r.At.UTC()
	return json.Marshal(r)
}

// SignNoticesRequest signs a request for the notices of the corporation
// number made at at, with the representative key and certificate,
// time-stamped by st: what Client.Notices sends.
func SignNoticesRequest(ctx context.Context, number string, at time.Time, signer crypto.Signer, cert *x509.Certificate, st cms.Stamper) ([]byte, error) {
	if signer == nil || cert == nil || st == nil {
		return nil, fmt.Errorf("%w: a request for notices needs the representative's key and certificate and a TSA", ErrInvalid)
	}
	body, err := NoticesRequest{CorporateNumber: number, At: at, Nonce: newID()}.Canonical()
	if err != nil {
		return nil, err
	}
	return cms.Sign(ctx, body, cms.SignOptions{Signer: signer, Cert: cert, Stamper: st})
}

// parseNoticesRequest reads a request's signed form, canonical only.
func parseNoticesRequest(b []byte) (*NoticesRequest, error) {
	var r NoticesRequest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil || dec.More() || r.Type != NoticesType || corpreg.ValidNumber(r.CorporateNumber) != nil ||
		len(r.Nonce) != 32 {
		return nil, errors.New("the signed content is not a request for notices")
	}
	if c, err := r.Canonical(); err != nil || !bytes.Equal(c, b) {
		return nil, errors.New("the request for notices is not in canonical form")
	}
	return &r, nil
}

// The reasons a request for notices is refused (besides
// ReasonUnknownCorporation and ReasonCorporationClosed).
const (
	// ReasonBadNoticesRequest: the signature or time-stamp does not verify,
	// or the content is not a request for notices (a tampered request).
	ReasonBadNoticesRequest Reason = "bad_notices_request"
	// ReasonNotRepresentative: the signer was not the corporation's
	// representative at the time-stamp.
	ReasonNotRepresentative Reason = "not_representative"
	// ReasonStaleRequest: the time-stamp or the request's time is more than
	// NoticeWindow from the register's clock.
	ReasonStaleRequest Reason = "stale_request"
	// ReasonReplayedRequest: the request was answered already.
	ReasonReplayedRequest Reason = "replayed_request"
)

var (
	_ Corporations = (*corpreg.Registry)(nil)
	_ Corporations = (*corpreg.Client)(nil)
)

// Notices answers the representative's signed request with the
// corporation's notices, newest first. The request must verify with a
// time-stamp within NoticeWindow of now, name a time within it too, be
// signed with the certificate of the representative in office at the
// time-stamp (corpreg.RepresentativeAt), and not have been answered
// before. The answer writes an audit row naming the representative; a
// refusal (a *Refusal) writes only its audit row.
func (s *Service) Notices(ctx context.Context, signed []byte) ([]Notice, error) {
	actor, number, list, err := s.notices(ctx, signed)
	if err != nil {
		return nil, s.refused(ctx, actor, "notices", number, "", err)
	}
	return list, nil
}

func (s *Service) notices(ctx context.Context, signed []byte) (actor, number string, _ []Notice, _ error) {
	actor = "unverified"
	content, signer, signedAt, err := s.verify(signed)
	if err != nil {
		return actor, "", nil, refuse(ReasonBadNoticesRequest, err.Error())
	}
	rq, err := parseNoticesRequest(content)
	if err != nil {
		return actor, "", nil, refuse(ReasonBadNoticesRequest, err.Error())
	}
	number = rq.CorporateNumber
	actor = "representative?:" + signer.Subject.CommonName
	now := s.now()
	if d := now.Sub(signedAt).Abs(); d > NoticeWindow {
		return actor, number, nil, refuse(ReasonStaleRequest, fmt.Sprintf("time-stamped %s, %s from now", signedAt.Format(time.RFC3339), d))
	}
	if d := rq.At.Sub(signedAt).Abs(); d > NoticeWindow {
		return actor, number, nil, refuse(ReasonStaleRequest, fmt.Sprintf("made at %s, time-stamped %s", rq.At.Format(time.RFC3339), signedAt.Format(time.RFC3339)))
	}
	serial := ""
	if signer.SerialNumber != nil {
		serial = signer.SerialNumber.Text(16)
	}
	switch err := s.corps.RepresentativeAt(ctx, number, signer, signedAt); {
	case errors.Is(err, corpreg.ErrNotRepresentative):
		return actor, number, nil, refuse(ReasonNotRepresentative, "certificate "+serial)
	case errors.Is(err, corpreg.ErrUnknownCorporation):
		return actor, number, nil, refuse(ReasonUnknownCorporation, number)
	case errors.Is(err, corpreg.ErrClosed):
		return actor, number, nil, refuse(ReasonCorporationClosed, number)
	case err != nil:
		return actor, number, nil, fmt.Errorf("procure: representative of %s: %w", number, err)
	}
	// corpreg issues the representative certificate with the
	// representative's name as its common name.
	actor = "representative:" + signer.Subject.CommonName
	sum := sha256.Sum256(content)
	digest := hex.EncodeToString(sum[:])
	var list []Notice
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		list = nil
		if _, err := s.db.TxExec(ctx, tx, qPruneNoticeRequests, ms(now.Add(-2*NoticeWindow))); err != nil {
			return err
		}
		res, err := s.db.TxExec(ctx, tx, qUseNoticeRequest, digest, ms(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return refuse(ReasonReplayedRequest, digest)
		}
		rows, err := tx.QueryContext(ctx, qNotices, number)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n Notice
			var from, until, at int64
			if err := rows.Scan(&n.AgentPlatformID, &n.AgentName, &n.PowerID, &from, &until, &at); err != nil {
				return err
			}
			n.PowerNotBefore, n.PowerNotAfter, n.CreatedAt = fromMS(from), fromMS(until), fromMS(at)
			list = append(list, n)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "notices", number, "", "ok", fmt.Sprintf("certificate %s, %d notices", serial, len(list)))
	})
	if err != nil {
		return actor, number, nil, err
	}
	return actor, number, list, nil
}

const (
	// qInsertNotice is Apply's: the first filing of an agent for the
	// corporation leaves the notice, a later one (or a concurrent one that
	// lost the race) nothing.
	qInsertNotice = `INSERT INTO procure_notices (corp_number, agent_pid, agent_name, power_id, power_not_before, power_not_after, created_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (corp_number, agent_pid) DO NOTHING`
	qNotices = `SELECT agent_pid, agent_name, power_id, power_not_before, power_not_after, created_at FROM procure_notices
  WHERE corp_number = $1 ORDER BY created_at DESC, agent_pid LIMIT 500`
	qPruneNoticeRequests = `DELETE FROM procure_notice_requests WHERE used_at < $1`
	qUseNoticeRequest    = `INSERT INTO procure_notice_requests (digest, used_at) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING`
)
