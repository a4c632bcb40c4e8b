package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/cms"
	"github.com/mynaplat/mynaplat/corpreg"
	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/tsa"
)

var delegationCommand = &command{name: "delegation",
	summary: "法人代表者の電子委任状 / a representative's electronic power of attorney (電子委任状)",
	about: `法人の代表者が電子委任状を発行・失効します。代表者の鍵（代表者の手元に置く
モード 0600 のファイル）で署名し、TSA のタイムスタンプを付けます。受任者の
プラットフォーム ID は、カードでログインした後の端末の結果画面に表示されます。

A corporation's representative grants or revokes an electronic power of
attorney (電子委任状), signed with the representative's key (a file of mode
0600 that stays with the representative) and time-stamped by the TSA.
The agent's platform ID is shown to them on any terminal's result page after
they log in with their card.
`,
	subs: []*command{
		{name: "grant", run: delegationGrant,
			summary:  "委任状を発行 / grant a power to an agent (受任者)",
			synopsis: "--corp 法人番号 --agent-platform-id ID --agent-name 氏名 --powers TYPE[,TYPE] [--days 365] [--sub-delegation] [--key FILE]"},
		{name: "revoke", run: delegationRevoke,
			summary:  "委任状を失効 / revoke a power",
			synopsis: "--power ID [--key FILE]"},
		{name: "show", run: delegationShow,
			summary:  "委任状とその状態 / show a power and its status",
			synopsis: "--power ID"},
	},
}

// delegationWorld is the register and what signing a power needs, opened
// from the data directory.
type delegationWorld struct {
	db       *store.DB
	registry *corpreg.Registry
	powers   *delegation.Service
	stamper  cms.Stamper
	data     string
}

func openDelegation(ctx context.Context, d dataFlags) (*delegationWorld, error) {
	logger := newLogger(false, slog.LevelWarn)
	db, err := store.Open(ctx, store.Options{DSN: d.db, DataDir: d.data, Logger: logger})
	if err != nil {
		return nil, err
	}
	w := &delegationWorld{db: db, data: d.data}
	fail := func(err error) (*delegationWorld, error) { db.Close(); return nil, err }
	ca, err := corpreg.OpenAuthority(filepath.Join(d.data, "corpreg"), time.Now)
	if err != nil {
		return fail(err)
	}
	if w.registry, err = corpreg.New(ctx, corpreg.Config{DB: db, Authority: ca, Logger: logger}); err != nil {
		return fail(err)
	}
	keys, err := tsa.LoadOrCreate(filepath.Join(d.data, "tsa"), time.Now)
	if err != nil {
		return fail(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(keys.Root)
	w.stamper = tsa.New(keys, time.Now, logger)
	// Granting and revoking by a representative never needs to resolve a
	// JPKI signer (that is for sub-delegations, made by agents).
	noSigners := func(context.Context, *x509.Certificate) (string, error) {
		return "", fmt.Errorf("%w: not resolved from the command line", delegation.ErrUnknownSigner)
	}
	if w.powers, err = delegation.New(ctx, delegation.Config{DB: db, Corporations: w.registry, Verify: delegation.VerifyCMS(roots),
		SignerPerson: noSigners, Logger: logger}); err != nil {
		return fail(err)
	}
	return w, nil
}

// representative loads a corporation's representative in office and their
// key, checking that the key is the certificate's.
func (w *delegationWorld) representative(ctx context.Context, number, keyPath string) (*corpreg.Corporation, *x509.Certificate, crypto.Signer, error) {
	c, err := w.registry.Corporation(ctx, number)
	if err != nil {
		return nil, nil, nil, err
	}
	if keyPath == "" {
		keyPath = filepath.Join(w.data, "corpreg", "representatives", number+".key")
	}
	b, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("the representative's key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, nil, nil, fmt.Errorf("%s: not a PEM key", keyPath)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	signer, _ := k.(crypto.Signer)
	cert, err := delegation.RepresentativeCert(c, signer)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	return c, cert, signer, nil
}

func delegationGrant(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var d dataFlags
	d.register(fs)
	corp := fs.String("corp", "", "the corporation's 法人番号 (13 digits)")
	agentID := fs.String("agent-platform-id", "", "the agent's (受任者) platform ID")
	agentName := fs.String("agent-name", "", "the agent's name")
	powers := fs.String("powers", "", "comma-separated document types or actions (代理権), e.g. 保険料控除証明書")
	days := fs.Int("days", 365, "validity in days from now")
	sub := fs.Bool("sub-delegation", false, "allow the agent to delegate further (復代理)")
	key := fs.String("key", "", "the representative's key (PEM, PKCS #8); default DATA/corpreg/representatives/法人番号.key")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *agentID == "" || *agentName == "" || *powers == "" || *days < 1 {
		return errors.New("give --agent-platform-id, --agent-name, --powers and a positive --days")
	}
	w, err := openDelegation(ctx, d)
	if err != nil {
		return err
	}
	defer w.db.Close()
	c, cert, signer, err := w.representative(ctx, *corp, *key)
	if err != nil {
		return err
	}
	now := time.Now().Truncate(time.Second)
	rec, err := delegation.Grant(ctx, delegation.GrantRequest{Principal: delegation.Principal{CorporateNumber: c.Number, CorporationName: c.Name,
		RepresentativeName: c.Current().Name}, Agent: delegation.Agent{PlatformID: *agentID, Name: strings.Replace(*agentName, " ", "\u3000", 1)},
		Powers: strings.Split(*powers, ","), NotBefore: now, NotAfter: now.AddDate(0, 0, *days), SubDelegation: *sub},
		signer, cert, w.stamper, w.powers.Register)
	if err != nil {
		return err
	}
	return printRecord(out, rec)
}

func delegationRevoke(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var d dataFlags
	d.register(fs)
	id := fs.String("power", "", "the power's ID")
	key := fs.String("key", "", "the representative's key (PEM, PKCS #8); default DATA/corpreg/representatives/法人番号.key")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	w, err := openDelegation(ctx, d)
	if err != nil {
		return err
	}
	defer w.db.Close()
	rec, err := w.powers.Get(ctx, *id)
	if err != nil {
		return err
	}
	number := rec.Power.Principal.CorporateNumber
	_, cert, signer, err := w.representative(ctx, number, *key)
	if err != nil {
		return err
	}
	if rec, err = delegation.Withdraw(ctx, rec.Power.ID, number, signer, cert, w.stamper, w.powers.Revoke); err != nil {
		return err
	}
	return printRecord(out, rec)
}

func delegationShow(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var d dataFlags
	d.register(fs)
	id := fs.String("power", "", "the power's ID")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	w, err := openDelegation(ctx, d)
	if err != nil {
		return err
	}
	defer w.db.Close()
	rec, err := w.powers.Get(ctx, *id)
	if err != nil {
		return err
	}
	return printRecord(out, rec)
}

// printRecord prints a power's record without its CMS bytes.
func printRecord(out io.Writer, rec *delegation.Record) error {
	v := *rec
	v.CMS = nil
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
