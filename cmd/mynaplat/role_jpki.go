package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/web"
)

// jpkiConfig is the JPKI centre's configuration. It calls no other role;
// the counters call its counter API under their caller keys.
type jpkiConfig struct {
	data    string
	baseURL string // goes into certificates as the CRL's and OCSP's URL
	every   time.Duration
}

func (c jpkiConfig) validate() error { return nil }

func (c jpkiConfig) build(ctx context.Context, d *deps) (*built, error) {
	centre, err := jpki.Open(ctx, jpki.Config{DB: d.db, Dir: filepath.Join(c.data, "jpki"), BaseURL: c.baseURL, Now: time.Now, Logger: d.logger})
	if err != nil {
		return nil, err
	}
	d.svc.centre = centre
	lp := newLoops()
	lp.spawn(func() {
		every(lp.ctx, c.every, func(ctx context.Context) {
			crls, err := centre.RefreshCRLs(ctx)
			if err != nil && ctx.Err() == nil {
				d.logger.Error("refresh CRLs", "err", err)
			}
			for _, c := range crls {
				d.logger.Info("published CRL", "kind", c.Kind, "number", c.Number)
			}
		})
	})
	links := []web.Link{
		{Section: "窓口・管理 / Back office", TitleJA: "失効リスト（CRL）", TitleEN: "Revocation lists (CRL)",
			DescJA: "利用者証明用 auth.crl", DescEN: "user authentication CA: auth.crl", Path: "/jpki/crl/auth.crl"},
	}
	return &built{
		routes: func(mux *http.ServeMux) {
			centre.Routes(mux)
			centre.CounterRoutes(mux, d.keys.accepted(apiJPKI))
		},
		pages: func(context.Context, *http.ServeMux) ([]web.Link, error) { return links, nil },
		wrap:  centre.Wrap,
		close: lp.close(),
	}, nil
}

// localOperatorToken is a role's credential at the centre in this process,
// kept at path (mode 0600) and registered on first use.
func localOperatorToken(ctx context.Context, centre *jpki.Centre, path string) (string, error) {
	if token := readToken(path); token != "" {
		if _, err := centre.Authenticate(ctx, token); err == nil {
			return token, nil
		}
	}
	token, err := centre.AddOperator(ctx, "local-"+filepath.Base(filepath.Dir(path))+"-"+time.Now().UTC().Format("20060102T150405.000000000"))
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	return token, os.WriteFile(path, []byte(strings.TrimSpace(token)+"\n"), 0o600)
}
