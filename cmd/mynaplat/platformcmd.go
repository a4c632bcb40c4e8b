package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/mynaplat/mynaplat/internal/inproc"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/terminal"
)

func platformCmd(ctx context.Context, args []string) error {
	if len(args) < 2 || args[0] != "terminal" {
		return errors.New("usage: mynaplat platform terminal add|disable|enable|list …")
	}
	return platformTerminal(ctx, args[1], args[2:], os.Stdout)
}

// platformTerminal registers and manages terminals. A registered terminal's
// configuration (with its key) is written to <data>/terminals, where the
// terminals role of serve picks it up.
func platformTerminal(ctx context.Context, sub string, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("platform terminal "+sub, flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	id := fs.String("id", "", "terminal ID (a–z, 0–9, -)")
	kind := fs.String("kind", "", "kiosk, reception, mobile, tv, shelter or school")
	owner := fs.String("owner", "", "who runs it, e.g. 須坂市")
	name := fs.String("name", "", "where it stands, e.g. 市役所 1階")
	reader := fs.String("reader", "virtual", "virtual, or pcsc:READER for a real reader")
	jpkiURL := fs.String("jpki-url", os.Getenv("MYNAPLAT_JPKI_URL"), "the JPKI centre's URL, when it does not run on this data dir")
	if err := parseFlags(fs, args, "mynaplat platform terminal add|disable|enable|list [--id ID --kind KIND --owner OWNER --name NAME]"); err != nil {
		return err
	}
	logger := newLogger(false, slog.LevelWarn)
	db, p, err := openLocalPlatform(ctx, d, *jpkiURL, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	switch sub {
	case "add":
		t := platform.Terminal{ID: *id, Kind: platform.TerminalKind(*kind), Owner: *owner, Name: *name}
		key, err := p.RegisterTerminal(ctx, t)
		if err != nil {
			return err
		}
		dir := filepath.Join(d.data, "terminals")
		if err := terminal.SaveConfig(dir, terminal.Config{ID: t.ID, Kind: t.Kind, Owner: t.Owner, Name: t.Name, Key: key, Reader: *reader}); err != nil {
			return err
		}
		fmt.Fprintf(out, "terminal %s registered; its configuration (with its key) is in %s\n", t.ID, filepath.Join(dir, t.ID+".json"))
	case "disable", "enable":
		if err := p.SetTerminalDisabled(ctx, *id, sub == "disable"); err != nil {
			return err
		}
		fmt.Fprintf(out, "terminal %s %sd\n", *id, sub)
	case "list":
		ts, err := p.Terminals(ctx)
		if err != nil {
			return err
		}
		for _, t := range ts {
			state := "enabled"
			if t.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(out, "%-24s %-10s %-8s %s / %s\n", t.ID, t.Kind, state, t.Owner, t.Name)
		}
	default:
		return fmt.Errorf("unknown platform terminal command %q", sub)
	}
	return nil
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
