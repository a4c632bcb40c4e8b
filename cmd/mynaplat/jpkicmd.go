package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/wareki"
)

const jpkiUsage = `usage: mynaplat jpki COMMAND [flags]

commands:
  issue           issue a new card at the municipal counter
  renew           renew both certificates of a card (new keys, old ones superseded)
  change-address  record a change of name or address (new signing certificate)
  revoke          revoke one certificate, or every certificate of a card (lost, death)
  status          show certificates of a card, or one certificate, with status
  crl             publish or save the CRL of a CA
  operator        register a platform operator (prints its token)
`

func jpkiCmd(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, jpkiUsage)
		return flag.ErrHelp
	}
	cmds := map[string]func(context.Context, []string, io.Writer) error{
		"issue": jpkiIssue, "renew": jpkiRenew, "change-address": jpkiChangeAddress,
		"revoke": jpkiRevoke, "status": jpkiStatus, "crl": jpkiCRL, "operator": jpkiOperator,
	}
	f, ok := cmds[args[0]]
	if !ok {
		fmt.Fprint(os.Stderr, jpkiUsage)
		return fmt.Errorf("unknown jpki command %q", args[0])
	}
	return f(ctx, args[1:], os.Stdout)
}

// jpkiWorld opens the data for a jpki subcommand; these log only warnings.
func jpkiWorld(ctx context.Context, d dataFlags) (*world, error) {
	return openWorld(ctx, d, newLogger(false, slog.LevelWarn), "http://127.0.0.1:8080")
}

func parseSex(s string) (jpki.Sex, string, error) {
	switch strings.ToLower(s) {
	case "1", "m", "male", "男":
		return jpki.Male, "1", nil
	case "2", "f", "female", "女":
		return jpki.Female, "2", nil
	case "3", "9", "unknown":
		return jpki.Unknown, "9", nil
	}
	return 0, "", fmt.Errorf("--sex must be male, female or unknown (1, 2, 3)")
}

func jpkiIssue(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("jpki issue", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	name := fs.String("name", "", "氏名: surname, U+3000 (or a space), given name")
	kana := fs.String("kana", "", "フリガナ")
	birth := fs.String("birth", "", "birth date YYYY-MM-DD")
	sex := fs.String("sex", "", "male, female or unknown")
	address := fs.String("address", "", "address from the prefecture on")
	muni := fs.String("municipality", "", "six-digit municipality code, e.g. 202070 (須坂市)")
	authPIN := fs.String("auth-pin", "", "4-digit PIN of the authentication certificate (and the text AP unless --text-pin)")
	signPIN := fs.String("sign-pin", "", "6–16 character signing password (A–Z, 0–9), from age 15")
	textPIN := fs.String("text-pin", "", "4-digit PIN of the 券面事項入力補助 AP (default: --auth-pin)")
	label := fs.String("label", "", "a label for the card")
	demo := fs.Bool("demo", false, "a demo card: `card list` shows its PINs")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, args, "mynaplat jpki issue --name 氏名 --kana カナ --birth YYYY-MM-DD --sex female --address 住所 --municipality CODE --auth-pin NNNN [--sign-pin PASSWORD]"); err != nil {
		return err
	}
	bd, err := time.ParseInLocation(time.DateOnly, *birth, wareki.JST())
	if err != nil {
		return fmt.Errorf("--birth must be YYYY-MM-DD: %w", err)
	}
	sx, cardSex, err := parseSex(*sex)
	if err != nil {
		return err
	}
	if *textPIN == "" {
		*textPIN = *authPIN
	}
	r := jpki.Resident{Name: strings.Replace(strings.TrimSpace(*name), " ", "\u3000", 1), Kana: *kana, BirthDate: bd, Sex: sx,
		Address: *address, Municipality: *muni}
	if jpki.AgeOn(bd, time.Now()) >= jpki.MinSigningAge && *signPIN == "" {
		return fmt.Errorf("--sign-pin is required from age %d", jpki.MinSigningAge)
	}
	if jpki.AgeOn(bd, time.Now()) < jpki.MinSigningAge {
		*signPIN = "" // no signing certificate, so no signing password
	}
	w, err := jpkiWorld(ctx, d)
	if err != nil {
		return err
	}
	defer w.Close()
	mn, err := card.NewMyNumber()
	if err != nil {
		return err
	}
	cd, err := w.cards.Create(card.Spec{Label: *label, Demo: *demo, AuthPIN: *authPIN, SignPIN: strings.ToUpper(*signPIN), TextPIN: *textPIN,
		MyNumber: mn, Name: r.Name, Address: r.Address, BirthDate: bd.Format("20060102"), Sex: cardSex})
	if err != nil {
		return err
	}
	is, err := w.centre.IssueCard(ctx, r, cd)
	if err != nil {
		// The card never got a certificate: take it away again.
		if rerr := w.cards.Remove(cd.ID()); rerr != nil {
			w.logger.Warn("could not remove the unused card", "card", cd.ID(), "err", rerr)
		}
		return err
	}
	return printIssued(out, is, *asJSON)
}

func printIssued(out io.Writer, is *jpki.IssuedCard, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			CardID string         `json:"card_id"`
			Auth   *jpki.CertInfo `json:"auth,omitempty"`
			Sign   *jpki.CertInfo `json:"sign,omitempty"`
		}{is.CardID, is.Auth, is.Sign})
	}
	fmt.Fprintf(out, "card %s\n", is.CardID)
	for _, ci := range []*jpki.CertInfo{is.Auth, is.Sign} {
		if ci != nil {
			fmt.Fprintf(out, "  %-4s serial %s  valid to %s\n", ci.Kind, ci.Serial, ci.NotAfter.In(wareki.JST()).Format(time.DateOnly))
		}
	}
	if is.Sign == nil {
		fmt.Fprintln(out, "  no signing certificate (under 15)")
	}
	return nil
}

func cardFlag(fs *flag.FlagSet) *string {
	return fs.String("card", "", "card ID (see mynaplat card list)")
}

func jpkiRenew(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("jpki renew", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	id := cardFlag(fs)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, args, "mynaplat jpki renew --card ID"); err != nil {
		return err
	}
	return atCounter(ctx, d, *id, out, *asJSON, func(w *world, cd *card.Card) (*jpki.IssuedCard, error) {
		return w.centre.Renew(ctx, *id, cd)
	})
}

// atCounter runs a counter operation on a card in the reader and prints
// what was issued.
func atCounter(ctx context.Context, d dataFlags, id string, out io.Writer, asJSON bool, op func(*world, *card.Card) (*jpki.IssuedCard, error)) error {
	w, err := jpkiWorld(ctx, d)
	if err != nil {
		return err
	}
	defer w.Close()
	cd, err := w.cards.Open(id)
	if err != nil {
		return err
	}
	is, err := op(w, cd)
	if err != nil {
		return err
	}
	return printIssued(out, is, asJSON)
}

func jpkiChangeAddress(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("jpki change-address", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	id := cardFlag(fs)
	name := fs.String("name", "", "new name (empty: unchanged)")
	address := fs.String("address", "", "new address (empty: unchanged)")
	muni := fs.String("municipality", "", "new municipality code (empty: unchanged)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, args, "mynaplat jpki change-address --card ID [--name 氏名] [--address 住所] [--municipality CODE]"); err != nil {
		return err
	}
	if *name == "" && *address == "" && *muni == "" {
		return errors.New("give at least one of --name, --address, --municipality")
	}
	return atCounter(ctx, d, *id, out, *asJSON, func(w *world, cd *card.Card) (*jpki.IssuedCard, error) {
		return w.centre.ChangeAddress(ctx, *id, strings.Replace(*name, " ", "\u3000", 1), *address, *muni, cd)
	})
}

func jpkiRevoke(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("jpki revoke", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	id := cardFlag(fs)
	kind := fs.String("kind", "", "auth or sign (with --serial)")
	serial := fs.String("serial", "", "certificate serial number, hex")
	reason := fs.String("reason", "", "with --card: lost or death; with --serial: an RFC 5280 reason (keyCompromise, affiliationChanged, superseded, cessationOfOperation, unspecified …)")
	if err := parseFlags(fs, args, "mynaplat jpki revoke (--card ID --reason lost|death | --kind auth|sign --serial HEX --reason REASON)"); err != nil {
		return err
	}
	w, err := jpkiWorld(ctx, d)
	if err != nil {
		return err
	}
	defer w.Close()
	if *id != "" {
		var revoked []*jpki.CertInfo
		switch *reason {
		case "lost", "loss":
			revoked, err = w.centre.ReportLoss(ctx, *id)
		case "death", "dead":
			revoked, err = w.centre.RecordDeath(ctx, *id)
		default:
			return errors.New("with --card, --reason must be lost or death")
		}
		if err != nil {
			return err
		}
		for _, ci := range revoked {
			fmt.Fprintf(out, "revoked %s %s\n", ci.Kind, ci.Serial)
		}
		return nil
	}
	k, err := jpki.ParseKind(*kind)
	if err != nil {
		return err
	}
	rs, err := jpki.ParseReason(*reason)
	if err != nil {
		return err
	}
	if err := w.centre.Revoke(ctx, k, *serial, rs); err != nil {
		return err
	}
	fmt.Fprintf(out, "revoked %s %s (%s)\n", k, strings.ToUpper(*serial), rs)
	return nil
}

func jpkiStatus(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("jpki status", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	id := cardFlag(fs)
	kind := fs.String("kind", "", "auth or sign (with --serial)")
	serial := fs.String("serial", "", "certificate serial number, hex")
	asJSON := fs.Bool("json", false, "print as JSON")
	asPEM := fs.Bool("pem", false, "print the certificates as PEM (for openssl)")
	if err := parseFlags(fs, args, "mynaplat jpki status (--card ID | --kind auth|sign --serial HEX) [--json|--pem]"); err != nil {
		return err
	}
	w, err := jpkiWorld(ctx, d)
	if err != nil {
		return err
	}
	defer w.Close()
	var certs []*jpki.CertInfo
	if *id != "" {
		certs, err = w.centre.CardCertificates(ctx, *id)
		if err == nil && len(certs) == 0 {
			err = fmt.Errorf("card %s has no certificates here", *id)
		}
	} else {
		var k jpki.Kind
		if k, err = jpki.ParseKind(*kind); err == nil {
			var ci *jpki.CertInfo
			ci, err = w.centre.Certificate(ctx, k, *serial)
			certs = []*jpki.CertInfo{ci}
		}
	}
	if err != nil {
		return err
	}
	switch {
	case *asJSON:
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(certs)
	case *asPEM:
		for _, ci := range certs {
			if err := pem.Encode(out, &pem.Block{Type: "CERTIFICATE", Bytes: ci.DER}); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tSERIAL\tCARD\tSTATUS\tNOT AFTER (JST)\tREVOKED")
	for _, ci := range certs {
		rev := ""
		if ci.Status == jpki.StatusRevoked {
			rev = ci.RevokedAt.In(wareki.JST()).Format(time.DateTime) + " " + ci.ReasonName
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", ci.Kind, ci.Serial, ci.CardID, ci.Status,
			ci.NotAfter.In(wareki.JST()).Format(time.DateTime), rev)
	}
	return tw.Flush()
}

func jpkiCRL(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("jpki crl", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	kind := fs.String("kind", "", "auth or sign (default both)")
	publish := fs.Bool("publish", false, "sign and publish a new CRL now")
	outFile := fs.String("out", "", "write the DER CRL to this file (needs --kind)")
	if err := parseFlags(fs, args, "mynaplat jpki crl [--kind auth|sign] [--publish] [--out FILE]"); err != nil {
		return err
	}
	kinds := jpki.Kinds[:]
	if *kind != "" {
		k, err := jpki.ParseKind(*kind)
		if err != nil {
			return err
		}
		kinds = []jpki.Kind{k}
	} else if *outFile != "" {
		return errors.New("--out needs --kind")
	}
	w, err := jpkiWorld(ctx, d)
	if err != nil {
		return err
	}
	defer w.Close()
	for _, k := range kinds {
		if *publish {
			if err := w.centre.PublishCRL(ctx, k); err != nil {
				return err
			}
		}
		crl, err := w.centre.LatestCRL(ctx, k)
		if err != nil {
			return err
		}
		if *outFile != "" {
			if err := os.WriteFile(*outFile, crl.DER, 0o644); err != nil {
				return err
			}
		}
		fmt.Fprintf(out, "%s CRL #%d  this update %s  next update %s  %d bytes\n", k, crl.Number,
			crl.ThisUpdate.In(wareki.JST()).Format(time.DateTime), crl.NextUpdate.In(wareki.JST()).Format(time.DateTime), len(crl.DER))
	}
	return nil
}

func jpkiOperator(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		return errors.New("usage: mynaplat jpki operator add NAME")
	}
	fs := flag.NewFlagSet("jpki operator add", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	if err := parseFlags(fs, args[1:], "mynaplat jpki operator add [--data DIR] NAME"); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: mynaplat jpki operator add NAME")
	}
	w, err := jpkiWorld(ctx, d)
	if err != nil {
		return err
	}
	defer w.Close()
	token, err := w.centre.AddOperator(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "operator %s registered; its token (shown once):\n%s\n", fs.Arg(0), token)
	return nil
}
