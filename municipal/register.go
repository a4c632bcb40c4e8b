package municipal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/store"
)

// normalize makes two spellings of one value compare equal, as eligibility
// does for its five attributes: NFKC (full-width digits and letters,
// half-width kana), no spaces of either width, one kind of hyphen. It leaves
// 旧字体 and 外字 alone: a different character is a different person.
func normalize(s string) string {
	s = norm.NFKC.String(s)
	var b strings.Builder
	for _, r := range s {
		switch r {
		case ' ', '\u3000', '\t':
			continue
		case '‐', '‑', '‒', '–', '—', '−', '－':
			r = '-'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (p *Person) validate() error {
	var bad []string
	if strings.TrimSpace(p.Name) == "" || strings.TrimSpace(p.Kana) == "" || strings.TrimSpace(p.Address) == "" {
		bad = append(bad, "name, kana and address are required")
	}
	if p.BirthDate.IsZero() {
		bad = append(bad, "birth date")
	}
	if p.Sex != jpki.Male && p.Sex != jpki.Female && p.Sex != jpki.Unknown {
		bad = append(bad, "sex")
	}
	if p.Status == "" {
		p.Status = Resident
	}
	if !p.Status.Valid() {
		bad = append(bad, "status")
	}
	if p.MyNumber != "" && (len(p.MyNumber) != 12 || strings.Trim(p.MyNumber, "0123456789") != "") {
		bad = append(bad, "my number (12 digits)")
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(bad, "; "))
	}
	return nil
}

// AddPerson enters a person in a municipality's 住民基本台帳. With an empty
// HouseholdID the person heads a new household (続柄 世帯主); otherwise the
// household must be one of the same municipality.
func (s *Service) AddPerson(ctx context.Context, p Person) (*Person, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	if _, err := s.Municipality(ctx, p.Municipality); err != nil {
		return nil, err
	}
	p.ID = newID("p")
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if p.HouseholdID == "" {
			p.HouseholdID = newID("h")
			p.Relation = "世帯主"
			if _, err := tx.ExecContext(ctx, qInsertHousehold, p.HouseholdID, p.Municipality, p.ID); err != nil {
				return err
			}
		} else {
			var code string
			err := tx.QueryRowContext(ctx, qHousehold, p.HouseholdID).Scan(&code)
			if errors.Is(err, sql.ErrNoRows) || code != p.Municipality {
				return fmt.Errorf("%w: household %s is not one of %s", ErrInvalid, p.HouseholdID, p.Municipality)
			}
			if err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, qInsertPerson, p.ID, p.Municipality, p.HouseholdID, p.Relation, p.Name, p.Kana,
			civil(p.BirthDate), int(p.Sex), p.Address, p.MyNumber, p.Honseki, p.Hitto, civil(p.MovedIn), string(p.Status),
			boolInt(p.Support), boolInt(p.GaijiPending), normalize(p.Name), normalize(p.Address), s.now().Unix())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("municipal: add person: %w", err)
	}
	return &p, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

type scanner interface{ Scan(dest ...any) error }

func scanPerson(r scanner) (*Person, error) {
	var p Person
	var birth, movedIn, status string
	var sex, support, gaiji int
	if err := r.Scan(&p.ID, &p.Municipality, &p.HouseholdID, &p.Relation, &p.Name, &p.Kana, &birth, &sex, &p.Address,
		&p.MyNumber, &p.Honseki, &p.Hitto, &movedIn, &status, &support, &gaiji); err != nil {
		return nil, err
	}
	var err error
	if p.BirthDate, err = parseCivil(birth); err != nil {
		return nil, err
	}
	if p.MovedIn, err = parseCivil(movedIn); err != nil {
		return nil, err
	}
	p.Sex, p.Status, p.Support, p.GaijiPending = jpki.Sex(sex), Status(status), support != 0, gaiji != 0
	return &p, nil
}

// Person returns one person of a municipality's register.
func (s *Service) Person(ctx context.Context, code, id string) (*Person, error) {
	p, err := scanPerson(s.db.QueryRowContext(ctx, qPerson, code, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: person", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("municipal: person: %w", err)
	}
	return p, nil
}

func (s *Service) queryPersons(ctx context.Context, q string, args ...any) ([]Person, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Person
	for rows.Next() {
		p, err := scanPerson(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, rows.Err()
}

// Household returns the members of a household, the 世帯主 first.
func (s *Service) Household(ctx context.Context, householdID string) ([]Person, error) {
	var head string
	if err := s.db.QueryRowContext(ctx, qHouseholdHead, householdID).Scan(&head); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%w: household", ErrNotFound)
		}
		return nil, fmt.Errorf("municipal: household: %w", err)
	}
	ps, err := s.queryPersons(ctx, qHouseholdOf, householdID)
	if err != nil {
		return nil, fmt.Errorf("municipal: household: %w", err)
	}
	out := make([]Person, 0, len(ps))
	for _, p := range ps {
		if p.ID == head {
			out = append([]Person{p}, out...)
		} else {
			out = append(out, p)
		}
	}
	return out, nil
}

// Persons lists up to limit persons of a municipality, by kana.
func (s *Service) Persons(ctx context.Context, code string, limit int) ([]Person, error) {
	ps, err := s.queryPersons(ctx, qPersonsOf, code, limit)
	if err != nil {
		return nil, fmt.Errorf("municipal: persons: %w", err)
	}
	return ps, nil
}

// FindResident finds the person of a municipality's 住民基本台帳 whose name,
// birth date, sex and address agree exactly (after normalize) with the JPKI
// holder attributes the caller got from the platform — never with anything
// typed in. It finds persons of every status, so that the issuance server
// can say why it refuses; two matches are ErrAmbiguous, none ErrNotFound.
func (s *Service) FindResident(ctx context.Context, code, name string, birth time.Time, sex jpki.Sex, address string) (string, error) {
	return s.findOne(ctx, "resident", qFindResident, code, civil(birth), int(sex), normalize(name), normalize(address))
}

// FindKosekiMember finds the member of a 戸籍 kept by municipality code (the
// 本籍地) whose name, birth date and sex agree exactly: for the 本籍地 usage
// registration, which compares these three with the signing certificate.
// The ID returned is the one to ask the 本籍地's issuance server for.
func (s *Service) FindKosekiMember(ctx context.Context, code, name string, birth time.Time, sex jpki.Sex) (string, error) {
	return s.findOne(ctx, "koseki member", qFindMember, code, civil(birth), int(sex), normalize(name))
}

// MatchKoseki compares a holder's name, birth date and sex, as the signing
// certificate states them, with the 戸籍 that municipality code keeps (the
// 本籍地 usage registration): nil when a member agrees on all three, else
// the fields ("name", "birth_date", "sex") in which the closest member —
// one who shares the name or the birth date — differs, for a clerk to
// decide. ErrNotFound means no member could be the holder.
func (s *Service) MatchKoseki(ctx context.Context, code, name string, birth time.Time, sex jpki.Sex) ([]string, error) {
	_, diff, err := s.closestMember(ctx, code, name, birth, sex)
	return diff, err
}

// closestMember finds the member of a 戸籍 kept by code who agrees with the
// holder on all three of name, birth date and sex (diff nil), else the
// candidate — a member not 除籍 who shares the name or the birth date —
// who differs in the fewest, with those fields. Only PersonID, Name,
// BirthDate and Sex of the member are filled in. ErrNotFound: no candidate.
func (s *Service) closestMember(ctx context.Context, code, name string, birth time.Time, sex jpki.Sex) (*KosekiMember, []string, error) {
	rows, err := s.db.QueryContext(ctx, qMemberCandidates, code, normalize(name), civil(birth))
	if err != nil {
		return nil, nil, fmt.Errorf("municipal: match koseki: %w", err)
	}
	defer rows.Close()
	var best *KosekiMember
	var bestDiff []string
	for rows.Next() {
		var m KosekiMember
		var norm, b string
		var x int
		if err := rows.Scan(&m.PersonID, &m.Name, &norm, &b, &x); err != nil {
			return nil, nil, fmt.Errorf("municipal: match koseki: %w", err)
		}
		if m.BirthDate, err = parseCivil(b); err != nil {
			return nil, nil, err
		}
		m.Sex = jpki.Sex(x)
		var diff []string
		if norm != normalize(name) {
			diff = append(diff, "name")
		}
		if b != civil(birth) {
			diff = append(diff, "birth_date")
		}
		if m.Sex != sex {
			diff = append(diff, "sex")
		}
		if len(diff) == 0 {
			return &m, nil, nil
		}
		if best == nil || len(diff) < len(bestDiff) {
			best, bestDiff = &m, diff
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("municipal: match koseki: %w", err)
	}
	if best == nil {
		return nil, nil, fmt.Errorf("%w: no member of a family register here could be the holder", ErrNotFound)
	}
	return best, bestDiff, nil
}

func (s *Service) findOne(ctx context.Context, what, q string, args ...any) (string, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return "", fmt.Errorf("municipal: find %s: %w", what, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return "", err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("%w: %s", ErrNotFound, what)
	case 1:
		return ids[0], nil
	}
	return "", fmt.Errorf("%w: %d candidates", ErrAmbiguous, len(ids))
}

// Change is what the back office may change in a person's record.
type Change struct {
	Address string
	Status  Status
	Support bool
}

// UpdatePerson changes a person's address, status and 支援措置 flag and
// audits it under by.
func (s *Service) UpdatePerson(ctx context.Context, code string, by Actor, id string, c Change) error {
	if strings.TrimSpace(c.Address) == "" || !c.Status.Valid() || by.Name == "" {
		return fmt.Errorf("%w: address, a valid status and the actor are required", ErrInvalid)
	}
	old, err := s.Person(ctx, code, id)
	if err != nil {
		return err
	}
	var changed []string
	if old.Address != c.Address {
		changed = append(changed, "address")
	}
	if old.Status != c.Status {
		changed = append(changed, "status:"+string(old.Status)+"->"+string(c.Status))
	}
	if old.Support != c.Support {
		changed = append(changed, fmt.Sprintf("support:%t", c.Support))
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, qUpdatePerson, c.Address, normalize(c.Address), string(c.Status), boolInt(c.Support),
			s.now().Unix(), code, id)
		if err != nil {
			return fmt.Errorf("municipal: update person: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("%w: person", ErrNotFound)
		}
		return s.audit(ctx, tx, code, by, AuditEdit, id, strings.Join(changed, ","))
	})
}

// ViewPerson returns a person for the back office and audits the view
// under by.
func (s *Service) ViewPerson(ctx context.Context, code string, by Actor, id string) (*Person, error) {
	p, err := s.Person(ctx, code, id)
	if err != nil {
		return nil, err
	}
	if err := s.audit(ctx, dbWriter{s.db}, code, by, AuditView, id, ""); err != nil {
		return nil, err
	}
	return p, nil
}

// Seal is a 印鑑登録.
type Seal struct {
	Number       string    `json:"number"` // 登録番号
	Image        []byte    `json:"-"`      // PNG of the registered seal
	RegisteredOn time.Time `json:"registered_on"`
}

// RegisterSeal registers a person's seal: the image is generated from the
// name (seal.go), as a stand-in for the imprint a resident brings.
func (s *Service) RegisterSeal(ctx context.Context, code, personID, number string, on time.Time) (*Seal, error) {
	p, err := s.Person(ctx, code, personID)
	if err != nil {
		return nil, err
	}
	img, err := s.render.PersonalSeal(p.Name)
	if err != nil {
		return nil, err
	}
	if _, err := s.db.Write(ctx, qInsertSeal, code, personID, number, img, civil(on)); err != nil {
		if store.IsUniqueViolation(err) {
			return nil, fmt.Errorf("%w: seal already registered", ErrInvalid)
		}
		return nil, fmt.Errorf("municipal: register seal: %w", err)
	}
	return &Seal{Number: number, Image: img, RegisteredOn: on}, nil
}

// SealOf returns a person's 印鑑登録, ErrNotFound when there is none.
func (s *Service) SealOf(ctx context.Context, code, personID string) (*Seal, error) {
	var sl Seal
	var on string
	err := s.db.QueryRowContext(ctx, qSeal, code, personID).Scan(&sl.Number, &sl.Image, &on)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: seal registration", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("municipal: seal: %w", err)
	}
	if sl.RegisteredOn, err = parseCivil(on); err != nil {
		return nil, err
	}
	return &sl, nil
}

// Koseki is one 戸籍 kept by its 本籍地.
type Koseki struct {
	ID           string         `json:"id"`
	Municipality string         `json:"municipality"` // the 本籍地
	Honseki      string         `json:"honseki"`
	Hitto        string         `json:"hitto"`   // 筆頭者
	MadeOn       time.Time      `json:"made_on"` // 戸籍編製日
	Members      []KosekiMember `json:"members"`
}

// KosekiMember is one person in a 戸籍.
type KosekiMember struct {
	// PersonID is the member's ID in the 本籍地: the resident's ID when they
	// also live there; empty when adding means a new ID.
	PersonID  string    `json:"person_id"`
	Name      string    `json:"name"`
	BirthDate time.Time `json:"birth_date"`
	Sex       jpki.Sex  `json:"sex"`
	Relation  string    `json:"relation"` // 続柄 in the 戸籍: 夫, 妻, 長男 …
	Father    string    `json:"father"`
	Mother    string    `json:"mother"`
	// Events are the 身分事項, each a short line (【出生日】… ).
	Events  []string `json:"events"`
	Removed bool     `json:"removed"` // 除籍
}

// AddKoseki enters a 戸籍 in its 本籍地's register and returns it with the
// member IDs filled in.
func (s *Service) AddKoseki(ctx context.Context, k Koseki) (*Koseki, error) {
	if k.Honseki == "" || k.Hitto == "" || len(k.Members) == 0 {
		return nil, fmt.Errorf("%w: 本籍, 筆頭者 and members are required", ErrInvalid)
	}
	if _, err := s.Municipality(ctx, k.Municipality); err != nil {
		return nil, err
	}
	k.ID = newID("k")
	k.Members = append([]KosekiMember(nil), k.Members...)
	for i := range k.Members {
		if k.Members[i].PersonID == "" {
			k.Members[i].PersonID = newID("m")
		}
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, qInsertKoseki, k.ID, k.Municipality, k.Honseki, k.Hitto, civil(k.MadeOn)); err != nil {
			return err
		}
		for i, m := range k.Members {
			if _, err := tx.ExecContext(ctx, qInsertMember, k.ID, i+1, m.PersonID, m.Name, civil(m.BirthDate), int(m.Sex),
				m.Relation, m.Father, m.Mother, strings.Join(m.Events, "\n"), boolInt(m.Removed), normalize(m.Name)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("municipal: add koseki: %w", err)
	}
	return &k, nil
}

// KosekiOf returns the 戸籍 kept by municipality code that has personID as a
// member; ErrNotFound when the person's 本籍 is not there.
func (s *Service) KosekiOf(ctx context.Context, code, personID string) (*Koseki, error) {
	k := Koseki{Municipality: code}
	var made string
	err := s.db.QueryRowContext(ctx, qKosekiOfMember, code, personID).Scan(&k.ID, &k.Honseki, &k.Hitto, &made)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: koseki", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("municipal: koseki: %w", err)
	}
	if k.MadeOn, err = parseCivil(made); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, qKosekiMembers, k.ID)
	if err != nil {
		return nil, fmt.Errorf("municipal: koseki members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m KosekiMember
		var birth, events string
		var sex, removed int
		if err := rows.Scan(&m.PersonID, &m.Name, &birth, &sex, &m.Relation, &m.Father, &m.Mother, &events, &removed); err != nil {
			return nil, err
		}
		if m.BirthDate, err = parseCivil(birth); err != nil {
			return nil, err
		}
		m.Sex, m.Removed = jpki.Sex(sex), removed != 0
		if events != "" {
			m.Events = strings.Split(events, "\n")
		}
		k.Members = append(k.Members, m)
	}
	return &k, rows.Err()
}

// FuhyoLine is one line of a 戸籍の附票: an address and since when.
type FuhyoLine struct {
	Address string    `json:"address"`
	Since   time.Time `json:"since"`
}

// SetFuhyo writes a 戸籍 member's 附票 (address history, oldest first).
func (s *Service) SetFuhyo(ctx context.Context, personID string, lines []FuhyoLine) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		for i, l := range lines {
			if _, err := tx.ExecContext(ctx, qInsertFuhyo, personID, i+1, l.Address, civil(l.Since)); err != nil {
				return fmt.Errorf("municipal: fuhyo: %w", err)
			}
		}
		return nil
	})
}

// Fuhyo returns a 戸籍 member's 附票 lines, oldest first.
func (s *Service) Fuhyo(ctx context.Context, personID string) ([]FuhyoLine, error) {
	rows, err := s.db.QueryContext(ctx, qFuhyo, personID)
	if err != nil {
		return nil, fmt.Errorf("municipal: fuhyo: %w", err)
	}
	defer rows.Close()
	var out []FuhyoLine
	for rows.Next() {
		var l FuhyoLine
		var since string
		if err := rows.Scan(&l.Address, &since); err != nil {
			return nil, err
		}
		if l.Since, err = parseCivil(since); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// TaxYear is one 年度 of a person's 所得 and 課税.
type TaxYear struct {
	Year       int   `json:"year"`         // 年度 (Gregorian), for the 所得 of the year before
	IncomeYen  int64 `json:"income_yen"`   // 総所得金額
	TaxableYen int64 `json:"taxable_yen"`  // 課税標準額
	CityTaxYen int64 `json:"city_tax_yen"` // 市町村民税
	PrefTaxYen int64 `json:"pref_tax_yen"` // 道府県民税
}

// SetTax writes a person's 所得・課税 for one 年度.
func (s *Service) SetTax(ctx context.Context, personID string, t TaxYear) error {
	if _, err := s.db.Write(ctx, qUpsertTax, personID, t.Year, t.IncomeYen, t.TaxableYen, t.CityTaxYen, t.PrefTaxYen); err != nil {
		return fmt.Errorf("municipal: set tax: %w", err)
	}
	return nil
}

// Tax returns a person's 所得・課税 of 年度 year, or of the latest 年度 when
// year is 0.
func (s *Service) Tax(ctx context.Context, personID string, year int) (*TaxYear, error) {
	row := s.db.QueryRowContext(ctx, qTaxLatest, personID)
	if year != 0 {
		row = s.db.QueryRowContext(ctx, qTax, personID, year)
	}
	var t TaxYear
	err := row.Scan(&t.Year, &t.IncomeYen, &t.TaxableYen, &t.CityTaxYen, &t.PrefTaxYen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: tax record", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("municipal: tax: %w", err)
	}
	return &t, nil
}
