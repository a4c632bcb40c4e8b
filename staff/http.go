package staff

import (
	"net/http"

	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/internal/httpapi"
)

// The directory's API for the offices, each under its own caller key
// (the office's role):
//
//	POST /staff/v1/checks    {platform_id, office} → the grant valid now
//	POST /staff/v1/logins    LoginRequest → the grant; uses up the assertion
//	POST /staff/v1/refusals  a refusal the office made, for the audit

// Problem codes of the directory's API.
const (
	CodeInvalid     httpapi.Code = "staff_invalid"
	CodeNotFound    httpapi.Code = "staff_not_found"
	CodeNoGrant     httpapi.Code = "staff_no_grant"
	CodeOtherOffice httpapi.Code = "staff_other_office"
	CodeExpired     httpapi.Code = "staff_grant_expired"
	CodeRevoked     httpapi.Code = "staff_grant_revoked"
	CodeReplayed    httpapi.Code = "staff_login_replayed"
	CodeWrongLogin  httpapi.Code = "staff_wrong_login"
	// The refusals of an approval (approval.go).
	CodeSelfApproval    httpapi.Code = "staff_self_approval"
	CodeNotApprover     httpapi.Code = "staff_not_approver"
	CodeApprovalExpired httpapi.Code = "staff_approval_expired"
	CodeOutOfScope      httpapi.Code = "staff_out_of_scope"
	// The refusal of a signature with another's card (sign.go).
	CodeNotOwnCard httpapi.Code = "staff_not_own_card"
)

// apiRules are the directory's refusals: the one place its errors meet HTTP.
var apiRules = append(httpapi.Rules{
	{Err: ErrInvalid, Status: http.StatusBadRequest, Code: CodeInvalid, Detail: true,
		JA: "要求の内容に誤りがあります。", EN: "Invalid request."},
	{Err: httpapi.ErrBody, Status: http.StatusBadRequest, Code: CodeInvalid,
		JA: "要求の本文が正しい JSON ではありません。", EN: "The body is not the expected JSON."},
	{Err: ErrNotFound, Status: http.StatusNotFound, Code: CodeNotFound,
		JA: "該当する権限がありません。", EN: "No such grant."},
	{Err: ErrNoGrant, Status: http.StatusForbidden, Code: CodeNoGrant,
		JA: "この事務所で働く権限が登録されていません。", EN: "You have no grant to work at this office."},
	{Err: ErrOtherOffice, Status: http.StatusForbidden, Code: CodeOtherOffice,
		JA: "登録されている権限はほかの事務所のものです。", EN: "Your grant is for another office."},
	{Err: ErrExpired, Status: http.StatusForbidden, Code: CodeExpired,
		JA: "権限の有効期間外です。", EN: "Your grant is not valid at this time."},
	{Err: ErrRevoked, Status: http.StatusForbidden, Code: CodeRevoked,
		JA: "権限は取り消されています。", EN: "Your grant has been revoked."},
	{Err: ErrReplayed, Status: http.StatusForbidden, Code: CodeReplayed,
		JA: "このカードログインはすでに使われています。", EN: "This card login has been used before."},
	{Err: ErrWrongLogin, Status: http.StatusForbidden, Code: CodeWrongLogin,
		JA: "職員用端末でのカードログインではありません。", EN: "This is not a card login at a staff terminal."},
	{Err: ErrSelfApproval, Status: http.StatusForbidden, Code: CodeSelfApproval,
		JA: "申請した職員本人は承認できません。", EN: "One cannot approve one's own request."},
	{Err: ErrNotApprover, Status: http.StatusForbidden, Code: CodeNotApprover,
		JA: "この権限では承認できません。", EN: "This grant's role does not approve this."},
	{Err: ErrApprovalExpired, Status: http.StatusForbidden, Code: CodeApprovalExpired,
		JA: "承認の受付時間を過ぎました。", EN: "The time to approve has passed."},
	{Err: ErrNotOwnCard, Status: http.StatusForbidden, Code: CodeNotOwnCard,
		JA: "カードの署名用電子証明書が職員本人のものではありません。", EN: "The card's signing certificate is not the member of staff's."},
	{Err: ErrOutOfScope, Status: http.StatusForbidden, Code: CodeOutOfScope,
		JA: "この呼び出し元は、この事務所の職員を確認できません。", EN: "This caller may not ask about this office's staff."},
	httpapi.InternalRule("職員名簿で内部エラーが発生しました。しばらくしてからもう一度お試しください。",
		"The staff directory failed. Please try again later."),
}, callerkey.Rules...)

// CheckRequest is the body of POST /staff/v1/checks.
type CheckRequest struct {
	PlatformID string `json:"platform_id"`
	Office     string `json:"office"`
}

// RefusalRequest is the body of POST /staff/v1/refusals.
type RefusalRequest struct {
	PlatformID string       `json:"platform_id"`
	Office     string       `json:"office"`
	Code       httpapi.Code `json:"code"`
	Detail     string       `json:"detail"`
}

// Routes registers the API for the callers in keys. scope says whether a
// caller may ask about an office (nil: any): each office's key reads and
// spends the sign-ins of its own kind of office only.
func (d *Directory) Routes(mux *http.ServeMux, keys callerkey.Keys, scope func(caller, office string) bool) {
	if scope == nil {
		scope = func(string, string) bool { return true }
	}
	in := func(h func(http.ResponseWriter, *http.Request, string, func(string, string) bool)) http.HandlerFunc {
		return keys.Only(func(w http.ResponseWriter, r *http.Request, caller string) { h(w, r, caller, scope) })
	}
	mux.HandleFunc("POST /staff/v1/checks", in(d.serveCheck))
	mux.HandleFunc("POST /staff/v1/logins", in(d.serveLogin))
	mux.HandleFunc("POST /staff/v1/refusals", in(d.serveRefusal))
}

// inScope refuses (false, with the answer written) an office outside the
// caller's scope.
func (d *Directory) inScope(w http.ResponseWriter, r *http.Request, scope func(string, string) bool, caller, office string) bool {
	if !scope(caller, office) {
		d.logger.WarnContext(r.Context(), "staff: a caller asked about another's office", "caller", caller, "office", office)
		apiRules.Write(w, r, d.logger, ErrOutOfScope)
		return false
	}
	return true
}

func (d *Directory) serveCheck(w http.ResponseWriter, r *http.Request, caller string, scope func(string, string) bool) {
	var req CheckRequest
	if err := httpapi.Decode(r.Body, &req, 4<<10); err != nil {
		apiRules.Write(w, r, d.logger, err)
		return
	}
	if !d.inScope(w, r, scope, caller, req.Office) {
		return
	}
	g, err := d.Check(r.Context(), req.PlatformID, req.Office)
	if err != nil {
		apiRules.Write(w, r, d.logger, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, g)
}

func (d *Directory) serveLogin(w http.ResponseWriter, r *http.Request, caller string, scope func(string, string) bool) {
	var req LoginRequest
	if err := httpapi.Decode(r.Body, &req, 4<<10); err != nil {
		apiRules.Write(w, r, d.logger, err)
		return
	}
	if !d.inScope(w, r, scope, caller, req.Office) {
		return
	}
	g, err := d.Login(r.Context(), req)
	if err != nil {
		d.logger.InfoContext(r.Context(), "staff: login refused", "caller", caller, "office", req.Office, "platform_id", req.PlatformID, "err", err)
		apiRules.Write(w, r, d.logger, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, g)
}

func (d *Directory) serveRefusal(w http.ResponseWriter, r *http.Request, caller string, scope func(string, string) bool) {
	var req RefusalRequest
	if err := httpapi.Decode(r.Body, &req, 4<<10); err != nil {
		apiRules.Write(w, r, d.logger, err)
		return
	}
	if !d.inScope(w, r, scope, caller, req.Office) {
		return
	}
	why := apiRules.Sentinel(req.Code)
	if why == nil || len(req.Detail) > 200 {
		apiRules.Write(w, r, d.logger, ErrInvalid)
		return
	}
	if err := d.Refused(r.Context(), req.PlatformID, req.Office, why, req.Detail); err != nil {
		apiRules.Write(w, r, d.logger, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
