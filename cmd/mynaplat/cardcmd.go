package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mynaplat/mynaplat/card"
)

// cardCommand is "mynaplat card …": looking at the emulated cards in
// DIR/cards and plugging one into pcscd through vsmartcard-vpcd.
var cardCommand = &command{name: "card",
	summary: "模擬マイナンバーカード / the emulated My Number Cards in DIR/cards",
	subs: []*command{
		{name: "list", run: cardList,
			summary:  "カードの一覧 / list the cards (with the demo cards' PINs)",
			synopsis: "[--data DIR] [--json]"},
		{name: "show", run: cardShow,
			summary:  "カードの証明書・券面・PIN の残り回数 / show a card's certificates, surface and PIN tries, as a terminal reads them",
			synopsis: "[--data DIR] [--sign-pin PASSWORD] [--pin-b 14DIGITS] [--images DIR] ID"},
		{name: "pin-status", run: cardPINStatus,
			summary:  "PIN の残り回数 / show the tries left of a card's PINs",
			synopsis: "[--data DIR] ID"},
		{name: "plug", run: cardPlug,
			summary:  "カードを PC/SC リーダーに挿す（vsmartcard-vpcd） / plug a card into pcscd through vsmartcard-vpcd",
			synopsis: "[--data DIR] [--vpcd 127.0.0.1:35963] [--debug] ID"},
	},
}

func cardDataFlag(fs *flag.FlagSet) *string {
	return fs.String("data", envOr("MYNAPLAT_DATA", "./data"), "data directory (cards are in DIR/cards)")
}

// parseWithID parses flags that may come before or after the one card ID.
func parseWithID(fs *flag.FlagSet, args []string) (string, error) {
	if err := parseFlags(fs, args); err != nil {
		return "", err
	}
	if fs.NArg() == 0 {
		return "", usageErrorf("カード ID を指定してください / a card ID is required (see mynaplat card list)")
	}
	id := fs.Arg(0)
	if err := parseFlags(fs, fs.Args()[1:]); err != nil {
		return "", err
	}
	if fs.NArg() > 0 {
		return "", usageErrorf("余分な引数 / unexpected arguments %q", fs.Args())
	}
	return id, nil
}

func openCards(dataDir string) (*card.Store, error) {
	return card.NewStore(filepath.Join(dataDir, "cards"), time.Now)
}

func openCard(dataDir, id string) (*card.Card, error) {
	s, err := openCards(dataDir)
	if err != nil {
		return nil, err
	}
	return s.Open(id)
}

func cardList(_ context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	data := cardDataFlag(fs)
	asJSON := fs.Bool("json", false, "print a JSON array")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	s, err := openCards(*data)
	if err != nil {
		return err
	}
	infos, err := s.List()
	if err != nil {
		return err
	}
	if *asJSON {
		if infos == nil {
			infos = []card.Info{}
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(infos)
	}
	if len(infos) == 0 {
		fmt.Fprintln(out, "no cards (issue one with: mynaplat jpki issue)")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tLABEL\tHOLDER\tTRIES auth/sign/text\tCERTS\tDEMO PINS auth/sign/text/照合番号B")
	for _, in := range infos {
		var certs []string
		if in.HasAuthCert {
			certs = append(certs, "auth")
		}
		if in.HasSignCert {
			certs = append(certs, "sign")
		}
		if len(certs) == 0 {
			certs = []string{"-"}
		}
		pins := "-"
		if in.DemoPINs != nil {
			pins = fmt.Sprintf("%s/%s/%s/%s", in.DemoPINs.Auth, orDash(in.DemoPINs.Sign), in.DemoPINs.Text, orDash(in.DemoPINs.PINB))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d/%d\t%s\t%s\n", in.ID, orDash(in.Label), orDash(in.Holder),
			in.AuthTriesLeft, in.SignTriesLeft, in.TextTriesLeft, strings.Join(certs, ","), pins)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cardShow(_ context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	data := cardDataFlag(fs)
	signPIN := fs.String("sign-pin", "", "signing password, to show the signing certificate (a wrong one costs a try)")
	pinB := fs.String("pin-b", "", "照合番号B (birth date YYMMDD in the era year, expiry year, security code), to show the card surface; a demo card's is known (a wrong one costs a try)")
	images := fs.String("images", "", "write the surface's images (face, name, address, security code) into this directory")
	id, err := parseWithID(fs, args)
	if err != nil {
		return err
	}
	c, err := openCard(*data, id)
	if err != nil {
		return err
	}
	in := c.Info()
	fmt.Fprintf(out, "card %s  label %q  holder %s  created %s\n", in.ID, in.Label, orDash(in.Holder), in.Created.Format(time.RFC3339))
	// Everything below goes through the driver over the in-process
	// transport, so it shows what a terminal would read from the card.
	cl := card.NewClient(c)
	defer c.Reset() // leave no PIN verified
	if err := printTries(out, cl); err != nil {
		return err
	}
	show := func(title string, read func() ([]byte, error)) error {
		der, err := read()
		switch {
		case errors.Is(err, card.ErrNotFound):
			fmt.Fprintf(out, "%s: none on the card\n", title)
			return nil
		case err != nil:
			return fmt.Errorf("%s: %w", title, err)
		}
		return printCert(out, title, der)
	}
	if err := show("auth certificate (EF 000A)", func() ([]byte, error) { return cl.Certificate(card.Auth) }); err != nil {
		return err
	}
	if err := show("auth CA certificate (EF 000B)", func() ([]byte, error) { return cl.CACertificate(card.Auth) }); err != nil {
		return err
	}
	switch {
	case !in.HasSignCert:
		fmt.Fprintln(out, "signing certificate (EF 0001): none on the card")
	case *signPIN == "":
		fmt.Fprintln(out, "signing certificate (EF 0001): protected by the signing password (use --sign-pin)")
	default:
		if err := cl.VerifyPIN(card.SignPIN, *signPIN); err != nil {
			return fmt.Errorf("signing password: %w", err)
		}
		if err := show("signing certificate (EF 0001)", func() ([]byte, error) { return cl.Certificate(card.Sign) }); err != nil {
			return err
		}
	}
	if err := show("signing CA certificate (EF 0002)", func() ([]byte, error) { return cl.CACertificate(card.Sign) }); err != nil {
		return err
	}
	if *pinB == "" && in.DemoPINs != nil {
		*pinB = in.DemoPINs.PINB
	}
	if *pinB == "" {
		fmt.Fprintln(out, "card surface (visual AP EF 0002): protected by 照合番号B (use --pin-b)")
		return nil
	}
	return printSurface(out, cl, openIssuer(*data), *pinB, *images)
}

// openIssuer returns the card issuer of the store in dataDir, whose J-LIS
// CA keys check the surface's certificate; nil if it cannot be had.
func openIssuer(dataDir string) *card.Issuer {
	s, err := openCards(dataDir)
	if err != nil {
		return nil
	}
	is, err := s.Issuer()
	if err != nil {
		return nil
	}
	return is
}

// printSurface reads the card face with 照合番号B through the driver and
// checks its signature as a terminal does: the visual AP's CV certificate
// (EF 0004) against the J-LIS CA key, the face against the certified key.
func printSurface(out io.Writer, cl *card.Client, is *card.Issuer, pinB, imageDir string) error {
	if err := cl.VerifyPIN(card.VisualPINB, pinB); err != nil {
		return fmt.Errorf("照合番号B: %w", err)
	}
	face, err := cl.CardFace()
	if err != nil {
		return fmt.Errorf("card surface: %w", err)
	}
	cv, err := cl.SurfaceCertificate(true)
	if err != nil {
		return fmt.Errorf("card surface certificate: %w", err)
	}
	fmt.Fprintln(out, "card surface (visual AP EF 0002, read with 照合番号B):")
	fmt.Fprintf(out, "  birth date:     %s\n", face.BirthDate)
	fmt.Fprintf(out, "  sex:            %s\n", sexName(face.Sex))
	fmt.Fprintf(out, "  expiry:         %s\n", face.Expiry)
	for _, im := range []struct {
		name string
		b    []byte
	}{{"name image", face.NamePNG}, {"address image", face.AddressPNG}, {"security code", face.SecurityCodePNG}} {
		fmt.Fprintf(out, "  %-15s %s\n", im.name+":", pngSize(im.b))
	}
	photo := fmt.Sprintf("JPEG 2000, %d bytes", len(face.FaceJP2))
	if card.FacePNG(face.FaceJP2) != nil {
		photo += " (the emulator's neutral placeholder)"
	}
	fmt.Fprintf(out, "  face photo:     %s\n", photo)
	certOK := "not checked (no J-LIS CA key at hand)"
	if is != nil {
		visualCA, _ := is.CAKeys()
		certOK = "verified with the J-LIS CA key"
		if err := cv.Verify(visualCA); err != nil {
			certOK = "DOES NOT VERIFY: " + err.Error()
		}
	}
	fmt.Fprintf(out, "  certificate:    EF 0004, key %s certified by %s: %s\n", keyIDString(cv.SubjectKeyID), keyIDString(cv.IssuerKeyID), certOK)
	sigOK := "verified with the certified key"
	if err := face.Verify(cv.PublicKey); err != nil {
		sigOK = "DOES NOT VERIFY: " + err.Error()
	}
	fmt.Fprintf(out, "  signature:      %s\n", sigOK)
	if imageDir == "" {
		return nil
	}
	files := map[string][]byte{"face.jp2": face.FaceJP2, "name.png": face.NamePNG, "address.png": face.AddressPNG,
		"security-code.png": face.SecurityCodePNG}
	if p := card.FacePNG(face.FaceJP2); p != nil {
		files["face.png"] = p
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(imageDir, name), b, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "  images written to %s\n", imageDir)
	return nil
}

// padWidth pads s with spaces to w terminal columns, a wide (CJK)
// character taking two.
func padWidth(s string, w int) string {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x1100 {
			n++
		}
	}
	return s + strings.Repeat(" ", max(0, w-n))
}

// keyIDString shows a card-verifiable key ID as its number/group.
func keyIDString(id []byte) string {
	if len(id) != 16 {
		return fmt.Sprintf("% X", id)
	}
	return string(id[:7]) + "/" + string(id[9:12])
}

func sexName(code string) string {
	switch code {
	case "1":
		return "1 (男性 / male)"
	case "2":
		return "2 (女性 / female)"
	case "9":
		return "9 (適用不能 / not applicable)"
	}
	return code
}

// pngSize describes a PNG by its dimensions.
func pngSize(b []byte) string {
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return fmt.Sprintf("%d bytes, not a PNG", len(b))
	}
	return fmt.Sprintf("PNG %d×%d, %d bytes", cfg.Width, cfg.Height, len(b))
}

func printCert(out io.Writer, title string, der []byte) error {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("%s: %w", title, err)
	}
	keyBits := 0
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); ok {
		keyBits = pub.N.BitLen()
	}
	fmt.Fprintf(out, "%s:\n", title)
	fmt.Fprintf(out, "  subject:  %s\n", cert.Subject)
	fmt.Fprintf(out, "  issuer:   %s\n", cert.Issuer)
	fmt.Fprintf(out, "  serial:   %s\n", hex.EncodeToString(cert.SerialNumber.Bytes()))
	fmt.Fprintf(out, "  validity: %s – %s\n", cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339))
	fmt.Fprintf(out, "  key:      RSA %d bits\n", keyBits)
	return nil
}

// printTries prints the tries left of every PIN, application by
// application, as the retry query reads them.
func printTries(out io.Writer, cl *card.Client) error {
	for _, ap := range []struct {
		title string
		pins  []card.PIN
	}{
		{"JPKI AP (公的個人認証AP)", []card.PIN{card.AuthPIN, card.SignPIN}},
		{"text AP (券面事項入力補助AP)", []card.PIN{card.TextPIN, card.TextPINA, card.TextPINB}},
		{"visual AP (券面事項確認AP)", []card.PIN{card.VisualPINA, card.VisualPINB, card.VisualBirth}},
	} {
		fmt.Fprintln(out, ap.title)
		for _, ref := range ap.pins {
			n, err := cl.PINStatus(ref)
			if err != nil {
				return fmt.Errorf("%s: %w", ref, err)
			}
			state := fmt.Sprintf("%d of %d tries left", n, ref.MaxTries())
			if n == 0 {
				state = "blocked (or not set); the municipal counter can reset it"
			}
			fmt.Fprintf(out, "  %s %s\n", padWidth(ref.String()+":", 22), state)
		}
	}
	return nil
}

func cardPINStatus(_ context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	data := cardDataFlag(fs)
	id, err := parseWithID(fs, args)
	if err != nil {
		return err
	}
	c, err := openCard(*data, id)
	if err != nil {
		return err
	}
	defer c.Reset()
	return printTries(out, card.NewClient(c))
}

func cardPlug(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	data := cardDataFlag(fs)
	addr := fs.String("vpcd", card.DefaultVPCDAddr, "vsmartcard-vpcd address of the reader slot (35963 is \"Virtual PCD 00 00\")")
	debug := fs.Bool("debug", false, "log every APDU header and status word (never the data)")
	id, err := parseWithID(fs, args)
	if err != nil {
		return err
	}
	c, err := openCard(*data, id)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	fmt.Fprintf(out, "plugging card %s into vpcd at %s (pcscd with vsmartcard-vpcd); Ctrl-C to unplug\n", id, *addr)
	return card.ServeVPCD(ctx, *addr, c, newLogger(false, level))
}
