package platform

import (
	"bytes"
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/store"
)

// maxLinkageDepth bounds the walk back through renewals.
const maxLinkageDepth = 16

// personFor returns the platform ID of the holder of an authentication
// certificate. A certificate seen before has its ID; a new one is looked up
// in the centre's linkage records: if an earlier certificate of the holder
// (renewal) or the other certificate of the card (pair) already has an ID,
// the new one gets the same; otherwise a new ID is made. Nothing but the
// centre's records is ever used to link.
func (p *Platform) personFor(ctx context.Context, serial string) (string, error) {
	if id, ok := p.persons.get(serial); ok {
		return id, nil
	}
	// Concurrent first uses of one certificate share one resolution.
	v, err, _ := p.resolving.Do(serial, func() (any, error) { return p.resolvePerson(ctx, serial) })
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// resolvePerson finds or makes the platform ID of a certificate not cached.
func (p *Platform) resolvePerson(ctx context.Context, serial string) (id string, err error) {
	defer func() {
		if err == nil && id != "" {
			p.persons.put(serial, id)
		}
	}()
	return p.resolveLinked(ctx, jpki.LinkageRef{Kind: jpki.Auth, Serial: serial}, true)
}

// resolveLinked finds the platform ID of a certificate through the centre's
// linkage records and links every certificate it walked to it. With create,
// a holder nobody has linked yet gets a new ID; without, the answer is "".
func (p *Platform) resolveLinked(ctx context.Context, start jpki.LinkageRef, create bool) (id string, err error) {
	for attempt := 1; ; attempt++ {
		id, err = p.resolveOnce(ctx, start, create)
		// A unique violation is a lost race with a resolution (here or in
		// another instance) that linked one of the same certificates: its
		// links, made from the same records, stand, and resolving again
		// finds them.
		if !store.IsUniqueViolation(err) || attempt == 3 {
			return id, err
		}
	}
}

// resolveOnce is one attempt of resolveLinked.
func (p *Platform) resolveOnce(ctx context.Context, start jpki.LinkageRef, create bool) (id string, err error) {
	if id, err := scanPerson(p.stmts.personOfCert.QueryRowContext(ctx, string(start.Kind), start.Serial)); err != nil || id != "" {
		return id, err
	}
	// Walk the linkage records: the certificate itself, its pair, and back
	// through its predecessors, collecting every certificate of this holder.
	type ref = jpki.LinkageRef
	seen := map[ref]bool{start: true}
	queue := []ref{start}
	var found string
	for depth := 0; len(queue) > 0 && depth < maxLinkageDepth*2; depth++ {
		cur := queue[0]
		queue = queue[1:]
		l, err := p.centre.Linkage(ctx, cur.Kind, cur.Serial)
		if err != nil {
			return "", fmt.Errorf("platform: linkage of %s %s: %w", cur.Kind, cur.Serial, err)
		}
		for _, r := range append(append([]ref{}, l.Pair...), l.Previous...) {
			if seen[r] {
				continue
			}
			seen[r] = true
			id, err := p.lookupPerson(ctx, p.db, r.Kind, r.Serial)
			if err != nil {
				return "", err
			}
			if id != "" {
				found = id
				break
			}
			queue = append(queue, r)
		}
		if found != "" {
			break
		}
	}
	if found == "" && !create {
		return "", nil
	}
	var certs []ref
	for r := range seen {
		certs = append(certs, r)
	}
	// READ COMMITTED suffices: the primary key of platform_certs makes a
	// concurrent link of the same certificate a unique violation, after
	// which resolveLinked resolves again. SERIALIZABLE aborted concurrent
	// first uses of different cards on PostgreSQL (false conflicts on the
	// index pages), past the retries, with 200 at once.
	err = p.db.TxLevel(ctx, sql.LevelReadCommitted, func(tx *sql.Tx) error {
		// Another instance may have linked it meanwhile.
		existing, err := p.lookupPerson(ctx, tx, start.Kind, start.Serial)
		if err != nil || existing != "" {
			id = existing
			return err
		}
		id = found
		via := "linkage"
		if id == "" {
			id, via = newID(), "new"
			if _, err := tx.ExecContext(ctx, qInsertPerson, id, p.now().Unix()); err != nil {
				return fmt.Errorf("platform: new person: %w", err)
			}
		}
		for _, r := range certs {
			have, err := p.lookupPerson(ctx, tx, r.Kind, r.Serial)
			if err != nil {
				return err
			}
			if have != "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, qInsertCertLink, string(r.Kind), r.Serial, id, p.now().Unix(), via); err != nil {
				return fmt.Errorf("platform: link certificate: %w", err)
			}
		}
		return nil
	})
	return id, err
}

// SignerPerson returns the platform ID of the holder of a 署名用 certificate,
// for services that must know who signed: the 受任者 of a power of attorney,
// the sender of a moving notice. The certificate must be issued by the 署名用
// CA, and its holder must have authenticated on the platform before; as for
// authentication, only the centre's linkage records link it (the card's
// pair, or an earlier signing certificate). It says nothing about
// revocation, which the caller checks at the signature's time.
func (p *Platform) SignerPerson(ctx context.Context, cert *x509.Certificate) (string, error) {
	if !bytes.Equal(cert.RawIssuer, p.signCA.RawSubject) || cert.CheckSignatureFrom(p.signCA) != nil {
		return "", fmt.Errorf("%w: not a certificate of the 署名用 CA", ErrInvalid)
	}
	serial := jpki.Serial(cert.SerialNumber)
	key := string(jpki.Sign) + ":" + serial
	if id, ok := p.persons.get(key); ok {
		return id, nil
	}
	v, err, _ := p.resolving.Do(key, func() (any, error) {
		return p.resolveLinked(ctx, jpki.LinkageRef{Kind: jpki.Sign, Serial: serial}, false)
	})
	if err != nil {
		return "", err
	}
	id := v.(string)
	if id == "" {
		return "", fmt.Errorf("%w: the signer has not used the platform", ErrNotFound)
	}
	p.persons.put(key, id)
	return id, nil
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (p *Platform) lookupPerson(ctx context.Context, q queryRower, k jpki.Kind, serial string) (string, error) {
	return scanPerson(q.QueryRowContext(ctx, qPersonOfCert, string(k), serial))
}

func scanPerson(row *sql.Row) (string, error) {
	var id string
	err := row.Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("platform: find person: %w", err)
	}
	return id, nil
}

// AuditEntry is one check of a person, as the person sees it.
type AuditEntry struct {
	At           int64        `json:"at"` // Unix ms
	TerminalID   string       `json:"terminal_id"`
	TerminalKind TerminalKind `json:"terminal_kind"`
	Owner        string       `json:"owner"`
	TerminalName string       `json:"terminal_name"`
	Action       string       `json:"action"`
	Result       string       `json:"result"`
	Reason       string       `json:"reason"`
}

// AuditFor lists who checked a person, where and when, newest first. The read
// itself is audited.
func (p *Platform) AuditFor(ctx context.Context, personID, viewer string, limit int) ([]AuditEntry, error) {
	if limit <= 0 || limit > 500 {
		limit = 500
	}
	rows, err := p.db.QueryContext(ctx, qAuditOfPerson, personID, limit)
	if err != nil {
		return nil, fmt.Errorf("platform: read audit: %w", err)
	}
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var kind string
		if err := rows.Scan(&e.At, &e.TerminalID, &kind, &e.Owner, &e.TerminalName, &e.Action, &e.Result, &e.Reason); err != nil {
			rows.Close()
			return nil, err
		}
		e.TerminalKind = TerminalKind(kind)
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	_, err = p.db.Write(ctx, qInsertAudit, newID(), p.now().UnixMilli(), personID, viewer, "view-audit", "OK", "", "", trace.ID(ctx))
	if err != nil {
		return nil, fmt.Errorf("platform: audit the audit read: %w", err)
	}
	return out, nil
}

// PersonAttributes are the current JPKI attributes of the holder of a
// platform ID, fetched from the centre through the newest authentication
// certificate linked to it. Services get them only through the platform,
// with the holder's consent, for matching such as the five-attribute rule.
func (p *Platform) PersonAttributes(ctx context.Context, personID string) (*jpki.HolderAttributes, error) {
	var serial string
	err := p.db.QueryRowContext(ctx, qNewestAuthCert, personID).Scan(&serial)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: platform ID %s", ErrNotFound, personID)
	}
	if err != nil {
		return nil, fmt.Errorf("platform: find certificate of person: %w", err)
	}
	return p.centre.Attributes(ctx, jpki.Auth, serial)
}

// maxPersonCerts bounds the certificates PersonCertificates lists: a
// holder renews every five years, so far fewer than this in a life.
const maxPersonCerts = 256

// PersonCertificates are the certificates linked to platform ID personID,
// the newest first: for the JPKI centre, which keeps what its counters did
// to a holder's cards by card and certificate and knows no platform IDs.
func (p *Platform) PersonCertificates(ctx context.Context, personID string) ([]jpki.LinkageRef, error) {
	rows, err := p.db.QueryContext(ctx, qPersonCerts, personID, maxPersonCerts)
	if err != nil {
		return nil, fmt.Errorf("platform: certificates of person: %w", err)
	}
	defer rows.Close()
	var out []jpki.LinkageRef
	for rows.Next() {
		var ref jpki.LinkageRef
		if err := rows.Scan(&ref.Kind, &ref.Serial); err != nil {
			return nil, fmt.Errorf("platform: certificates of person: %w", err)
		}
		out = append(out, ref)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("platform: certificates of person: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: platform ID %s", ErrNotFound, personID)
	}
	return out, nil
}

// EnrolHolder is the platform ID of the holder of a 利用者証明用
// certificate of the CA, made now if they have none yet, without a login:
// for an administrator who registers a staff member's grant before their
// first sign-in (the demo's staff). Like a login it links only through
// the centre's records; it says nothing about revocation.
func (p *Platform) EnrolHolder(ctx context.Context, cert *x509.Certificate) (string, error) {
	if !bytes.Equal(cert.RawIssuer, p.ca.RawSubject) || cert.CheckSignatureFrom(p.ca) != nil {
		return "", fmt.Errorf("%w: not a certificate of the 利用者証明用 CA", ErrInvalid)
	}
	return p.personFor(ctx, jpki.Serial(cert.SerialNumber))
}
