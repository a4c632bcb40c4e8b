package municipal

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/wareki"
)

// Options are what the holder chooses to have printed. The defaults print
// the least: no 本籍・筆頭者, no 世帯主・続柄, no 個人番号, the holder alone.
type Options struct {
	Household bool `json:"household,omitempty"` // 世帯全員 (住民票の写し)
	Honseki   bool `json:"honseki,omitempty"`   // 本籍・筆頭者
	Relation  bool `json:"relation,omitempty"`  // 世帯主・続柄
	MyNumber  bool `json:"my_number,omitempty"` // 個人番号
	// Year is the 年度 of a 所得・課税証明書 (Gregorian); 0 means the latest.
	Year int `json:"year,omitempty"`
}

// Request asks a municipality's issuance server for a certificate.
type Request struct {
	// PersonID is the register's ID of the person, which the caller found
	// with FindResident (or FindKosekiMember at the 本籍地) from the JPKI
	// holder attributes. A caller over HTTP sends Holder instead.
	PersonID string `json:"person_id,omitempty"`
	// Holder are the holder's attributes as the JPKI certificate states
	// them; the issuance server finds the person from them.
	Holder  *Holder  `json:"holder,omitempty"`
	Type    CertType `json:"type"`
	Options Options  `json:"options"`
	// Copies is the number of copies (1 when 0), at most MaxCopies.
	Copies int `json:"copies"`
}

// MaxCopies bounds the copies of one request, as kiosks do.
const MaxCopies = 10

// Certificate is an issued certificate.
type Certificate struct {
	Municipality string    `json:"municipality"`
	Number       string    `json:"number"`
	Type         CertType  `json:"type"`
	Pages        int       `json:"pages"`
	Copies       int       `json:"copies"`
	FeeYen       int       `json:"fee_yen"` // for all copies
	IssuedAt     time.Time `json:"issued_at"`
	SHA256       string    `json:"sha256"` // of PDF
	PDF          []byte    `json:"-"`
	// Document is what the certificate says, for a caller that renders it
	// again (with a QR code) or shows it on a verification page.
	Document *Document `json:"-"`
}

// Holder identifies a card holder by the basic attributes of the JPKI
// certificate (基本4情報). With an address, the person is a resident here
// (the 住所地); without one, a member of a 戸籍 kept here (the 本籍地, for a
// holder with an approved usage registration), compared by name, birth date
// and sex as the registration was.
type Holder struct {
	Name      string   `json:"name"`
	BirthDate string   `json:"birth_date"` // YYYY-MM-DD
	Sex       jpki.Sex `json:"sex"`
	Address   string   `json:"address,omitempty"`
}

func (req *Request) validate() error {
	switch {
	case (req.PersonID == "") == (req.Holder == nil):
		return fmt.Errorf("%w: either a person ID or the holder's attributes", ErrInvalid)
	case len(req.PersonID) > 64:
		return fmt.Errorf("%w: person ID", ErrInvalid)
	case req.Holder != nil && (req.Holder.Name == "" || len(req.Holder.Name) > 256 || len(req.Holder.Address) > 512):
		return fmt.Errorf("%w: holder name or address", ErrInvalid)
	case req.Holder != nil && (req.Holder.Sex < jpki.Male || req.Holder.Sex > jpki.Unknown):
		return fmt.Errorf("%w: holder sex", ErrInvalid)
	}
	if req.Holder != nil {
		if _, err := time.ParseInLocation(time.DateOnly, req.Holder.BirthDate, wareki.JST()); err != nil {
			return fmt.Errorf("%w: holder birth date", ErrInvalid)
		}
	}
	if !req.Type.Valid() {
		return fmt.Errorf("%w: certificate type", ErrInvalid)
	}
	if req.Copies == 0 {
		req.Copies = 1
	}
	if req.Copies < 1 || req.Copies > MaxCopies {
		return fmt.Errorf("%w: copies must be 1 to %d", ErrInvalid, MaxCopies)
	}
	if req.Options.Year < 0 || req.Options.Year > 9999 {
		return fmt.Errorf("%w: year", ErrInvalid)
	}
	return nil
}

// Issue issues a certificate of municipality code, without anti-forgery
// (the staff office's reprints and tests). actor names the caller in the
// audit.
func (s *Service) Issue(ctx context.Context, code, actor string, req Request) (*Certificate, error) {
	return s.IssueProtected(ctx, code, actor, req, nil)
}

// AntiForgery protects the certificates the issuance API hands out (issue 5
// §2): Decorate makes the QR code and the 「複写」 pattern from the
// certificate number and content before the pages are rendered, and Seal
// signs the rendered PDF. The J-LIS relay provides it (jlis.AntiForgery).
type AntiForgery interface {
	Decorate(ctx context.Context, m Municipality, number string, d *Document) (Decorations, error)
	Seal(ctx context.Context, m Municipality, pdf []byte) ([]byte, error)
}

// IssueProtected is Issue with anti-forgery af (none when nil): the
// certificate is recorded with the digest of the signed PDF.
func (s *Service) IssueProtected(ctx context.Context, code, actor string, req Request, af AntiForgery) (*Certificate, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	m, err := s.Municipality(ctx, code)
	if err != nil {
		return nil, err
	}
	if req.Holder != nil {
		if req.PersonID, err = s.findHolder(ctx, code, req.Holder); err != nil {
			return nil, err
		}
	}
	now := s.now()
	offer, err := s.offer(ctx, code, req.Type, now)
	if err != nil {
		return nil, err
	}
	doc, err := s.document(ctx, m, req, now)
	if err != nil {
		return nil, err
	}
	// The type asked for is the type built: checked again here so that no
	// path can hand out another certificate than the one requested.
	if doc.Type != req.Type {
		return nil, fmt.Errorf("municipal: built %s for a %s request", doc.Type, req.Type)
	}
	if err := s.render.Fit(doc); err != nil {
		return nil, err
	}
	var n int64
	if err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, qNextNumber, code).Scan(&n)
	}); err != nil {
		return nil, fmt.Errorf("municipal: certificate number: %w", err)
	}
	doc.Number = fmt.Sprintf("%s-%08d", code, n)
	var dec Decorations
	if af != nil {
		if dec, err = af.Decorate(ctx, m, doc.Number, doc); err != nil {
			return nil, fmt.Errorf("municipal: decorate: %w", err)
		}
	}
	// A failure from here on leaves a gap in the numbers; the audit row of
	// the refusal (below) records it.
	pdf, pages, err := s.render.Render(doc, dec)
	if err != nil {
		s.logger.ErrorContext(ctx, "render certificate", "municipality", code, "number", doc.Number, "type", string(req.Type), "err", err)
		return nil, err
	}
	if af != nil {
		if pdf, err = af.Seal(ctx, m, pdf); err != nil {
			return nil, fmt.Errorf("municipal: seal: %w", err)
		}
	}
	sum := sha256.Sum256(pdf)
	c := &Certificate{Municipality: code, Number: doc.Number, Type: doc.Type, Pages: pages, Copies: req.Copies,
		FeeYen: offer.FeeYen * req.Copies, IssuedAt: now, SHA256: hex.EncodeToString(sum[:]), PDF: pdf, Document: doc}
	_, err = s.db.Write(ctx, qInsertCertificate, code, c.Number, string(c.Type), req.PersonID, c.Pages, c.FeeYen, c.Copies,
		c.SHA256, now.Unix())
	if err != nil {
		return nil, fmt.Errorf("municipal: record certificate: %w", err)
	}
	if err := s.audit(ctx, dbWriter{s.db}, code, Actor{Name: actor}, AuditIssue, req.PersonID, string(c.Type)+" "+c.Number); err != nil {
		return nil, fmt.Errorf("municipal: audit issue: %w", err)
	}
	s.logger.InfoContext(ctx, "certificate issued", "municipality", code, "number", c.Number, "type", string(c.Type), "pages", c.Pages)
	return c, nil
}

// findHolder finds the person a Holder names: a resident when it has an
// address, else a 戸籍 member.
func (s *Service) findHolder(ctx context.Context, code string, h *Holder) (string, error) {
	birth, err := time.ParseInLocation(time.DateOnly, h.BirthDate, wareki.JST())
	if err != nil {
		return "", fmt.Errorf("%w: holder birth date", ErrInvalid)
	}
	if h.Address != "" {
		return s.FindResident(ctx, code, h.Name, birth, h.Sex, h.Address)
	}
	id, err := s.FindKosekiMember(ctx, code, h.Name, birth, h.Sex)
	if errors.Is(err, ErrNotFound) {
		return "", ErrHonsekiElsewhere
	}
	return id, err
}

// IssuedCertificate is the record of an issued certificate.
type IssuedCertificate struct {
	Type     CertType  `json:"type"`
	PersonID string    `json:"person_id"`
	Pages    int       `json:"pages"`
	FeeYen   int       `json:"fee_yen"`
	Copies   int       `json:"copies"`
	SHA256   string    `json:"sha256"`
	IssuedAt time.Time `json:"issued_at"`
}

// Issued returns the record of certificate number of municipality code.
func (s *Service) Issued(ctx context.Context, code, number string) (*IssuedCertificate, error) {
	var c IssuedCertificate
	var t string
	var at int64
	err := s.db.QueryRowContext(ctx, qCertificate, code, number).Scan(&t, &c.PersonID, &c.Pages, &c.FeeYen, &c.Copies, &c.SHA256, &at)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate %s", ErrNotFound, number)
	}
	c.Type, c.IssuedAt = CertType(t), time.Unix(at, 0)
	return &c, nil
}

// refuseFor applies the rules about the person that every certificate
// shares.
func refuseFor(p *Person) error {
	switch {
	case p.Support:
		return ErrSupportMeasure
	case p.Status == MovedOut:
		return ErrMovedOut
	case p.Status == Deceased:
		return ErrDeceased
	case p.GaijiPending:
		return ErrGaijiPending
	}
	return nil
}

// document builds what the certificate says, after the refusal rules.
func (s *Service) document(ctx context.Context, m Municipality, req Request, now time.Time) (*Document, error) {
	d := &Document{Type: req.Type, Municipality: m.FullName(), SealText: m.Name + "長之印", Issued: now}
	if req.Type.FromKoseki() {
		return s.kosekiDocument(ctx, m, req, d)
	}
	p, err := s.Person(ctx, m.Code, req.PersonID)
	if err != nil {
		return nil, err
	}
	if err := refuseFor(p); err != nil {
		return nil, err
	}
	switch req.Type {
	case Juminhyo:
		members := []Person{*p}
		if req.Options.Household {
			if members, err = s.Household(ctx, p.HouseholdID); err != nil {
				return nil, err
			}
		}
		var head *Person
		for i := range members {
			if err := refuseFor(&members[i]); err != nil && members[i].ID != p.ID && !errors.Is(err, ErrMovedOut) && !errors.Is(err, ErrDeceased) {
				return nil, err // a 支援措置 or 外字 of another member
			}
			if members[i].Relation == "世帯主" {
				head = &members[i]
			}
		}
		top := Section{Rows: []Row{{Label: "住所", Value: p.Address}}}
		if req.Options.Relation && head != nil {
			top.Rows = append(top.Rows, Row{Label: "世帯主", Value: head.Name})
		}
		d.Sections = append(d.Sections, top)
		for i, mem := range members {
			if mem.Status != Resident {
				continue // the 写し lists the present members only
			}
			sec := Section{Heading: "世帯員 " + strconv.Itoa(i+1), Rows: personRows(&mem)}
			if !req.Options.Household {
				sec.Heading = ""
			}
			if req.Options.Relation {
				sec.Rows = append(sec.Rows, Row{Label: "続柄", Value: mem.Relation})
			}
			sec.Rows = append(sec.Rows, Row{Label: "住民となった日", Value: longDate(mem.MovedIn)})
			if req.Options.Honseki {
				sec.Rows = append(sec.Rows, Row{Label: "本籍", Value: mem.Honseki}, Row{Label: "筆頭者", Value: mem.Hitto})
			}
			if req.Options.MyNumber {
				sec.Rows = append(sec.Rows, Row{Label: "個人番号", Value: mem.MyNumber})
			}
			d.Sections = append(d.Sections, sec)
		}
		d.Attestation = "この写しは、住民票の原本と相違ないことを証明する。"
	case JuminhyoKisai:
		rows := append(personRows(p), Row{Label: "住所", Value: p.Address}, Row{Label: "住民となった日", Value: longDate(p.MovedIn)})
		d.Sections = []Section{{Rows: rows}}
		d.Attestation = "上記の事項は、住民票に記載されていることを証明する。"
	case Inkan:
		seal, err := s.SealOf(ctx, m.Code, p.ID)
		if errors.Is(err, ErrNotFound) {
			return nil, ErrNoRecord
		}
		if err != nil {
			return nil, err
		}
		rows := append(personRows(p), Row{Label: "住所", Value: p.Address},
			Row{Label: "登録番号", Value: seal.Number}, Row{Label: "登録年月日", Value: longDate(seal.RegisteredOn)},
			Row{Label: "印影", Image: seal.Image})
		d.Sections = []Section{{Rows: rows}}
		d.Attestation = "この写しは、登録されている印影と相違ないことを証明する。"
	case Tax:
		t, err := s.Tax(ctx, p.ID, req.Options.Year)
		if errors.Is(err, ErrNotFound) {
			return nil, ErrNoRecord
		}
		if err != nil {
			return nil, err
		}
		fy, err := fiscalYear(t.Year)
		if err != nil {
			return nil, err
		}
		d.Sections = []Section{
			{Rows: append(personRows(p), Row{Label: "住所", Value: p.Address})},
			{Heading: fy + "　所得・課税", Rows: []Row{
				{Label: "総所得金額", Value: Yen(t.IncomeYen)},
				{Label: "課税標準額", Value: Yen(t.TaxableYen)},
				{Label: "市町村民税", Value: Yen(t.CityTaxYen)},
				{Label: "道府県民税", Value: Yen(t.PrefTaxYen)},
				{Label: "税額合計", Value: Yen(t.CityTaxYen + t.PrefTaxYen)},
			}},
		}
		d.Attestation = "上記のとおり相違ないことを証明する。"
	default:
		return nil, fmt.Errorf("%w: certificate type", ErrInvalid)
	}
	return d, nil
}

// kosekiDocument builds the 戸籍 certificates and the 附票, which only the
// 本籍地 keeps.
func (s *Service) kosekiDocument(ctx context.Context, m Municipality, req Request, d *Document) (*Document, error) {
	k, err := s.KosekiOf(ctx, m.Code, req.PersonID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrHonsekiElsewhere
	}
	if err != nil {
		return nil, err
	}
	// When the person also lives here, the resident rules apply too.
	if p, err := s.Person(ctx, m.Code, req.PersonID); err == nil {
		if err := refuseFor(p); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	var self *KosekiMember
	for i := range k.Members {
		if k.Members[i].PersonID == req.PersonID {
			self = &k.Members[i]
		}
	}
	if self.Removed {
		return nil, ErrDeceased // a 除籍 member does not ask for themselves
	}
	head := Section{Heading: "戸籍事項", Rows: []Row{
		{Label: "本籍", Value: k.Honseki},
		{Label: "筆頭者", Value: k.Hitto},
	}}
	switch req.Type {
	case Fuhyo:
		lines, err := s.Fuhyo(ctx, self.PersonID)
		if err != nil {
			return nil, err
		}
		if len(lines) == 0 {
			return nil, ErrNoRecord
		}
		d.Sections = []Section{head, {Heading: "附票に記録されている者", Rows: []Row{
			{Label: "氏名", Value: self.Name}, {Label: "生年月日", Value: longDate(self.BirthDate)}}}}
		hist := Section{Heading: "住所の記録"}
		for _, l := range lines {
			hist.Rows = append(hist.Rows, Row{Label: "住所", Value: l.Address}, Row{Label: "住所を定めた日", Value: longDate(l.Since)})
		}
		d.Sections = append(d.Sections, hist)
		d.Attestation = "この写しは、戸籍の附票の原本と相違ないことを証明する。"
		return d, nil
	case KosekiZenbu:
		head.Rows = append(head.Rows, Row{Label: "戸籍編製日", Value: longDate(k.MadeOn)})
		d.Sections = []Section{head}
		for i := range k.Members {
			d.Sections = append(d.Sections, memberSection(&k.Members[i]))
		}
		d.Attestation = "これは、戸籍に記録されている事項の全部を証明した書面である。"
	case KosekiKojin:
		d.Sections = []Section{head, memberSection(self)}
		d.Attestation = "これは、戸籍に記録されている事項の一部を証明した書面である。"
	}
	return d, nil
}

func memberSection(mem *KosekiMember) Section {
	sec := Section{Heading: "戸籍に記録されている者", Rows: []Row{
		{Label: "名", Value: mem.Name},
		{Label: "生年月日", Value: longDate(mem.BirthDate)},
		{Label: "父", Value: mem.Father},
		{Label: "母", Value: mem.Mother},
		{Label: "続柄", Value: mem.Relation},
	}}
	if mem.Removed {
		sec.Heading += "（除籍）"
	}
	for i, e := range mem.Events {
		label := ""
		if i == 0 {
			label = "身分事項"
		}
		sec.Rows = append(sec.Rows, Row{Label: label, Value: e})
	}
	return sec
}

func personRows(p *Person) []Row {
	return []Row{
		{Label: "氏名", Value: p.Name},
		{Label: "生年月日", Value: longDate(p.BirthDate)},
		{Label: "性別", Value: sexName(p.Sex)},
	}
}

func sexName(s jpki.Sex) string {
	switch s {
	case jpki.Male:
		return "男"
	case jpki.Female:
		return "女"
	}
	return "―"
}

// longDate is the 和暦 long form, or "" for no date.
func longDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	s, err := wareki.Long(t)
	if err != nil {
		return t.In(wareki.JST()).Format("2006年1月2日")
	}
	return s
}

// fiscalYear names 年度 year (April to March) in 和暦: 令和7年度.
func fiscalYear(year int) (string, error) {
	e, y, err := wareki.Of(time.Date(year, 4, 1, 0, 0, 0, 0, wareki.JST()))
	if err != nil {
		return "", fmt.Errorf("%w: year", ErrInvalid)
	}
	ys := strconv.Itoa(y)
	if y == 1 {
		ys = "元"
	}
	return e.Name + ys + "年度", nil
}

// Yen formats 1234567 as 1,234,567円 (certificates and contracts).
func Yen(v int64) string {
	s := strconv.FormatInt(v, 10)
	neg := v < 0
	if neg {
		s = s[1:]
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out) + "円"
	}
	return string(out) + "円"
}
