package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/store"
)

var corpregCommand = &command{name: "corpreg",
	summary: "法人の登記（商号変更） / the corporate registry (change of name)",
	about: `法人の登記を変更します。商号変更は、変更の効力が生じた日時とともに記録され、
旧商号は変更履歴として公表されます（GET /corpreg/v1/corporations/法人番号）。
代表者の証明書は発行時の商号のままです。--recertify を付けると、在任中の代表者
を同じ公開鍵のまま新しい商号で証明し直し（新しい任期と証明書）、新しい商号の
電子委任状に署名できるようにします。

Changes a corporation's registration. A change of name is recorded with the
instant it took effect; the former names are published as the record's
history (GET /corpreg/v1/corporations/NUMBER). Representative certificates
keep the name they were issued with; --recertify certifies the
representative in office again, with the same public key, under the new name
(a new term and certificate), so that they can sign powers in the new name.
`,
	subs: []*command{
		{name: "rename", run: corpregRename,
			summary:  "商号変更 / change a corporation's name",
			synopsis: "--corp 法人番号 --name 新商号 [--at RFC3339] [--recertify]"},
	},
}

// corpregRenamed is what rename prints: the name and its history.
type corpregRenamed struct {
	Number      string               `json:"number"`
	Name        string               `json:"name"`
	NameSince   time.Time            `json:"name_since"`
	FormerNames []corpreg.FormerName `json:"former_names"`
	// Recertified is the serial of the representative's new certificate
	// (--recertify).
	Recertified string `json:"recertified,omitempty"`
}

func corpregRename(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var d dataFlags
	d.register(fs)
	number := fs.String("corp", "", "the corporation's 法人番号 (13 digits)")
	name := fs.String("name", "", "the new name (商号)")
	at := fs.String("at", "", "when the change took effect, RFC 3339 (default now)")
	recertify := fs.Bool("recertify", false, "certify the representative in office again under the new name, with the same public key")
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
	res := corpregRenamed{Number: c.Number, Name: c.Name, NameSince: c.NameSince, FormerNames: c.FormerNames}
	if *recertify {
		// After the change, which stands on its own: a failure here leaves
		// the corporation renamed with its representative's old certificate.
		cert, err := recertifyRepresentative(ctx, reg, c)
		if err != nil {
			return fmt.Errorf("renamed, but the representative was not certified again: %w", err)
		}
		res.Recertified = strings.ToUpper(cert.SerialNumber.Text(16))
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// recertifyRepresentative certifies the representative in office again,
// with the public key of their current certificate: the certificate then
// carries the corporation's current name.
func recertifyRepresentative(ctx context.Context, reg *corpreg.Registry, c *corpreg.Corporation) (*x509.Certificate, error) {
	rep := c.Current()
	if rep == nil {
		return nil, fmt.Errorf("corporation %s has no representative in office", c.Number)
	}
	old, err := x509.ParseCertificate(rep.Certificate)
	if err != nil {
		return nil, err
	}
	return reg.AppointRepresentative(ctx, c.Number, rep.Name, old.PublicKey)
}
