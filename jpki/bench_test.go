package jpki

import (
	"bytes"
	"crypto/x509"
	"net/http"
	"testing"

	"github.com/mynaplat/mynaplat/store/storetest"
	"golang.org/x/crypto/ocsp"
)

// BenchmarkOCSP measures the responder over HTTP on SQLite with parallel
// clients: "cached" is a request without a nonce (served from the response
// signed earlier), "nonce" one with a nonce (one RSA-2048 signature each).
//
//	go test -run '^$' -bench OCSP -benchtime 5s ./jpki/
func BenchmarkOCSP(b *testing.B) {
	for _, mode := range []string{"cached", "nonce"} {
		b.Run(mode, func(b *testing.B) {
			e := newEnv(b, storetest.SQLite(b))
			_, is := e.newCard(b, adult)
			cert, _ := x509.ParseCertificate(is.Auth.DER)
			req, _ := ocsp.CreateRequest(cert, e.c.CA(Auth), nil)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					body := req
					if mode == "nonce" {
						i++
						body = withNonce(b, req, []byte{byte(i), byte(i >> 8), byte(i >> 16), 1, 2, 3, 4, 5})
					}
					resp, err := client.Post(e.srv.URL+"/jpki/ocsp", "application/ocsp-request", bytes.NewReader(body))
					if err != nil {
						b.Error(err)
						return
					}
					var buf bytes.Buffer
					buf.ReadFrom(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || buf.Len() < 1000 {
						b.Errorf("status %d, %d bytes", resp.StatusCode, buf.Len())
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "responses/s")
		})
	}
}
