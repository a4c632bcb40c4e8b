package demo

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/demo/people"
	"github.com/mynaplat/mynaplat/internal/layout"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/staff"
)

// StaffPerson is a member of staff of the demo world: a card of their own
// (a person like any other) and a grant at one office.
type StaffPerson struct {
	people.Resident
	Office      string
	Role        staff.Role
	StaffNumber string
}

// staffOf is a demo staff member with a card at an address of their town.
func staffOf(name, kana, birth string, sex jpki.Sex, address, town, pin, office string, role staff.Role, number string) StaffPerson {
	return StaffPerson{Resident: people.Resident{Name: name, Kana: kana, Birth: birth, Sex: sex, Address: address, Municipality: town,
		Honseki: town, AuthPIN: pin, SignPIN: "STAFF" + pin, RoleJA: "職員：" + role.JA() + "（" + office + "）",
		RoleEN: "Staff: " + role.EN() + " (" + office + ")"}, Office: office, Role: role, StaffNumber: number}
}

// Staff are the demo world's staff: a registry clerk for each town whose
// register the demo keeps, a counter clerk and a supervisor at 酒田市's
// JPKI counter, a clerk of the insurer 06230012, a receptionist of the
// hospital, a clerk of 酒田税務署's post-box inbox, one of each business's
// back office, an officer of the procurement qualification register, two
// contracting officers of each procuring body (who together open its
// tenders), a message sender of 須高ケーブルテレビ and one of 須坂市 at its
// sender page, and an operator of the platform. (The post box has no
// operator's page, so no post-box operator.)
var Staff = []StaffPerson{
	staffOf("最上　和也", "モガミ　カズヤ", "1982-05-01", jpki.Male, "山形県酒田市本町一丁目１番地", "062049", "8101", "municipal:062049", staff.RegistryClerk, "R-062049-01"),
	staffOf("蔵王　由紀", "ザオウ　ユキ", "1979-09-09", jpki.Female, "山形県山形市旅篭町二丁目３番２５号", "062014", "8102", "municipal:062014", staff.RegistryClerk, "R-062014-01"),
	staffOf("臥竜　誠司", "ガリュウ　セイジ", "1975-03-15", jpki.Male, "長野県須坂市大字須坂１５２８番地", "202070", "8103", "municipal:202070", staff.RegistryClerk, "R-202070-01"),
	staffOf("城端　美穂", "ジョウハナ　ミホ", "1986-11-20", jpki.Female, "富山県南砺市荒木１５５０番地", "162108", "8104", "municipal:162108", staff.RegistryClerk, "R-162108-01"),
	staffOf("天萬　公彦", "テンマ　キミヒコ", "1970-07-07", jpki.Male, "鳥取県西伯郡南部町法勝寺３７７番地", "313891", "8105", "municipal:313891", staff.RegistryClerk, "R-313891-01"),
	staffOf("由岐　千里", "ユキ　チサト", "1990-02-02", jpki.Female, "徳島県海部郡美波町奥河内字本村１８番地１", "363880", "8106", "municipal:363880", staff.RegistryClerk, "R-363880-01"),
	staffOf("赤城　亮", "アカギ　リョウ", "1984-04-04", jpki.Male, "群馬県前橋市大手町二丁目１２番１号", "102016", "8107", "municipal:102016", staff.RegistryClerk, "R-102016-01"),
	staffOf("日和山　翼", "ヒヨリヤマ　ツバサ", "1992-10-10", jpki.Male, "山形県酒田市日吉町一丁目１番地", "062049", "8201", "counter:062049", staff.CounterClerk, "C-062049-01"),
	staffOf("山居　節子", "サンキョ　セツコ", "1968-12-12", jpki.Female, "山形県酒田市山居町一丁目１番地", "062049", "8202", "counter:062049", staff.CounterSupervisor, "C-062049-90"),
	staffOf("鳥海山　健", "チョウカイサン　ケン", "1981-08-08", jpki.Male, "山形県酒田市東大町一丁目１番地", "062049", "8301", "insurer:06230012", staff.InsurerClerk, "I-06230012-01"),
	staffOf("飯森　舞", "イイモリ　マイ", "1995-06-06", jpki.Female, "山形県酒田市あきほ町３０番地", "062049", "8401", "clinic:0611000019", staff.ClinicStaff, "H-0611000019-01"),
	staffOf("宮野浦　花子", "ミヤノウラ　ハナコ", "1983-03-03", jpki.Female, "山形県酒田市宮野浦一丁目１番地", "062049", "8601", "agency:tax-sakata", staff.AgencyStaff, "A-tax-sakata-01"),
	staffOf("八幡　恵", "ヤワタ　メグミ", "1988-08-18", jpki.Female, "山形県酒田市中町二丁目５番１０号", "062049", "8701", "business:nissay", staff.BusinessStaff, "B-nissay-01"),
	staffOf("松山　健司", "マツヤマ　ケンジ", "1980-01-10", jpki.Male, "山形県酒田市幸町一丁目１０番１号", "062049", "8702", "business:japanpost", staff.BusinessStaff, "B-japanpost-01"),
	staffOf("平田　直子", "ヒラタ　ナオコ", "1985-05-15", jpki.Female, "山形県酒田市亀ケ崎三丁目２番３号", "062049", "8703", "business:nhk", staff.BusinessStaff, "B-nhk-01"),
	staffOf("統一　審査", "トウイツ　シンサ", "1976-06-16", jpki.Male, "東京都千代田区霞が関三丁目１番１号", "131016", "8801", staff.ProcureOffice, staff.ProcureOfficer, "Q-01"),
	staffOf("利根　正樹", "トネ　マサキ", "1978-06-20", jpki.Male, "群馬県前橋市大手町一丁目１番１号", "102016", "8801", "procure-body:kanto", staff.TenderOfficer, "K-kanto-01"),
	staffOf("榛名　久美子", "ハルナ　クミコ", "1987-02-14", jpki.Female, "群馬県前橋市本町二丁目１２番１号", "102016", "8802", "procure-body:kanto", staff.TenderOfficer, "K-kanto-02"),
	staffOf("臥竜山　拓海", "ガリュウザン　タクミ", "1983-09-01", jpki.Male, "長野県須坂市大字須坂１２９５番地", "202070", "8811", "procure-body:suzaka", staff.TenderOfficer, "K-suzaka-01"),
	staffOf("米子　千尋", "ヨナコ　チヒロ", "1991-12-03", jpki.Female, "長野県須坂市大字米子２００番地", "202070", "8812", "procure-body:suzaka", staff.TenderOfficer, "K-suzaka-02"),
	staffOf("相森　達也", "アイモリ　タツヤ", "1987-02-14", jpki.Male, "長野県須坂市大字須坂８８０番地", "202070", "8901", staff.CATVKind+":suko", staff.CATVSender, "CATV-suko-01"),
	staffOf("本上　里美", "ホンジョウ　サトミ", "1989-09-19", jpki.Female, "長野県須坂市大字小山１２００番地", "202070", "8902", staff.CATVKind+":suko", staff.CATVTownSender, "T-202070-01"),
	staffOf(WatchStaffName, "アカマツ　サチ", "1986-04-12", jpki.Female, "鳥取県西伯郡南部町天萬５５８番地", "313891", "8903", staff.WatchKind+":nambu", staff.WatchStaff, "H-313891-01"),
	staffOf("浜崎　恵子", "ハマサキ　ケイコ", "1979-04-18", jpki.Female, "徳島県海部郡美波町奥河内字弁才天１７番地", "363880", "8950", staff.EvacKind+":minami", staff.EvacOfficer, "M-363880-01"),
	staffOf(GateTeacherName, "テマヤマ　ヨウコ", "1979-05-20", jpki.Female, "鳥取県西伯郡南部町手間１２０番地", "313891", "8904", staff.GateKind+":nambu-school", staff.GateStaff, "S-313891-01"),
	staffOf(GateLibrarianName, "リョクスイ　コタロウ", "1983-10-03", jpki.Male, "鳥取県西伯郡南部町鶴見３４０番地", "313891", "8905", staff.GateKind+":nambu-library", staff.GateStaff, "L-313891-01"),
	staffOf("霞ヶ関　直人", "カスミガセキ　ナオト", "1977-01-31", jpki.Male, "東京都千代田区霞が関二丁目１番２号", "131016", "8501", "platform-operator", staff.PlatformOperator, "P-01"),
}

// StaffDesks are the staff terminals, where staff sign in with their own
// cards: one at 酒田市役所 serves every office of the demo.
var StaffDesks = []platform.Terminal{
	{ID: "staffdesk-sakata-1", Kind: platform.StaffDesk, Owner: "酒田市", Name: "酒田市役所 職員用端末（カードリーダー）"},
}

// seedStaff gives every demo staff member a card, a platform ID and their
// grant, and registers the staff terminals.
func seedStaff(ctx context.Context, cfg Config) error {
	for _, t := range StaffDesks {
		if err := seedTerminal(ctx, cfg, t, layout.StaffDesksDir(cfg.DataDir)); err != nil {
			return err
		}
	}
	if cfg.Staff == nil {
		return nil
	}
	for _, sp := range Staff {
		cd, err := seedCard(ctx, cfg, sp.Resident)
		if err != nil {
			return fmt.Errorf("demo: staff %s: %w", sp.Name, err)
		}
		der, err := card.NewClient(cd).Certificate(card.Auth)
		if err != nil {
			return fmt.Errorf("demo: staff %s: read the certificate: %w", sp.Name, err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return err
		}
		id, err := cfg.Platform.EnrolHolder(ctx, cert)
		if err != nil {
			return fmt.Errorf("demo: staff %s: %w", sp.Name, err)
		}
		if _, err := cfg.Staff.Add(ctx, staff.Grant{PlatformID: id, Name: sp.Name, Office: sp.Office, Role: sp.Role,
			StaffNumber: sp.StaffNumber, ValidFrom: cfg.Now().AddDate(0, -1, 0), ValidUntil: cfg.Now().AddDate(2, 0, 0)}); err != nil {
			return fmt.Errorf("demo: staff %s: %w", sp.Name, err)
		}
	}
	return nil
}

// isStaff reports whether the card holder of that name is a demo staff
// member (listed apart on /demo).
func isStaff(name string) bool {
	for _, sp := range Staff {
		if sp.Name == name {
			return true
		}
	}
	return false
}

// staffRow is a demo staff member on /demo.
type staffRow struct {
	StaffPerson
	Card card.Info
	// Path is where they sign in: their office's page ("" for an office
	// that takes no card sign-in yet).
	Path string
	// OpeningPassphrase is a contracting officer's opening passphrase,
	// set when the demo was seeded (OpeningPassphrases).
	OpeningPassphrase string
}

// staffRows are the staff whose cards were seeded.
func staffRows(cards map[string]card.Info) []staffRow {
	var out []staffRow
	for _, sp := range Staff {
		in, ok := cards[sp.Name]
		if !ok {
			continue
		}
		r := staffRow{StaffPerson: sp, Card: in}
		if sp.Role == staff.TenderOfficer {
			r.OpeningPassphrase = OpeningPassphrases[sp.Name]
		}
		if p, err := staff.LoginPath(sp.Office); err == nil {
			r.Path = strings.TrimSuffix(p, "login")
		}
		out = append(out, r)
	}
	return out
}
