package postbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/verify"
)

// Envelope is what the post box POSTs to a party's endpoint, with
// "Authorization: Bearer <the party's out key>". The receiver acknowledges
// with an Ack; the same SendID may come more than once (at-least-once
// delivery) and must be acknowledged again without acting twice.
type Envelope struct {
	SendID string    `json:"send_id"`
	Kind   string    `json:"kind"`
	SentAt time.Time `json:"sent_at"`
	// CustomerRef is the person's number at the receiver (address notices).
	CustomerRef string        `json:"customer_ref,omitempty"`
	Documents   []EnvelopeDoc `json:"documents"`
}

// EnvelopeDoc is one document in an envelope.
type EnvelopeDoc struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Format string `json:"format"`
	Data   []byte `json:"data"`
	Power  []byte `json:"power,omitempty"`
	// From names the party that delivered it into the box ("" for the
	// person's own), and Issuer is that party as an organisation: the post
	// box vouches that it delivered the document as its own.
	From   string         `json:"from,omitempty"`
	Issuer *verify.Issuer `json:"issuer,omitempty"`
}

// Ack is a receiver's acknowledgement.
type Ack struct {
	SendID     string    `json:"send_id"`
	Receipt    string    `json:"receipt"`
	ReceivedAt time.Time `json:"received_at"`
	// Duplicate is set when the receiver had the send already.
	Duplicate bool `json:"duplicate,omitempty"`
}

// Send is one submission or notice and its delivery state.
type Send struct {
	ID        string     `json:"id"`
	PartyID   string     `json:"party_id"`
	Kind      string     `json:"kind"`
	Subject   string     `json:"subject"`
	State     string     `json:"state"` // pending, delivered or refused
	Attempts  int        `json:"attempts"`
	CreatedAt time.Time  `json:"created_at"`
	AckedAt   time.Time  `json:"acked_at"`
	Receipt   string     `json:"receipt"`
	Log       []LogEntry `json:"log"`
}

// LogEntry is one event of a send's delivery.
type LogEntry struct {
	At     time.Time `json:"at"`
	Event  string    `json:"event"`
	Detail string    `json:"detail"`
}

// LogLine is a delivery log entry with its event in words.
type LogLine struct {
	LogEntry
	JA, EN string
}

// LogLines words a send's delivery log for people (the post box's
// owner, the receiver's staff).
func LogLines(log []LogEntry) []LogLine {
	out := make([]LogLine, 0, len(log))
	for _, e := range log {
		ja, en := e.Event, e.Event
		switch e.Event {
		case "queued":
			ja, en = "送信待ちに入りました", "Queued"
		case "attempt_failed":
			ja, en = "届きませんでした（自動で再送します）", "Not delivered (it is retried)"
		case "acknowledged":
			ja, en = "受け付けられました", "Received"
		case "refused":
			ja, en = "受け付けられませんでした", "Refused"
		}
		out = append(out, LogLine{e, ja, en})
	}
	return out
}

// Send states.
const (
	StatePending   = "pending"
	StateDelivered = "delivered"
	StateRefused   = "refused"
)

// Submit sends the owner's signed application, with documents from the box
// it names as attachments, to a receiving agency. The application must be
// the owner's valid signature over a post-box document addressed to the
// party whose attachments are exactly the chosen documents' digests.
func (s *Service) Submit(ctx context.Context, box *Box, partyID string, application []byte, docIDs []string) (*Send, error) {
	return s.submit(ctx, box, "", partyID, application, docIDs)
}

// submit is Submit with the ID the owner's terminal gave the send (or ""):
// a send with an ID the box has seen is answered with the first one, sent
// once.
func (s *Service) submit(ctx context.Context, box *Box, clientID, partyID string, application []byte, docIDs []string) (*Send, error) {
	p, err := s.Party(ctx, partyID)
	if err != nil {
		return nil, err
	}
	if !p.Has(RoleSubmission) {
		return nil, fmt.Errorf("%w: %s does not receive submissions", ErrRole, p.ID)
	}
	if sd, err := s.sentAs(ctx, box, clientID, p.ID, KindSubmission); sd != nil || err != nil {
		return sd, err
	}
	rep, err := s.ownSignature(ctx, box, "application", application)
	if err != nil {
		return nil, err
	}
	if rep.Content.To != p.ID {
		return nil, fmt.Errorf("%w: the application is addressed to %q, not %s", ErrInvalid, rep.Content.To, p.ID)
	}
	env := Envelope{Kind: KindSubmission, Documents: []EnvelopeDoc{{Name: "application", Type: rep.Content.Type,
		Format: verify.FormatCMS, Data: application}}}
	var want []string
	for _, id := range docIDs {
		d, err := s.Document(ctx, box, id, "owner")
		if err != nil {
			return nil, err
		}
		ed := EnvelopeDoc{Name: d.ID, Type: d.Type, Format: d.Format, Data: d.Data, Power: d.Power, From: d.PartyID}
		if d.PartyID != "" {
			from, err := s.Party(ctx, d.PartyID)
			if err != nil {
				return nil, err
			}
			if from.CorporateNumber != "" {
				ed.Issuer = &verify.Issuer{CorporateNumber: from.CorporateNumber, Name: from.NameJA}
			}
		}
		env.Documents = append(env.Documents, ed)
		want = append(want, d.SHA256())
	}
	var got []string
	for _, a := range rep.Content.Attachments {
		got = append(got, a.SHA256)
	}
	sort.Strings(want)
	sort.Strings(got)
	if !slices.Equal(want, got) {
		return nil, fmt.Errorf("%w: the application's attachments are not the chosen documents", ErrInvalid)
	}
	return s.queue(ctx, box, p, KindSubmission, "", clientID, rep.Content.Title, env)
}

// sentAs is the box's send with the client ID, if there is one (nil, nil
// if not, or for no ID); the ID used for another send is ErrDuplicate.
func (s *Service) sentAs(ctx context.Context, box *Box, clientID, partyID, kind string) (*Send, error) {
	if clientID == "" {
		return nil, nil
	}
	sd, err := scanSend(s.db.QueryRowContext(ctx, qSendOfClient, box.ID, clientID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if sd.PartyID != partyID || sd.Kind != kind {
		return nil, fmt.Errorf("%w: client_id %s was used for a send to %s", errClientIDReused, clientID, sd.PartyID)
	}
	if sd.Log, err = s.sendLog(ctx, sd.ID); err != nil {
		return nil, err
	}
	return sd, nil
}

// queue records a send and its first log entry, and wakes the delivery
// loop. Two requests with one client ID at once queue one send: the second
// is answered with the first's.
func (s *Service) queue(ctx context.Context, box *Box, p *Party, kind, noticeID, clientID, subject string, env Envelope) (*Send, error) {
	now := s.now()
	env.SendID, env.SentAt = newID("snd_"), now.UTC()
	body, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	if len(body) > MaxEnvelope {
		// No receiver would read it: it would be retried for ever.
		return nil, fmt.Errorf("%w: the documents are too large to send together (%d bytes, at most %d)", ErrInvalid, len(body), MaxEnvelope)
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, qInsertSend, env.SendID, box.ID, p.ID, kind, noticeID, subject, body, now.Unix(), clientID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, qInsertLog, env.SendID, now.Unix(), "queued", p.NameJA); err != nil {
			return err
		}
		return s.audit(ctx, tx, box.ID, "owner", "send", kind+" "+env.SendID+" to "+p.ID)
	})
	if err != nil && store.IsUniqueViolation(err) {
		if sd, err := s.sentAs(ctx, box, clientID, p.ID, kind); sd != nil || err != nil {
			return sd, err
		}
	}
	if err != nil {
		return nil, fmt.Errorf("postbox: queue send: %w", err)
	}
	select {
	case s.kick <- struct{}{}:
	default:
	}
	return &Send{ID: env.SendID, PartyID: p.ID, Kind: kind, Subject: subject, State: StatePending, CreatedAt: now}, nil
}

// Sends lists a box's sends with their logs, newest first.
func (s *Service) Sends(ctx context.Context, box *Box) ([]*Send, error) {
	rows, err := s.db.QueryContext(ctx, qSendsOfBox, box.ID)
	if err != nil {
		return nil, fmt.Errorf("postbox: sends: %w", err)
	}
	var out []*Send
	for rows.Next() {
		sd, err := scanSend(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, sd)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, sd := range out {
		if sd.Log, err = s.sendLog(ctx, sd.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SendFor returns a send with its log as the receiving party sees it.
func (s *Service) SendFor(ctx context.Context, p *Party, id string) (*Send, error) {
	sd, err := scanSend(s.db.QueryRowContext(ctx, qSendOfParty, id, p.ID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: send %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	if sd.Log, err = s.sendLog(ctx, id); err != nil {
		return nil, err
	}
	return sd, nil
}

func scanSend(sc interface{ Scan(...any) error }) (*Send, error) {
	var sd Send
	var created int64
	var acked sql.NullInt64
	if err := sc.Scan(&sd.ID, &sd.PartyID, &sd.Kind, &sd.Subject, &sd.State, &sd.Attempts, &created, &acked, &sd.Receipt); err != nil {
		return nil, fmt.Errorf("postbox: send: %w", err)
	}
	sd.CreatedAt = time.Unix(created, 0)
	if acked.Valid {
		sd.AckedAt = time.Unix(acked.Int64, 0)
	}
	return &sd, nil
}

func (s *Service) sendLog(ctx context.Context, id string) ([]LogEntry, error) {
	rows, err := s.db.QueryContext(ctx, qSendLog, id)
	if err != nil {
		return nil, fmt.Errorf("postbox: send log: %w", err)
	}
	defer rows.Close()
	var out []LogEntry
	for rows.Next() {
		var e LogEntry
		var at int64
		if err := rows.Scan(&at, &e.Event, &e.Detail); err != nil {
			return nil, err
		}
		e.At = time.Unix(at, 0)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Kick is the channel the delivery loop waits on besides its ticker.
func (s *Service) Kick() <-chan struct{} { return s.kick }

// leaseFor is how long one instance holds a send it is delivering.
const leaseFor = 60 * time.Second

// maxBackoff caps the retry delay.
const maxBackoff = 10 * time.Minute

// DeliverDue tries every send that is due, and returns how many were
// acknowledged. Instances share the work through a lease on each send.
func (s *Service) DeliverDue(ctx context.Context) (int, error) {
	now := s.now().Unix()
	rows, err := s.db.QueryContext(ctx, qDueSends, now, 32)
	if err != nil {
		return 0, fmt.Errorf("postbox: due sends: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	done := 0
	for _, id := range ids {
		res, err := s.db.Write(ctx, qLeaseSend, now+int64(leaseFor/time.Second), id, now)
		if err != nil {
			return done, fmt.Errorf("postbox: lease send: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue // another instance has it
		}
		ok, err := s.deliverOne(ctx, id)
		if err != nil {
			return done, err
		}
		if ok {
			done++
		}
	}
	return done, nil
}

// deliverOne POSTs one leased send and records the outcome.
func (s *Service) deliverOne(ctx context.Context, id string) (bool, error) {
	var partyID string
	var body []byte
	var attempts int
	if err := s.db.QueryRowContext(ctx, qSendBody, id).Scan(&partyID, &body, &attempts); err != nil {
		return false, fmt.Errorf("postbox: send %s: %w", id, err)
	}
	p, err := s.Party(ctx, partyID)
	if err != nil {
		return false, err
	}
	ack, err := s.post(ctx, p, id, body)
	now := s.now()
	if errors.Is(err, ErrRefused) {
		// The receiver will never take it: retrying cannot help.
		s.log.WarnContext(ctx, "postbox: delivery refused", "send", id, "party", p.ID, "err", err)
		detail := err.Error()
		return false, s.db.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, qSendRefused, id); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, qInsertLog, id, now.Unix(), "refused", detail)
			return err
		})
	}
	if err != nil {
		delay := s.backoff << min(attempts, 16)
		if delay > maxBackoff || delay <= 0 {
			delay = maxBackoff
		}
		s.log.WarnContext(ctx, "postbox: delivery failed", "send", id, "party", p.ID, "attempt", attempts+1, "err", err)
		detail := "attempt " + strconv.Itoa(attempts+1) + ": " + err.Error() + "; next in " + delay.String()
		return false, s.db.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, qSendFailed, now.Add(delay).Unix(), id); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, qInsertLog, id, now.Unix(), "attempt_failed", detail)
			return err
		})
	}
	detail := "receipt " + ack.Receipt
	if ack.Duplicate {
		detail += " (already received)"
	}
	return true, s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, qSendDelivered, now.Unix(), ack.Receipt, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, qInsertLog, id, now.Unix(), "acknowledged", detail)
		return err
	})
}

// post sends the envelope and reads the acknowledgement. It tries once:
// the send queue is what sends again, with its backoff and a log row per
// attempt (the receiver takes a send once by its ID).
func (s *Service) post(ctx context.Context, p *Party, id string, body []byte) (*Ack, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c := &httpapi.Client{Service: "receiver " + p.ID, HTTP: s.hc, Auth: httpapi.Bearer(p.OutKey), MaxBody: 64 << 10, Retries: -1}
	resp, err := c.Do(ctx, httpapi.Request{Method: http.MethodPost, Path: p.Endpoint, Body: body, ContentType: "application/json"})
	if e, ok := errors.AsType[*httpapi.Error](err); ok {
		switch e.Status {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
			// The receiver says this envelope can never be taken: sending it
			// again cannot help. (An unauthorised or failing receiver may be
			// fixed, so those are retried.)
			// The answer, in both languages, is what the send's log keeps.
			answer, _ := json.Marshal(struct {
				Code      httpapi.Code `json:"code"`
				MessageJA string       `json:"message_ja"`
				MessageEN string       `json:"message_en"`
				Detail    string       `json:"detail,omitempty"`
			}{e.Code, e.MessageJA, e.MessageEN, e.Detail})
			return nil, fmt.Errorf("%w: HTTP %d %.400s", ErrRefused, e.Status, answer)
		}
	}
	if err != nil {
		return nil, err
	}
	var ack Ack
	if err := json.Unmarshal(resp.Body, &ack); err != nil || ack.SendID != id || ack.Receipt == "" {
		return nil, fmt.Errorf("not an acknowledgement of %s: %.200s", id, resp.Body)
	}
	return &ack, nil
}
