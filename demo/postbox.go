package demo

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/mynaplat/mynaplat/agency"
	"github.com/mynaplat/mynaplat/business"
	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/demo/people"
	"github.com/mynaplat/mynaplat/internal/fileutil"
	"github.com/mynaplat/mynaplat/internal/layout"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/postbox"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/verify"
	"github.com/mynaplat/mynaplat/wareki"
)

// The post-box part of the demo world (電子私書箱): three businesses
// (日本生命, 日本郵便, NHK) with 酒田 一郎 as their customer, three receiving
// agencies (酒田税務署, an employer, 酒田市), 日本生命's representative and
// the employee he empowered to sign 保険料控除証明書, 酒田 一郎's signed
// consents, and the 保険料控除証明書 日本生命 has put in his box.

// PostboxTerminal is the resident's own computer with a card reader, where
// people log in to their post box.
var PostboxTerminal = platform.Terminal{ID: layout.PostboxTerminalID, Kind: platform.Mobile, Owner: "電子私書箱",
	Name: "自宅のパソコン（カードリーダー）"}

// Corporation is a demo corporation with its representative.
type Corporation struct {
	Number, NameJA, NameEN, Address string
	Representative                  string
}

// The demo's corporations. The 法人番号 are made up (with valid check
// digits), not the real ones.
var (
	Nissay    = Corporation{"8120005900001", "日本生命保険相互会社", "Nippon Life Insurance", "大阪府大阪市中央区今橋三丁目５番１２号", "生田　正人"}
	JapanPost = Corporation{"5010001900002", "日本郵便株式会社", "Japan Post", "東京都千代田区大手町二丁目３番１号", "郵便　太郎"}
	NHK       = Corporation{"7011005900003", "日本放送協会", "NHK", "東京都渋谷区神南二丁目２番１号", "放送　次郎"}
	Shonai    = Corporation{"7390001900004", "株式会社庄内精機", "Shonai Seiki Co., Ltd.", "山形県酒田市京田二丁目１番地", "庄内　健一"}
)

// Firm is a business: its post-box party ID, corporation and roles.
type Firm struct {
	ID    string
	Corp  Corporation
	Roles []string
}

// Firms are the businesses.
var Firms = []Firm{
	{"nissay", Nissay, []string{postbox.RoleDeliver, postbox.RoleAddressNotice}},
	{"japanpost", JapanPost, []string{postbox.RoleAddressNotice}},
	{"nhk", NHK, []string{postbox.RoleAddressNotice}},
}

// Offices are the receiving agencies.
var Offices = []agency.Office{
	{ID: "tax-sakata", NameJA: "酒田税務署", NameEN: "Sakata Tax Office"},
	{ID: "shonai-seiki", NameJA: "株式会社庄内精機 人事課", NameEN: "Shonai Seiki, Human Resources"},
	{ID: "sakata-kosodate", NameJA: "酒田市 子育て支援課", NameEN: "Sakata City, Child-rearing Support"},
}

// Employee is the 日本生命 employee who signs 保険料控除証明書 under the
// representative's power of attorney.
const Employee = "酒井　由美"

// IchiroRefs are 酒田 一郎's customer numbers at the businesses.
var IchiroRefs = map[string]string{"nissay": "NL-1975-0630", "japanpost": "JP-998-0044", "nhk": "NHK-06204913"}

// PDFCustomer is the 日本生命 customer whose 保険料控除証明書 comes as a PDF
// the employee's card certifies (PAdES B-LTA), not as signed JSON: the post
// box shows and validates both kinds. PDFCustomerRef is his number there.
const (
	PDFCustomer    = "井波　清"
	PDFCustomerRef = "NL-1941-0303"
)

// PostboxConfig holds what seeding the post-box part needs.
type PostboxConfig struct {
	DB       *store.DB
	Platform *platform.Platform
	Cards    *card.Store
	Registry *corpreg.Registry
	Powers   *delegation.Service
	Postbox  *postbox.Service
	Agency   *agency.Service
	Business *business.Service
	Stamper  cms.Stamper
	// BaseURL and HTTP reach this process's roles over their APIs.
	BaseURL string
	HTTP    *http.Client
	// PostboxURL, AgencyURL and BusinessURL are where the post box, the
	// agencies and the businesses are reached from each other (recorded as
	// their endpoints); BaseURL when empty, as when they share a process.
	PostboxURL, AgencyURL, BusinessURL string
	DataDir                            string
	Now                                func() time.Time
}

// PostboxKeys are the demo agencies' API keys (their own systems' keys at
// their read API: machines', not people's), shown on /demo. Staff of the
// agencies and businesses sign in with their own cards (demo.Staff).
type PostboxKeys struct {
	Offices []APIKey `json:"offices"`
}

// APIKey is one agency's API key and where its API answers.
type APIKey struct{ ID, Name, Path, Key string }

// PostboxKeysPath is where the post box part's demo keys are kept.
func PostboxKeysPath(dataDir string) string {
	return filepath.Join(dataDir, "postbox", "demo-keys.json")
}

// LoadPostboxKeys reads them.
func LoadPostboxKeys(dataDir string) (*PostboxKeys, error) {
	var k PostboxKeys
	if err := fileutil.ReadJSON(PostboxKeysPath(dataDir), &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// SeedPostbox seeds the post-box part once.
func SeedPostbox(ctx context.Context, cfg PostboxConfig) (bool, error) {
	ok, release, err := claimPart(ctx, cfg.DB, "postbox", cfg.Now)
	if err != nil || !ok {
		return false, err
	}
	done := false
	defer func() { release(done) }()
	if err := seedPostbox(ctx, cfg); err != nil {
		return false, fmt.Errorf("demo: post box: %w", err)
	}
	done = true
	return true, nil
}

func seedPostbox(ctx context.Context, cfg PostboxConfig) error {
	now := cfg.Now()
	for _, u := range []*string{&cfg.PostboxURL, &cfg.AgencyURL, &cfg.BusinessURL} {
		if *u == "" {
			*u = cfg.BaseURL
		}
	}
	// The terminal people log in at.
	tkey, err := cfg.Platform.RegisterTerminal(ctx, PostboxTerminal)
	if err != nil {
		return err
	}
	tc := terminal.Config{ID: PostboxTerminal.ID, Kind: PostboxTerminal.Kind, Owner: PostboxTerminal.Owner, Name: PostboxTerminal.Name, Key: tkey, Reader: "virtual"}
	if err := terminal.SaveConfig(layout.TerminalsDir(cfg.DataDir), tc); err != nil {
		return err
	}
	term, err := terminal.New(tc, cfg.BaseURL, cfg.HTTP)
	if err != nil {
		return err
	}
	// The corporations and their representatives; the representatives'
	// keys stay with them (files of mode 0600).
	repDir := filepath.Join(cfg.DataDir, "corpreg", "representatives")
	if err := os.MkdirAll(repDir, 0o700); err != nil {
		return err
	}
	reps := map[string]crypto.Signer{}
	repCerts := map[string]*x509.Certificate{}
	for _, c := range []Corporation{Nissay, JapanPost, NHK, Shonai} {
		if err := cfg.Registry.RegisterCorporation(ctx, c.Number, c.NameJA, c.Address); err != nil {
			return err
		}
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return err
		}
		if err := fileutil.WriteAtomic(filepath.Join(repDir, c.Number+".key"),
			pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return err
		}
		cert, err := cfg.Registry.AppointRepresentative(ctx, c.Number, c.Representative, key.Public())
		if err != nil {
			return err
		}
		reps[c.Number], repCerts[c.Number] = key, cert
	}
	// People log in once, as they would before using the post box.
	ichiro, ichiroID, err := loginDemo(ctx, cfg.Cards, term, "酒田　一郎")
	if err != nil {
		return err
	}
	yumi, yumiID, err := loginDemo(ctx, cfg.Cards, term, Employee)
	if err != nil {
		return err
	}
	// 日本生命's representative empowers the employee to issue 保険料控除証明書.
	id, err := delegation.NewID()
	if err != nil {
		return err
	}
	power := delegation.Power{ID: id, Principal: delegation.Principal{CorporateNumber: Nissay.Number, CorporationName: Nissay.NameJA,
		RepresentativeName: Nissay.Representative}, Agent: delegation.Agent{PlatformID: yumiID, Name: Employee},
		Powers: []string{"保険料控除証明書"}, NotBefore: now.Add(-time.Hour).Truncate(time.Second), NotAfter: now.AddDate(1, 0, 0).Truncate(time.Second)}
	signedPower, err := power.Sign(ctx, reps[Nissay.Number], repCerts[Nissay.Number], cfg.Stamper)
	if err != nil {
		return err
	}
	if _, err := cfg.Powers.Register(ctx, signedPower); err != nil {
		return err
	}
	// The businesses and agencies, each with its keys at the post box.
	keys := PostboxKeys{}
	for _, f := range Firms {
		fk, err := cfg.Business.AddFirm(ctx, business.Firm{ID: f.ID, NameJA: f.Corp.NameJA, NameEN: f.Corp.NameEN, CorporateNumber: f.Corp.Number})
		if err != nil {
			return err
		}
		pk, err := cfg.Postbox.AddParty(ctx, postbox.Party{ID: f.ID, NameJA: f.Corp.NameJA, NameEN: f.Corp.NameEN, CorporateNumber: f.Corp.Number,
			Roles: f.Roles, Endpoint: cfg.BusinessURL + "/business/" + f.ID + "/v1/address-notices", OutKey: fk.Inbound})
		if err != nil {
			return err
		}
		if err := cfg.Business.SetPostbox(ctx, f.ID, cfg.PostboxURL, pk); err != nil {
			return err
		}
	}
	for _, o := range Offices {
		ok, err := cfg.Agency.AddOffice(ctx, o)
		if err != nil {
			return err
		}
		pk, err := cfg.Postbox.AddParty(ctx, postbox.Party{ID: o.ID, NameJA: o.NameJA, NameEN: o.NameEN, Roles: []string{postbox.RoleSubmission},
			Endpoint: cfg.AgencyURL + "/agency/" + o.ID + "/v1/submissions", OutKey: ok.Inbound})
		if err != nil {
			return err
		}
		if err := cfg.Agency.SetPostbox(ctx, o.ID, cfg.PostboxURL, pk); err != nil {
			return err
		}
		keys.Offices = append(keys.Offices, APIKey{ID: o.ID, Name: o.NameJA, Path: "/agency/" + o.ID + "/v1/submissions", Key: ok.API})
	}
	if err := cfg.Business.AddPower(ctx, "nissay", business.Power{ID: power.ID, Agent: Employee, DocTypes: power.Powers, Signed: signedPower}); err != nil {
		return err
	}
	// 酒田 一郎 is a customer of all three and consents, signing with his card.
	res := residentNamed("酒田　一郎")
	birth, err := time.ParseInLocation(time.DateOnly, res.Birth, wareki.JST())
	if err != nil {
		return err
	}
	box, err := cfg.Postbox.OpenBox(ctx, ichiroID)
	if err != nil {
		return err
	}
	for _, f := range Firms {
		ref := IchiroRefs[f.ID]
		if err := cfg.Business.PutCustomer(ctx, f.ID, business.Customer{Ref: ref, Name: res.Name, BirthDate: birth, Address: res.Address}); err != nil {
			return err
		}
		party, err := cfg.Postbox.Party(ctx, f.ID)
		if err != nil {
			return err
		}
		deliver := party.Has(postbox.RoleDeliver)
		signed, err := signContent(ctx, ichiro, res.SignPIN, cfg.Stamper, postbox.ConsentContent(party, ref, deliver, true, now.UTC()))
		if err != nil {
			return err
		}
		if err := cfg.Postbox.Consent(ctx, box, f.ID, ref, deliver, true, signed); err != nil {
			return err
		}
	}
	// 日本生命's employee issues his 保険料控除証明書 into his box.
	_, reiwa, err := wareki.Of(now)
	if err != nil {
		return err
	}
	req := business.IssueRequest{DeliveryID: fmt.Sprintf("kojo-R%d-%s", reiwa, IchiroRefs["nissay"]), CustomerRef: IchiroRefs["nissay"],
		Type: "保険料控除証明書", Title: fmt.Sprintf("令和%d年分 生命保険料控除証明書", reiwa), PowerID: power.ID, Staff: Employee,
		Fields: []verify.Field{
			{Label: "証券番号", Value: IchiroRefs["nissay"]},
			{Label: "保険契約者", Value: res.Name},
			{Label: "保険の種類", Value: "一般生命保険（新制度）"},
			{Label: "対象年", Value: fmt.Sprintf("令和%d年分", reiwa)},
			{Label: "証明額（1月〜12月の払込予定額）", Value: "96,000円"},
		}}
	err = terminal.WithSigner(yumi, residentNamed(Employee).SignPIN, func(cert *x509.Certificate, signer crypto.Signer) error {
		_, err := cfg.Business.Issue(ctx, "nissay", req, cert, signer)
		return err
	})
	if err != nil {
		return err
	}
	if err := seedPDFCustomer(ctx, cfg, term, yumi, power.ID, reiwa, now); err != nil {
		return err
	}
	return fileutil.WriteJSON(PostboxKeysPath(cfg.DataDir), keys)
}

// seedPDFCustomer makes PDFCustomer a customer of 日本生命 who consents to
// its deliveries, and has the employee issue his 保険料控除証明書 as a PDF.
func seedPDFCustomer(ctx context.Context, cfg PostboxConfig, term *terminal.Terminal, employee *card.Card, powerID string, reiwa int, now time.Time) error {
	cd, id, err := loginDemo(ctx, cfg.Cards, term, PDFCustomer)
	if err != nil {
		return err
	}
	res := residentNamed(PDFCustomer)
	if err := cfg.Business.PutCustomer(ctx, "nissay", business.Customer{Ref: PDFCustomerRef, Name: res.Name, BirthDate: res.BirthDate(), Address: res.Address}); err != nil {
		return err
	}
	box, err := cfg.Postbox.OpenBox(ctx, id)
	if err != nil {
		return err
	}
	party, err := cfg.Postbox.Party(ctx, "nissay")
	if err != nil {
		return err
	}
	signed, err := signContent(ctx, cd, res.SignPIN, cfg.Stamper, postbox.ConsentContent(party, PDFCustomerRef, true, true, now.UTC()))
	if err != nil {
		return err
	}
	if err := cfg.Postbox.Consent(ctx, box, "nissay", PDFCustomerRef, true, true, signed); err != nil {
		return err
	}
	req := business.IssueRequest{DeliveryID: fmt.Sprintf("kojo-R%d-%s", reiwa, PDFCustomerRef), CustomerRef: PDFCustomerRef,
		Type: "保険料控除証明書", Title: fmt.Sprintf("令和%d年分 生命保険料控除証明書", reiwa), PowerID: powerID, Staff: Employee, PDF: true,
		Fields: []verify.Field{
			{Label: "証券番号", Value: PDFCustomerRef},
			{Label: "保険契約者", Value: res.Name},
			{Label: "保険の種類", Value: "介護医療保険"},
			{Label: "対象年", Value: fmt.Sprintf("令和%d年分", reiwa)},
			{Label: "証明額（1月〜12月の払込予定額）", Value: "48,000円"},
		}}
	return terminal.WithSigner(employee, residentNamed(Employee).SignPIN, func(cert *x509.Certificate, signer crypto.Signer) error {
		_, err := cfg.Business.Issue(ctx, "nissay", req, cert, signer)
		return err
	})
}

// residentNamed is the demo resident of that name.
func residentNamed(name string) people.Resident {
	r, ok := people.Named(name)
	if !ok {
		panic("demo: no resident " + name) // the names are this file's constants
	}
	return r
}

// loginDemo logs a demo resident in at the terminal, as they would before
// using the post box, and returns their card and platform ID.
func loginDemo(ctx context.Context, cards *card.Store, term *terminal.Terminal, name string) (*card.Card, string, error) {
	infos, err := cards.List()
	if err != nil {
		return nil, "", err
	}
	for _, in := range infos {
		if in.Demo && in.Holder == name {
			cd, err := cards.Open(in.ID)
			if err != nil {
				return nil, "", err
			}
			ar, err := term.Login(ctx, cd, residentNamed(name).AuthPIN)
			if err != nil {
				return nil, "", err
			}
			if ar.Report.Result != platform.Passed {
				return nil, "", fmt.Errorf("log in %s: %s %s", name, ar.Report.Result, ar.Report.MessageEN)
			}
			return cd, ar.Report.PlatformID, nil
		}
	}
	return nil, "", fmt.Errorf("no demo card of %s", name)
}

// signContent has a card sign a post-box document, time-stamped.
func signContent(ctx context.Context, cd *card.Card, password string, st cms.Stamper, c *verify.Content) ([]byte, error) {
	body, err := c.Marshal()
	if err != nil {
		return nil, err
	}
	var out []byte
	err = terminal.WithSigner(cd, password, func(cert *x509.Certificate, signer crypto.Signer) error {
		out, err = cms.Sign(ctx, body, cms.SignOptions{Signer: signer, Cert: cert, Stamper: st})
		return err
	})
	return out, err
}
