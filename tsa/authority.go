package tsa

import (
	"context"
	"crypto"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"net/http"
	"time"

	"github.com/digitorus/timestamp"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Media types of RFC 3161 §3.4.
const (
	queryType = "application/timestamp-query"
	replyType = "application/timestamp-reply"
)

// maxQuery bounds a TimeStampReq: a SHA-512 imprint, a nonce, a policy and
// a few extensions fit many times over.
const maxQuery = 16 << 10

// Authority is a time-stamp authority with one time-stamping unit.
type Authority struct {
	keys *Keys
	now  func() time.Time
	log  *slog.Logger
}

// New makes an Authority that signs with k's unit and reads genTime from
// now (time.Now when nil).
func New(k *Keys, now func() time.Time, logger *slog.Logger) *Authority {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Authority{keys: k, now: now, log: logger}
}

// supported says whether the TSA stamps imprints made with h: SHA-2 only.
func supported(h crypto.Hash) bool {
	return h == crypto.SHA256 || h == crypto.SHA384 || h == crypto.SHA512
}

// Stamp makes a time-stamp token (the DER ContentInfo of RFC 3161 §2.4.2)
// over digest, made with h, carrying the unit's certificate, without a
// nonce: the in-process cms.Stamper.
func (a *Authority) Stamp(ctx context.Context, h crypto.Hash, digest []byte) ([]byte, error) {
	if !supported(h) || len(digest) != h.Size() {
		return nil, fmt.Errorf("tsa: stamp: want a SHA-256, SHA-384 or SHA-512 digest, got %v of %d bytes", h, len(digest))
	}
	_, token, err := a.respond(ctx, &timestamp.Request{HashAlgorithm: h, HashedMessage: digest, Certificates: true})
	return token, err
}

// respond makes a granted TimeStampResp for req, and the token it holds.
func (a *Authority) respond(ctx context.Context, req *timestamp.Request) (resp, token []byte, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	// genTime is GeneralizedTime in UTC ("Z") with whole seconds; the
	// library writes the time's own zone otherwise.
	gen := a.now().UTC().Truncate(time.Second)
	t := timestamp.Timestamp{
		HashAlgorithm:     req.HashAlgorithm,
		HashedMessage:     req.HashedMessage,
		Time:              gen,
		Accuracy:          time.Second,
		Nonce:             req.Nonce,
		Policy:            Policy(),
		AddTSACertificate: req.Certificates,
	}
	resp, err = t.CreateResponseWithOpts(a.keys.Cert, a.keys.Signer, crypto.SHA256)
	if err != nil {
		return nil, nil, fmt.Errorf("tsa: make response: %w", err)
	}
	// The token and its serial are read from the DER as it is: reading it
	// back with timestamp.ParseResponse would verify the signature just
	// made, which took 40 % of the TSA's CPU per token (docs/benchmarks.md).
	token, serial, err := tokenOf(resp)
	if err != nil {
		return nil, nil, fmt.Errorf("tsa: read back response: %w", err)
	}
	a.log.InfoContext(ctx, "tsa: time-stamp granted", "serial", serial.Text(16),
		"gen_time", gen, "hash", req.HashAlgorithm.String(), "nonce", req.Nonce != nil)
	return resp, token, nil
}

// tokenOf finds the token in a granted TimeStampResp and the serialNumber
// of its TSTInfo (RFC 3161 §2.4.2, in the SignedData of RFC 5652 §5.1).
func tokenOf(resp []byte) ([]byte, *big.Int, error) {
	s := cryptobyte.String(resp)
	var body, token, ci, content, sd, sdBody, encap, econtent, octets, tst cryptobyte.String
	var ctype, econtentType asn1.ObjectIdentifier
	var version int64
	serial := new(big.Int)
	explicit0 := cbasn1.Tag(0).Constructed().ContextSpecific()
	ok := s.ReadASN1(&body, cbasn1.SEQUENCE) && body.SkipASN1(cbasn1.SEQUENCE) && // status
		body.ReadASN1Element(&token, cbasn1.SEQUENCE) && body.Empty()
	ci = token
	ok = ok && ci.ReadASN1(&content, cbasn1.SEQUENCE) && content.ReadASN1ObjectIdentifier(&ctype) &&
		content.ReadASN1(&sd, explicit0) && sd.ReadASN1(&sdBody, cbasn1.SEQUENCE) &&
		sdBody.SkipASN1(cbasn1.INTEGER) && sdBody.SkipASN1(cbasn1.SET) && // version, digestAlgorithms
		sdBody.ReadASN1(&encap, cbasn1.SEQUENCE) && encap.ReadASN1ObjectIdentifier(&econtentType) &&
		encap.ReadASN1(&econtent, explicit0) && econtent.ReadASN1(&octets, cbasn1.OCTET_STRING) &&
		octets.ReadASN1(&tst, cbasn1.SEQUENCE) && tst.ReadASN1Integer(&version) &&
		tst.SkipASN1(cbasn1.OBJECT_IDENTIFIER) && tst.SkipASN1(cbasn1.SEQUENCE) && // policy, messageImprint
		tst.ReadASN1Integer(serial)
	if !ok || !ctype.Equal(oidSignedData) || !econtentType.Equal(oidTSTInfo) {
		return nil, nil, errors.New("not a granted TimeStampResp with a TSTInfo")
	}
	return token, serial, nil
}

// oidSignedData is id-signedData (RFC 5652 §5.1), oidTSTInfo id-ct-TSTInfo
// (RFC 3161 §2.4.2).
var (
	oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidTSTInfo    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
)

// Handler serves /tsa (RFC 3161 §3.4): a POST of a TimeStampReq of type
// application/timestamp-query is answered with a TimeStampResp of type
// application/timestamp-reply and HTTP 200, whether the request is granted
// or refused: a refusal is a TimeStampResp with PKIStatus rejection, the
// PKIFailureInfo bit that says why and a statusString in English and
// Japanese (RFC 3161 §2.4.2), and a failure of the TSA itself is one with
// systemFailure. Only what is not a time-stamp request at all is an HTTP
// error, with a short text: another method (405), another media type (415),
// a body over 16 KiB (413).
func (a *Authority) Handler() http.Handler {
	return http.HandlerFunc(a.serve)
}

func (a *Authority) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		httpRefuse(w, http.StatusMethodNotAllowed,
			"時刻認証の要求は POST で送ってください / send time-stamp requests with POST")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != queryType {
		httpRefuse(w, http.StatusUnsupportedMediaType,
			"Content-Type は "+queryType+" にしてください / the Content-Type must be "+queryType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxQuery))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		httpRefuse(w, http.StatusRequestEntityTooLarge,
			"時刻認証の要求が大きすぎます / the time-stamp request is too large")
		return
	}
	if err != nil {
		// The client went away or sent a broken body: there is no one to
		// answer, but a reply costs nothing.
		a.reply(w, r, badDataFormat("reading the request: "+err.Error(), "要求を読めませんでした"))
		return
	}
	req, ref := checkQuery(body)
	if ref != nil {
		a.reply(w, r, ref)
		return
	}
	resp, _, err := a.respond(r.Context(), req)
	if err != nil {
		a.log.ErrorContext(r.Context(), "tsa: cannot stamp", "err", err)
		a.reply(w, r, &refusal{timestamp.SystemFailure,
			"the time-stamp authority cannot stamp now", "時刻認証局が時刻印を発行できません"})
		return
	}
	w.Header().Set("Content-Type", replyType)
	w.Write(resp)
}

// httpRefuse answers a request that is no time-stamp request with an HTTP
// error and a short text.
func httpRefuse(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	io.WriteString(w, text+"\n")
}

// reply answers ref with a rejection TimeStampResp and HTTP 200.
func (a *Authority) reply(w http.ResponseWriter, r *http.Request, ref *refusal) {
	if ref.info != timestamp.SystemFailure {
		a.log.InfoContext(r.Context(), "tsa: request rejected", "reason", ref.en, "failure_info", ref.info.String())
	}
	w.Header().Set("Content-Type", replyType)
	w.Write(ref.response())
}

// refusal is why a TimeStampReq is not granted: the PKIFailureInfo bit and
// the statusString, in English and Japanese.
type refusal struct {
	info   timestamp.FailureInfo
	en, ja string
}

func badDataFormat(en, ja string) *refusal { return &refusal{timestamp.BadDataFormat, en, ja} }

// response is the rejection TimeStampResp of RFC 3161 §2.4.2 (PKIStatusInfo
// of RFC 4210 §5.2.3):
//
//	TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken OPTIONAL }
//	PKIStatusInfo ::= SEQUENCE { status PKIStatus, statusString PKIFreeText OPTIONAL,
//	                             failInfo PKIFailureInfo OPTIONAL }
//	PKIFreeText   ::= SEQUENCE SIZE (1..MAX) OF UTF8String
//
// It is written here rather than by timestamp.CreateErrorResponse, which
// has no statusString. PKIFailureInfo is a named BIT STRING, so DER drops
// its trailing zero bits (X.690 §11.2.2): one bit n set is n+1 bits long.
func (ref *refusal) response() []byte {
	n := int(ref.info)
	bits := make([]byte, n/8+1)
	bits[n/8] = 0x80 >> (n % 8)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(int64(timestamp.Rejection))
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, s := range []string{ref.en, ref.ja} {
					b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
				}
			})
			b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) {
				b.AddUint8(uint8(7 - n%8))
				b.AddBytes(bits)
			})
		})
	})
	return b.BytesOrPanic() // only fixed shapes and valid UTF-8 go in
}

// checkQuery reads a TimeStampReq (RFC 3161 §2.4.1) and says whether this
// TSA grants it: version 1; a SHA-256, SHA-384 or SHA-512 imprint of the
// hash's length; no reqPolicy or this TSA's policy; a nonce, if any, of at
// most 512 bits and not negative; no extensions, as the TSA knows none
// (§2.4.1: an extension it does not know must be refused). certReq and the
// nonce are honoured by respond.
func checkQuery(der []byte) (*timestamp.Request, *refusal) {
	// The library's parser ignores the version; RFC 3161 has only v1.
	s := cryptobyte.String(der)
	var seq cryptobyte.String
	var version int64
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1Integer(&version) {
		return nil, badDataFormat("the request is not a DER TimeStampReq", "要求が DER の TimeStampReq ではありません")
	}
	if version != 1 {
		return nil, badDataFormat(fmt.Sprintf("TimeStampReq version %d is not v1", version),
			fmt.Sprintf("TimeStampReq の版 %d は v1 ではありません", version))
	}
	req, err := timestamp.ParseRequest(der)
	switch {
	case errors.Is(err, errUnknownHash):
		return nil, &refusal{timestamp.BadAlgorithm, "the imprint's hash algorithm is unknown", "ハッシュ関数が不明です"}
	case err != nil:
		return nil, badDataFormat("the request is not a DER TimeStampReq: "+err.Error(), "要求が DER の TimeStampReq ではありません")
	case !supported(req.HashAlgorithm):
		return nil, &refusal{timestamp.BadAlgorithm,
			"hash algorithm " + req.HashAlgorithm.String() + " is not accepted: use SHA-256, SHA-384 or SHA-512",
			"ハッシュ関数 " + req.HashAlgorithm.String() + " は受け付けません（SHA-256・SHA-384・SHA-512 のみ）"}
	case len(req.HashedMessage) != req.HashAlgorithm.Size():
		return nil, badDataFormat(
			fmt.Sprintf("the imprint has %d bytes, %v needs %d", len(req.HashedMessage), req.HashAlgorithm, req.HashAlgorithm.Size()),
			fmt.Sprintf("ハッシュ値が %d バイトです（%v は %d バイト）", len(req.HashedMessage), req.HashAlgorithm, req.HashAlgorithm.Size()))
	case req.TSAPolicyOID != nil && !req.TSAPolicyOID.Equal(Policy()):
		return nil, &refusal{timestamp.UnacceptedPolicy,
			"policy " + req.TSAPolicyOID.String() + " is not this TSA's; it stamps under " + Policy().String(),
			"ポリシー " + req.TSAPolicyOID.String() + " はこの時刻認証局のものではありません（" + Policy().String() + "）"}
	case len(req.Extensions) > 0:
		return nil, &refusal{timestamp.UnacceptedExtension,
			"request extensions are not supported (" + req.Extensions[0].Id.String() + ")",
			"要求の拡張には対応していません（" + req.Extensions[0].Id.String() + "）"}
	case req.Nonce != nil && (req.Nonce.Sign() < 0 || req.Nonce.BitLen() > 512):
		return nil, badDataFormat("the nonce is negative or longer than 512 bits", "nonce が負か、512 ビットを超えています")
	}
	return req, nil
}

// errUnknownHash is how timestamp.ParseRequest says that it does not know
// the imprint's hash algorithm.
var errUnknownHash = timestamp.ParseError("Time-Stamp request uses unknown hash function")
