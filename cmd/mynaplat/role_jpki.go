package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/anchors"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/web"
)

// jpkiConfig is the JPKI centre's configuration. The counters call its
// counter API under their caller keys. It calls the platform only for the
// residents' history of their cards at the counters (/me/audit): the
// certificates the platform links to the holder of an assertion (caller
// key platform/jpki, audited there); a centre that knows no platform does
// not serve that history.
type jpkiConfig struct {
	data    string
	baseURL string // goes into certificates as the CRL's and OCSP's URL
	every   time.Duration
	peers   *peers
	keys    callerKeys
}

func (c jpkiConfig) validate() error {
	var m missing
	if c.peers.known(rolePlatform) {
		m.key(c.keys, apiPlatform, roleJPKI)
	}
	return m.err(roleJPKI)
}

// holders verifies a resident's assertion with the platform's keys and
// asks the platform for their certificates, for the centre's history API.
func (c jpkiConfig) holders(d *deps) jpki.Holders {
	keys, issuer, pc := d.platformKeys(), c.peers.url(rolePlatform), d.platformClient(roleJPKI)
	return jpki.Holders{
		Verify: func(ctx context.Context, token string) (string, string, error) {
			ks, err := keys.Keys(ctx)
			if err != nil {
				return "", "", err
			}
			cl, err := platform.VerifyAssertion(token, ks, issuer, time.Now())
			if err == nil {
				err = cl.ForHolder()
			}
			if err != nil {
				return "", "", fmt.Errorf("%w: %w", jpki.ErrNoCardLogin, err)
			}
			return cl.Subject, cl.Terminal, nil
		},
		Certificates: func(ctx context.Context, platformID string) ([]jpki.LinkageRef, error) {
			certs, err := pc.PersonCertificates(ctx, platformID)
			if errors.Is(err, platform.ErrNotFound) {
				// Nobody the platform links: no cards, an empty history.
				return nil, nil
			}
			return certs, err
		},
	}
}

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
			anchors.Serve(mux, anchors.JPKIAuth, centre.CA(jpki.Auth))
			anchors.Serve(mux, anchors.JPKISign, centre.CA(jpki.Sign))
			centre.CounterRoutes(mux, d.keys.accepted(apiJPKI))
			if c.peers.known(rolePlatform) {
				centre.HistoryRoutes(mux, c.holders(d))
			}
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
