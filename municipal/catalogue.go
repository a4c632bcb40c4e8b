package municipal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mynaplat/mynaplat/wareki"
)

// CertType is a kind of certificate.
type CertType string

// The certificates of the catalogue.
const (
	Juminhyo      CertType = "juminhyo"       // 住民票の写し
	JuminhyoKisai CertType = "juminhyo-kisai" // 住民票記載事項証明書
	Inkan         CertType = "inkan"          // 印鑑登録証明書
	KosekiZenbu   CertType = "koseki-zenbu"   // 戸籍全部事項証明書
	KosekiKojin   CertType = "koseki-kojin"   // 戸籍個人事項証明書
	Fuhyo         CertType = "fuhyo"          // 戸籍の附票の写し
	Tax           CertType = "tax"            // 所得・課税証明書
)

// CertTypes lists every certificate type in catalogue order.
func CertTypes() []CertType {
	return []CertType{Juminhyo, JuminhyoKisai, Inkan, KosekiZenbu, KosekiKojin, Fuhyo, Tax}
}

// Title is the certificate's printed name.
func (t CertType) Title() string {
	switch t {
	case Juminhyo:
		return "住民票の写し"
	case JuminhyoKisai:
		return "住民票記載事項証明書"
	case Inkan:
		return "印鑑登録証明書"
	case KosekiZenbu:
		return "戸籍全部事項証明書"
	case KosekiKojin:
		return "戸籍個人事項証明書"
	case Fuhyo:
		return "戸籍の附票の写し"
	case Tax:
		return "所得・課税証明書"
	}
	return ""
}

// TitleEN is the certificate's English name.
func (t CertType) TitleEN() string {
	switch t {
	case Juminhyo:
		return "Copy of the residence record"
	case JuminhyoKisai:
		return "Certificate of residence record entries"
	case Inkan:
		return "Seal registration certificate"
	case KosekiZenbu:
		return "Family register, all entries"
	case KosekiKojin:
		return "Family register, one person"
	case Fuhyo:
		return "Copy of the family register's address record"
	case Tax:
		return "Income and tax certificate"
	}
	return ""
}

// Valid reports whether t is a known certificate type.
func (t CertType) Valid() bool { return t.Title() != "" }

// FromKoseki reports whether the certificate comes from the 本籍地's
// registers (戸籍 and its 附票) rather than the 住所地's.
func (t CertType) FromKoseki() bool { return t == KosekiZenbu || t == KosekiKojin || t == Fuhyo }

// Offer is one entry of a municipality's catalogue.
type Offer struct {
	Type   CertType `json:"type"`
	FeeYen int      `json:"fee_yen"` // per copy
	// Open and Close are minutes after midnight JST (6:30 is 390, 23:00 is
	// 1380); a request is taken from Open up to but not at Close.
	Open  int `json:"open_min"`
	Close int `json:"close_min"`
	// WeekdaysOnly: only Monday to Friday (戸籍 where its system is staffed).
	WeekdaysOnly bool `json:"weekdays_only"`
	// AllYear: also in the year-end closure (12/29–1/3).
	AllYear bool `json:"all_year,omitempty"`
}

// SetOffer adds or changes one entry of a municipality's catalogue.
func (s *Service) SetOffer(ctx context.Context, code string, o Offer) error {
	if !o.Type.Valid() || o.FeeYen < 0 || o.Open < 0 || o.Close > 24*60 || o.Open >= o.Close {
		return fmt.Errorf("%w: offer", ErrInvalid)
	}
	if _, err := s.db.Write(ctx, qUpsertOffer, code, string(o.Type), o.FeeYen, o.Open, o.Close, boolInt(o.WeekdaysOnly), boolInt(o.AllYear)); err != nil {
		return fmt.Errorf("municipal: set offer: %w", err)
	}
	return nil
}

// Catalogue returns what a municipality offers.
func (s *Service) Catalogue(ctx context.Context, code string) ([]Offer, error) {
	rows, err := s.db.QueryContext(ctx, qOffers, code)
	if err != nil {
		return nil, fmt.Errorf("municipal: catalogue: %w", err)
	}
	defer rows.Close()
	var out []Offer
	for rows.Next() {
		var o Offer
		var t string
		var wd, ay int
		if err := rows.Scan(&t, &o.FeeYen, &o.Open, &o.Close, &wd, &ay); err != nil {
			return nil, err
		}
		o.Type, o.WeekdaysOnly, o.AllYear = CertType(t), wd != 0, ay != 0
		out = append(out, o)
	}
	return out, rows.Err()
}

// offer returns the catalogue entry for t, and ErrNotOffered or
// ErrOutsideHours when it cannot be had at now.
func (s *Service) offer(ctx context.Context, code string, t CertType, now time.Time) (Offer, error) {
	o := Offer{Type: t}
	var wd, ay int
	err := s.db.QueryRowContext(ctx, qOffer, code, string(t)).Scan(&o.FeeYen, &o.Open, &o.Close, &wd, &ay)
	if errors.Is(err, sql.ErrNoRows) {
		return Offer{}, ErrNotOffered
	}
	if err != nil {
		return Offer{}, fmt.Errorf("municipal: offer: %w", err)
	}
	o.WeekdaysOnly, o.AllYear = wd != 0, ay != 0
	if !o.OpenAt(now) {
		return Offer{}, ErrOutsideHours
	}
	return o, nil
}

// OpenAt reports whether the offer can be had at t: within its hours in JST,
// on a weekday when it is weekdays only, and not in the year-end closure
// (12/29–1/3) unless it is all year.
func (o Offer) OpenAt(t time.Time) bool {
	t = t.In(wareki.JST())
	m, d := t.Month(), t.Day()
	if !o.AllYear && (m == time.December && d >= 29 || m == time.January && d <= 3) {
		return false
	}
	if o.WeekdaysOnly && (t.Weekday() == time.Saturday || t.Weekday() == time.Sunday) {
		return false
	}
	min := t.Hour()*60 + t.Minute()
	return min >= o.Open && min < o.Close
}
