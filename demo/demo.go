// Package demo seeds the reproducible demo world once: residents of the
// towns of the 2015 pilots (須坂市, 南砺市, 南部町, 美波町, 前橋市, 酒田市) with
// emulated cards issued at the counter, the terminals of the pilots registered
// with the platform, and the awkward cases a real deployment meets — a child
// without a signing certificate, a person whose 本籍 is in another town, a
// blocked PIN, a card reported lost, an expired certificate. It also serves
// the /demo page that lists the cards with their PINs.
package demo

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/wareki"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed migrations templates
var files embed.FS

// version numbers the demo world; a new version would seed again.
const version = 1

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

// Resident is one person of the demo world.
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

// Residents are the people of the demo world.
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

// Terminals are the terminals of the pilots.
var Terminals = []platform.Terminal{
	{ID: "kiosk-suzaka-1", Kind: platform.Kiosk, Owner: "須坂市", Name: "須坂市役所 1階 キオスク端末"},
	{ID: "tv-suzaka-1", Kind: platform.TV, Owner: "須高ケーブルテレビ", Name: "須高ケーブル STB（居間のテレビ）"},
	{ID: "tv-nanto-1", Kind: platform.TV, Owner: "となみ衛星通信テレビ", Name: "となみケーブル STB"},
	{ID: "tv-nambu-1", Kind: platform.TV, Owner: "中海テレビ放送", Name: "南部町 見守りSTB"},
	{ID: "school-nambu-1", Kind: platform.School, Owner: "南部町", Name: "南部町立小学校 玄関リーダー"},
	{ID: "shelter-minami-1", Kind: platform.Shelter, Owner: "美波町", Name: "美波町 避難所（日和佐小学校）"},
	{ID: "mobile-maebashi-1", Kind: platform.Mobile, Owner: "前橋市医師会", Name: "前橋市 母子手帳タブレット"},
}

// BenchTerminal is registered for `mynaplat bench auth`; its configuration
// goes to <data>/bench so the pages do not list it.
var BenchTerminal = platform.Terminal{ID: "bench-1", Kind: platform.Mobile, Owner: "mynaplat bench", Name: "負荷試験用端末"}

// Config holds what seeding needs.
type Config struct {
	DB       *store.DB
	Centre   *jpki.Centre
	Cards    *card.Store
	Platform *platform.Platform
	// DataDir is the data directory (terminal configurations go under it).
	DataDir string
	// JPKIDir and BaseURL are the centre's, to issue the expired case with a
	// clock set in the past.
	JPKIDir, BaseURL string
	Now              func() time.Time
	Logger           *slog.Logger
}

func subMigrations() (fs.FS, error) { return fs.Sub(files, "migrations") }

// Seed creates the demo world unless it exists. It reports whether it seeded.
func Seed(ctx context.Context, cfg Config) (bool, error) {
	mfs, err := subMigrations()
	if err != nil {
		return false, err
	}
	if err := cfg.DB.Migrate(ctx, "demo", mfs); err != nil {
		return false, err
	}
	// Claim the seeding first, so two instances started with --demo on one
	// database seed once; a failed seeding gives the claim back.
	_, err = cfg.DB.Write(ctx, `INSERT INTO demo_world (version, seeded_at) VALUES ($1, $2)`, version, cfg.Now().Unix())
	if store.IsUniqueViolation(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("demo: claim seeding: %w", err)
	}
	seeded := false
	defer func() {
		if !seeded {
			cfg.DB.Write(context.WithoutCancel(ctx), `DELETE FROM demo_world WHERE version = $1`, version)
		}
	}()
	for _, r := range Residents {
		if err := seedResident(ctx, cfg, r); err != nil {
			return false, fmt.Errorf("demo: %s: %w", r.Name, err)
		}
	}
	for _, t := range Terminals {
		if err := seedTerminal(ctx, cfg, t, filepath.Join(cfg.DataDir, "terminals")); err != nil {
			return false, err
		}
	}
	if err := seedTerminal(ctx, cfg, BenchTerminal, filepath.Join(cfg.DataDir, "bench")); err != nil {
		return false, err
	}
	seeded = true
	cfg.Logger.Info("demo world seeded", "residents", len(Residents), "terminals", len(Terminals))
	return true, nil
}

func seedTerminal(ctx context.Context, cfg Config, t platform.Terminal, dir string) error {
	key, err := cfg.Platform.RegisterTerminal(ctx, t)
	if err != nil {
		return fmt.Errorf("demo: terminal %s: %w", t.ID, err)
	}
	return terminal.SaveConfig(dir, terminal.Config{ID: t.ID, Kind: t.Kind, Owner: t.Owner, Name: t.Name, Key: key, Reader: "virtual"})
}

func seedResident(ctx context.Context, cfg Config, r Resident) error {
	birth, err := time.ParseInLocation(time.DateOnly, r.Birth, wareki.JST())
	if err != nil {
		return err
	}
	mn, err := card.NewMyNumber()
	if err != nil {
		return err
	}
	sex := map[jpki.Sex]string{jpki.Male: "1", jpki.Female: "2", jpki.Unknown: "9"}[r.Sex]
	cd, err := cfg.Cards.Create(card.Spec{Label: r.RoleJA, Demo: true, AuthPIN: r.AuthPIN, SignPIN: r.SignPIN, TextPIN: r.AuthPIN,
		MyNumber: mn, Name: r.Name, Address: r.Address, BirthDate: birth.Format("20060102"), Sex: sex})
	if err != nil {
		return err
	}
	res := jpki.Resident{Name: r.Name, Kana: r.Kana, BirthDate: birth, Sex: r.Sex, Address: r.Address, Municipality: r.Municipality}
	centre := cfg.Centre
	if r.Case == ExpiredCert {
		// Issued in 2019: valid to the fifth birthday after, in 2024.
		past := time.Date(2019, 6, 3, 10, 0, 0, 0, wareki.JST())
		if centre, err = jpki.Open(ctx, jpki.Config{DB: cfg.DB, Dir: cfg.JPKIDir, BaseURL: cfg.BaseURL,
			Now: func() time.Time { return past }, Logger: cfg.Logger}); err != nil {
			return err
		}
	}
	if _, err := centre.IssueCard(ctx, res, cd); err != nil {
		return err
	}
	switch r.Case {
	case BlockedPIN:
		cl := card.NewClient(cd)
		wrong := "0000"
		if r.AuthPIN == wrong {
			wrong = "9999"
		}
		for range card.AuthPIN.MaxTries() {
			cl.VerifyPIN(card.AuthPIN, wrong) // each wrong try answers 63Cx; the last blocks it
		}
		cl.Logout()
	case Revoked:
		if _, err := cfg.Centre.ReportLoss(ctx, cd.ID()); err != nil {
			return err
		}
	}
	return nil
}

// Pages serves /demo: the demo cards with their PINs and stories.
type Pages struct {
	pages   *web.Pages
	cards   *card.Store
	dataDir string
}

// NewPages parses the demo page.
func NewPages(site *web.Site, cards *card.Store, dataDir string) (*Pages, error) {
	sub, err := fs.Sub(files, "templates")
	if err != nil {
		return nil, err
	}
	pages, err := site.Parse(sub, "*.html")
	if err != nil {
		return nil, err
	}
	return &Pages{pages: pages, cards: cards, dataDir: dataDir}, nil
}

// Routes registers GET /demo.
func (p *Pages) Routes(mux *http.ServeMux) { mux.HandleFunc("GET /demo", p.serve) }

type pageData struct {
	Cards         []row
	Places        []placeRow
	Keys          *Keys
	MunicipalKeys []MunicipalKey
	PostboxKeys   *PostboxKeys
}

type row struct {
	card.Info
	Resident *Resident
	Town     string
	// Uses are the home page sections the card is used in.
	Uses []Use
}

func (p *Pages) serve(w http.ResponseWriter, r *http.Request) {
	infos, err := p.cards.List()
	if err != nil {
		http.Error(w, "cards unavailable", http.StatusServiceUnavailable)
		return
	}
	byName := map[string]*Resident{}
	for i := range Residents {
		byName[Residents[i].Name] = &Residents[i]
	}
	uses := Uses()
	var rows []row
	for _, in := range infos {
		if !in.Demo {
			continue
		}
		rw := row{Info: in, Resident: byName[in.Holder], Uses: uses[in.Holder]}
		if rw.Resident != nil {
			if m, err := jpki.LookupMunicipality(rw.Resident.Municipality); err == nil {
				rw.Town = m.Prefecture + m.Name
			}
		}
		rows = append(rows, rw)
	}
	d := pageData{Cards: rows}
	if len(rows) > 0 {
		d.Places = placeRows()
	}
	if k, err := LoadKeys(p.dataDir); err == nil {
		d.Keys = k
	}
	if mk, err := LoadMunicipalKeys(p.dataDir); err == nil {
		slices.SortFunc(mk, func(a, b MunicipalKey) int { return strings.Compare(a.Code, b.Code) })
		d.MunicipalKeys = mk
	}
	if pk, err := LoadPostboxKeys(p.dataDir); err == nil {
		d.PostboxKeys = pk
	}
	p.pages.Render(w, r, http.StatusOK, "demo", d)
}

// TownName is the prefecture and municipality of a code, for pages.
func TownName(code string) string {
	m, err := jpki.LookupMunicipality(code)
	if err != nil {
		return code
	}
	return strings.TrimSpace(m.Prefecture + m.Name)
}
