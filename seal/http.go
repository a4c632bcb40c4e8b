package seal

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"image"
	_ "image/png" // pdftoppm's output
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/web"
)

// This file is the public verification page and its API:
//
//	GET  /verify      the form: QR text, or a PDF to upload
//	POST /verify      verify (form field qr, or a multipart file pdf)
//	POST /verify/v1   JSON {"qr": "MS1.…"} → the answer as JSON
//
// Nobody logs in: the QR's secret is what entitles someone to the content.

//go:embed templates
var templates embed.FS

// maxUpload bounds an uploaded PDF.
const maxUpload = 10 << 20

// Pages serves /verify.
type Pages struct {
	s     *Service
	site  *web.Site
	pages *web.Pages
	// report validates an uploaded file as a whole; nil: only the seal's
	// own check of a PDF.
	report Reporter
}

// Reporter validates an uploaded signed file (a PDF, a CMS signature or a
// time-stamp token), with the power of attorney uploaded beside it (nil:
// none), and renders its validation report as a page fragment.
// Package verify does this (verify.Policy.Validate, Report.HTML); it is
// injected because verify imports seal.
type Reporter func(ctx context.Context, name string, data, power []byte) template.HTML

// WithReporter makes an upload show the full validation report, in
// Japanese and English, beside the seal's own checks: for a kiosk PDF, a
// card-signed PDF, a .p7s or a .tst alike.
func (p *Pages) WithReporter(f Reporter) *Pages {
	p.report = f
	return p
}

// NewPages parses the verification page's templates. Mount Routes on the mux
// that site.Protect wraps: the form relies on its CSRF protection.
func NewPages(site *web.Site, s *Service) (*Pages, error) {
	pages, err := site.Parse(templates, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("seal: pages: %w", err)
	}
	return &Pages{s: s, site: site, pages: pages}, nil
}

// Routes registers the page and the API.
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /verify", p.form)
	mux.HandleFunc("POST /verify", p.verify)
	mux.HandleFunc("POST /verify/v1", p.api)
}

// Links are the home page entries.
func (p *Pages) Links() []web.Link {
	return []web.Link{{Section: "コンビニ交付 / Convenience-store certificates",
		TitleJA: "証明書の真正性の確認", TitleEN: "Verify a certificate",
		DescJA: "証明書のQRコードまたはPDFから、交付された内容と一致するかを確認します",
		DescEN: "Check a certificate's QR code or PDF against what was issued", Path: "/verify"}}
}

// verifyView is the page's data.
type verifyView struct {
	QR      string
	Checked bool
	Result  *Verification
	Outcome Outcome
	Message msg
	// PDF is the PDF signature check of an upload; nil for QR text.
	PDF        *pdfCheck
	PDFEnabled bool
	// Report is the validation report of an uploaded file (WithReporter).
	Report template.HTML
	// Reports says whether uploads get a report.
	Reports bool
}

type pdfCheck struct {
	Valid   bool
	Message msg
	Signer  string
	At      time.Time
}

type msg struct{ JA, EN string }

// outcomeText is what the page and the API say for each outcome.
var outcomeText = map[Outcome]msg{
	Genuine: {"この証明書は真正です。交付された内容は次のとおりです。紙面と一字一句同じか確かめてください。",
		"This certificate is genuine. The content issued is shown below: check that the paper says exactly the same."},
	Malformed: {"この証明書のQRコードとして読み取れませんでした。QRコード全体を読み取り直してください。",
		"This is not the QR code of a certificate, or it was read incompletely. Scan the whole code again."},
	BadSignature: {"QRコードの署名が正しくありません。この証明書は偽造された可能性があります。",
		"The QR code's signature is not valid. This certificate may be forged."},
	Unknown: {"この証明書番号の証明書は交付されていません。偽造された可能性があります。",
		"No certificate with this number was issued. It may be forged."},
	Altered: {"交付記録と一致しません。証明書の内容が改ざんされた可能性があります。",
		"This does not match the record of issue. The certificate's content may have been altered."},
	Failed: {"ただいま確認できません。しばらくしてからもう一度お試しください。",
		"The check cannot be made right now. Please try again later."},
}

func (p *Pages) pdfEnabled() bool {
	_, err := exec.LookPath(p.s.pdftoppmPath())
	return err == nil
}

func (p *Pages) form(w http.ResponseWriter, r *http.Request) {
	p.pages.Render(w, r, http.StatusOK, "verify", &verifyView{PDFEnabled: p.pdfEnabled(), Reports: p.report != nil})
}

func (p *Pages) verify(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload+1<<20)
	view := &verifyView{Checked: true, PDFEnabled: p.pdfEnabled(), Reports: p.report != nil}
	text := r.FormValue("qr")
	channel := ChannelPage
	if f, fh, err := r.FormFile("signed"); err == nil && p.report != nil {
		// Any signed file: the report is the whole answer.
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, maxUpload))
		if err != nil {
			p.site.Error(w, r, web.Problem{Status: http.StatusBadRequest})
			return
		}
		var power []byte
		if pf, _, err := r.FormFile("power"); err == nil {
			defer pf.Close()
			if power, err = io.ReadAll(io.LimitReader(pf, maxUpload)); err != nil {
				p.site.Error(w, r, web.Problem{Status: http.StatusBadRequest})
				return
			}
		}
		view.Checked, view.Report = false, p.report(r.Context(), filepath.Base(fh.Filename), data, power)
		p.pages.Render(w, r, http.StatusOK, "verify", view)
		return
	}
	if f, fh, err := r.FormFile("pdf"); err == nil {
		defer f.Close()
		channel = ChannelPDF
		data, err := io.ReadAll(io.LimitReader(f, maxUpload))
		if err != nil {
			p.site.Error(w, r, web.Problem{Status: http.StatusBadRequest})
			return
		}
		view.PDF = p.s.checkPDF(r.Context(), data)
		if p.report != nil {
			view.Report = p.report(r.Context(), filepath.Base(fh.Filename), data, nil)
		}
		text, err = ReadQRFromPDF(r.Context(), p.s.pdftoppmPath(), data)
		if err != nil {
			p.s.logger.InfoContext(r.Context(), "seal: no QR read from an uploaded PDF", "err", err)
			view.Outcome, view.Message = Malformed, msg{
				"PDFの1ページ目からQRコードを読み取れませんでした。QRコードの文字列を貼り付けてください。",
				"No QR code could be read from the PDF's first page. Paste the QR code's text instead."}
			p.pages.Render(w, r, http.StatusUnprocessableEntity, "verify", view)
			return
		}
	}
	view.QR = text
	v, err := p.s.Verify(r.Context(), text, channel)
	view.Result, view.Outcome = v, OutcomeOf(err)
	view.Message = outcomeText[view.Outcome]
	status := http.StatusOK
	if err != nil {
		status = httpStatus(view.Outcome)
	}
	p.pages.Render(w, r, status, "verify", view)
}

// checkPDF checks an uploaded PDF's signature against the seal CA.
func (s *Service) checkPDF(ctx context.Context, data []byte) *pdfCheck {
	rep, err := VerifyPDF(data, s.auth.Roots(), s.timestampRoots(ctx))
	c := &pdfCheck{Valid: err == nil}
	if rep != nil && len(rep.Signatures) > 0 {
		sig := rep.Signatures[0]
		c.At = sig.SigningTime
		if sig.Signer != nil {
			c.Signer = sig.Signer.Subject.CommonName
		}
	}
	switch {
	case err == nil:
		c.Message = msg{"PDFの電子署名（公印）は有効です。", "The PDF's electronic seal signature is valid."}
	case errors.Is(err, ErrNoSignature):
		c.Message = msg{"PDFに電子署名がありません。", "The PDF carries no electronic signature."}
	case errors.Is(err, ErrUntrusted):
		c.Message = msg{"PDFの電子署名は、この制度の公印によるものではありません。", "The PDF was not signed by a municipal seal of this system."}
	default:
		c.Message = msg{"PDFは署名の後に変更されています（署名が無効です）。", "The PDF was changed after it was signed (the signature is not valid)."}
	}
	return c
}

func httpStatus(o Outcome) int {
	switch o {
	case Malformed:
		return http.StatusBadRequest
	case BadSignature, Altered:
		return http.StatusUnprocessableEntity
	case Unknown:
		return http.StatusNotFound
	}
	return http.StatusServiceUnavailable
}

// apiAnswer is the JSON of a genuine certificate.
type apiAnswer struct {
	Result         Outcome   `json:"result"`
	MessageJA      string    `json:"message_ja"`
	MessageEN      string    `json:"message_en"`
	Number         string    `json:"number"`
	Municipality   string    `json:"municipality"`
	MunicipalityJA string    `json:"municipality_name_ja"`
	MunicipalityEN string    `json:"municipality_name_en"`
	Type           string    `json:"type"`
	IssuedAt       time.Time `json:"issued_at"`
	Content        string    `json:"content"`
}

func (p *Pages) api(w http.ResponseWriter, r *http.Request) {
	var req struct {
		QR string `json:"qr"`
	}
	if err := httpapi.Decode(http.MaxBytesReader(w, r.Body, 4096), &req, 4096); err != nil {
		Rules.Write(w, r, p.s.logger, fmt.Errorf("%w: %w", errBody, err))
		return
	}
	v, err := p.s.Verify(r.Context(), req.QR, ChannelAPI)
	o := OutcomeOf(err)
	if err != nil {
		if o == Failed {
			err = fmt.Errorf("%w: %w", errFailed, err)
		}
		Rules.Write(w, r, p.s.logger, err)
		return
	}
	m := outcomeText[o]
	httpapi.WriteJSON(w, http.StatusOK, apiAnswer{Result: o, MessageJA: m.JA, MessageEN: m.EN,
		Number: v.Number, Municipality: v.Municipality, MunicipalityJA: v.MunicipalityJA, MunicipalityEN: v.MunicipalityEN,
		Type: v.Type, IssuedAt: v.IssuedAt, Content: v.Content})
}

func (s *Service) pdftoppmPath() string {
	if s.pdftoppm != "" {
		return s.pdftoppm
	}
	return "pdftoppm"
}

// ReadQRFromPDF renders the first page of a PDF at 150 dpi with poppler's
// pdftoppm and decodes the QR code on it (gozxing), returning its text, or
// an error wrapping ErrNoQR.
func ReadQRFromPDF(ctx context.Context, pdftoppm string, pdf []byte) (string, error) {
	dir, err := os.MkdirTemp("", "seal-pdf-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, pdftoppm, "-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile", in, filepath.Join(dir, "page"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w: pdftoppm: %v: %s", ErrNoQR, err, bytes.TrimSpace(stderr.Bytes()))
	}
	png, err := os.ReadFile(filepath.Join(dir, "page.png"))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoQR, err)
	}
	img, _, err := image.Decode(bytes.NewReader(png))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoQR, err)
	}
	return DecodeQRImage(img)
}

// DecodeQRImage finds and decodes a QR code in an image. ZXing's detector
// misses about one valid code in forty at one orientation (zbar reads them
// all; measured over 600 of our codes), and finds every one of those at
// another, so the image is tried in its four orientations.
func DecodeQRImage(img image.Image) (string, error) {
	var first error
	for turn := 0; turn < 4; turn++ {
		if turn > 0 {
			img = quarterTurn(img)
		}
		bmp, err := gozxing.NewBinaryBitmapFromImage(img)
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrNoQR, err)
		}
		res, err := gzqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
		if err == nil {
			return res.GetText(), nil
		}
		if first == nil {
			first = err
		}
	}
	return "", fmt.Errorf("%w: %v", ErrNoQR, first)
}

// quarterTurn turns an image a quarter clockwise, in grey.
func quarterTurn(img image.Image) image.Image {
	r := img.Bounds()
	out := image.NewGray(image.Rect(0, 0, r.Dy(), r.Dx()))
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			out.Set(r.Max.Y-1-y, x-r.Min.X, img.At(x, y))
		}
	}
	return out
}
