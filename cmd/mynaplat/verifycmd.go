package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mynaplat/mynaplat/delegation"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/jpki"
	"github.com/mynaplat/mynaplat/procure/contract"
	"github.com/mynaplat/mynaplat/tsa"
	"github.com/mynaplat/mynaplat/verify"
)

var verifyCommand = &command{name: "verify", run: verifyRun,
	summary:  "署名付き文書の検証・長期署名化 / validate a signed document, or make a PDF long-term (--extend)",
	synopsis: "--jpki-url URL (--tsa-url URL | --tsa-root FILE) [--jpki-ca FILE] [--seal-ca FILE] [--delegation-url URL [--power FILE] [--issuer 法人番号 --type TYPE]] [--json | --html] [--extend [--out FILE]] FILE (PDF, CMS, .tst or contract timeline ZIP)",
	about: `公的個人認証の署名用電子証明書で署名された文書（PDF は PAdES、その他は CMS）を
検証します。PDF の DSS に署名時刻より後の OCSP 応答があれば、ネットワークに問い
合わせずに検証します。--extend は PAdES B-T 以上の PDF に DSS（証明書・OCSP 応答）
と文書タイムスタンプを追加し（B-LTA）、既に B-LTA の PDF には新しいものを追加
します（TSA 証明書の期限前の更新）。終了コードは TOTAL_PASSED のときだけ 0 です。

Validates a document signed with a JPKI signing certificate (PAdES for a
PDF, CMS otherwise). A PDF whose DSS holds an OCSP answer produced after its
time-stamp validates without asking the network. --extend adds to a PDF of
PAdES B-T or more a DSS (certificates, an OCSP answer) and a document
time-stamp (B-LTA); on a B-LTA PDF it adds new ones (the renewal before the
last TSA certificate expires). The file is rewritten in place unless --out
is given. With --jpki-ca and --tsa-root (PEM or DER files) the trust
anchors are read from them, not fetched: a B-LT or B-LTA PDF then validates
with the centre and the TSA unreachable. With --seal-ca (the municipal seal
CA, e.g. DATA/seal/ca.crt) a kiosk certificate sealed by it is validated too,
from the CRL in its DSS. A time-stamp token (.tst, RFC 3161) is validated
on its own: its signature and its TSA's chain; the report shows the digest
it covers. The report (ETSI EN 319 102-1 style: indication, time-stamps,
chain, revocation data and its source, DocMDP, power of attorney) is text,
--json or --html (a stand-alone page). A document signed for an
organisation (its JSON content names the issuer, or --issuer and --type say
it for a PDF) is checked against the register of powers of attorney at
--delegation-url, with the signed 電子委任状 given as --power; without
the register such a document is INDETERMINATE. The exit status is 0 only
for TOTAL_PASSED.

契約履歴ファイル（調達の契約書 PDF と検査・受領・請求の署名付き記録の ZIP）は、
要素ごとに署名・タイムスタンプ・ハッシュの連鎖・順序・署名者を検証します。

A contract timeline (a ZIP of procurement's signed contract PDF and its
signed inspection, acceptance and invoice, application/vnd.mynaplat.
contract-timeline+zip) is validated element by element: both signatures of
the contract, each step's signature and time-stamp, the chain of hashes
from each step to the element before it, the order, and that each step is
signed by its party.
`}

func verifyRun(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	jpkiURL := fs.String("jpki-url", "", "JPKI centre base URL (its signing CA and OCSP responder)")
	tsaURL := fs.String("tsa-url", "", "TSA base URL (its root at /tsa/root.crt; --extend stamps at /tsa)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	asHTML := fs.Bool("html", false, "print the report as an HTML page")
	extend := fs.Bool("extend", false, "add a DSS and a document time-stamp to the PDF (PAdES B-LTA)")
	outPath := fs.String("out", "", "with --extend: write the extended PDF here instead of over FILE")
	jpkiCA := fs.String("jpki-ca", "", "the JPKI signing CA certificate (PEM or DER) instead of fetching it")
	tsaRoot := fs.String("tsa-root", "", "the TSA root certificate (PEM or DER) instead of fetching it")
	sealCA := fs.String("seal-ca", "", "the municipal seal CA certificate (PEM or DER): validate kiosk certificates it sealed")
	delegationURL := fs.String("delegation-url", "", "the register of powers of attorney, to check a document signed for an organisation")
	powerPath := fs.String("power", "", "the signed power of attorney (電子委任状) that came with the document")
	issuer := fs.String("issuer", "", "for a PDF: the 法人番号 of the organisation it is issued for")
	docType := fs.String("type", "", "for a PDF with --issuer: the document type, as the power names it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("one FILE is needed")
	}
	if *jpkiURL == "" || (*tsaURL == "" && (*extend || *tsaRoot == "")) {
		return usageErrorf("--jpki-url is needed, and --tsa-url with --extend or without --tsa-root")
	}
	path := fs.Arg(0)
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	hc := httpapi.NewHTTPClient(httpapi.DefaultTimeout)
	base := strings.TrimRight(*tsaURL, "/")
	p, err := verifyPolicy(ctx, hc, strings.TrimRight(*jpkiURL, "/"), base, *jpkiCA, *tsaRoot)
	if err != nil {
		return err
	}
	if *sealCA != "" {
		c, err := readCertFile(*sealCA)
		if err != nil {
			return fmt.Errorf("the seal CA: %w", err)
		}
		p.SealRoots = x509.NewCertPool()
		p.SealRoots.AddCert(c)
	}
	if *delegationURL != "" {
		dc := &delegation.Client{BaseURL: strings.TrimRight(*delegationURL, "/"), HTTP: hc}
		p.Delegation = delegation.Checker(dc.Check)
	}
	if (*issuer == "") != (*docType == "") {
		return usageErrorf("--issuer and --type go together")
	}
	var power []byte
	if *powerPath != "" {
		if power, err = os.ReadFile(*powerPath); err != nil {
			return err
		}
	}
	if contract.IsBundle(data) {
		if *extend {
			return usageErrorf("--extend: %s is a contract timeline, not a PDF", path)
		}
		return verifyTimeline(ctx, p, path, data, *asJSON, *asHTML, out)
	}
	if *extend {
		if verify.DetectFormat(data) != verify.FormatPAdES {
			return usageErrorf("--extend: %s is not a PDF", path)
		}
		ext, err := p.Extend(ctx, data, &tsa.Client{URL: base + "/tsa", HTTP: hc})
		if err != nil {
			return err
		}
		dst := path
		if *outPath != "" {
			dst = *outPath
		}
		if err := writeAtomically(dst, ext); err != nil {
			return err
		}
		data = ext
		fmt.Fprintf(out, "%s: DSS と文書タイムスタンプを追加しました / added a DSS and a document time-stamp (%d bytes)\n", dst, len(ext))
	}
	doc := verify.Document{Name: filepath.Base(path), Format: verify.DetectFormat(data), Data: data, Power: power, Type: *docType}
	if *issuer != "" {
		doc.Claimed = &verify.Issuer{CorporateNumber: *issuer, Name: *issuer}
	}
	r := p.Validate(ctx, doc)
	switch {
	case *asJSON:
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
	case *asHTML:
		if err := r.WritePage(out); err != nil {
			return err
		}
	default:
		r.WriteText(out)
	}
	if !r.Passed() {
		return fmt.Errorf("%s: %s %s", path, r.Indication, r.SubIndication)
	}
	return nil
}

// verifyTimeline validates a contract timeline (procure/contract's
// bundle: the two-party signed contract and the steps after it) element
// by element, with each element's signature report.
func verifyTimeline(ctx context.Context, p *verify.Policy, path string, data []byte, asJSON, asHTML bool, out io.Writer) error {
	r := contract.VerifyBundle(ctx, filepath.Base(path), data, p, contract.Parties{})
	switch {
	case asJSON:
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
	case asHTML:
		if err := r.WritePage(out); err != nil {
			return err
		}
	default:
		r.WriteText(out)
	}
	if !r.Passed() {
		return fmt.Errorf("%s: %s %s %s", path, r.Indication, r.SubIndication, r.Reason)
	}
	return nil
}

// verifyPolicy trusts the JPKI centre's signing CA, asks its OCSP
// responder, and trusts the TSA's published root; a file given for an
// anchor is read instead of fetching it.
func verifyPolicy(ctx context.Context, hc *http.Client, jpkiURL, tsaURL, caFile, rootFile string) (*verify.Policy, error) {
	jc := &jpki.Client{BaseURL: jpkiURL, HTTP: hc}
	var ca, root *x509.Certificate
	var err error
	if caFile != "" {
		ca, err = readCertFile(caFile)
	} else {
		ca, err = jc.CACertificate(ctx, jpki.Sign)
	}
	if err != nil {
		return nil, fmt.Errorf("the JPKI signing CA: %w", err)
	}
	if rootFile != "" {
		root, err = readCertFile(rootFile)
	} else {
		root, err = fetchCert(ctx, hc, tsaURL+tsaRootPath)
	}
	if err != nil {
		return nil, fmt.Errorf("the TSA root: %w", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root)
	return &verify.Policy{TSARoots: roots, RequireTimestamp: true,
		Signing: &jpki.SigningVerifier{CA: ca, OCSP: jc.OCSP, MaxAge: 10 * time.Minute}}, nil
}

// readCertFile reads one certificate, PEM or DER.
func readCertFile(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	return x509.ParseCertificate(b)
}

// fetchCert gets one DER certificate.
func fetchCert(ctx context.Context, hc *http.Client, u string) (*x509.Certificate, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s %v", u, resp.Status, err)
	}
	return x509.ParseCertificate(b)
}

// writeAtomically replaces path with b: a reader never sees half a file.
func writeAtomically(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".extend-*")
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}
