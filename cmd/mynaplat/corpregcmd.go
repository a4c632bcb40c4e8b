package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/store"
)

var corpregCommand = &command{name: "corpreg",
	summary: "法人の登記（商号変更） / the corporate registry (change of name)",
	about: `法人の登記を変更します。商号変更は、変更の効力が生じた日時とともに記録され、
旧商号は変更履歴として公表されます（GET /corpreg/v1/corporations/法人番号）。
代表者の証明書は発行時の商号のままです。新しい商号で署名するには代表者を
改めて登記（証明書の再発行）してください。

Changes a corporation's registration. A change of name is recorded with the
instant it took effect; the former names are published as the record's
history (GET /corpreg/v1/corporations/NUMBER). Representative certificates
keep the name they were issued with: to sign in the new name, certify the
representative again.
`,
	subs: []*command{
		{name: "rename", run: corpregRename,
			summary:  "商号変更 / change a corporation's name",
			synopsis: "--corp 法人番号 --name 新商号 [--at RFC3339]"},
	},
}

// corpregRenamed is what rename prints: the name and its history.
type corpregRenamed struct {
	Number      string               `json:"number"`
	Name        string               `json:"name"`
	NameSince   time.Time            `json:"name_since"`
	FormerNames []corpreg.FormerName `json:"former_names"`
}

func corpregRename(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var d dataFlags
	d.register(fs)
	number := fs.String("corp", "", "the corporation's 法人番号 (13 digits)")
	name := fs.String("name", "", "the new name (商号)")
	at := fs.String("at", "", "when the change took effect, RFC 3339 (default now)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var when time.Time
	if *at != "" {
		var err error
		if when, err = time.Parse(time.RFC3339, *at); err != nil {
			return usageErrorf("--at: %v", err)
		}
	}
	logger := newLogger(false, slog.LevelWarn)
	db, err := store.Open(ctx, store.Options{DSN: d.db, DataDir: d.data, Logger: logger})
	if err != nil {
		return err
	}
	defer db.Close()
	ca, err := corpreg.OpenAuthority(filepath.Join(d.data, "corpreg"), time.Now)
	if err != nil {
		return err
	}
	reg, err := corpreg.New(ctx, corpreg.Config{DB: db, Authority: ca, Logger: logger})
	if err != nil {
		return err
	}
	if err := reg.Rename(ctx, *number, *name, when); err != nil {
		p := corpreg.Rules.Problem(err)
		return fmt.Errorf("%s / %s (%w)", p.MessageJA, p.MessageEN, err)
	}
	c, err := reg.Corporation(ctx, *number)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(corpregRenamed{Number: c.Number, Name: c.Name, NameSince: c.NameSince, FormerNames: c.FormerNames})
}
