package platform

import (
	"crypto/x509"
	"net/http"

	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/jpki"
)

// The platform's API for the other roles (each with its own caller key,
// Authorization: Bearer <key>; every answer is audited under the caller):
//
//	GET  /platform/v1/persons/{id}/attributes   → jpki.HolderAttributes of the platform ID's holder
//	POST /platform/v1/signers                   {"certificate": DER} → {"platform_id"}: the holder of a signing certificate
//	GET  /platform/v1/persons/{id}/certificates → {"certificates": [{"kind", "serial"}]}: those linked to the platform ID
//	POST /platform/v1/persons/{id}/disclosures  Disclosure → 204: what the OpenID Connect provider gave whom (disclosure.go)
//	POST /platform/v1/presented                 {"certificate", "among"} → {"platform_id"}: a card presented without its PIN (presence.go)
//
// A service holds its own IDs linked to the platform ID; the first two calls
// are how it matches a person (the five-attribute rule of a payment, the
// kiosk's 本籍地 check) or learns who signed a document (post box,
// delegation), without ever seeing the My Number. The third is the JPKI
// centre's (caller jpki): it keeps what its counters did by card and
// certificate, and shows a holder their history by the certificates the
// platform linked to them.

// CodeNotFound is the caller API's answer for an unknown person; a
// client's errors match it with errors.Is, and match ErrNotFound and
// ErrInvalid (CodeInvalid, the platform API's) as in one process.
const CodeNotFound httpapi.Code = "person_not_found"

var callerRules = append(httpapi.Rules{
	{Err: ErrNotFound, Status: http.StatusNotFound, Code: CodeNotFound,
		JA: "該当する利用者が見つかりません（共通プラットフォームを利用したことがありません）。",
		EN: "No such person: the holder has not used the platform."},
	{Err: ErrUnknownItem, Status: http.StatusBadRequest, Code: CodeUnknownItem, Detail: true,
		JA: "提供した項目に、記録できないものがあります（name, address, birthdate, gender, signature のいずれかです）。何も記録していません。",
		EN: "An item is not one that can be recorded (name, address, birthdate, gender or signature). Nothing was recorded."},
	{Err: errDisclosureBody, Status: http.StatusBadRequest, Code: CodeInvalid, Detail: true,
		JA: "要求の形式が正しくありません（recipient（1〜200文字）, items（1つ以上、重複なし）, signature には sign_transaction_id（UUID）が必要です）。何も記録していません。",
		EN: "Malformed request: recipient (1–200 characters), items (one or more, each once) and, for a signature, sign_transaction_id (a UUID) are required. Nothing was recorded."},
	{Err: ErrInvalid, Status: http.StatusBadRequest, Code: CodeInvalid,
		JA: "要求の内容に誤りがあります。", EN: "Invalid request."},
	{Err: httpapi.ErrBody, Status: http.StatusBadRequest, Code: CodeInvalid,
		JA: "要求の本文が正しい JSON ではありません。", EN: "The body is not the expected JSON."},
}, callerkey.Rules...)

// Audit actions of the caller API (platform_audit.action); the row's
// terminal_id column names the caller as "caller:NAME".
const (
	AuditCallerAttributes = "caller-attributes"
	AuditCallerSigner     = "caller-signer"
	AuditCallerCerts      = "caller-certificates"
)

// PersonCerts is the answer of GET /platform/v1/persons/{id}/certificates.
type PersonCerts struct {
	Certificates []jpki.LinkageRef `json:"certificates"`
}

// SignerRequest is the body of POST /platform/v1/signers.
type SignerRequest struct {
	Certificate []byte `json:"certificate"`
}

// SignerAnswer is its answer.
type SignerAnswer struct {
	PlatformID string `json:"platform_id"`
}

// CallerRoutes registers the caller API for the callers in keys.
func (p *Platform) CallerRoutes(mux *http.ServeMux, keys callerkey.Keys) {
	mux.HandleFunc("GET /platform/v1/persons/{id}/attributes", keys.Only(p.serveAttributes))
	mux.HandleFunc("POST /platform/v1/signers", keys.Only(p.serveSigner))
	mux.HandleFunc("GET /platform/v1/persons/{id}/certificates", keys.Only(p.serveCertificates))
	mux.HandleFunc("POST /platform/v1/persons/{id}/disclosures", keys.Only(p.serveDisclosure))
	mux.HandleFunc("POST /platform/v1/presented", keys.Only(p.servePresented))
}

// callerAudited writes the audit row of a call and returns err, or the
// audit's failure.
func (p *Platform) callerAudited(r *http.Request, caller, personID, action, serial string, err error) error {
	return callerkey.Audited(err, func(result string) error {
		_, err := p.db.Write(r.Context(), qInsertAudit, newID(), p.now().UnixMilli(), personID, "caller:"+caller, action, result, "", serial, trace.ID(r.Context()))
		return err
	})
}

func (p *Platform) serveAttributes(w http.ResponseWriter, r *http.Request, caller string) {
	id := r.PathValue("id")
	attrs, err := p.PersonAttributes(r.Context(), id)
	if err = p.callerAudited(r, caller, id, AuditCallerAttributes, "", err); err != nil {
		callerRules.Write(w, r, p.logger, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, attrs)
}

func (p *Platform) serveSigner(w http.ResponseWriter, r *http.Request, caller string) {
	var req SignerRequest
	if err := httpapi.Decode(r.Body, &req, 64<<10); err != nil {
		callerRules.Write(w, r, p.logger, err)
		return
	}
	cert, err := x509.ParseCertificate(req.Certificate)
	if err != nil {
		callerRules.Write(w, r, p.logger, ErrInvalid)
		return
	}
	id, err := p.SignerPerson(r.Context(), cert)
	if err = p.callerAudited(r, caller, id, AuditCallerSigner, jpki.Serial(cert.SerialNumber), err); err != nil {
		callerRules.Write(w, r, p.logger, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, SignerAnswer{PlatformID: id})
}

func (p *Platform) serveCertificates(w http.ResponseWriter, r *http.Request, caller string) {
	id := r.PathValue("id")
	certs, err := p.PersonCertificates(r.Context(), id)
	if err = p.callerAudited(r, caller, id, AuditCallerCerts, "", err); err != nil {
		callerRules.Write(w, r, p.logger, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, PersonCerts{Certificates: certs})
}
