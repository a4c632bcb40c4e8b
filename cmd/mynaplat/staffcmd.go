package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/staff"
	"github.com/mynaplat/mynaplat/store"
)

var staffCommand = &command{name: "staff",
	summary: "職員の権限（事務所ごとの役割） / staff grants (roles per office)",
	about:   staffAbout,
	subs: []*command{
		{name: "grant", run: staffGrant,
			summary:  "職員に事務所での役割を与える / grant a person a role at an office",
			synopsis: "--platform-id ID --name NAME --office OFFICE --role ROLE --number STAFF_NUMBER [--from DATE] [--until DATE]"},
		{name: "revoke", run: staffRevoke,
			summary: "権限を取り消す（その職員のログインはすぐ終わる） / revoke a grant (the person's sessions end at once)", synopsis: "--id GRANT_ID"},
		{name: "list", run: staffList,
			summary: "権限の一覧 / list the grants", synopsis: "[--office OFFICE]"},
	},
}

const staffAbout = `職員は自分のマイナンバーカードで、職員用端末から事務所にログインします。事務所は
職員名簿（platform 役割の /staff/v1/）で権限を確かめます。権限は共通プラットフォームの
プラットフォームID（マイナンバーではありません）に与えます。IDが分からない職員は、一度
職員用端末でログインしてみると、拒否の画面にIDが表示されます。
Staff sign in to their office with their own My Number Card at a staff
terminal; the office checks the grant in the staff directory (the platform
role's /staff/v1/). A grant is given to a platform ID (never the My
Number); a person who does not know theirs signs in once at a staff
terminal, and the refusal page shows it.

事務所 / offices:  municipal:CODE, counter:CODE, insurer:NUMBER, clinic:FACILITY,
                  agency:ID, business:ID, postbox-operator, platform-operator
役割 / roles:     ` + "counter-clerk, counter-supervisor, registry-clerk, insurer-clerk, clinic-staff,\n                  agency-staff, business-staff, postbox-operator, platform-operator\n"

func openStaff(ctx context.Context, d dataFlags) (*store.DB, *staff.Directory, error) {
	db, err := store.Open(ctx, store.Options{DSN: d.db, DataDir: d.data, Logger: newLogger(false, slog.LevelWarn)})
	if err != nil {
		return nil, nil, err
	}
	dir, err := staff.Open(ctx, db, time.Now, nil)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, dir, nil
}

// parseDay reads a date (YYYY-MM-DD, Japan time) or "" as zero, as the
// operator's page does.
func parseDay(flagName, s string) (time.Time, error) {
	t, err := staff.ParseDay(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--%s: %w", flagName, err)
	}
	return t, nil
}

func staffGrant(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var d dataFlags
	d.register(fs)
	id := fs.String("platform-id", "", "the person's platform ID")
	name := fs.String("name", "", "the person's name, as the offices show it")
	office := fs.String("office", "", "the office, e.g. municipal:062049")
	role := fs.String("role", "", "the role, e.g. registry-clerk")
	number := fs.String("number", "", "the staff number")
	from := fs.String("from", "", "first day (YYYY-MM-DD; default now)")
	until := fs.String("until", "", "end (YYYY-MM-DD, exclusive; default a year after the start)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	vf, err := parseDay("from", *from)
	if err != nil {
		return err
	}
	vu, err := parseDay("until", *until)
	if err != nil {
		return err
	}
	db, dir, err := openStaff(ctx, d)
	if err != nil {
		return err
	}
	defer db.Close()
	g, err := dir.Add(ctx, staff.Grant{PlatformID: *id, Name: *name, Office: *office, Role: staff.Role(*role), StaffNumber: *number,
		ValidFrom: vf, ValidUntil: vu})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "grant %s: %s (%s) %s at %s, %s – %s\n", g.ID, g.Name, g.StaffNumber, g.Role, g.Office,
		g.ValidFrom.Format(time.DateTime), g.ValidUntil.Format(time.DateTime))
	return nil
}

func staffRevoke(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var d dataFlags
	d.register(fs)
	id := fs.String("id", "", "the grant's ID (staff list shows it)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	db, dir, err := openStaff(ctx, d)
	if err != nil {
		return err
	}
	defer db.Close()
	g, err := dir.Revoke(ctx, *id)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "grant %s of %s at %s revoked at %s\n", g.ID, g.Name, g.Office, g.RevokedAt.Format(time.DateTime))
	return nil
}

func staffList(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var d dataFlags
	d.register(fs)
	office := fs.String("office", "", "only this office's grants")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	db, dir, err := openStaff(ctx, d)
	if err != nil {
		return err
	}
	defer db.Close()
	gs, err := dir.List(ctx, *office)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, g := range gs {
		state := string(g.State(now))
		if state == string(staff.StateRevoked) {
			state += " " + g.RevokedAt.Format(time.DateOnly)
		}
		fmt.Fprintf(out, "%s  %-20s %-18s %-14s %-12s %s  %s – %s  %s\n", g.ID, g.Office, g.Role, g.StaffNumber, state,
			g.PlatformID, g.ValidFrom.Format(time.DateOnly), g.ValidUntil.Format(time.DateOnly), strings.TrimSpace(g.Name))
	}
	return nil
}
