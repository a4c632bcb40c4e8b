package jpki

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// The resident's own history of what the JPKI counters did to their cards
// (issue 16), for /me/audit (Authorization: Bearer <platform assertion>,
// as municipal's GET /municipal/v1/my-history):
//
//	GET /jpki/v1/my-history → {"entries": [HistoryEntry…]}, newest first
//
// The holder is the assertion's platform ID. The centre does not know
// platform IDs: the platform, which links them to certificates, gives the
// certificates of one (its caller API under caller key platform/jpki,
// audited there); the centre maps them to cards and lists the counter
// calls on those cards that were answered: issuance, renewal, change of
// address, revocation, loss, death, PIN reset, and the clerk's reads of the
// card's record. Only the counter API's calls are listed: what the
// program's own counter does in its process (the demo's seeding, the
// operator's commands) is in jpki_audit only. A row names the counter's office and the staff numbers of
// the clerk and of the supervisor who approved, never their names or
// platform IDs, as the municipal register's history does. Each read of the
// history is audited (AuditOwnHistory) naming the resident as reader.

// AuditOwnHistory is the jpki_audit action of a resident's read of their
// history.
const AuditOwnHistory = "own-history"

// ErrNoCardLogin is a history request without a valid platform assertion.
var ErrNoCardLogin = errors.New("jpki: no valid card login")

// CodeNoCardLogin is its problem code.
const CodeNoCardLogin httpapi.Code = "no_card_login"

// historyRules answers the history API.
var historyRules = httpapi.Rules{
	{Err: ErrNoCardLogin, Status: http.StatusUnauthorized, Code: CodeNoCardLogin,
		Header: http.Header{"Www-Authenticate": {`Bearer realm="jpki"`}},
		JA:     "カードでのログイン（共通プラットフォームの本人確認）が必要です。もう一度カードでログインしてください。",
		EN:     "A card login (the platform's assertion) is required. Log in with your card again."},
}

// Holders is what the history API needs, passed in by whoever serves it:
// the centre imports neither the platform nor its keys.
type Holders struct {
	// Verify checks the platform's assertion (its signature with the
	// platform's keys, issuer, audience and expiry) and returns the
	// holder's platform ID and the terminal it was made at. An assertion
	// that does not hold is an error wrapping ErrNoCardLogin (401); any
	// other error (the platform's keys out of reach) is the centre's.
	Verify func(ctx context.Context, assertion string) (platformID, terminal string, err error)
	// Certificates are the certificates the platform links to a platform
	// ID (platform.CallerClient.PersonCertificates, audited there); none
	// for a platform ID the platform does not know.
	Certificates func(ctx context.Context, platformID string) ([]LinkageRef, error)
}

// historyShown is how many rows of each card a history holds, the newest.
const historyShown = 200

// HistoryEntry is a line of a resident's history at the counters, as they
// read it.
type HistoryEntry struct {
	At time.Time `json:"at"`
	// Municipality is the counter's town: 酒田市 (062049).
	Municipality string `json:"municipality"`
	// Office is the counter, as the resident reads it (山形県酒田市
	// 電子証明書窓口).
	Office string `json:"office"`
	// StaffNumber is the clerk's, ApproverNumber the approving
	// supervisor's ("" for none).
	StaffNumber    string `json:"staff_number"`
	ApproverNumber string `json:"approver_number,omitempty"`
	// Action is the counter call (issue-card, renew, change-address,
	// revoke, close, pin-reset, card); Detail is what it named: the
	// certificate kind of a revocation, the event of a closure, the PIN of
	// a reset (never a serial, a PIN or a name).
	Action string `json:"action"`
	Detail string `json:"detail,omitempty"`
	CardID string `json:"card_id"`
}

// What is the entry's action in Japanese and English.
func (e HistoryEntry) What() (ja, en string) {
	switch e.Action {
	case "issue-card":
		return "電子証明書の発行", "Certificates issued"
	case "renew":
		return "電子証明書の更新", "Certificates renewed"
	case "change-address":
		return "住所等の変更による電子証明書の再発行", "Certificates reissued for a change of address or name"
	case "revoke":
		switch Kind(e.Detail) {
		case Sign:
			return "署名用電子証明書の失効", "Signing certificate revoked"
		case Auth:
			return "利用者証明用電子証明書の失効", "Authentication certificate revoked"
		}
		return "電子証明書の失効", "Certificate revoked"
	case "close":
		switch CardEvent(e.Detail) {
		case Loss:
			return "カードの紛失の届出（電子証明書の失効）", "Card reported lost (certificates revoked)"
		case Death:
			return "死亡による電子証明書の失効", "Certificates revoked on death"
		}
		return "電子証明書の失効（カードの廃止）", "Certificates revoked (card withdrawn)"
	case "pin-reset":
		switch PINKind(e.Detail) {
		case PINSign:
			return "署名用電子証明書のパスワードの初期化・再設定", "Signing password reset"
		case PINText:
			return "券面事項入力補助用の暗証番号の初期化・再設定", "Card-text PIN reset"
		}
		return "利用者証明用電子証明書の暗証番号の初期化・再設定", "Authentication PIN reset"
	case "card":
		return "カードの記録の閲覧", "Your card's record was viewed"
	}
	return e.Action, e.Action
}

// counterOffice is a counter's town and office as the resident reads them.
func counterOffice(town string) (municipality, office string) {
	m, err := LookupMunicipality(town)
	if err != nil {
		return town, town
	}
	return fmt.Sprintf("%s (%s)", m.Name, m.Code), m.Prefecture + m.Name + " 電子証明書窓口"
}

// historyDetail is what of a call's audit subject the resident reads: the
// kind of a revoked certificate, not its serial.
func historyDetail(action, subject string) string {
	switch action {
	case "revoke":
		k, _, _ := strings.Cut(subject, ":")
		return k
	case "close", "pin-reset":
		return subject
	}
	return ""
}

// History is what the counters did to the cards of the holder of certs
// (their certificates as the platform links them), newest first; reader
// names them in the audit row of the read. A holder of no card the centre
// knows has an empty history.
func (c *Centre) History(ctx context.Context, certs []LinkageRef, reader string) ([]HistoryEntry, error) {
	cards := map[string]bool{}
	for _, ref := range certs {
		var card string
		err := c.db.QueryRowContext(ctx, qCardOfCert, string(ref.Kind), ref.Serial).Scan(&card)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("jpki: the card of %s %s: %w", ref.Kind, ref.Serial, err)
		}
		cards[card] = true
	}
	out := []HistoryEntry{}
	ids := make([]string, 0, len(cards))
	for id := range cards {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		es, err := c.cardHistory(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	if len(out) > historyShown {
		out = out[:historyShown]
	}
	if err := c.audit(ctx, reader, AuditOwnHistory, strings.Join(ids, " ")); err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Centre) cardHistory(ctx context.Context, cardID string) ([]HistoryEntry, error) {
	rows, err := c.db.QueryContext(ctx, qCardCalls, cardID, historyShown)
	if err != nil {
		return nil, fmt.Errorf("jpki: the calls of card %s: %w", cardID, err)
	}
	defer rows.Close()
	var out []HistoryEntry
	for rows.Next() {
		var (
			at                          int64
			action, card, subject, town string
			staffNumber, approverNumber string
		)
		if err := rows.Scan(&at, &action, &card, &subject, &town, &staffNumber, &approverNumber); err != nil {
			return nil, fmt.Errorf("jpki: the calls of card %s: %w", cardID, err)
		}
		e := HistoryEntry{At: time.UnixMilli(at).UTC(), StaffNumber: staffNumber, ApproverNumber: approverNumber,
			Action: action, Detail: historyDetail(action, subject), CardID: card}
		if town != "" {
			e.Municipality, e.Office = counterOffice(town)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jpki: the calls of card %s: %w", cardID, err)
	}
	return out, nil
}

// HistoryRoutes serves the history API to the holders h verifies.
func (c *Centre) HistoryRoutes(mux *http.ServeMux, h Holders) {
	mux.HandleFunc("GET /jpki/v1/my-history", func(w http.ResponseWriter, r *http.Request) {
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		pid, terminal, err := h.Verify(r.Context(), strings.TrimSpace(token))
		if err != nil {
			c.logger.InfoContext(r.Context(), "history refused", "err", err)
			historyRules.Write(w, r, c.logger, fmt.Errorf("jpki: the holder's assertion: %w", err))
			return
		}
		certs, err := h.Certificates(r.Context(), pid)
		if err != nil {
			historyRules.Write(w, r, c.logger, fmt.Errorf("jpki: the holder's certificates: %w", err))
			return
		}
		es, err := c.History(r.Context(), certs, "resident:"+pid+" terminal "+terminal)
		if err != nil {
			historyRules.Write(w, r, c.logger, err)
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"entries": es})
	})
}

// MyHistory asks the centre at baseURL for the history of the holder of
// assertion.
func MyHistory(ctx context.Context, hc *http.Client, baseURL, assertion string) ([]HistoryEntry, error) {
	cl := &httpapi.Client{Service: "jpki", BaseURL: baseURL, HTTP: hc, Auth: httpapi.Bearer(assertion), Rules: historyRules}
	var out struct {
		Entries []HistoryEntry `json:"entries"`
	}
	if _, err := cl.DoJSON(ctx, httpapi.Request{Method: http.MethodGet, Path: "/jpki/v1/my-history"}, &out); err != nil {
		return nil, err
	}
	return out.Entries, nil
}
