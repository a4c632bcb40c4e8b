package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"time"
)

func serveCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	addr := fs.String("addr", envOr("MYNAPLAT_ADDR", "127.0.0.1:8080"), "address to listen on")
	logJSON := fs.Bool("log-json", false, "log as JSON")
	crlEvery := fs.Duration("crl-check", time.Minute, "how often to check whether a CRL is due")
	if err := parseFlags(fs, args, "mynaplat serve [--addr 127.0.0.1:8080] [--data DIR] [--db DSN]"); err != nil {
		return err
	}
	logger := newLogger(*logJSON, slog.LevelInfo)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	url := "http://" + ln.Addr().String()
	w, err := openWorld(ctx, d, logger, url)
	if err != nil {
		ln.Close()
		return err
	}
	defer w.Close()

	mux := http.NewServeMux()
	w.centre.Routes(mux)
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, r *http.Request) {
		if err := w.db.PingContext(r.Context()); err != nil {
			http.Error(rw, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(rw, "ok")
	})
	mux.HandleFunc("GET /{$}", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		indexPage.Execute(rw, url)
	})
	srv := &http.Server{
		Handler:           logRequests(logger, w.centre.Wrap(mux)),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	go refreshCRLs(ctx, w, *crlEvery)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("mynaplat is serving", "url", url, "data", d.data, "db", w.db.Dialect)
	fmt.Printf("mynaplat: open %s in a browser (Ctrl-C stops)\n", url)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// refreshCRLs republishes each CRL when it has passed half its validity.
func refreshCRLs(ctx context.Context, w *world, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			crls, err := w.centre.RefreshCRLs(ctx)
			if err != nil && ctx.Err() == nil {
				w.logger.Error("refresh CRLs", "err", err)
			}
			for _, c := range crls {
				w.logger.Info("published CRL", "kind", c.Kind, "number", c.Number)
			}
		}
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// logRequests logs method, path and status; never query strings or bodies,
// which may carry personal data.
func logRequests(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: rw, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		logger.Debug("request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "took", time.Since(start))
	})
}

var indexPage = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>mynaplat</title>
<style>body{font-family:sans-serif;max-width:48rem;margin:2rem auto;line-height:1.6}code{background:#eee;padding:0 .3em}</style>
</head><body>
<h1>mynaplat — 公的個人認証サービス（テスト環境）</h1>
<p>マイナンバーカードの公的個人認証サービス（JPKI）を再現したテスト用の認証局です。English: a test JPKI centre for the My Number Card.</p>
<h2>JPKI centre</h2>
<ul>
<li>CA certificates / 認証局証明書: <a href="/jpki/ca/auth.crt">利用者証明用 auth.crt</a>, <a href="/jpki/ca/sign.crt">署名用 sign.crt</a></li>
<li>CRLs / 失効リスト: <a href="/jpki/crl/auth.crl">auth.crl</a>, <a href="/jpki/crl/sign.crl">sign.crl</a></li>
<li>OCSP: <code>POST {{.}}/jpki/ocsp</code>, <code>GET {{.}}/jpki/ocsp/{base64}</code>; responder certificates <a href="/jpki/responder/auth.crt">auth</a>, <a href="/jpki/responder/sign.crt">sign</a></li>
<li>Operators / プラットフォーム事業者: <code>GET /jpki/linkage?kind=auth&amp;serial=…</code>, <code>GET /jpki/revocations?after=0</code> (Bearer token from <code>mynaplat jpki operator add NAME</code>)</li>
</ul>
<p>Cards / カード: <code>mynaplat card list</code> · Health: <a href="/healthz">/healthz</a></p>
</body></html>
`))
