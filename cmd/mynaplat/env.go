package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
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

// envValue is a flag whose default is its environment variable's value
// when that is set. A value there that does not parse is not dropped in
// favour of the default: it is kept as err, and parseFlags stops the
// command with it (naming the variable, the flag and the value) unless the
// command line sets the flag, which then wins. Every command's boolean and
// duration flags with an environment default go through envBoolVar and
// envDurationVar, so every role's are checked alike.
type envValue[T any] struct {
	p      *T
	parse  func(string) (T, error)
	isBool bool
	err    error
}

func (v *envValue[T]) Set(s string) error {
	x, err := v.parse(s)
	if err != nil {
		return err
	}
	*v.p = x
	return nil
}

// String is the value; the zero envValue (flag.PrintDefaults makes one to
// tell a zero default) is T's zero value.
func (v *envValue[T]) String() string {
	if v == nil || v.p == nil {
		var z T
		return fmt.Sprint(z)
	}
	return fmt.Sprint(*v.p)
}

func (v *envValue[T]) IsBoolFlag() bool { return v != nil && v.isBool }

func (v *envValue[T]) envError() error { return v.err }

// envVar defines the flag name on fs with the default env's value, or def
// when env is unset or empty.
func envVar[T any](fs *flag.FlagSet, p *T, name, env string, def T, parse func(string) (T, error), isBool bool, usage string) {
	*p = def
	v := &envValue[T]{p: p, parse: parse, isBool: isBool}
	if raw := os.Getenv(env); raw != "" {
		if err := v.Set(raw); err != nil {
			*p = def
			v.err = fmt.Errorf("環境変数 %s（--%s）の値 %q を読めません / environment variable %s (--%s): the value %q does not parse: %w",
				env, name, raw, env, name, raw, err)
		}
	}
	fs.Var(v, name, usage+"; env "+env)
}

// envDurationVar is a duration flag with the environment default env.
func envDurationVar(fs *flag.FlagSet, p *time.Duration, name, env string, def time.Duration, usage string) {
	envVar(fs, p, name, env, def, time.ParseDuration, false, usage)
}

// envNonNegativeDurationVar is envDurationVar refusing a negative value,
// on the command line as in the environment.
func envNonNegativeDurationVar(fs *flag.FlagSet, p *time.Duration, name, env string, def time.Duration, usage string) {
	envVar(fs, p, name, env, def, func(s string) (time.Duration, error) {
		d, err := time.ParseDuration(s)
		if err == nil && d < 0 {
			err = errors.New("負の値は使えません / must not be negative")
		}
		return d, err
	}, false, usage)
}

// envBoolVar is a boolean flag with the environment default env.
func envBoolVar(fs *flag.FlagSet, p *bool, name, env string, def bool, usage string) {
	envVar(fs, p, name, env, def, strconv.ParseBool, true, usage)
}

// envErrors is every environment default on fs that did not parse, for a
// flag the command line did not set.
func envErrors(fs *flag.FlagSet) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if v, ok := f.Value.(interface{ envError() error }); ok && !set[f.Name] && v.envError() != nil {
			errs = append(errs, v.envError())
		}
	})
	return errors.Join(errs...)
}
