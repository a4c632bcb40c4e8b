package main

import (
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/mynaplat/mynaplat/cms"
)

// followSealAIA reads a sealed PDF's signer and follows its AIA caIssuers
// and CRL distribution point to the running server, as a verifier holding
// only the PDF would: "yes" when the issuer fetched verifies the seal
// certificate and the CRL fetched is that issuer's and does not list it.
func followSealAIA(pdf []byte) string {
	sigs, _ := cms.VerifyPDF(pdf, nil)
	if len(sigs) == 0 || sigs[0].Signer == nil {
		return "no signer"
	}
	cert := sigs[0].Signer
	if len(cert.IssuingCertificateURL) != 1 || len(cert.CRLDistributionPoints) != 1 {
		return fmt.Sprintf("caIssuers %v, CRL DP %v", cert.IssuingCertificateURL, cert.CRLDistributionPoints)
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	get := func(u string) ([]byte, error) {
		resp, err := hc.Get(u)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("%s: %s", u, resp.Status)
		}
		return b, err
	}
	der, err := get(cert.IssuingCertificateURL[0])
	if err != nil {
		return err.Error()
	}
	issuer, err := x509.ParseCertificate(der)
	if err != nil {
		return err.Error()
	}
	if err := cert.CheckSignatureFrom(issuer); err != nil {
		return "caIssuers: " + err.Error()
	}
	der, err = get(cert.CRLDistributionPoints[0])
	if err != nil {
		return err.Error()
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return err.Error()
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return "CRL: " + err.Error()
	}
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			return "the CRL lists the seal"
		}
	}
	return "yes"
}
