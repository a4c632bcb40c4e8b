// Package cardview is the card viewer under /cards/: the emulated cards of
// the store and, per card, what a card reader application would show —
// everything read through the card driver (card.Client) in APDUs, exactly as
// from a real card, on the terminal side where the card is:
//
//	GET  /cards/             the cards, their tries left and demo PINs
//	GET  /cards/{id}         certificates (auth, both CAs) and PIN status
//	POST /cards/{id}/sign    the signing certificate, after the signing password
//	POST /cards/{id}/surface the card surface (券面事項確認AP), after 照合番号B
//
// The signing certificate carries the holder's name, birth date, sex and
// address, so, as on a real card, it is read only after the signing password
// (jpki-card.md §3); the password goes to the card only and is never stored,
// logged or echoed. Likewise the card surface — the face photo, the name and
// address as printed, birth date, sex, expiry — is read from the visual AP
// only after 照合番号B, which is printed on the card itself
// (docs/card-emulation.md). The My Number (text AP; the visual AP's EF 0005
// and 照合番号A) is never read here. What a
// card's refusal means, and what to do, is the terminal kit's outcome table.
package cardview

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"embed"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/wareki"
	"github.com/mynaplat/mynaplat/web"
)

//go:embed templates
var viewerTemplates embed.FS

// viewer serves the card pages.
type viewer struct {
	site  *web.Site
	cards *card.Store
	pages *web.Pages
}

// Pages returns the handler of the card viewer, to be mounted at
// "/cards/" on the application's mux inside site.Protect.
func Pages(site *web.Site, cards *card.Store) (http.Handler, error) {
	tfs, err := fs.Sub(viewerTemplates, "templates")
	if err != nil {
		return nil, err
	}
	pages, err := site.Parse(tfs, "viewer*.html")
	if err != nil {
		return nil, fmt.Errorf("cardview: %w", err)
	}
	v := &viewer{site: site, cards: cards, pages: pages}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cards/{$}", v.list)
	mux.HandleFunc("GET /cards/{id}", v.show)
	mux.HandleFunc("POST /cards/{id}/sign", v.showSign)
	mux.HandleFunc("POST /cards/{id}/surface", v.showSurface)
	mux.Handle("/cards/", site.NotFound())
	return mux, nil
}

// msg is a text in both languages.
type msg struct{ JA, EN string }

// blockedNote is a blocked PIN's row note: the row names the PIN, and what
// to do is the terminal kit's one wording.
func blockedNote() *msg {
	e := terminal.PINBlocked.Entry()
	return &msg{"ロックされています。" + e.DoJA, "Blocked. " + e.DoEN}
}

func (v *viewer) list(w http.ResponseWriter, r *http.Request) {
	infos, err := v.cards.List()
	if err != nil {
		v.fail(w, r, "list cards", err)
		return
	}
	// Newest first: the card just issued at the counter is on top.
	for i, j := 0, len(infos)-1; i < j; i, j = i+1, j-1 {
		infos[i], infos[j] = infos[j], infos[i]
	}
	v.pages.Render(w, r, http.StatusOK, "viewer_list", infos)
}

// pinRow is one PIN's state as read from the card.
type pinRow struct {
	NameJA, NameEN string
	TriesLeft, Max int
	Blocked        bool
	Note           *msg
}

// certPanel is one certificate section of the card page.
type certPanel struct {
	ID               string // HTML id
	TitleJA, TitleEN string
	Cert             *certView
	Missing          *msg
	// Locked: the signing certificate, shown after the password form.
	Locked bool
	// Collapsed panels (the CA certificates) start closed.
	Collapsed bool
}

type cardPage struct {
	Info    card.Info
	PINs    []pinRow
	Panels  []certPanel
	Problem *msg
	// Surface is the card face, read after 照合番号B; nil shows the form.
	Surface *surfaceView
}

// surfaceView is the card face as the visual AP holds it. The images are
// data: URIs made here from the card's bytes.
type surfaceView struct {
	BirthDate, Expiry time.Time
	Sex               msg
	Face              template.URL // PNG; empty when the photo is not one of the emulator's
	FaceBytes         int
	Name, Address     template.URL
	SecurityCode      template.URL
	CertKey, CertCA   string
	CertOK, SigOK     bool
}

func (v *viewer) open(w http.ResponseWriter, r *http.Request) (*card.Card, bool) {
	cd, err := v.cards.Open(r.PathValue("id"))
	if errors.Is(err, card.ErrCardNotFound) {
		v.site.Error(w, r, web.Problem{Status: http.StatusNotFound,
			TitleJA: "カードが見つかりません", TitleEN: "Card not found",
			WhatJA: "このIDのカードはありません。", WhatEN: "There is no card with this ID.",
			DoJA: "カード一覧から選び直してください。", DoEN: "Choose the card again from the list."})
		return nil, false
	}
	if err != nil {
		v.fail(w, r, "open card", err)
		return nil, false
	}
	return cd, true
}

func (v *viewer) show(w http.ResponseWriter, r *http.Request) {
	cd, ok := v.open(w, r)
	if !ok {
		return
	}
	page, err := v.read(card.NewClient(cd), cd.Info(), nil)
	if err != nil {
		v.fail(w, r, "read card", err)
		return
	}
	v.pages.Render(w, r, http.StatusOK, "viewer_card", page)
}

// showSign verifies the signing password on the card and shows the signing
// certificate. The answer is the page itself, not a redirect: the decoded
// personal data must not be parked in the session for the GET to find.
func (v *viewer) showSign(w http.ResponseWriter, r *http.Request) {
	cd, ok := v.open(w, r)
	if !ok {
		return
	}
	password := r.PostFormValue("password")
	c := card.NewClient(cd)
	var sign *certView
	var problem *msg
	status := http.StatusOK
	err := c.VerifyPIN(card.SignPIN, password)
	if err == nil {
		var der []byte
		der, err = c.Certificate(card.Sign)
		if err == nil {
			sign, err = decodeCert(der)
		}
	}
	// Whatever happened, leave no PIN verified on the (shared) card.
	if lerr := c.Logout(); lerr != nil && err == nil {
		err = lerr
	}
	if res, cardSaid := terminal.SignFailure(err); cardSaid {
		// The card's answer, in the terminal kit's words.
		m := res.Message()
		problem = &msg{m.JA + m.DoJA, m.EN + " " + m.DoEN}
		switch res.Outcome {
		case terminal.SignBlocked:
			status = http.StatusForbidden
		case terminal.NoSignCert:
			status = http.StatusNotFound
		default:
			status = http.StatusUnprocessableEntity
		}
	} else if err != nil {
		v.fail(w, r, "read the signing certificate", err)
		return
	} else {
		v.site.Logger().Info("card viewer: signing certificate shown", "card", cd.ID())
	}
	page, err := v.read(c, cd.Info(), sign)
	if err != nil {
		v.fail(w, r, "read card", err)
		return
	}
	page.Problem = problem
	v.pages.Render(w, r, status, "viewer_card", page)
}

// read gathers the card page through the driver: the authentication
// certificate, both CA certificates and the tries left of each PIN. sign is
// the signing certificate if the password was just verified.
func (v *viewer) read(c *card.Client, info card.Info, sign *certView) (*cardPage, error) {
	page := &cardPage{Info: info}
	panel := func(id, ja, en string, read func() ([]byte, error), collapsed bool) error {
		p := certPanel{ID: id, TitleJA: ja, TitleEN: en, Collapsed: collapsed}
		der, err := read()
		switch {
		case errors.Is(err, card.ErrNotFound):
			p.Missing = &msg{"カードに書き込まれていません。", "Not on the card."}
		case err != nil:
			return fmt.Errorf("card: read %s: %w", id, err)
		default:
			if p.Cert, err = decodeCert(der); err != nil {
				return err
			}
		}
		page.Panels = append(page.Panels, p)
		return nil
	}
	if err := panel("auth", "利用者証明用電子証明書", "Authentication certificate", func() ([]byte, error) { return c.Certificate(card.Auth) }, false); err != nil {
		return nil, err
	}
	signPanel := certPanel{ID: "sign", TitleJA: "署名用電子証明書", TitleEN: "Signing certificate", Cert: sign, Locked: sign == nil}
	if !info.HasSignCert {
		signPanel.Locked, signPanel.Missing = false, &msg{"カードに書き込まれていません（15歳未満の方などには発行されません）。",
			"Not on the card (not issued to holders under 15, for example)."}
	}
	page.Panels = append(page.Panels, signPanel)
	if err := panel("auth-ca", "利用者証明用認証局の証明書", "Authentication CA certificate", func() ([]byte, error) { return c.CACertificate(card.Auth) }, true); err != nil {
		return nil, err
	}
	if err := panel("sign-ca", "署名用認証局の証明書", "Signing CA certificate", func() ([]byte, error) { return c.CACertificate(card.Sign) }, true); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		ref    card.PIN
		ja, en string
	}{
		{card.AuthPIN, "利用者証明用暗証番号（数字4桁）", "Authentication PIN (4 digits)"},
		{card.SignPIN, "署名用パスワード（英数字6〜16文字）", "Signing password (6–16 letters and digits)"},
		{card.TextPIN, "券面事項入力補助用暗証番号（数字4桁）", "Text PIN (4 digits)"},
		{card.TextPINA, "券面事項入力補助AP 照合番号A（個人番号12桁）", "Text AP verification number A (the 12-digit My Number)"},
		{card.TextPINB, "券面事項入力補助AP 照合番号B（14桁）", "Text AP verification number B (14 digits)"},
		{card.VisualPINA, "券面事項確認AP 照合番号A（個人番号12桁）", "Visual AP verification number A (the 12-digit My Number)"},
		{card.VisualPINB, "券面事項確認AP 照合番号B（生年月日6桁・有効期限の西暦年・セキュリティコード）", "Visual AP verification number B (birth date, expiry year, security code)"},
		{card.VisualBirth, "券面事項確認AP 生年月日（和暦6桁）", "Visual AP birth date (6 digits, era year)"},
	} {
		n, err := c.PINStatus(p.ref)
		if err != nil {
			return nil, fmt.Errorf("card: PIN status of %s: %w", p.ref, err)
		}
		row := pinRow{NameJA: p.ja, NameEN: p.en, TriesLeft: n, Max: p.ref.MaxTries(), Blocked: n == 0}
		switch {
		case n == 0 && p.ref == card.SignPIN && !info.HasSignCert:
			row.Blocked = false
			row.Note = &msg{"署名用電子証明書がないため設定されていません。", "Not set: the card has no signing certificate."}
		case n == 0:
			row.Note = blockedNote()
		}
		page.PINs = append(page.PINs, row)
	}
	return page, nil
}

// showSurface verifies 照合番号B on the card and shows the card surface.
// As for the signing certificate, the answer is the page itself.
func (v *viewer) showSurface(w http.ResponseWriter, r *http.Request) {
	cd, ok := v.open(w, r)
	if !ok {
		return
	}
	c := card.NewClient(cd)
	var surface *surfaceView
	var problem *msg
	status := http.StatusOK
	err := c.VerifyPIN(card.VisualPINB, r.PostFormValue("pinb"))
	if err == nil {
		surface, err = v.readSurface(c)
	}
	if lerr := c.Logout(); lerr != nil && err == nil {
		err = lerr
	}
	var pinErr *card.PINError
	switch {
	case errors.As(err, &pinErr) && pinErr.TriesLeft > 0:
		status = http.StatusUnprocessableEntity
		problem = &msg{fmt.Sprintf("照合番号Bが違います（残り %d 回）。カードの券面を確かめてください。", pinErr.TriesLeft),
			fmt.Sprintf("Verification number B is wrong (%d tries left). Check it against the card's face.", pinErr.TriesLeft)}
	case errors.Is(err, card.ErrPINBlocked):
		status = http.StatusForbidden
		e := terminal.PINBlocked.Entry()
		problem = &msg{"照合番号Bはロックされています。" + e.DoJA, "Verification number B is blocked. " + e.DoEN}
	case errors.Is(err, card.ErrPINFormat):
		status = http.StatusUnprocessableEntity
		problem = &msg{"照合番号Bは数字14桁です（生年月日の和暦6桁、有効期限の西暦4桁、セキュリティコード4桁）。",
			"Verification number B is 14 digits (birth date in the era year, the expiry's year, the security code)."}
	case err != nil:
		v.fail(w, r, "read the card surface", err)
		return
	default:
		v.site.Logger().Info("card viewer: card surface shown", "card", cd.ID())
	}
	page, err := v.read(c, cd.Info(), nil)
	if err != nil {
		v.fail(w, r, "read card", err)
		return
	}
	page.Problem, page.Surface = problem, surface
	v.pages.Render(w, r, status, "viewer_card", page)
}

// readSurface reads the card face (照合番号B verified) and checks it as a
// terminal does: EF 0004 against the J-LIS CA key, the face against the key
// EF 0004 certifies.
func (v *viewer) readSurface(c *card.Client) (*surfaceView, error) {
	face, err := c.CardFace()
	if err != nil {
		return nil, err
	}
	cv, err := c.SurfaceCertificate(true)
	if err != nil {
		return nil, err
	}
	is, err := v.cards.Issuer()
	if err != nil {
		return nil, err
	}
	visualCA, _ := is.CAKeys()
	uri := func(mime string, b []byte) template.URL {
		if b == nil {
			return ""
		}
		// The bytes are the card's, base64-encoded into an image: nothing
		// in them can leave the img element.
		return template.URL("data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(b))
	}
	sv := &surfaceView{
		Face: uri("image/png", card.FacePNG(face.FaceJP2)), FaceBytes: len(face.FaceJP2),
		Name: uri("image/png", face.NamePNG), Address: uri("image/png", face.AddressPNG),
		SecurityCode: uri("image/png", face.SecurityCodePNG),
		CertKey:      keyID(cv.SubjectKeyID), CertCA: keyID(cv.IssuerKeyID),
		CertOK: cv.Verify(visualCA) == nil, SigOK: face.Verify(cv.PublicKey) == nil,
	}
	switch face.Sex {
	case "1":
		sv.Sex = msg{"男", "Male"}
	case "2":
		sv.Sex = msg{"女", "Female"}
	default:
		sv.Sex = msg{"適用不能", "Not applicable"}
	}
	for _, d := range []struct {
		s   string
		dst *time.Time
	}{{face.BirthDate, &sv.BirthDate}, {face.Expiry, &sv.Expiry}} {
		if *d.dst, err = time.ParseInLocation("20060102", d.s, wareki.JST()); err != nil {
			return nil, fmt.Errorf("card: surface date %q: %w", d.s, err)
		}
	}
	return sv, nil
}

// keyID shows a card-verifiable key ID as its number/group.
func keyID(id []byte) string {
	if len(id) != 16 {
		return strings.ToUpper(hex.EncodeToString(id))
	}
	return string(id[:7]) + "/" + string(id[9:12])
}

func (v *viewer) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	v.site.Logger().Error("card viewer: "+what, "err", err)
	v.site.Error(w, r, web.Problem{Status: http.StatusInternalServerError})
}

// certView is a decoded certificate.
type certView struct {
	Subject, Issuer     string
	Serial              string // upper-case hex
	NotBefore, NotAfter time.Time
	Key                 string
	IsCA                bool
	KeyUsage            []string
	Policies            []string
	CRLDPs              []string
	OtherNames          []otherNameView
	SHA256              string
}

// otherNameView is one of the signing certificate's six SAN otherNames.
type otherNameView struct {
	OID                  string
	LabelJA, LabelEN     string
	Value                string
	ExplainJA, ExplainEN string
}

// JPKI object identifiers (jpki-card.md §8).
var (
	oidSAN   = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidCRLDP = asn1.ObjectIdentifier{2, 5, 29, 31}
	// The six otherNames of the signing certificate, 1.2.392.200149.8.5.5.x.
	otherNameLabels = map[string]msg{
		"1.2.392.200149.8.5.5.1": {"氏名", "Name"},
		"1.2.392.200149.8.5.5.2": {"氏名の代替文字", "Name substitute characters"},
		"1.2.392.200149.8.5.5.3": {"性別", "Sex"},
		"1.2.392.200149.8.5.5.4": {"生年月日", "Date of birth"},
		"1.2.392.200149.8.5.5.5": {"住所", "Address"},
		"1.2.392.200149.8.5.5.6": {"住所の代替文字", "Address substitute characters"},
	}
	policyNames = map[string]string{
		"1.2.392.200149.8.5.1.3.30": "JPKI 利用者証明用 / user authentication (auth-class30)",
		"1.2.392.200149.8.5.1.0.20": "JPKI 署名用（テスト環境）/ digital signature, test (sign-class20)",
		"1.2.392.200149.8.5.1.1.10": "JPKI 署名用 / digital signature (sign-class10)",
	}
	eraNames = map[byte]msg{'1': {"明治", "Meiji"}, '2': {"大正", "Taishō"}, '3': {"昭和", "Shōwa"}, '4': {"平成", "Heisei"}, '5': {"令和", "Reiwa"}, '0': {"不明", "unknown"}}
)

// decodeCert parses a certificate for display.
func decodeCert(der []byte) (*certView, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("card: parse certificate: %w", err)
	}
	sum := sha256.Sum256(der)
	v := &certView{Subject: rdnString(c.RawSubject), Issuer: rdnString(c.RawIssuer), Serial: strings.ToUpper(c.SerialNumber.Text(16)),
		NotBefore: c.NotBefore, NotAfter: c.NotAfter, IsCA: c.IsCA, SHA256: strings.ToUpper(hex.EncodeToString(sum[:]))}
	if pub, ok := c.PublicKey.(*rsa.PublicKey); ok {
		v.Key = fmt.Sprintf("RSA %d bit (e = %d)", pub.N.BitLen(), pub.E)
	} else {
		v.Key = c.PublicKeyAlgorithm.String()
	}
	for _, ku := range []struct {
		bit  x509.KeyUsage
		name string
	}{
		{x509.KeyUsageDigitalSignature, "digitalSignature"}, {x509.KeyUsageContentCommitment, "nonRepudiation"},
		{x509.KeyUsageKeyEncipherment, "keyEncipherment"}, {x509.KeyUsageDataEncipherment, "dataEncipherment"},
		{x509.KeyUsageKeyAgreement, "keyAgreement"}, {x509.KeyUsageCertSign, "keyCertSign"}, {x509.KeyUsageCRLSign, "cRLSign"},
	} {
		if c.KeyUsage&ku.bit != 0 {
			v.KeyUsage = append(v.KeyUsage, ku.name)
		}
	}
	for _, p := range c.Policies {
		s := p.String()
		if n, ok := policyNames[s]; ok {
			s += " — " + n
		}
		v.Policies = append(v.Policies, s)
	}
	for _, ext := range c.Extensions {
		switch {
		case ext.Id.Equal(oidCRLDP):
			v.CRLDPs = crlDistributionPoints(ext.Value)
		case ext.Id.Equal(oidSAN):
			v.OtherNames = otherNames(ext.Value)
		}
	}
	return v, nil
}

// crlDistributionPoints lists the full names of the CRL distribution points
// (RFC 5280 §4.2.1.13), directoryNames included; Go's parser keeps only URIs.
func crlDistributionPoints(ext []byte) []string {
	var points []asn1.RawValue
	if _, err := asn1.Unmarshal(ext, &points); err != nil {
		return []string{"(" + err.Error() + ")"}
	}
	var out []string
	for _, p := range points {
		// DistributionPoint ::= SEQUENCE { distributionPoint [0] { fullName [0] GeneralNames } … }
		var dp asn1.RawValue
		if _, err := asn1.Unmarshal(p.Bytes, &dp); err != nil || dp.Tag != 0 {
			continue
		}
		var full asn1.RawValue
		if _, err := asn1.Unmarshal(dp.Bytes, &full); err != nil || full.Tag != 0 {
			continue
		}
		for rest := full.Bytes; len(rest) > 0; {
			var gn asn1.RawValue
			var err error
			if rest, err = asn1.Unmarshal(rest, &gn); err != nil {
				break
			}
			switch gn.Tag {
			case 6: // uniformResourceIdentifier
				out = append(out, string(gn.Bytes))
			case 4: // directoryName
				out = append(out, "directoryName: "+rdnString(gn.Bytes))
			}
		}
	}
	return out
}

// rdnString prints a DER Name in RFC 4514 form, keeping its RDNs as they
// are (pkix.Name would merge the two OUs of a JPKI CA name into one RDN).
func rdnString(der []byte) string {
	var seq pkix.RDNSequence
	if _, err := asn1.Unmarshal(der, &seq); err != nil {
		return "(" + err.Error() + ")"
	}
	return seq.String()
}

// otherNames decodes the otherName entries of a subjectAltName: each is
// [0] { type-id OID, [0] EXPLICIT UTF8String } (jpki-card.md §8.2).
func otherNames(ext []byte) []otherNameView {
	var names []asn1.RawValue
	if _, err := asn1.Unmarshal(ext, &names); err != nil {
		return nil
	}
	var out []otherNameView
	for _, n := range names {
		if n.Class != asn1.ClassContextSpecific || n.Tag != 0 {
			continue
		}
		var on struct {
			ID      asn1.ObjectIdentifier
			Wrapped asn1.RawValue
		}
		if _, err := asn1.UnmarshalWithParams(n.FullBytes, &on, "tag:0"); err != nil {
			continue
		}
		var val asn1.RawValue
		if _, err := asn1.Unmarshal(on.Wrapped.Bytes, &val); err != nil {
			continue
		}
		ov := otherNameView{OID: on.ID.String(), Value: string(val.Bytes)}
		label, ok := otherNameLabels[ov.OID]
		if !ok {
			label = msg{ov.OID, ov.OID}
		}
		ov.LabelJA, ov.LabelEN = label.JA, label.EN
		ov.ExplainJA, ov.ExplainEN = explainOtherName(ov.OID, ov.Value)
		out = append(out, ov)
	}
	return out
}

// explainOtherName says in words what a coded otherName value means.
func explainOtherName(oid, v string) (ja, en string) {
	switch oid {
	case "1.2.392.200149.8.5.5.3":
		switch v {
		case "1":
			return "男性", "male"
		case "2":
			return "女性", "female"
		case "3":
			return "不明", "unknown"
		}
	case "1.2.392.200149.8.5.5.4":
		// Era digit and Gregorian YYYYMMDD, e.g. 319800229.
		if len(v) != 9 {
			return "", ""
		}
		era, ok := eraNames[v[0]]
		if !ok {
			return "", ""
		}
		t, err := time.ParseInLocation("20060102", v[1:], wareki.JST())
		if err != nil {
			return "", ""
		}
		long, err := wareki.Long(t)
		if err != nil {
			long = t.Format(time.DateOnly)
		}
		return fmt.Sprintf("元号コード %c（%s）・%s（%s）", v[0], era.JA, t.Format(time.DateOnly), long),
			fmt.Sprintf("era code %c (%s), %s", v[0], era.EN, t.Format(time.DateOnly))
	case "1.2.392.200149.8.5.5.2", "1.2.392.200149.8.5.5.6":
		if strings.Trim(v, "0") == "" {
			return "代替文字なし", "no substitute characters"
		}
		return "1 の位置の文字は代替文字", "characters at the positions of 1 are substitutes"
	}
	return "", ""
}
