package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/digitorus/timestamp"
)

// TSABenchResult is the JSON summary bench tsa prints last.
type TSABenchResult struct {
	BenchResult
	Hash         string  `json:"hash"`
	Tokens       int64   `json:"tokens"`
	TokensPerSec float64 `json:"tokens_per_sec"`
}

// benchTSA asks a running server's TSA for time-stamp tokens from conns
// connections, each request with a fresh imprint, a nonce and certReq, as
// the post box's signers ask (tsa.Client). The first answer is checked
// whole (signature, nonce, imprint); the others by their PKIStatus and
// token only, so that the client's own checks take little of the CPU the
// server shares with it.
func benchTSA(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	target := fs.String("target", "http://127.0.0.1:8080", "URL of a running mynaplat serve (its tsa role)")
	conns := fs.Int("conns", 16, "concurrent connections")
	duration := fs.Duration("duration", 10*time.Second, "how long to fire")
	hashName := fs.String("hash", "sha256", "imprint hash: sha256, sha384 or sha512")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	h, ok := map[string]crypto.Hash{"sha256": crypto.SHA256, "sha384": crypto.SHA384, "sha512": crypto.SHA512}[*hashName]
	if *conns < 1 || *duration <= 0 || !ok {
		return errors.New("--conns and --duration must be positive, --hash sha256, sha384 or sha512")
	}
	hc := benchHTTPClient(*conns, 30*time.Second)
	url := *target + "/tsa"
	p := benchPoster{ctx: ctx, hc: hc}
	hdr := http.Header{"Content-Type": {"application/timestamp-query"}}

	// One token first, checked whole: a TSA that answers wrong is no
	// bench result.
	q, nonce, digest, err := tsaQuery(h)
	if err != nil {
		return err
	}
	status, _, body, err := p.post(url, hdr, q)
	if err != nil || status != http.StatusOK {
		return fmt.Errorf("bench: first time-stamp at %s: HTTP %d %v", url, status, err)
	}
	ts, err := timestamp.ParseResponse(body)
	if err != nil {
		return fmt.Errorf("bench: first time-stamp: %w", err)
	}
	if ts.Nonce == nil || ts.Nonce.Cmp(nonce) != 0 || string(ts.HashedMessage) != string(digest) || len(ts.Certificates) == 0 {
		return errors.New("bench: the first token does not answer the request (nonce, imprint or certificate)")
	}
	fmt.Fprintf(out, "bench: TSA at %s answers (%s, token of %d bytes), %d connections for %v\n",
		url, ts.Certificates[0].Subject.CommonName, len(ts.RawToken), *conns, *duration)

	cpu := serverCPUMeter(ctx, hc, *target, out)
	var tokens atomic.Int64
	var errs benchErrors
	lat := make([][]time.Duration, *conns)
	start := time.Now()
	deadline := start.Add(*duration)
	var wg sync.WaitGroup
	for w := range *conns {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				q, _, _, err := tsaQuery(h)
				if err != nil {
					errs.add("query: %v", err)
					continue
				}
				t0 := time.Now()
				status, rh, body, err := p.post(url, hdr, q)
				lat[w] = append(lat[w], time.Since(t0))
				switch granted, perr := tsaGranted(body); {
				case err != nil:
					errs.add("POST %s: %v", url, err)
				case status != http.StatusOK || rh.Get("Content-Type") != "application/timestamp-reply":
					errs.add("POST %s: HTTP %d %s", url, status, rh.Get("Content-Type"))
				case !granted:
					errs.add("not granted: %v", perr)
				default:
					tokens.Add(1)
				}
			}
		})
	}
	wg.Wait()
	res := TSABenchResult{BenchResult: summarize(time.Since(start), lat, tokens.Load(), errs.n.Load()), Hash: *hashName}
	res.ServerCPUMillisPerOp = cpu(res.Verified)
	res.Target, res.Conns, res.CPUs = *target, *conns, runtime.NumCPU()
	res.Tokens, res.TokensPerSec = res.Verified, res.VerifiedPerSec
	fmt.Fprintf(out, "bench: %d tokens, %d errors in %.2fs: %.0f/s, p50 %.2f ms, p99 %.2f ms, server CPU %.2f ms each\n",
		res.Tokens, res.Errors, res.DurationSeconds, res.TokensPerSec, res.P50Millis, res.P99Millis, res.ServerCPUMillisPerOp)
	b, _ := json.Marshal(res)
	fmt.Fprintln(out, string(b))
	return nil
}

// tsaQuery is a TimeStampReq over a random imprint made with h, with a
// 64-bit random nonce and certReq.
func tsaQuery(h crypto.Hash) (q []byte, nonce *big.Int, digest []byte, err error) {
	digest = make([]byte, h.Size())
	rand.Read(digest)
	nonce, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, nil, nil, err
	}
	q, err = (&timestamp.Request{HashAlgorithm: h, HashedMessage: digest, Certificates: true, Nonce: nonce}).Marshal()
	return q, nonce, digest, err
}

// tsaGranted reads a TimeStampResp's PKIStatus (RFC 3161 §2.4.2) and
// whether it holds a token, without checking the token's signature.
func tsaGranted(der []byte) (bool, error) {
	var resp struct {
		Status struct {
			Status       int
			StatusString []string       `asn1:"optional,utf8"`
			FailInfo     asn1.BitString `asn1:"optional"`
		}
		Token asn1.RawValue `asn1:"optional"`
	}
	if rest, err := asn1.Unmarshal(der, &resp); err != nil || len(rest) > 0 {
		return false, fmt.Errorf("not a TimeStampResp: %v", err)
	}
	if resp.Status.Status > 1 || len(resp.Token.FullBytes) == 0 {
		return false, fmt.Errorf("PKIStatus %d %q", resp.Status.Status, resp.Status.StatusString)
	}
	return true, nil
}
