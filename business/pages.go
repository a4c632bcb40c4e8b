package business

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/postbox"
	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/verify"
	"github.com/mynaplat/mynaplat/wareki"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed templates
var templates embed.FS

// PagesConfig holds what the firms' pages need.
type PagesConfig struct {
	Site    *web.Site
	Service *Service
	// Reader is the card reader at the firm's desk, where an employee signs
	// what the firm issues; Cards lists the demo cards for a virtual one.
	Reader terminal.Reader
	Cards  *card.Store
	Logger *slog.Logger
}

// Pages are the firms' endpoints and back office:
//
//	POST /business/{id}/v1/address-notices   the post box delivers moving notices (its key)
//	GET  /business/{id}/office/              customers, notices received, documents issued (staff signed in with their card: office business:{id})
//	POST /business/{id}/office/issue         an employee signs and issues a document
//	GET  /business/{id}/office/signin|POST login|logout   the staff sign-in (staff.Gate)
type Pages struct {
	cfg   PagesConfig
	s     *Service
	pages *web.Pages
	gate  *staff.Gate
	log   *slog.Logger
}

// NewPages parses the templates.
func NewPages(cfg PagesConfig) (*Pages, error) {
	pages, err := cfg.Site.Parse(templates, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("business: pages: %w", err)
	}
	s := cfg.Service
	return &Pages{cfg: cfg, s: s, pages: pages, log: s.log}, nil
}

// OfficeID is the staff directory's ID of a firm's back office.
func OfficeID(id string) string { return "business:" + id }

// OfficeHome is the first page of a firm's back office.
func OfficeHome(id string) string { return "/business/" + id + "/office/" }

// StaffOffice is the back offices as their gate knows them: the office of
// a path is business:{id}, for a firm the service knows. Make the gate
// with staff.NewOfficeGate and pass it to SetStaff.
func (p *Pages) StaffOffice() staff.Office {
	return staff.Office{Kind: "business", PathValue: "id", Home: OfficeHome,
		Name: func(ctx context.Context, id string) (string, error) {
			f, err := p.s.Firm(ctx, id)
			if err != nil {
				return "", err
			}
			return f.NameJA, nil
		}}
}

// SetStaff gives the back offices their gate (made of StaffOffice).
// Without one they are not served at all: there is no other way in. Call
// it before Routes.
func (p *Pages) SetStaff(g *staff.Gate) { p.gate = g }

// Routes registers the endpoint and the pages.
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /business/{id}/v1/address-notices", p.s.ReceiveNotices())
	if p.gate == nil {
		return
	}
	p.gate.Mount(mux, "/business/{id}/office/")
	mux.HandleFunc("GET /business/{id}/office/{$}", p.gate.Only(p.office))
	mux.HandleFunc("POST /business/{id}/office/issue", p.gate.Only(p.issue))
}

// Links are the home page entries, one per firm.
func (p *Pages) Links(ctx context.Context) []web.Link {
	fs, err := p.s.Firms(ctx)
	if err != nil {
		p.log.ErrorContext(ctx, "business: firms", "err", err)
		return nil
	}
	var out []web.Link
	for _, f := range fs {
		out = append(out, web.Link{Section: "事業者 / Businesses", TitleJA: f.NameJA, TitleEN: f.NameEN,
			DescJA: "顧客の記録、電子私書箱から届いた住所変更、発行した証明書", DescEN: "Customer records, address changes from post boxes, documents issued",
			Path: "/business/" + f.ID + "/office/"})
	}
	return out
}

type officeView struct {
	Firm      *Firm
	Staff     *staff.Session
	Customers []Customer
	Notices   []noticeRow
	Issued    []Issued
	Powers    []Power
	Cards     []card.Info
	Virtual   bool
	// Agent is the holder of the demo card chosen first: the agent of the
	// firm's first power of attorney.
	Agent string
	// Delivery names this issue form, so that sending it twice (a double
	// click, a reload) delivers one document.
	Delivery string
}

// noticeRow is a moving notice with the customer's name.
type noticeRow struct {
	*Notice
	Name string
}

// StaffStrip is the strip the site's layout shows on the back office.
func (v officeView) StaffStrip() *web.StaffStrip {
	return v.Staff.Strip(OfficeHome(v.Firm.ID) + "logout")
}

func (p *Pages) office(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	ctx := r.Context()
	id := r.PathValue("id")
	f, err := p.s.Firm(ctx, id)
	if err != nil {
		p.site(w, r, err)
		return
	}
	v := officeView{Firm: f, Staff: st, Virtual: p.cfg.Reader != nil && p.cfg.Reader.Virtual(), Delivery: newDeliveryNonce()}
	var notices []*Notice
	if v.Customers, err = p.s.Customers(ctx, id, st.Actor()); err == nil {
		if notices, err = p.s.Notices(ctx, id, st.Actor()); err == nil {
			if v.Issued, err = p.s.IssuedDocs(ctx, id); err == nil {
				v.Powers, err = p.s.Powers(ctx, id)
			}
		}
	}
	if err != nil {
		p.site(w, r, err)
		return
	}
	names := map[string]string{}
	for _, c := range v.Customers {
		names[c.Ref] = c.Name
	}
	for _, n := range notices {
		v.Notices = append(v.Notices, noticeRow{n, names[n.CustomerRef]})
	}
	if len(v.Powers) > 0 {
		v.Agent = v.Powers[0].Agent
	}
	if v.Virtual && p.cfg.Cards != nil && len(v.Powers) > 0 {
		infos, err := p.cfg.Cards.List()
		if err != nil {
			p.log.ErrorContext(r.Context(), "business: cards", "err", err)
		}
		for _, in := range infos {
			if in.Demo && in.HasSignCert {
				v.Cards = append(v.Cards, in)
			}
		}
	}
	p.pages.Render(w, r, http.StatusOK, "office", v)
}

func (p *Pages) site(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrNotFound) {
		p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusNotFound})
		return
	}
	p.log.ErrorContext(r.Context(), "business: page", "path", r.URL.Path, "err", err)
	p.cfg.Site.Error(w, r, web.Problem{Status: http.StatusServiceUnavailable})
}

var (
	yen   = regexp.MustCompile(`^[0-9]{1,9}$`)
	nonce = regexp.MustCompile(`^[0-9a-f]{20}$`)
)

// newDeliveryNonce names one issue form.
func newDeliveryNonce() string {
	var b [10]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// issue has the employee's card sign a 保険料控除証明書 for a customer, with
// the power of attorney chosen, and delivers it to the customer's box.
func (p *Pages) issue(w http.ResponseWriter, r *http.Request, st *staff.Session) {
	ctx := r.Context()
	id := r.PathValue("id")
	back := func(f web.Flash) {
		ss, err := p.cfg.Site.Session(w, r)
		if err == nil {
			ss.SetFlash(f)
			if err := ss.Save(ctx); err != nil {
				p.log.ErrorContext(r.Context(), "business: session", "err", err)
			}
		}
		http.Redirect(w, r, "/business/"+id+"/office/", http.StatusSeeOther)
	}
	ref := r.PostFormValue("customer")
	cu, err := scanCustomer(p.s.db.QueryRowContext(ctx, qCustomer, id, ref))
	if err != nil {
		back(web.Flash{Kind: "error", JA: "顧客を選んでください。", EN: "Choose a customer."})
		return
	}
	amount := strings.ReplaceAll(strings.TrimSpace(r.PostFormValue("amount")), ",", "")
	if !yen.MatchString(amount) {
		back(web.Flash{Kind: "error", JA: "証明額を円単位の数字で入力してください（例 96000）。何も届けていません。", EN: "Enter the amount in yen, digits only (e.g. 96000). Nothing was delivered."})
		return
	}
	// Each form issues one document: a second certificate for the same
	// customer and year is a new delivery, the same form sent twice is not.
	delivery := r.PostFormValue("delivery")
	if !nonce.MatchString(delivery) {
		back(web.Flash{Kind: "error", JA: "画面が古くなっています。もう一度入力してください。何も届けていません。", EN: "The page was out of date; enter it again. Nothing was delivered."})
		return
	}
	n, _ := strconv.Atoi(amount)
	_, year, err := wareki.Of(p.s.now())
	if err != nil {
		p.site(w, r, err)
		return
	}
	req := IssueRequest{DeliveryID: fmt.Sprintf("kojo-R%d-%s", year, delivery), CustomerRef: ref, Type: "保険料控除証明書",
		Title:   fmt.Sprintf("令和%d年分 生命保険料控除証明書", year),
		PowerID: r.PostFormValue("power"), Staff: st.Actor(),
		Fields: []verify.Field{
			{Label: "証券番号", Value: ref},
			{Label: "保険契約者", Value: cu.Name},
			{Label: "保険の種類", Value: "一般生命保険（新制度）"},
			{Label: "対象年", Value: fmt.Sprintf("令和%d年分", year)},
			{Label: "証明額（1月〜12月の払込予定額）", Value: groupDigits(n) + "円"},
		}}
	if p.cfg.Reader == nil {
		back(web.Flash{Kind: "error", JA: "この窓口にはカードリーダーがありません。", EN: "This desk has no card reader."})
		return
	}
	placed := "reader"
	if p.cfg.Reader.Virtual() {
		placed = r.PostFormValue("card")
	}
	tr, err := p.cfg.Reader.Card(r, placed)
	if err != nil {
		back(web.Flash{Kind: "error", JA: "担当者のカードをリーダーに置いてください。", EN: "Place the employee's card on the reader."})
		return
	}
	var docID string
	err = terminal.WithSigner(tr, r.PostFormValue("password"), func(cert *x509.Certificate, signer crypto.Signer) error {
		var err error
		docID, err = p.s.Issue(ctx, id, req, cert, signer)
		return err
	})
	res, cardSaid := terminal.SignFailure(err)
	switch {
	case err == nil:
		back(web.Flash{Kind: "ok", JA: cu.Name + " 様の私書箱に " + req.Title + "（証明額 " + groupDigits(n) + "円）を届けました（文書 " + docID + "）。",
			EN: req.Title + " (" + groupDigits(n) + " yen) is delivered to the customer's post box (document " + docID + ")."})
	case cardSaid:
		// The employee's card: the kit's words, and that nothing went out.
		f := res.Flash()
		f.JA, f.EN = "何も届けていません。"+f.JA, "Nothing was delivered. "+f.EN
		back(f)
	case errors.Is(err, ErrLongTerm):
		p.log.ErrorContext(ctx, "business: issue", "err", err)
		back(web.Flash{Kind: "error", JA: "署名した PDF に長期検証用の情報（失効情報と文書タイムスタンプ）を付けられませんでした。何も届けていません。しばらくしてからもう一度お試しください。",
			EN: "The signed PDF could not be given its long-term validation data (revocation data and a document time-stamp). Nothing was delivered. Try again shortly."})
	case errors.Is(err, postbox.CodeNoRecipient):
		back(web.Flash{Kind: "error", JA: "この顧客は電子私書箱での受け取りに同意していません。何も届けていません。", EN: "This customer has not consented to receive documents in a post box. Nothing was delivered."})
	default:
		p.log.ErrorContext(ctx, "business: issue", "err", err)
		back(web.Flash{Kind: "error", JA: "発行できませんでした。しばらくしてからもう一度お試しください。", EN: "It could not be issued. Try again shortly."})
	}
}

// groupDigits writes 96000 as 96,000.
func groupDigits(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
