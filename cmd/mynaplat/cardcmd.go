package main

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
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
			summary:  "カードの証明書と PIN の残り回数 / show a card's certificates and PIN tries, as a terminal reads them",
			synopsis: "[--data DIR] [--sign-pin PASSWORD] ID"},
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
	fmt.Fprintln(tw, "ID\tLABEL\tHOLDER\tTRIES auth/sign/text\tCERTS\tDEMO PINS auth/sign/text")
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
			pins = fmt.Sprintf("%s/%s/%s", in.DemoPINs.Auth, orDash(in.DemoPINs.Sign), in.DemoPINs.Text)
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
	return show("signing CA certificate (EF 0002)", func() ([]byte, error) { return cl.CACertificate(card.Sign) })
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

func printTries(out io.Writer, cl *card.Client) error {
	for _, ref := range []card.PIN{card.AuthPIN, card.SignPIN, card.TextPIN} {
		n, err := cl.PINStatus(ref)
		if err != nil {
			return fmt.Errorf("%s: %w", ref, err)
		}
		state := fmt.Sprintf("%d of %d tries left", n, ref.MaxTries())
		if n == 0 {
			state = "blocked (or not set); the municipal counter can reset it"
		}
		fmt.Fprintf(out, "%-17s %s\n", ref.String()+":", state)
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
