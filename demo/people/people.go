// Package people is the demo world's card holders: the one list that the
// demo seeding (package demo: their cards, their insurers, the post box's
// customers), the registers of their towns (municipal.SeedDemo, given them
// by its caller) and the tests that build a world of them all read. It
// imports no service, so that the tests of every package can use it
// without an import cycle; a second copy of the list is how the demo world
// drifted apart before (issue 14).
package people

import (
	"time"

	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/mynumber"
	"github.com/mynaplat/mynaplat/wareki"
)

// Case is what is special about a demo card.
type Case string

// The demo's cases.
const (
	Normal       Case = ""
	Child        Case = "child"         // under 15: no signing certificate
	OtherHonseki Case = "other-honseki" // 本籍 in another municipality
	BlockedPIN   Case = "blocked-pin"   // three wrong PINs
	Revoked      Case = "revoked"       // reported lost
	ExpiredCert  Case = "expired"       // certificates past their end
)

// Resident is one card holder of the demo world.
type Resident struct {
	Name, Kana   string
	Birth        string // YYYY-MM-DD
	Sex          jpki.Sex
	Address      string
	Municipality string
	// Honseki is the municipality code of the 本籍 (family register).
	Honseki string
	AuthPIN string
	SignPIN string
	Case    Case
	RoleJA  string
	RoleEN  string
}

// BirthDate is the resident's birth date.
func (r Resident) BirthDate() time.Time {
	t, err := time.ParseInLocation(time.DateOnly, r.Birth, wareki.JST())
	if err != nil {
		panic("people: birth date " + r.Birth) // the list's constants
	}
	return t
}

// JPKI is what the JPKI centre records of the resident when it issues
// their card.
func (r Resident) JPKI() jpki.Resident {
	return jpki.Resident{Name: r.Name, Kana: r.Kana, BirthDate: r.BirthDate(), Sex: r.Sex, Address: r.Address, Municipality: r.Municipality}
}

// MyNumber is the resident's 個人番号, the same on their card and in their
// 住民票 (derived from the name, so that the demo world is the same at every
// seeding).
func (r Resident) MyNumber() string { return mynumber.From("mynaplat demo " + r.Name) }

// CanAuthenticate reports whether the card answers a login: not a blocked,
// revoked or expired one.
func (r Resident) CanAuthenticate() bool {
	return r.Case != BlockedPIN && r.Case != Revoked && r.Case != ExpiredCert
}

// Residents are the card holders of the demo world.
var Residents = []Resident{
	{"須坂　花子", "スザカ　ハナコ", "1980-02-29", jpki.Female, "長野県須坂市大字須坂１２３４番地", "202070", "202070", "1234", "SUZAKA1980", Normal, "子育て世帯の母（CATVで健康情報・施設予約）", "Mother of a family (health records and bookings on CATV)"},
	{"須坂　健太", "スザカ　ケンタ", "1978-05-12", jpki.Male, "長野県須坂市大字須坂１２３４番地", "202070", "202070", "2345", "KENTA1978", Normal, "父", "Father"},
	{"須坂　陽菜", "スザカ　ヒナ", "2014-09-01", jpki.Female, "長野県須坂市大字須坂１２３４番地", "202070", "202070", "3456", "", Child, "子ども（15歳未満：署名用証明書なし）", "Child under 15: no signing certificate"},
	{"井波　清", "イナミ　キヨシ", "1941-03-03", jpki.Male, "富山県南砺市井波１番地", "162108", "162108", "4567", "INAMI1941", Normal, "高齢者（テレビから施設予約）", "Elderly (bookings from the TV)"},
	{"法勝寺　トメ", "ホッショウジ　トメ", "1936-11-11", jpki.Female, "鳥取県西伯郡南部町法勝寺３３３番地", "313891", "313891", "5678", "NAMBU1936", Normal, "高齢者（毎日の見守り）", "Elderly (daily watch-over)"},
	{"南部　翔", "ナンブ　ショウ", "2016-04-20", jpki.Male, "鳥取県西伯郡南部町法勝寺３３３番地", "313891", "313891", "6789", "", Child, "小学生（登下校メール）", "Schoolchild (check-in mail)"},
	{"日和佐　正", "ヒワサ　タダシ", "1950-08-15", jpki.Male, "徳島県海部郡美波町奥河内寺前１番地", "363880", "363880", "7890", "MINAMI1950", Normal, "高齢者（避難誘導・避難所受付）", "Elderly (evacuation and shelter check-in)"},
	{"前橋　美咲", "マエバシ　ミサキ", "1992-07-07", jpki.Female, "群馬県前橋市本町一丁目２番３号", "102016", "102016", "1357", "MAEBASHI1992", Normal, "母（電子母子健康手帳）", "Mother (electronic maternal–child handbook)"},
	{"前橋　蓮", "マエバシ　レン", "2023-01-15", jpki.Male, "群馬県前橋市本町一丁目２番３号", "102016", "102016", "2468", "", Child, "乳児", "Infant"},
	{"酒田　一郎", "サカタ　イチロウ", "1975-06-30", jpki.Male, "山形県酒田市本町二丁目２番４５号", "062049", "062014", "1111", "SAKATA1975", OtherHonseki, "本籍は山形市（コンビニで戸籍証明書）", "本籍 in Yamagata city (family register at a kiosk)"},
	{"本間　光", "ホンマ　ヒカル", "1988-12-24", jpki.Female, "山形県酒田市中町一丁目４番１０号", "062049", "062049", "2222", "HOMMA1988", BlockedPIN, "暗証番号がロックされている", "PIN blocked"},
	{"鳥海　誠", "チョウカイ　マコト", "1960-01-20", jpki.Male, "山形県酒田市光ケ丘五丁目１番地", "062049", "062049", "3333", "CHOKAI1960", Revoked, "カード紛失で証明書が失効", "Card lost: certificates revoked"},
	{"酒井　由美", "サカイ　ユミ", "1985-04-10", jpki.Female, "山形県酒田市若浜町１番４０号", "062049", "062049", "5555", "SAKAI1985", Normal, "日本生命の担当者（代表者の電子委任状で保険料控除証明書を発行）", "Nippon Life employee (issues premium certificates under the representative's power of attorney)"},
	{"飛島　悟", "トビシマ　サトル", "1958-10-10", jpki.Male, "山形県酒田市飛島勝浦１番地", "062049", "062049", "4444", "TOBISHIMA58", ExpiredCert, "電子証明書の有効期限切れ", "Certificates expired"},
}

// Named is the card holder of that name.
func Named(name string) (Resident, bool) {
	for _, r := range Residents {
		if r.Name == name {
			return r, true
		}
	}
	return Resident{}, false
}
