package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/mynaplat/mynaplat/oidcop"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
)

var oidcCommand = &command{name: "oidc",
	summary: "OpenID Connect プロバイダ（デジタル認証アプリ相当）の管理 / the OpenID provider's administration",
	about:   oidcAbout,
	subs: []*command{
		{name: "client", summary: "クライアント（RP）の登録と管理 / register and manage clients (RPs)", subs: []*command{
			{name: "add", run: oidcClientAdd,
				summary:  "クライアントを登録 / register a client",
				synopsis: "--id RP00000001 --name NAME --redirect-uri URI … --key FILE … [--post-logout-uri URI …] [--sector S] [--pf-key FILE] [--dev]"},
			{name: "list", run: oidcClientList, summary: "クライアントの一覧 / list the clients"},
			{name: "disable", run: oidcClientDisable,
				summary: "クライアントを止める（トークンもすぐ使えなくなる） / disable a client (its tokens stop working at once)", synopsis: "--id ID"},
			{name: "key", summary: "クライアントの公開鍵 / a client's public keys", subs: []*command{
				{name: "add", run: oidcClientKeyAdd, summary: "公開鍵を追加 / add a public key", synopsis: "--id ID --key FILE"},
				{name: "disable", run: oidcClientKeyDisable, summary: "公開鍵を止める / disable a public key", synopsis: "--id ID --kid KID"},
			}},
		}},
		{name: "terminal", summary: "プロバイダのカードページの端末 / the provider's card-page terminal", subs: []*command{
			{name: "register", run: oidcTerminalRegister,
				summary:  "App 端末を共通基盤に登録し、oidc 役割の設定を書き出す / register the App terminal at the platform and write the oidc role's configuration",
				synopsis: "[--id oidc-app-1] [--owner OWNER] [--name NAME] [--reader virtual|pcsc:READER] [--jpki-url URL]"},
		}},
		{name: "keys", summary: "プロバイダの署名鍵 / the provider's signing keys", subs: []*command{
			{name: "rotate", run: oidcKeysRotate,
				summary: "新しい署名鍵を作る（公開の猶予の後に署名を始める） / make a new signing key (it signs after the publish lead)"},
			{name: "list", run: oidcKeysList, summary: "署名鍵と予定の一覧 / list the signing keys and their schedule"},
		}},
	},
}

const oidcAbout = `クライアント（RP）は運用者だけが登録します（準備契約・本契約の後。HTTP での動的登録はありません）。
認証は private_key_jwt だけで、公開鍵（PEM の PUBLIC KEY か JWK、RSA 2048 ビット以上か EC P-256）を登録します。
Clients (RPs) are registered by the operator only (after the contracts; there is no dynamic
registration). They authenticate with private_key_jwt only: register their public keys (a PEM
PUBLIC KEY or a JWK; RSA of at least 2048 bits or EC P-256).
`

// oidcOptions are the flags every oidc command shares.
type oidcOptions struct {
	data dataFlags
	oidc oidcFlags
}

func (o *oidcOptions) register(fs *flag.FlagSet) {
	o.data.register(fs)
	o.oidc.register(fs)
}

// parseOpen parses the command's flags and opens the provider they name.
func (o *oidcOptions) parseOpen(ctx context.Context, fs *flag.FlagSet, args []string) (*store.DB, *oidcop.Provider, error) {
	if err := parseFlags(fs, args); err != nil {
		return nil, nil, err
	}
	return o.open(ctx)
}

func (o *oidcOptions) open(ctx context.Context) (*store.DB, *oidcop.Provider, error) {
	base := o.data.baseURL
	if base == "" {
		base = "http://" + envOr("MYNAPLAT_ADDR", "127.0.0.1:8080")
	}
	cfg := o.oidc.config(o.data.data, base)
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	db, err := store.Open(ctx, store.Options{DSN: o.data.db, DataDir: o.data.data, Logger: newLogger(false, slog.LevelWarn)})
	if err != nil {
		return nil, nil, err
	}
	cfg.DB, cfg.Now = db, time.Now
	p, err := oidcop.Open(ctx, cfg)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, p, nil
}

// readKeyFiles reads the --key files.
func readKeyFiles(paths []string) ([][]byte, error) {
	var out [][]byte
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--key: 鍵ファイルが読めません / cannot read the key file: %w", err)
		}
		out = append(out, b)
	}
	return out, nil
}

// fieldError words a refused client for the command line.
func fieldError(err error) error {
	if fe, ok := errors.AsType[*oidcop.FieldError](err); ok {
		return fmt.Errorf("%s\n%s (%s)", fe.JA, fe.EN, fe.Field)
	}
	return err
}

func oidcClientAdd(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var o oidcOptions
	o.register(fs)
	var redirects, logouts, keys stringList
	id := fs.String("id", "", "the client ID (1–255 letters and digits), e.g. RP00000001")
	name := fs.String("name", "", "the client's name, as the card page shows it")
	sector := fs.String("sector", "", "the sector of its pairwise sub (default: the client ID)")
	dev := fs.Bool("dev", false, "allow http:// redirect URIs (development RPs)")
	fs.Var(&redirects, "redirect-uri", "a redirect URI, matched exactly (repeatable)")
	fs.Var(&logouts, "post-logout-uri", "a post-logout redirect URI (repeatable)")
	fs.Var(&keys, "key", "a public key file: PEM PUBLIC KEY or JWK (repeatable)")
	pfKey := fs.String("pf-key", "", "the PEM RSA public key file of the client's platform operator (PF): sign results are encrypted to it (§2.4); without it they are signed JWS")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	kb, err := readKeyFiles(keys)
	if err != nil {
		return err
	}
	var pf []byte
	if *pfKey != "" {
		if pf, err = os.ReadFile(*pfKey); err != nil {
			return fmt.Errorf("--pf-key: %w", err)
		}
	}
	db, p, err := o.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	c, err := p.AddClient(ctx, oidcop.ClientSpec{ID: *id, Name: *name, Sector: *sector, RedirectURIs: redirects, PostLogoutURIs: logouts,
		Keys: kb, Dev: *dev, PFKey: pf}, "")
	if err != nil {
		return fieldError(err)
	}
	fmt.Fprintf(out, "client %s (%s) registered, sector %s, %d key(s):", c.ID, c.Name, c.Sector, len(c.Keys))
	for _, k := range c.Keys {
		fmt.Fprintf(out, " %s (%s)", k.KID, k.Alg)
	}
	fmt.Fprintf(out, "\nissuer %s\n", p.Issuer())
	return nil
}

func oidcClientList(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var o oidcOptions
	o.register(fs)
	db, p, err := o.parseOpen(ctx, fs, args)
	if err != nil {
		return err
	}
	defer db.Close()
	cs, err := p.Clients(ctx)
	if err != nil {
		return err
	}
	for _, c := range cs {
		state := "enabled"
		if !c.Enabled() {
			state = "disabled " + c.DisabledAt.Format(time.DateOnly)
		}
		dev := ""
		if c.Dev {
			dev = " dev"
		}
		fmt.Fprintf(out, "%s  %-10s sector %s%s  %s\n", c.ID, state, c.Sector, dev, c.Name)
		for _, u := range c.RedirectURIs {
			fmt.Fprintf(out, "    redirect    %s\n", u)
		}
		for _, u := range c.PostLogoutURIs {
			fmt.Fprintf(out, "    post-logout %s\n", u)
		}
		for _, k := range c.Keys {
			ks := "enabled"
			if !k.Enabled() {
				ks = "disabled"
			}
			fmt.Fprintf(out, "    key %s %s %s\n", k.Alg, k.KID, ks)
		}
	}
	return nil
}

func oidcClientDisable(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var o oidcOptions
	o.register(fs)
	id := fs.String("id", "", "the client ID")
	db, p, err := o.parseOpen(ctx, fs, args)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := p.DisableClient(ctx, *id, ""); err != nil {
		return err
	}
	fmt.Fprintf(out, "client %s disabled\n", *id)
	return nil
}

func oidcClientKeyAdd(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var o oidcOptions
	o.register(fs)
	id := fs.String("id", "", "the client ID")
	key := fs.String("key", "", "the public key file: PEM PUBLIC KEY or JWK")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	kb, err := readKeyFiles([]string{*key})
	if err != nil {
		return err
	}
	db, p, err := o.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	k, err := p.AddClientKey(ctx, *id, kb[0], "")
	if err != nil {
		return fieldError(err)
	}
	fmt.Fprintf(out, "key %s (%s) added to client %s\n", k.KID, k.Alg, *id)
	return nil
}

func oidcClientKeyDisable(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var o oidcOptions
	o.register(fs)
	id := fs.String("id", "", "the client ID")
	kid := fs.String("kid", "", "the key's kid (oidc client list shows it)")
	db, p, err := o.parseOpen(ctx, fs, args)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := p.DisableClientKey(ctx, *id, *kid, ""); err != nil {
		return err
	}
	fmt.Fprintf(out, "key %s of client %s disabled\n", *kid, *id)
	return nil
}

func oidcKeysRotate(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var o oidcOptions
	o.register(fs)
	db, p, err := o.parseOpen(ctx, fs, args)
	if err != nil {
		return err
	}
	defer db.Close()
	k, err := p.RotateKeys(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "key %s (%s) listed now, signs from %s\n", k.KID, k.Alg, k.SignsFrom.Format(time.DateTime))
	return nil
}

func oidcKeysList(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var o oidcOptions
	o.register(fs)
	db, p, err := o.parseOpen(ctx, fs, args)
	if err != nil {
		return err
	}
	defer db.Close()
	keys, err := p.SigningKeys(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, k := range keys {
		retired := ""
		if !k.RetiredAt.IsZero() {
			retired = " until " + k.RetiredAt.Format(time.DateTime)
		}
		fmt.Fprintf(out, "%s %-7s %s signs from %s%s\n", k.Alg, p.KeyState(k, now), k.KID, k.SignsFrom.Format(time.DateTime), retired)
	}
	if len(keys) == 0 {
		fmt.Fprintln(out, "署名鍵はまだありません（serve が最初の鍵を作ります） / no signing key yet (serve makes the first)")
	}
	return nil
}

// oidcTerminalRegister registers the provider's card-page terminal (kind
// App) at the platform of this data dir and writes its configuration to
// layout.OIDCTerminalDir, where the oidc role reads it: what serve --demo
// seeds, for a real deployment. The platform exempts App terminals from
// its per-terminal bucket by their kind (platform.Limits). Run it on the
// platform's host; when the oidc role runs elsewhere, copy the file there.
func oidcTerminalRegister(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var f terminalFlags
	f.register(fs)
	id := fs.String("id", "oidc-app-1", "terminal ID (a–z, 0–9, -)")
	owner := fs.String("owner", "デジタル認証アプリ（mynaplat）", "who runs it (shown in holders' audit)")
	name := fs.String("name", "デジタル認証アプリ（mynaplat）", "its name (shown in holders' audit)")
	reader := fs.String("reader", "virtual", "virtual (the demo cards), or pcsc:READER")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return registerTerminal(ctx, f, platform.Terminal{ID: *id, Kind: platform.App, Owner: *owner, Name: *name}, *reader, out)
}
