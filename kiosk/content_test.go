package kiosk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/mynaplat/mynaplat/internal/testutil"
	"github.com/mynaplat/mynaplat/jlis"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/seal"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// verifyAnswer is the answer of POST /verify/v1 for a genuine certificate.
type verifyAnswer struct {
	Result       string `json:"result"`
	Number       string `json:"number"`
	Municipality string `json:"municipality"`
	Type         string `json:"type"`
	Content      string `json:"content"`
}

// verifyQR asks the world's /verify/v1 about a QR code's text.
func (w *world) verifyQR(t testing.TB, qr string) (int, verifyAnswer) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"qr": qr})
	resp, err := w.srv.Client().Post(w.srv.URL+"/verify/v1", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var a verifyAnswer
	decodeJSON(t, readAll(t, resp), &a)
	return resp.StatusCode, a
}

// TestEveryCertificateTypeThroughTheRelay orders each certificate of the
// catalogue through the relay's API and checks what is printed: the type
// asked for and no other, its content (pdftotext), its seal (pdfsig), and
// its QR code read back from the rendered page and verified at /verify/v1,
// which answers the content that is printed; a byte changed in the PDF
// breaks the seal.
func TestEveryCertificateTypeThroughTheRelay(t *testing.T) {
	pdftoppm := testutil.NeedProgram(t, "pdftoppm", "poppler-utils")
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		k := w.kiosk(t, "kiosk-every-type")
		const code, name, address = "062049", "本間　光", "山形県酒田市中町一丁目４番１０号" // 本籍 in 酒田市 too
		a := k.login(t, w.card(t, name))
		sm, err := jlis.SealMunicipality(code)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			typ  municipal.CertType
			opts jlis.Options
			want []string
		}{
			{municipal.Juminhyo, jlis.Options{}, []string{"住所", address, "生年月日", "昭和63年12月24日", "性別", "女",
				"この写しは、住民票の原本と相違ないことを証明する。"}},
			{municipal.JuminhyoKisai, jlis.Options{}, []string{address, "昭和63年12月24日", "住民となった日",
				"上記の事項は、住民票に記載されていることを証明する。"}},
			{municipal.Inkan, jlis.Options{}, []string{address, "登録番号", "登録年月日", "印影",
				"この写しは、登録されている印影と相違ないことを証明する。"}},
			{municipal.KosekiZenbu, jlis.Options{}, []string{"戸籍事項", "本籍", address, "筆頭者", "戸籍編製日", "【出生日】昭和63年12月24日",
				"これは、戸籍に記録されている事項の全部を証明した書面である。"}},
			{municipal.KosekiKojin, jlis.Options{}, []string{"本籍", address, "戸籍に記録されている者", "【出生日】昭和63年12月24日",
				"これは、戸籍に記録されている事項の一部を証明した書面である。"}},
			{municipal.Fuhyo, jlis.Options{}, []string{"附票に記録されている者", "住所の記録", address, "住所を定めた日",
				"この写しは、戸籍の附票の原本と相違ないことを証明する。"}},
			{municipal.Tax, jlis.Options{}, []string{"令和8年度", "総所得金額", "課税標準額", "市町村民税", "道府県民税", "税額合計", "円",
				"上記のとおり相違ないことを証明する。"}},
		} {
			t.Run(string(tc.typ), func(t *testing.T) {
				j, err := k.client.Order(ctx, a, jlis.Order{RequestKey: key(string(tc.typ)), Municipality: code, Type: tc.typ, Options: tc.opts})
				if err != nil {
					t.Fatal(err)
				}
				p, err := k.client.Print(ctx, a, j.ID)
				if err != nil {
					t.Fatal(err)
				}
				if p.CertType != string(tc.typ) {
					t.Errorf("printed job of type %s", p.CertType)
				}
				text := pdfText(t, p.PDF)
				title := tc.typ.Title()
				want := append([]string{title, name, p.CertNumber, "令和8年11月24日", "山形県酒田市長"}, tc.want...)
				if m := missing(text, want...); m != nil {
					t.Errorf("the PDF lacks %q:\n%s", m, text)
				}
				var others []string
				for _, o := range municipal.CertTypes() {
					if o != tc.typ {
						others = append(others, o.Title())
					}
				}
				if p := present(text, others...); p != nil {
					t.Errorf("a %s shows %q:\n%s", title, p, text)
				}
				if out, ok := pdfsig(t, p.PDF); !ok {
					t.Errorf("pdfsig does not call the seal valid:\n%s", out)
				}
				// The QR code as a phone would read it from the page.
				qr, err := seal.ReadQRFromPDF(ctx, pdftoppm, p.PDF)
				if err != nil {
					t.Fatal(err)
				}
				status, v := w.verifyQR(t, qr)
				if status != http.StatusOK || v.Result != string(seal.Genuine) || v.Number != p.CertNumber ||
					v.Municipality != code || v.Type != title {
					t.Errorf("/verify/v1: %d %+v", status, v)
				}
				lines := strings.Split(v.Content, "\n")
				if len(lines) < 5 || lines[0] != title || !strings.Contains(v.Content, name) {
					t.Errorf("verified content:\n%s", v.Content)
				}
				// Every label and value of the content is printed (pdftotext
				// -layout may set a value apart from its label, among the
				// 「複写」 of the ground pattern).
				var parts []string
				for _, l := range lines {
					parts = append(parts, strings.Split(l, "\t")...)
				}
				if m := missing(text, parts...); m != nil {
					t.Errorf("the verified content says %q, which the PDF does not:\n%s", m, text)
				}
				// A byte changed in the page content breaks the seal.
				tampered := bytes.Clone(p.PDF)
				i := bytes.Index(tampered, []byte("stream\n"))
				if i < 0 {
					t.Fatal("no content stream")
				}
				tampered[i+40] ^= 0x01
				if err := w.seal.CheckSealed(sm, tampered); !errors.Is(err, seal.ErrPDFSignature) {
					t.Errorf("seal check of a tampered PDF: %v, want ErrPDFSignature", err)
				}
				if _, err := seal.VerifyPDF(tampered, w.auth.Roots(), nil); !errors.Is(err, seal.ErrPDFSignature) {
					t.Errorf("VerifyPDF of a tampered PDF: %v, want ErrPDFSignature", err)
				}
				if out, ok := pdfsig(t, tampered); ok {
					t.Errorf("pdfsig calls a tampered PDF valid:\n%s", out)
				}
			})
		}
	})
}
