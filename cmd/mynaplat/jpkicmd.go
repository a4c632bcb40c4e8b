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
	"github.com/mynaplat/mynaplat/mynumber"
	"github.com/mynaplat/mynaplat/wareki"
)

var jpkiCommand = &command{name: "jpki",
	summary: "JPKI センターの窓口業務 / the JPKI centre's counter: cards, certificates, CRLs, operators",
	subs: []*command{
		{name: "issue", run: jpkiIssue,
			summary:  "カードを発行（市区町村窓口） / issue a new card at the municipal counter",
			synopsis: "--name 氏名 --kana カナ --birth YYYY-MM-DD --sex female --address 住所 --municipality CODE --auth-pin NNNN [--sign-pin PASSWORD]"},
		{name: "renew", run: jpkiRenew,
			summary:  "両方の証明書を更新 / renew both certificates of a card (new keys, old ones superseded)",
			synopsis: "--card ID [--json]"},
		{name: "change-address", run: jpkiChangeAddress,
			summary:  "氏名・住所の変更（署名用証明書を再発行） / record a change of name or address (new signing certificate)",
			synopsis: "--card ID [--name 氏名] [--address 住所] [--municipality CODE]"},
		{name: "revoke", run: jpkiRevoke,
			summary:  "証明書の失効（紛失・死亡） / revoke one certificate, or every certificate of a card (lost, death)",
			synopsis: "(--card ID --reason lost|death | --kind auth|sign --serial HEX --reason REASON)"},
		{name: "reset-pin", run: jpkiResetPIN,
			summary:  "暗証番号の初期化・再設定（窓口） / reset a PIN of a card at the counter (the new PIN from the terminal without echo, stdin or a file)",
			synopsis: "--card ID --pin auth|sign|text [--pin-file FILE|-] [--approved-by NAME]"},
		{name: "status", run: jpkiStatus,
			summary:  "証明書とその状態 / show the certificates of a card, or one certificate, with their status",
			synopsis: "(--card ID | --kind auth|sign --serial HEX) [--json|--pem]"},
		{name: "crl", run: jpkiCRL,
			summary:  "CRL の発行・保存 / publish or save the CRL of a CA",
			synopsis: "[--kind auth|sign] [--publish] [--out FILE]"},
		{name: "operator", summary: "プラットフォーム事業者 / platform operators of the centre", subs: []*command{
			{name: "add", run: jpkiOperatorAdd,
				summary:  "事業者を登録（トークンを表示） / register a platform operator (prints its token once)",
				synopsis: "[--data DIR] NAME"},
		}},
	},
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

func jpkiIssue(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
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
	demo := fs.Bool("demo", false, "a demo card: mynaplat card list shows its PINs")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, args); err != nil {
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
	mn, err := mynumber.New()
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
			w.logger.WarnContext(ctx, "could not remove the unused card", "card", cd.ID(), "err", rerr)
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

func jpkiRenew(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var d dataFlags
	d.register(fs)
	id := cardFlag(fs)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, args); err != nil {
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

func jpkiChangeAddress(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var d dataFlags
	d.register(fs)
	id := cardFlag(fs)
	name := fs.String("name", "", "new name (empty: unchanged)")
	address := fs.String("address", "", "new address (empty: unchanged)")
	muni := fs.String("municipality", "", "new municipality code (empty: unchanged)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *name == "" && *address == "" && *muni == "" {
		return errors.New("give at least one of --name, --address, --municipality")
	}
	return atCounter(ctx, d, *id, out, *asJSON, func(w *world, cd *card.Card) (*jpki.IssuedCard, error) {
		return w.centre.ChangeAddress(ctx, *id, strings.Replace(*name, " ", "\u3000", 1), *address, *muni, cd)
	})
}

func jpkiRevoke(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var d dataFlags
	d.register(fs)
	id := cardFlag(fs)
	kind := fs.String("kind", "", "auth or sign (with --serial)")
	serial := fs.String("serial", "", "certificate serial number, hex")
	reason := fs.String("reason", "", "with --card: lost or death; with --serial: an RFC 5280 reason (keyCompromise, affiliationChanged, superseded, cessationOfOperation, unspecified …)")
	if err := parseFlags(fs, args); err != nil {
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

func jpkiStatus(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var d dataFlags
	d.register(fs)
	id := cardFlag(fs)
	kind := fs.String("kind", "", "auth or sign (with --serial)")
	serial := fs.String("serial", "", "certificate serial number, hex")
	asJSON := fs.Bool("json", false, "print as JSON")
	asPEM := fs.Bool("pem", false, "print the certificates as PEM (for openssl)")
	if err := parseFlags(fs, args); err != nil {
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

func jpkiCRL(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var d dataFlags
	d.register(fs)
	kind := fs.String("kind", "", "auth or sign (default both)")
	publish := fs.Bool("publish", false, "sign and publish a new CRL now")
	outFile := fs.String("out", "", "write the DER CRL to this file (needs --kind)")
	if err := parseFlags(fs, args); err != nil {
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

func jpkiOperatorAdd(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var d dataFlags
	d.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("事業者名を一つ指定してください / give one operator NAME")
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
