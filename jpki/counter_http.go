package jpki

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/wareki"
)

// The counter API: what a municipal counter terminal asks of the centre,
// each terminal with its own caller key (Authorization: Bearer <key>). Every
// call is audited in jpki_counter_calls under the caller's name and trace;
// every change takes an Idempotency-Key and is answered again, unchanged,
// when sent again with it (Idempotent-Replayed is not sent: the answer is
// the same either way).
//
//	GET  /jpki/counter/v1/cards                    → TownCards (the counter's town's)
//	GET  /jpki/counter/v1/cards/{id}               → CardRecord
//	POST /jpki/counter/v1/cards                    IssueRequest → 201 Certified
//	POST /jpki/counter/v1/cards/{id}/renewal       RenewRequest → Certified
//	POST /jpki/counter/v1/cards/{id}/change        ChangeRequest (sign_key) → Certified
//	POST /jpki/counter/v1/cards/{id}/revocations   RevokeRequest → CertInfo
//	POST /jpki/counter/v1/cards/{id}/closure       CloseRequest → {"revoked": [CertInfo]}
//	POST /jpki/counter/v1/cards/{id}/pin-resets    PINResetRequest → 201 PINReset (no PIN in either)
//
// Public keys travel as DER SubjectPublicKeyInfo (base64 in JSON), birth
// dates as YYYY-MM-DD, reasons by their RFC 5280 names. Every call names
// the counter's town (Mynaplat-Counter-Town) and the clerk signed in at it
// (Mynaplat-Counter-Staff, counterstaff.go); both are in its audit rows,
// and a card of another town is refused. The centre checks the town
// against the request, not the caller key: a counter's key is trusted to
// say which town it serves, as it is trusted to say who is signed in.

// The counter API's problem codes.
const (
	CodeInvalidResident      httpapi.Code = "invalid_resident"
	CodeCardNotFound         httpapi.Code = "card_not_found"
	CodeCardExists           httpapi.Code = "card_exists"
	CodeNoLiveCertificate    httpapi.Code = "no_live_certificate"
	CodeNotOnCard            httpapi.Code = "certificate_not_on_card"
	CodeAlreadyRevoked       httpapi.Code = "already_revoked"
	CodeWrongKeys            httpapi.Code = "wrong_keys"
	CodeIdempotencyKey       httpapi.Code = "idempotency_key_missing"
	CodeIdempotencyKeyReused httpapi.Code = "idempotency_key_reused"
	CodeApprovalMissing      httpapi.Code = "approval_missing"
	CodeNoSigningPassword    httpapi.Code = "no_signing_password"
	CodeOtherTown            httpapi.Code = "other_town"
	CodeNoStaff              httpapi.Code = "staff_missing"
	CodeSelfApproval         httpapi.Code = "self_approval"
	CodeNotSupervisor        httpapi.Code = "approver_not_supervisor"
	CodeApprovalExpired      httpapi.Code = "approval_expired"
)

// counterRules answers the counter API's refusals; CounterClient maps them
// back to the sentinels, so a counter tests them as in one process.
var counterRules = append(httpapi.Rules{
	{Err: ErrInvalidResident, Status: http.StatusUnprocessableEntity, Code: CodeInvalidResident, Detail: true,
		JA: "住民の記載事項に誤りがあり、電子証明書に記録できません。", EN: "The resident's data cannot go into a certificate."},
	{Err: ErrCardNotFound, Status: http.StatusNotFound, Code: CodeCardNotFound,
		JA: "このカードの記録は J-LIS にありません。", EN: "The centre has no record of this card."},
	{Err: ErrCardExists, Status: http.StatusConflict, Code: CodeCardExists,
		JA: "このカードにはすでに電子証明書が発行されています。", EN: "This card has been issued already."},
	{Err: ErrNoLiveCertificate, Status: http.StatusUnprocessableEntity, Code: CodeNoLiveCertificate,
		JA: "この内容では処理できません。このカードには有効な電子証明書がありません（カードの再交付が必要です）。",
		EN: "This cannot be done: the card has no valid certificate (a new card must be issued)."},
	{Err: ErrNotOnCard, Status: http.StatusUnprocessableEntity, Code: CodeNotOnCard,
		JA: "この内容では処理できません。指定の電子証明書はこのカードのものではありません。",
		EN: "This cannot be done: the certificate is not one of this card's."},
	{Err: ErrAlreadyRevoked, Status: http.StatusConflict, Code: CodeAlreadyRevoked,
		JA: "この電子証明書はすでに失効しています。", EN: "This certificate is already revoked."},
	{Err: ErrWrongKeys, Status: http.StatusUnprocessableEntity, Code: CodeWrongKeys, Detail: true,
		JA: "カードの鍵が要求に合いません（RSA 2048 ビット、15歳以上は署名用の鍵も必要です）。",
		EN: "The card's keys do not fit the request (RSA-2048; a signing key from age 15)."},
	{Err: ErrOtherTown, Status: http.StatusForbidden, Code: CodeOtherTown,
		JA: "このカードの持ち主はほかの市区町村の住民です。この窓口では扱えません。",
		EN: "The card's holder lives in another municipality; this counter cannot handle the card."},
	{Err: ErrNoStaff, Status: http.StatusForbidden, Code: CodeNoStaff, Detail: true,
		JA: "窓口の市区町村とログインしている職員が示されていません。", EN: "The call does not name the counter's town and the signed-in clerk."},
	{Err: ErrSelfApproval, Status: http.StatusForbidden, Code: CodeSelfApproval,
		JA: "申請した職員が自分で承認することはできません。別の責任者の承認が必要です。",
		EN: "The clerk who prepared the request cannot approve it; another supervisor must."},
	{Err: ErrNotSupervisor, Status: http.StatusForbidden, Code: CodeNotSupervisor,
		JA: "承認した職員はこの窓口の責任者ではありません。", EN: "The approver is not a supervisor of this counter."},
	{Err: ErrApprovalExpired, Status: http.StatusForbidden, Code: CodeApprovalExpired,
		JA: "責任者の承認の有効期限が切れました。もう一度承認を受けてください。", EN: "The supervisor's approval has expired; ask for it again."},
	{Err: ErrNoApproval, Status: http.StatusForbidden, Code: CodeApprovalMissing,
		JA: "この手続には責任者の承認が必要です。", EN: "This procedure needs a supervisor's approval."},
	{Err: ErrNoSigningPassword, Status: http.StatusUnprocessableEntity, Code: CodeNoSigningPassword,
		JA: "このカードには有効な署名用電子証明書がないため、署名用パスワードは設定できません。",
		EN: "The card has no valid signing certificate, so it has no signing password to reset."},
	{Err: ErrIdempotencyKey, Status: http.StatusBadRequest, Code: CodeIdempotencyKey,
		JA: "Idempotency-Key ヘッダー（1〜64文字の英数記号）が必要です。", EN: "An Idempotency-Key header (1 to 64 printable ASCII characters) is required."},
	{Err: ErrIdempotencyReused, Status: http.StatusUnprocessableEntity, Code: CodeIdempotencyKeyReused,
		JA: "この Idempotency-Key は別の要求に使われています。新しいキーで送ってください。",
		EN: "This Idempotency-Key was used for another request; send with a new key."},
	{Err: ErrInvalid, Status: http.StatusBadRequest, Code: CodeInvalid, Detail: true,
		JA: "要求の内容に誤りがあります。", EN: "Invalid request."},
	{Err: httpapi.ErrBody, Status: http.StatusBadRequest, Code: CodeInvalid, Detail: true,
		JA: "要求の本文が正しい JSON ではありません。", EN: "The body is not the expected JSON."},
	{Err: ErrNotFound, Status: http.StatusNotFound, Code: CodeNotFound,
		JA: "該当する証明書がありません。", EN: "No such certificate."},
}, callerkey.Rules...)

// CounterProblem is the counter API's answer to err, with its Japanese and
// English text: for a refusal that came over HTTP the centre's own, for an
// error of this process (a resident the counter checked before the card
// made a key) the one the centre would give. Status 500 is an error the
// API has no words for.
func CounterProblem(err error) httpapi.Problem {
	if e, ok := errors.AsType[*httpapi.Error](err); ok && e.Status < 500 && !e.Bare {
		return e.Problem
	}
	return counterRules.Problem(err)
}

// maxCounterBody bounds a counter request (a resident and two keys).
const maxCounterBody = 16 << 10

// CounterRoutes registers the counter API for the callers in keys.
func (c *Centre) CounterRoutes(mux *http.ServeMux, keys callerkey.Keys) {
	mux.HandleFunc("GET /jpki/counter/v1/cards", keys.Only(c.serveTownCards))
	mux.HandleFunc("GET /jpki/counter/v1/cards/{id}", keys.Only(c.serveCardRecord))
	mux.HandleFunc("POST /jpki/counter/v1/cards", keys.Only(c.serveIssue))
	mux.HandleFunc("POST /jpki/counter/v1/cards/{id}/renewal", keys.Only(c.serveRenew))
	mux.HandleFunc("POST /jpki/counter/v1/cards/{id}/change", keys.Only(c.serveChange))
	mux.HandleFunc("POST /jpki/counter/v1/cards/{id}/revocations", keys.Only(c.serveRevoke))
	mux.HandleFunc("POST /jpki/counter/v1/cards/{id}/closure", keys.Only(c.serveClose))
	mux.HandleFunc("POST /jpki/counter/v1/cards/{id}/pin-resets", keys.Only(c.servePINReset))
}

// counterCall reads a call's town and clerk, a change's Idempotency-Key
// and its body into v (nil for a read); on a refusal it has answered (and
// audited) it.
func (c *Centre) counterCall(w http.ResponseWriter, r *http.Request, caller, action string, v any) (CounterActor, string, bool) {
	a, err := actorOf(r, caller)
	var key string
	if err == nil && v != nil {
		var ok bool
		key, ok = httpapi.IdempotencyKey(r.Header)
		err = httpapi.Decode(r.Body, v, maxCounterBody)
		if err == nil && !ok {
			err = ErrIdempotencyKey
		}
	}
	if err != nil {
		c.counterAnswer(w, r, a, action, r.PathValue("id"), "", nil, 0, nil, err)
		return a, "", false
	}
	return a, key, true
}

// counterAnswer audits a call, naming the counter's town, its clerk and
// the approval (nil: none), and answers it: v with status, or err.
func (c *Centre) counterAnswer(w http.ResponseWriter, r *http.Request, a CounterActor, action, cardID, subject string, ap *Approval, status int, v any, err error) {
	var staffID, staffNumber, approverID, approverNumber, approver, identity string
	if a.Staff != nil {
		staffID, staffNumber = a.Staff.PlatformID, a.Staff.StaffNumber
	}
	if ap != nil {
		approver, identity = ap.approver(), string(ap.Identity)
		if ap.Supervisor != nil {
			approverID, approverNumber = ap.Supervisor.PlatformID, ap.Supervisor.StaffNumber
		}
	}
	// A refusal is audited with its code, so that the row says why.
	result := "OK"
	if err != nil {
		result = "FAILED"
		if pr := counterRules.Problem(err); pr.Status < 500 {
			result = "REFUSED:" + string(pr.Code)
		}
	}
	if _, aerr := c.db.Write(r.Context(), qInsertCall, c.now().UnixMilli(), a.Caller, action, cardID, subject, result, trace.ID(r.Context()),
		a.Town, staffID, a.Staff.String(), approverID, approver, identity, staffNumber, approverNumber); aerr != nil && err == nil {
		err = fmt.Errorf("jpki: audit the call: %w", aerr)
	}
	if err != nil {
		counterRules.Write(w, r, c.logger, err)
		return
	}
	httpapi.WriteJSON(w, status, v)
}

func (c *Centre) serveCardRecord(w http.ResponseWriter, r *http.Request, caller string) {
	a, _, ok := c.counterCall(w, r, caller, "card", nil)
	if !ok {
		return
	}
	id := r.PathValue("id")
	rec, err := c.Counter(a).CardRecord(r.Context(), id)
	c.counterAnswer(w, r, a, "card", id, "", nil, http.StatusOK, rec, err)
}

// TownCards is the answer of GET /jpki/counter/v1/cards: the records of
// the counter's town.
type TownCards struct {
	Cards []*CardRecord `json:"cards"`
}

func (c *Centre) serveTownCards(w http.ResponseWriter, r *http.Request, caller string) {
	a, _, ok := c.counterCall(w, r, caller, "town-cards", nil)
	if !ok {
		return
	}
	recs, err := c.Counter(a).TownCards(r.Context())
	c.counterAnswer(w, r, a, "town-cards", "", a.Town, nil, http.StatusOK, TownCards{Cards: recs}, err)
}

func (c *Centre) serveIssue(w http.ResponseWriter, r *http.Request, caller string) {
	var rq IssueRequest
	a, key, ok := c.counterCall(w, r, caller, "issue-card", &rq)
	if !ok {
		return
	}
	rq.IdempotencyKey = key
	got, err := c.Counter(a).IssueCertificates(r.Context(), rq)
	c.counterAnswer(w, r, a, "issue-card", rq.CardID, serials(got), nil, http.StatusCreated, got, err)
}

func (c *Centre) serveRenew(w http.ResponseWriter, r *http.Request, caller string) {
	var rq RenewRequest
	a, key, ok := c.counterCall(w, r, caller, "renew", &rq)
	if !ok {
		return
	}
	rq.IdempotencyKey, rq.CardID = key, r.PathValue("id")
	got, err := c.Counter(a).RenewCertificates(r.Context(), rq)
	c.counterAnswer(w, r, a, "renew", rq.CardID, serials(got), nil, http.StatusOK, got, err)
}

// changeBody is ChangeRequest on the wire: the signing key as DER.
type changeBody struct {
	ChangeRequest
	SignKey []byte `json:"sign_key,omitempty"`
}

func (c *Centre) serveChange(w http.ResponseWriter, r *http.Request, caller string) {
	var body changeBody
	a, key, ok := c.counterCall(w, r, caller, "change-address", &body)
	if !ok {
		return
	}
	rq := body.ChangeRequest
	rq.IdempotencyKey, rq.CardID = key, r.PathValue("id")
	var err error
	if body.SignKey != nil {
		rq.SignKey, err = parseRSAKey(Sign, body.SignKey)
	}
	var got *Certified
	if err == nil {
		got, err = c.Counter(a).ChangeHolder(r.Context(), rq)
	}
	c.counterAnswer(w, r, a, "change-address", rq.CardID, serials(got), nil, http.StatusOK, got, err)
}

func (c *Centre) serveRevoke(w http.ResponseWriter, r *http.Request, caller string) {
	var rq RevokeRequest
	a, key, ok := c.counterCall(w, r, caller, "revoke", &rq)
	if !ok {
		return
	}
	rq.IdempotencyKey, rq.CardID = key, r.PathValue("id")
	ci, err := c.Counter(a).RevokeCertificate(r.Context(), rq)
	c.counterAnswer(w, r, a, "revoke", rq.CardID, string(rq.Kind)+":"+rq.Serial+" "+rq.Reason.String(), &rq.Approval, http.StatusOK, ci, err)
}

// Closed is the answer of a closure: the certificates it revoked.
type Closed struct {
	Revoked []*CertInfo `json:"revoked"`
}

func (c *Centre) serveClose(w http.ResponseWriter, r *http.Request, caller string) {
	var rq CloseRequest
	a, key, ok := c.counterCall(w, r, caller, "close", &rq)
	if !ok {
		return
	}
	rq.IdempotencyKey, rq.CardID = key, r.PathValue("id")
	revoked, err := c.Counter(a).CloseCard(r.Context(), rq)
	c.counterAnswer(w, r, a, "close", rq.CardID, string(rq.Event), &rq.Approval, http.StatusOK, Closed{Revoked: revoked}, err)
}

// serials names the new certificates of an answer, for the audit row.
func serials(got *Certified) string {
	if got == nil {
		return ""
	}
	var s []string
	for _, is := range got.Certificates {
		s = append(s, string(is.Kind)+":"+is.Serial)
	}
	return strings.Join(s, " ")
}

// CounterClient is a counter terminal's typed client of the counter API.
// It is a CounterAPI: its methods and errors are the centre's own.
type CounterClient struct {
	API httpapi.Client
	// Actor is the counter's town and the clerk signed in at it, sent
	// with every call (For sets the clerk).
	Actor CounterActor
}

// NewCounterClient is a client of the centre at baseURL under the caller's
// key, over hc (httpapi.NewHTTPClient; nil is httpapi's default, with its
// timeout).
func NewCounterClient(baseURL, key, town string, hc *http.Client) *CounterClient {
	return &CounterClient{API: httpapi.Client{Service: "jpki", BaseURL: baseURL, HTTP: hc, Auth: httpapi.Bearer(key), Rules: counterRules},
		Actor: CounterActor{Town: town}}
}

// For is the client of the counter's calls made by the clerk s.
func (cl *CounterClient) For(s CounterStaff) *CounterClient {
	c := *cl
	c.Actor.Staff = &s
	return &c
}

var _ CounterAPI = (*CounterClient)(nil)

func cardPath(id string) string { return "/jpki/counter/v1/cards/" + url.PathEscape(id) }

// change sends a change under its Idempotency-Key (a fresh one when key is
// empty): being de-duplicated, it is sent again when the answer is lost.
func (cl *CounterClient) change(ctx context.Context, path, key string, body, out any) error {
	if key == "" {
		key = NewIdempotencyKey()
	}
	h := cl.Actor.header()
	h.Set("Idempotency-Key", key)
	_, err := cl.API.DoJSON(ctx, httpapi.Request{Method: http.MethodPost, Path: path, JSON: body, Header: h, Idempotent: true}, out)
	return err
}

// CardRecord fetches a card's resident and certificates.
func (cl *CounterClient) CardRecord(ctx context.Context, cardID string) (*CardRecord, error) {
	var rec CardRecord
	if _, err := cl.API.DoJSON(ctx, httpapi.Request{Method: http.MethodGet, Path: cardPath(cardID), Header: cl.Actor.header()}, &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

// TownCards fetches the records of the cards of the counter's town.
func (cl *CounterClient) TownCards(ctx context.Context) ([]*CardRecord, error) {
	var out TownCards
	if _, err := cl.API.DoJSON(ctx, httpapi.Request{Method: http.MethodGet, Path: "/jpki/counter/v1/cards", Header: cl.Actor.header()}, &out); err != nil {
		return nil, err
	}
	return out.Cards, nil
}

// IssueCertificates asks for the certificates of a new card.
func (cl *CounterClient) IssueCertificates(ctx context.Context, rq IssueRequest) (*Certified, error) {
	var out Certified
	if err := cl.change(ctx, "/jpki/counter/v1/cards", rq.IdempotencyKey, rq, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RenewCertificates asks for new certificates of a card.
func (cl *CounterClient) RenewCertificates(ctx context.Context, rq RenewRequest) (*Certified, error) {
	var out Certified
	if err := cl.change(ctx, cardPath(rq.CardID)+"/renewal", rq.IdempotencyKey, rq, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ChangeHolder records a change of name, address or municipality.
func (cl *CounterClient) ChangeHolder(ctx context.Context, rq ChangeRequest) (*Certified, error) {
	body := changeBody{ChangeRequest: rq}
	if rq.SignKey != nil {
		der, err := x509.MarshalPKIXPublicKey(rq.SignKey)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrWrongKeys, err)
		}
		body.SignKey = der
	}
	var out Certified
	if err := cl.change(ctx, cardPath(rq.CardID)+"/change", rq.IdempotencyKey, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RevokeCertificate revokes one certificate of a card.
func (cl *CounterClient) RevokeCertificate(ctx context.Context, rq RevokeRequest) (*CertInfo, error) {
	var out CertInfo
	if err := cl.change(ctx, cardPath(rq.CardID)+"/revocations", rq.IdempotencyKey, rq, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CloseCard revokes every live certificate of a card for an event.
func (cl *CounterClient) CloseCard(ctx context.Context, rq CloseRequest) ([]*CertInfo, error) {
	var out Closed
	if err := cl.change(ctx, cardPath(rq.CardID)+"/closure", rq.IdempotencyKey, rq, &out); err != nil {
		return nil, err
	}
	return out.Revoked, nil
}

// The wire forms of the counter's values.

// residentJSON is a Resident on the wire: the birth date as a civil date.
type residentJSON struct {
	Name         string `json:"name"`
	Kana         string `json:"kana"`
	BirthDate    string `json:"birth_date"`
	Sex          Sex    `json:"sex"`
	Address      string `json:"address"`
	Municipality string `json:"municipality"`
}

// MarshalJSON writes the birth date as YYYY-MM-DD (JST).
func (r Resident) MarshalJSON() ([]byte, error) {
	return json.Marshal(residentJSON{Name: r.Name, Kana: r.Kana, BirthDate: r.BirthDate.In(wareki.JST()).Format(time.DateOnly),
		Sex: r.Sex, Address: r.Address, Municipality: r.Municipality})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Resident) UnmarshalJSON(b []byte) error {
	var w residentJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	birth, err := time.ParseInLocation(time.DateOnly, w.BirthDate, wareki.JST())
	if err != nil {
		return fmt.Errorf("%w: birth_date must be YYYY-MM-DD", ErrInvalidResident)
	}
	*r = Resident{Name: w.Name, Kana: w.Kana, BirthDate: birth, Sex: w.Sex, Address: w.Address, Municipality: w.Municipality}
	return nil
}

// MarshalJSON writes each key as DER SubjectPublicKeyInfo.
func (ks CardKeys) MarshalJSON() ([]byte, error) {
	m := map[Kind][]byte{}
	for k, pub := range ks {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return nil, fmt.Errorf("%w: %s key: %w", ErrWrongKeys, k, err)
		}
		m[k] = der
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads RSA keys of the two kinds.
func (ks *CardKeys) UnmarshalJSON(b []byte) error {
	var m map[Kind][]byte
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	out := CardKeys{}
	for k, der := range m {
		pub, err := parseRSAKey(k, der)
		if err != nil {
			return err
		}
		out[k] = pub
	}
	*ks = out
	return nil
}

func parseRSAKey(k Kind, der []byte) (*rsa.PublicKey, error) {
	if _, err := ParseKind(string(k)); err != nil {
		return nil, fmt.Errorf("%w: no such kind %q", ErrWrongKeys, k)
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: the %s key is not a SubjectPublicKeyInfo: %w", ErrWrongKeys, k, err)
	}
	rk, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: the %s key is not RSA", ErrWrongKeys, k)
	}
	return rk, checkKey(k, rk)
}

// MarshalText is the reason's RFC 5280 name.
func (r Reason) MarshalText() ([]byte, error) {
	if _, ok := reasonNames[r]; !ok {
		return nil, fmt.Errorf("%w: revocation reason %d", ErrInvalid, int(r))
	}
	return []byte(r.String()), nil
}

// UnmarshalText reads a name or number (ParseReason).
func (r *Reason) UnmarshalText(b []byte) error {
	v, err := ParseReason(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// UnmarshalJSON reads a CertInfo with its reason back from its name.
func (ci *CertInfo) UnmarshalJSON(b []byte) error {
	type plain CertInfo
	if err := json.Unmarshal(b, (*plain)(ci)); err != nil {
		return err
	}
	if ci.ReasonName != "" {
		r, err := ParseReason(ci.ReasonName)
		if err != nil {
			return err
		}
		ci.Reason = r
	}
	return nil
}
