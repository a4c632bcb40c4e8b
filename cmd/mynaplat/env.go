package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/mynaplat/mynaplat/internal/trace"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/store"
)

// dataFlags are the flags every command that touches the data shares.
type dataFlags struct {
	data, db, baseURL string
}

func (d *dataFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.data, "data", envOr("MYNAPLAT_DATA", "./data"), "data directory (SQLite file, CA keys, cards)")
	fs.StringVar(&d.db, "db", os.Getenv("MYNAPLAT_DB"), "PostgreSQL DSN (postgres://…); empty means SQLite in --data")
	fs.StringVar(&d.baseURL, "base-url", os.Getenv("MYNAPLAT_BASE_URL"), "URL this system is reached at (goes into certificates' CRL URL); default http://ADDR")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// world is what the commands work on: the database, the JPKI centre and the
// emulated cards.
type world struct {
	db     *store.DB
	centre *jpki.Centre
	cards  *card.Store
	logger *slog.Logger
}

func openWorld(ctx context.Context, d dataFlags, logger *slog.Logger, baseURL string) (*world, error) {
	if d.baseURL != "" {
		baseURL = d.baseURL
	}
	db, err := store.Open(ctx, store.Options{DSN: d.db, DataDir: d.data, Logger: logger})
	if err != nil {
		return nil, err
	}
	centre, err := jpki.Open(ctx, jpki.Config{DB: db, Dir: filepath.Join(d.data, "jpki"), BaseURL: baseURL, Now: time.Now, Logger: logger})
	if err != nil {
		db.Close()
		return nil, err
	}
	cards, err := card.NewStore(filepath.Join(d.data, "cards"), time.Now)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &world{db: db, centre: centre, cards: cards, logger: logger}, nil
}

func (w *world) Close() { w.db.Close() }

// newLogger logs to stderr; PINs and personal data are never passed to it.
func newLogger(json bool, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if json {
		return slog.New(trace.Handler(slog.NewJSONHandler(os.Stderr, opts)))
	}
	return slog.New(trace.Handler(slog.NewTextHandler(os.Stderr, opts)))
}
