package postbox

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/verify"
)

// The resident API, for the owner's terminal. Authorization: Bearer with a
// box session token (POST /postbox/v1/sessions) or the platform's
// assertion of the owner, made at the post box's terminal (Config.Terminal)
// for no other purpose:
//
//	POST   /postbox/v1/sessions                 the assertion for a box session
//	DELETE /postbox/v1/session                  end the session (log out)
//	GET    /postbox/v1/box                      documents, change notices, sends with their logs, consents, parties
//	GET    /postbox/v1/box/parties              the parties (names and roles; nothing of the box, so not audited)
//	GET    /postbox/v1/box/documents/{id}       a document with its signature check
//	GET    /postbox/v1/box/compose              the parties and the documents an application may attach
//	POST   /postbox/v1/box/submissions          send a signed application with documents of the box
//	GET    /postbox/v1/box/consents             the consents and the parties
//	POST   /postbox/v1/box/consents             record a signed consent
//	DELETE /postbox/v1/box/consents/{party}     withdraw a consent
//	GET    /postbox/v1/box/notices/{id}         a change notice and the businesses one may tell
//	POST   /postbox/v1/box/notices/{id}/sends   send signed address notices
//	GET    /postbox/v1/box/audit                the box's audit trail, newest first
//
// The terminal signs on the card and sends the signatures (CAdES); the
// card and its PINs never reach the post box. A send carries the
// terminal's client_id, so that a retry after a lost answer is answered
// with the first send and sends nothing twice. Every read of the box's
// contents is audited as the owner's, under the request's trace.
func (s *Service) residentRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /postbox/v1/sessions", s.serveOpenSession)
	mux.HandleFunc("DELETE /postbox/v1/session", s.serveEndSession)
	mux.HandleFunc("GET /postbox/v1/box", s.resident(s.serveBox))
	mux.HandleFunc("GET /postbox/v1/box/parties", s.resident(s.serveParties))
	mux.HandleFunc("GET /postbox/v1/box/documents/{id}", s.resident(s.serveDocument))
	mux.HandleFunc("GET /postbox/v1/box/compose", s.resident(s.serveCompose))
	mux.HandleFunc("POST /postbox/v1/box/submissions", s.resident(s.serveSubmit))
	mux.HandleFunc("GET /postbox/v1/box/consents", s.resident(s.serveConsents))
	mux.HandleFunc("POST /postbox/v1/box/consents", s.resident(s.serveConsent))
	mux.HandleFunc("DELETE /postbox/v1/box/consents/{party}", s.resident(s.serveWithdraw))
	mux.HandleFunc("GET /postbox/v1/box/notices/{id}", s.resident(s.serveNotice))
	mux.HandleFunc("POST /postbox/v1/box/notices/{id}/sends", s.resident(s.serveNotify))
	mux.HandleFunc("GET /postbox/v1/box/audit", s.resident(s.serveAudit))
}

// Refusals of the resident API only. Those that share a sentinel with the
// parties' API wrap it (errors.Is still matches ErrNoConsent …) and say it
// in the owner's words; their rules come before the parties'.
var (
	errNotConsented   = fmt.Errorf("%w (the owner's)", ErrNoConsent)
	errNotOffered     = fmt.Errorf("%w (for the owner)", ErrRole)
	errClientIDReused = fmt.Errorf("%w: the client_id names another send", ErrDuplicate)
	errRequest        = fmt.Errorf("%w: request", ErrInvalid)
)

// residentErr answers an error of the resident API.
func (s *Service) residentErr(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errNotConsented), errors.Is(err, errNotOffered):
	case errors.Is(err, ErrNoConsent):
		err = fmt.Errorf("%w: %w", errNotConsented, err)
	case errors.Is(err, ErrRole):
		err = fmt.Errorf("%w: %w", errNotOffered, err)
	}
	s.writeErr(w, r, err)
}

// bearer is the request's bearer token, "" if none.
func bearer(r *http.Request) string {
	t, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return strings.TrimSpace(t)
}

// resident runs h for the box the request's bearer token opens.
func (s *Service) resident(h func(http.ResponseWriter, *http.Request, *Box)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		box, err := s.residentBox(r.Context(), bearer(r))
		if err != nil {
			s.residentErr(w, r, err)
			return
		}
		h(w, r, box)
	}
}

func (s *Service) serveOpenSession(w http.ResponseWriter, r *http.Request) {
	ss, _, err := s.OpenSession(r.Context(), bearer(r))
	if err != nil {
		s.residentErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, ss)
}

func (s *Service) serveEndSession(w http.ResponseWriter, r *http.Request) {
	t := bearer(r)
	if !strings.HasPrefix(t, SessionPrefix) {
		s.residentErr(w, r, fmt.Errorf("%w: not a box session", ErrSession))
		return
	}
	if err := s.EndSession(r.Context(), t); err != nil {
		s.residentErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// DocumentInfo is a document of a box without its bytes.
type DocumentInfo struct {
	ID         string    `json:"id"`
	PartyID    string    `json:"party_id"` // "" for the owner's own
	Type       string    `json:"type"`
	Title      string    `json:"title"`
	Format     string    `json:"format"`
	ReceivedAt time.Time `json:"received_at"`
	// SHA256 is the digest an application's attachment names it by.
	SHA256 string `json:"sha256"`
}

func infos(ds []*Document) []DocumentInfo {
	out := make([]DocumentInfo, 0, len(ds))
	for _, d := range ds {
		out = append(out, DocumentInfo{ID: d.ID, PartyID: d.PartyID, Type: d.Type, Title: d.Title, Format: d.Format,
			ReceivedAt: d.ReceivedAt, SHA256: d.SHA256()})
	}
	return out
}

// BoxView is the box as its owner sees it.
type BoxView struct {
	Documents []DocumentInfo `json:"documents"`
	Notices   []*Notice      `json:"notices"`
	Sends     []*Send        `json:"sends"`
	Consents  []Consent      `json:"consents"`
	// Parties are every party, by ID: the names of senders and receivers.
	Parties []*Party `json:"parties"`
}

// sorted are the parties by ID.
func sorted(m map[string]*Party) []*Party {
	out := make([]*Party, 0, len(m))
	for _, p := range m {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *Party) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func (s *Service) serveBox(w http.ResponseWriter, r *http.Request, box *Box) {
	ctx := r.Context()
	v := BoxView{Notices: []*Notice{}, Sends: []*Send{}, Consents: []Consent{}}
	parties, err := s.publicParties(ctx)
	if err != nil {
		s.residentErr(w, r, err)
		return
	}
	v.Parties = sorted(parties)
	docs, err := s.Documents(ctx, box, "owner") // audits the read
	if err != nil {
		s.residentErr(w, r, err)
		return
	}
	v.Documents = infos(docs)
	ns, err := s.Notices(ctx, box)
	if err != nil {
		s.residentErr(w, r, err)
		return
	}
	v.Notices = append(v.Notices, ns...)
	sends, err := s.Sends(ctx, box)
	if err != nil {
		s.residentErr(w, r, err)
		return
	}
	v.Sends = append(v.Sends, sends...)
	cs, err := s.Consents(ctx, box)
	if err != nil {
		s.residentErr(w, r, err)
		return
	}
	v.Consents = append(v.Consents, cs...)
	httpapi.WriteJSON(w, http.StatusOK, v)
}

// PartiesView are the parties, by ID, as a box's owner sees them.
type PartiesView struct {
	Parties []*Party `json:"parties"`
}

func (s *Service) serveParties(w http.ResponseWriter, r *http.Request, _ *Box) {
	parties, err := s.publicParties(r.Context())
	if err != nil {
		s.residentErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, PartiesView{Parties: sorted(parties)})
}

// DocumentView is a document of a box with the check of its signature,
// made as it is read.
type DocumentView struct {
	Document *Document `json:"document"`
	// From is the party that delivered it; nil for the owner's own.
	From   *Party         `json:"from,omitempty"`
	Report *verify.Report `json:"report"`
}

func (s *Service) serveDocument(w http.ResponseWriter, r *http.Request, box *Box) {
	ctx := r.Context()
	d, err := s.Document(ctx, box, r.PathValue("id"), "owner") // audits the read
	if err != nil {
		s.residentErr(w, r, err)
		return
	}
	v := DocumentView{Document: d}
	if d.PartyID != "" {
		parties, err := s.publicParties(ctx)
		if err != nil {
			s.residentErr(w, r, err)
			return
		}
		v.From = parties[d.PartyID]
	}
	v.Report = s.policy.Validate(ctx, verify.Document{Name: d.Title, Format: d.Format, Data: d.Data, Power: d.Power,
		Claimed: claimedIssuer(v.From), Type: d.Type})
	httpapi.WriteJSON(w, http.StatusOK, v)
}

// claimedIssuer is the organisation a party delivers documents as: what a
// PDF's signer must hold a power of attorney of (signed JSON names its
// issuer itself, and that wins). nil for a party without a 法人番号.
func claimedIssuer(p *Party) *verify.Issuer {
	if p == nil || p.CorporateNumber == "" {
		return nil
	}
	return &verify.Issuer{CorporateNumber: p.CorporateNumber, Name: p.NameJA}
}

// ComposeView is what an application is written from: the parties (those
// with RoleSubmission receive applications) and the documents it may
// attach.
type ComposeView struct {
	Parties   []*Party       `json:"parties"`
	Documents []DocumentInfo `json:"documents"`
}

func (s *Service) serveCompose(w http.ResponseWriter, r *http.Request, box *Box) {
	parties, err := s.publicParties(r.Context())
	if err != nil {
		s.residentErr(w, r, err)
		return
	}
	docs, err := s.Documents(r.Context(), box, "owner") // audits the read
	if err != nil {
		s.residentErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, ComposeView{Parties: sorted(parties), Documents: infos(docs)})
}

// SubmitRequest sends the owner's signed application (CAdES over a
// verify.Content addressed to To whose attachments are the documents'
// digests) with documents of the box.
type SubmitRequest struct {
	// ClientID is the terminal's ID of this send: the same ID again is
	// answered with the first send.
	ClientID    string   `json:"client_id"`
	To          string   `json:"to"`
	Application []byte   `json:"application"`
	Documents   []string `json:"documents"`
}

// maxAttachments bounds the documents of one application.
const maxAttachments = 20

// clientIDPattern is what a client ID is: it never holds the "/" of the
// notices' derived IDs (noticeClientID).
var clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// decodeSubmit reads a SubmitRequest: at most a document's size of
// application (base64 in JSON), a client ID, a receiver, distinct
// documents.
func decodeSubmit(body io.Reader) (SubmitRequest, error) {
	var q SubmitRequest
	if err := httpapi.Decode(body, &q, 2*MaxDocument); err != nil {
		return q, fmt.Errorf("%w: %w", errBody, err)
	}
	switch {
	case !clientIDPattern.MatchString(q.ClientID):
		return q, fmt.Errorf("%w: client_id (1 to 64 of A-Z, a-z, 0-9, _ and -)", errRequest)
	case q.To == "" || len(q.To) > 64:
		return q, fmt.Errorf("%w: to", errRequest)
	case len(q.Application) == 0 || len(q.Application) > MaxDocument:
		return q, fmt.Errorf("%w: application", errRequest)
	case len(q.Documents) > maxAttachments:
		return q, fmt.Errorf("%w: at most %d documents", errRequest, maxAttachments)
	}
	seen := map[string]bool{}
	for _, id := range q.Documents {
		if id == "" || len(id) > 64 || seen[id] {
			return q, fmt.Errorf("%w: documents (distinct IDs)", errRequest)
		}
		seen[id] = true
	}
	return q, nil
}

func (s *Service) serveSubmit(w http.ResponseWriter, r *http.Request, box *Box) {
	q, err := decodeSubmit(r.Body)
	if err != nil {
		s.residentErr(w, r, err)
		return
	}
	sd, err := s.submit(r.Context(), box, q.ClientID, q.To, q.Application, q.Documents)
	if err != nil {
		s.residentErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, sd)
}

// ConsentsView are the owner's consents and the parties one may consent
// to (those with RoleDeliver or RoleAddressNotice).
type ConsentsView struct {
	Consents []Consent `json:"consents"`
	Parties  []*Party  `json:"parties"`
}

func (s *Service) serveConsents(w http.ResponseWriter, r *http.Request, box *Box) {
	ctx := r.Context()
	if err := s.audit(ctx, s.db, box.ID, "owner", "list", "consents"); err != nil {
		s.residentErr(w, r, err)
		return
	}
	parties, err := s.publicParties(ctx)
	if err != nil {
		s.residentErr(w, r, err)
		return
	}
	cs, err := s.Consents(ctx, box)
	if err != nil {
		s.residentErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, ConsentsView{Consents: append([]Consent{}, cs...), Parties: sorted(parties)})
}

// ConsentRequest records the owner's consent: Signed is their signature
// over ConsentContent of the same party, number and choices. Recording
// the same consent again changes nothing.
type ConsentRequest struct {
	Party         string `json:"party"`
	CustomerRef   string `json:"customer_ref"`
	Deliver       bool   `json:"deliver"`
	AddressNotice bool   `json:"address_notice"`
	Signed        []byte `json:"signed"`
}

// decodeConsent reads a ConsentRequest.
func decodeConsent(body io.Reader) (ConsentRequest, error) {
	var q ConsentRequest
	if err := httpapi.Decode(body, &q, 2*MaxDocument); err != nil {
		return q, fmt.Errorf("%w: %w", errBody, err)
	}
	switch {
	case q.Party == "" || len(q.Party) > 64:
		return q, fmt.Errorf("%w: party", errRequest)
	case q.CustomerRef == "" || len(q.CustomerRef) > 64:
		return q, fmt.Errorf("%w: customer_ref (1 to 64 bytes)", errRequest)
	case !q.Deliver && !q.AddressNotice:
		return q, fmt.Errorf("%w: consent to deliveries, address notices or both", errRequest)
	case len(q.Signed) == 0 || len(q.Signed) > MaxDocument:
		return q, fmt.Errorf("%w: signed", errRequest)
	}
	return q, nil
}

func (s *Service) serveConsent(w http.ResponseWriter, r *http.Request, box *Box) {
	q, err := decodeConsent(r.Body)
	if err != nil {
		s.residentErr(w, r, err)
		return
	}
	if err := s.Consent(r.Context(), box, q.Party, q.CustomerRef, q.Deliver, q.AddressNotice, q.Signed); err != nil {
		s.residentErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) serveWithdraw(w http.ResponseWriter, r *http.Request, box *Box) {
	if err := s.Withdraw(r.Context(), box, r.PathValue("party")); err != nil {
		s.residentErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) serveNotice(w http.ResponseWriter, r *http.Request, box *Box) {
	v, err := s.NoticeChoices(r.Context(), box, r.PathValue("id"))
	if err != nil {
		s.residentErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
}

// NotifyRequest answers a change notice: for each chosen business (party
// ID), the owner's signature, with the new signing certificate, over
// AddressNoticeContent.
type NotifyRequest struct {
	// ClientID is the terminal's ID of this answer: each business's notice
	// under it is sent once.
	ClientID string            `json:"client_id"`
	Signed   map[string][]byte `json:"signed"`
}

// maxNotices bounds the businesses of one answer.
const maxNotices = 32

// decodeNotify reads a NotifyRequest.
func decodeNotify(body io.Reader) (NotifyRequest, error) {
	var q NotifyRequest
	if err := httpapi.Decode(body, &q, MaxEnvelope); err != nil {
		return q, fmt.Errorf("%w: %w", errBody, err)
	}
	switch {
	case !clientIDPattern.MatchString(q.ClientID):
		return q, fmt.Errorf("%w: client_id (1 to 64 of A-Z, a-z, 0-9, _ and -)", errRequest)
	case len(q.Signed) == 0 || len(q.Signed) > maxNotices:
		return q, fmt.Errorf("%w: signed (1 to %d businesses)", errRequest, maxNotices)
	}
	for id, doc := range q.Signed {
		if id == "" || len(id) > 64 || len(doc) == 0 || len(doc) > MaxDocument {
			return q, fmt.Errorf("%w: signed[%.64q]", errRequest, id)
		}
	}
	return q, nil
}

// SendsView are the sends an answer made (or had made already).
type SendsView struct {
	Sends []*Send `json:"sends"`
}

func (s *Service) serveNotify(w http.ResponseWriter, r *http.Request, box *Box) {
	q, err := decodeNotify(r.Body)
	if err != nil {
		s.residentErr(w, r, err)
		return
	}
	sends, err := s.notifyAddress(r.Context(), box, r.PathValue("id"), q.ClientID, q.Signed)
	if err != nil {
		s.residentErr(w, r, err)
		return
	}
	slices.SortFunc(sends, func(a, b *Send) int { return strings.Compare(a.PartyID, b.PartyID) })
	httpapi.WriteJSON(w, http.StatusOK, SendsView{Sends: append([]*Send{}, sends...)})
}

// AuditView is a box's audit trail, newest first.
type AuditView struct {
	Entries []AuditEntry `json:"entries"`
}

// auditPage is how many rows of the audit trail the owner is shown.
const auditPage = 200

func (s *Service) serveAudit(w http.ResponseWriter, r *http.Request, box *Box) {
	ctx := r.Context()
	// The owner reading who read the box is a read too.
	if err := s.audit(ctx, s.db, box.ID, "owner", "list", "audit trail"); err != nil {
		s.residentErr(w, r, err)
		return
	}
	es, err := s.Audit(ctx, box.ID, auditPage)
	if err != nil {
		s.residentErr(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, AuditView{Entries: append([]AuditEntry{}, es...)})
}
