package sealedbid

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
)

// The CMS EnvelopedData of RFC 5652 §6 with one KeyTransRecipientInfo
// (§6.2.1), written and read here with encoding/asn1. smallstep/pkcs7,
// the project's CMS library, was measured and not used for this: its
// Encrypt is configured through package variables (racy, and DES-CBC by
// default); its RSAES-OAEP with SHA-256 omits the MGF1 parameter, which
// RFC 4055 then defines as MGF1-SHA-1 while it encrypts with MGF1-SHA-256,
// so `openssl cms -decrypt` fails ("bad decrypt"); and its AES-GCM puts
// GCM into EnvelopedData with non-standard parameters that OpenSSL cannot
// read (GCM belongs to AuthEnvelopedData, RFC 5083). The tests decrypt
// our envelopes with both smallstep/pkcs7 and openssl.
//
// Choices: AES-256-CBC (RFC 3565) for the content, because both readers
// handle it; RSAES-OAEP with SHA-256 and MGF1-SHA-256 (RFC 4055 §4, RFC
// 8017 §7.1) for the key, not PKCS#1 v1.5, whose decryption is the
// Bleichenbacher padding oracle. CBC has no integrity of its own: a
// changed key fails OAEP, a changed last block fails the padding, and any
// other change is caught by the signature over the bid, which the opening
// checks on every bid.

var (
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidEnvelopedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 3}
	oidRSAESOAEP     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 7}
	oidMGF1          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	oidSHA256        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidAES256CBC     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
)

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue // [0] EXPLICIT, built and checked by hand
}

type envelopedData struct {
	Version              int
	RecipientInfos       []keyTransRecipientInfo `asn1:"set"`
	EncryptedContentInfo encryptedContentInfo
}

type keyTransRecipientInfo struct {
	Version                int
	Rid                    issuerAndSerial
	KeyEncryptionAlgorithm pkix.AlgorithmIdentifier
	EncryptedKey           []byte
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type encryptedContentInfo struct {
	ContentType                asn1.ObjectIdentifier
	ContentEncryptionAlgorithm pkix.AlgorithmIdentifier
	EncryptedContent           []byte `asn1:"tag:0"`
}

type oaepParams struct {
	Hash pkix.AlgorithmIdentifier `asn1:"explicit,tag:0"`
	MGF  pkix.AlgorithmIdentifier `asn1:"explicit,tag:1"`
}

// oaepAlgorithm is the keyEncryptionAlgorithm we write, and the only one
// we read.
func oaepAlgorithm() pkix.AlgorithmIdentifier {
	sha := pkix.AlgorithmIdentifier{Algorithm: oidSHA256}
	shaDER, _ := asn1.Marshal(sha)
	p, _ := asn1.Marshal(oaepParams{
		Hash: sha,
		MGF:  pkix.AlgorithmIdentifier{Algorithm: oidMGF1, Parameters: asn1.RawValue{FullBytes: shaDER}},
	})
	return pkix.AlgorithmIdentifier{Algorithm: oidRSAESOAEP, Parameters: asn1.RawValue{FullBytes: p}}
}

// Seal encrypts content (a signed bid) to the opening certificate as a
// CMS EnvelopedData (DER). Only the holder of the opening key, rebuilt by
// Open, can read it.
func Seal(content []byte, cert *x509.Certificate) ([]byte, error) {
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: not an RSA key", ErrBadCertificate)
	}
	key := make([]byte, 32)
	defer clear(key)
	iv := make([]byte, aes.BlockSize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	pad := aes.BlockSize - len(content)%aes.BlockSize
	ct := make([]byte, len(content)+pad)
	copy(ct, content)
	for i := len(content); i < len(ct); i++ {
		ct[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, ct)
	ek, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, key, nil)
	if err != nil {
		return nil, err
	}
	ivDER, _ := asn1.Marshal(iv)
	env, err := asn1.Marshal(envelopedData{
		Version: 0, // RFC 5652 §6.1: only issuerAndSerialNumber recipients
		RecipientInfos: []keyTransRecipientInfo{{
			Version:                0,
			Rid:                    issuerAndSerial{Issuer: asn1.RawValue{FullBytes: cert.RawIssuer}, Serial: cert.SerialNumber},
			KeyEncryptionAlgorithm: oaepAlgorithm(),
			EncryptedKey:           ek,
		}},
		EncryptedContentInfo: encryptedContentInfo{
			ContentType:                oidData,
			ContentEncryptionAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidAES256CBC, Parameters: asn1.RawValue{FullBytes: ivDER}},
			EncryptedContent:           ct,
		},
	})
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(contentInfo{ContentType: oidEnvelopedData,
		Content: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: env}})
}

// Addressed checks what can be checked of a sealed bid without the
// opening key: it is one DER CMS EnvelopedData of the form Seal writes,
// whose recipient is cert. A procuring body checks it when the bid arrives
// (ErrMalformedEnvelope, ErrForeignEnvelope), so that a bid nobody could
// open is refused at once rather than at the opening.
func Addressed(envelope []byte, cert *x509.Certificate) error {
	_, err := parse(envelope, cert)
	return err
}

// parsed is an envelope's parts for its recipient.
type parsed struct {
	iv, ct []byte
	ri     *keyTransRecipientInfo
}

// parse reads an envelope and finds cert's recipient in it.
func parse(envelope []byte, cert *x509.Certificate) (*parsed, error) {
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrMalformedEnvelope, what) }
	var ci contentInfo
	if rest, err := asn1.Unmarshal(envelope, &ci); err != nil || len(rest) != 0 {
		return nil, bad("not one DER ContentInfo")
	}
	if !ci.ContentType.Equal(oidEnvelopedData) || ci.Content.Class != asn1.ClassContextSpecific || ci.Content.Tag != 0 || !ci.Content.IsCompound {
		return nil, bad("not EnvelopedData")
	}
	var ed envelopedData
	if rest, err := asn1.Unmarshal(ci.Content.Bytes, &ed); err != nil || len(rest) != 0 {
		return nil, bad("EnvelopedData does not parse")
	}
	eci := ed.EncryptedContentInfo
	if ed.Version != 0 || !eci.ContentType.Equal(oidData) || !eci.ContentEncryptionAlgorithm.Algorithm.Equal(oidAES256CBC) {
		return nil, bad("not version 0 AES-256-CBC data")
	}
	var iv []byte
	if rest, err := asn1.Unmarshal(eci.ContentEncryptionAlgorithm.Parameters.FullBytes, &iv); err != nil || len(rest) != 0 || len(iv) != aes.BlockSize {
		return nil, bad("bad AES IV")
	}
	ct := eci.EncryptedContent
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, bad("content is not whole AES blocks")
	}
	var ri *keyTransRecipientInfo
	for i := range ed.RecipientInfos {
		r := &ed.RecipientInfos[i]
		if bytes.Equal(r.Rid.Issuer.FullBytes, cert.RawIssuer) && r.Rid.Serial != nil && r.Rid.Serial.Cmp(cert.SerialNumber) == 0 {
			ri = r
			break
		}
	}
	if ri == nil {
		return nil, ErrForeignEnvelope
	}
	want := oaepAlgorithm()
	if ri.Version != 0 || !ri.KeyEncryptionAlgorithm.Algorithm.Equal(want.Algorithm) ||
		!bytes.Equal(ri.KeyEncryptionAlgorithm.Parameters.FullBytes, want.Parameters.FullBytes) {
		return nil, bad("key transport is not RSAES-OAEP-SHA256")
	}
	return &parsed{iv: iv, ct: ct, ri: ri}, nil
}

// decrypt opens an envelope with the opening key; cert is the opening
// certificate the envelope must name.
func decrypt(envelope []byte, cert *x509.Certificate, priv *rsa.PrivateKey) ([]byte, error) {
	p, err := parse(envelope, cert)
	if err != nil {
		return nil, err
	}
	iv, ct, ri := p.iv, p.ct, p.ri
	key, err := rsa.DecryptOAEP(sha256.New(), nil, priv, ri.EncryptedKey, nil)
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("%w: the content key does not decrypt", ErrTamperedEnvelope)
	}
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(pt, ct)
	n, ok := unpad(pt)
	if !ok {
		return nil, fmt.Errorf("%w: the content does not decrypt", ErrTamperedEnvelope)
	}
	return pt[:n], nil
}

// unpad checks PKCS#7 padding (RFC 5652 §6.3) without branching on the
// plaintext bytes and returns the content's length.
func unpad(pt []byte) (int, bool) {
	p := int(pt[len(pt)-1])
	good := subtle.ConstantTimeLessOrEq(1, p) & subtle.ConstantTimeLessOrEq(p, aes.BlockSize)
	for i := 1; i <= aes.BlockSize; i++ {
		inPad := subtle.ConstantTimeLessOrEq(i, p)
		match := subtle.ConstantTimeByteEq(pt[len(pt)-i], byte(p))
		good &= match | (inPad ^ 1)
	}
	return len(pt) - p, good == 1
}
