package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/mynaplat/mynaplat/internal/inproc"
	"github.com/mynaplat/mynaplat/internal/layout"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/terminal"
)

var platformCommand = &command{name: "platform",
	summary: "共通基盤の管理 / the common platform's administration",
	subs: []*command{
		{name: "terminal", summary: "端末の登録と管理 / register and manage terminals", about: terminalAbout, subs: []*command{
			{name: "add", run: platformTerminalAdd,
				summary:  "端末を登録（設定と鍵を書き出す） / register a terminal (writes its configuration with its key)",
				synopsis: "--id ID --kind KIND --owner OWNER --name NAME [--reader virtual|pcsc:READER]"},
			{name: "disable", run: platformTerminalDisabled(true),
				summary: "端末を止める / disable a terminal", synopsis: "--id ID"},
			{name: "enable", run: platformTerminalDisabled(false),
				summary: "端末を再開 / enable a terminal again", synopsis: "--id ID"},
			{name: "list", run: platformTerminalList,
				summary: "端末の一覧 / list the terminals"},
		}},
	},
}

const terminalAbout = `登録した端末の設定（鍵を含む）は <data>/terminals に書き出され、serve の
terminals 役割が読み込みます。種類 app（OpenID プロバイダのカードページ）だけは
<data>/oidc/terminal に書き出され、oidc 役割が読み込みます。
A registered terminal's configuration (with its key) is written to
<data>/terminals, where the terminals role of serve picks it up; a terminal of
kind app (the OpenID provider's card page) goes to <data>/oidc/terminal, where
the oidc role reads it.
`

// terminalFlags are the flags every platform terminal command has: where the
// platform's data is and where the centre is.
type terminalFlags struct {
	data    dataFlags
	jpkiURL string
}

func (f *terminalFlags) register(fs *flag.FlagSet) {
	f.data.register(fs)
	fs.StringVar(&f.jpkiURL, "jpki-url", os.Getenv("MYNAPLAT_JPKI_URL"), "the JPKI centre's URL, when it does not run on this data dir")
}

func (f *terminalFlags) open(ctx context.Context) (*store.DB, *platform.Platform, error) {
	return openLocalPlatform(ctx, f.data, f.jpkiURL, newLogger(false, slog.LevelWarn))
}

func platformTerminalAdd(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var f terminalFlags
	f.register(fs)
	id := fs.String("id", "", "terminal ID (a–z, 0–9, -)")
	kind := fs.String("kind", "", "kiosk, reception, mobile, tv, shelter, school or app (the OpenID provider's page)")
	owner := fs.String("owner", "", "who runs it, e.g. 須坂市")
	name := fs.String("name", "", "where it stands, e.g. 市役所 1階")
	reader := fs.String("reader", "virtual", "virtual, or pcsc:READER for a real reader")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return registerTerminal(ctx, f, platform.Terminal{ID: *id, Kind: platform.TerminalKind(*kind), Owner: *owner, Name: *name}, *reader, out)
}

// registerTerminal registers t at the platform of f's data dir and writes
// its configuration (with its key) where the role that runs it reads it:
// an App terminal's to layout.OIDCTerminalDir (the oidc role's card page),
// every other kind's to <data>/terminals (the terminals role).
func registerTerminal(ctx context.Context, f terminalFlags, t platform.Terminal, reader string, out io.Writer) error {
	db, p, err := f.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	key, err := p.RegisterTerminal(ctx, t)
	if err != nil {
		return err
	}
	dir := filepath.Join(f.data.data, "terminals")
	if t.Kind == platform.App {
		dir = layout.OIDCTerminalDir(f.data.data)
	}
	if err := terminal.SaveConfig(dir, terminal.Config{ID: t.ID, Kind: t.Kind, Owner: t.Owner, Name: t.Name, Key: key, Reader: reader}); err != nil {
		return err
	}
	fmt.Fprintf(out, "terminal %s registered; its configuration (with its key) is in %s\n", t.ID, filepath.Join(dir, t.ID+".json"))
	return nil
}

// platformTerminalDisabled is "platform terminal disable" or "enable".
func platformTerminalDisabled(disabled bool) func(context.Context, *flag.FlagSet, []string, io.Writer) error {
	return func(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
		var f terminalFlags
		f.register(fs)
		id := fs.String("id", "", "terminal ID")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		db, p, err := f.open(ctx)
		if err != nil {
			return err
		}
		defer db.Close()
		if err := p.SetTerminalDisabled(ctx, *id, disabled); err != nil {
			return err
		}
		fmt.Fprintf(out, "terminal %s %s\n", *id, terminalState(disabled))
		return nil
	}
}

func platformTerminalList(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var f terminalFlags
	f.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	db, p, err := f.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	ts, err := p.Terminals(ctx)
	if err != nil {
		return err
	}
	for _, t := range ts {
		fmt.Fprintf(out, "%-24s %-10s %-8s %s / %s\n", t.ID, t.Kind, terminalState(t.Disabled), t.Owner, t.Name)
	}
	return nil
}

func terminalState(disabled bool) string {
	if disabled {
		return "disabled"
	}
	return "enabled"
}

// openLocalPlatform opens the database of a data dir and the platform on it,
// for commands run on the platform's host. The platform needs the centre
// (its CA, its CRL): when the centre runs on this data dir it is reached in
// process; otherwise at jpkiURL. A platform host must never create a CA of
// its own.
func openLocalPlatform(ctx context.Context, d dataFlags, jpkiURL string, logger *slog.Logger) (*store.DB, *platform.Platform, error) {
	db, err := store.Open(ctx, store.Options{DSN: d.db, DataDir: d.data, Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	jc := &jpki.Client{BaseURL: jpkiURL}
	if _, err := os.Stat(filepath.Join(d.data, "jpki", "auth-ca.crt")); err == nil {
		centre, err := jpki.Open(ctx, jpki.Config{DB: db, Dir: filepath.Join(d.data, "jpki"), Now: time.Now, Logger: logger})
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		mux := http.NewServeMux()
		centre.Routes(mux)
		jc = &jpki.Client{BaseURL: "http://local", HTTP: inproc.Client(mux)}
	} else if jpkiURL == "" {
		db.Close()
		return nil, nil, fmt.Errorf("no JPKI centre in %s: give --jpki-url of the centre", d.data)
	}
	p, err := platform.Open(ctx, platform.Config{DB: db, Centre: jc, Now: time.Now, Logger: logger})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, p, nil
}
