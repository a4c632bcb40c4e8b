package oidcop

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/platform"
)

// Signing (§2.4, §3 rows 14–16): the RP's client-credentials token starts a
// sign transaction with a SHA-256 digest; the person signs it at the card
// page with the signing password; the RP fetches the result with the
// access token of that login's grant, as a JWE to its PF key (or a JWS of
// the provider when it has none).

// SignTransactionsPath is the sign-transaction API, beside the realm (DAA 8).
const SignTransactionsPath = "/api/sign-transactions"

// DefaultSignTTL is how long a sign transaction waits for its signature.
const DefaultSignTTL = 10 * time.Minute

// The digest types of a sign transaction.
const (
	DigestSHA256     = "sha256"
	DigestDigestInfo = "digestinfo"
)

// sha256DigestInfoPrefix is the DER of a SHA-256 DigestInfo before its
// 32-byte hash (RFC 8017 §9.2 note 1).
var sha256DigestInfoPrefix = []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}

// parseDigest reads a sign transaction's digest: 32 bytes of SHA-256, or a
// 51-byte DER DigestInfo of SHA-256 (§3 row 14). It returns the hash the
// card signs (a DigestInfo's own hash: the card rebuilds the same
// DigestInfo) and the type.
func parseDigest(b []byte) ([]byte, string, error) {
	switch {
	case len(b) == sha256.Size:
		return b, DigestSHA256, nil
	case len(b) == len(sha256DigestInfoPrefix)+sha256.Size && bytes.HasPrefix(b, sha256DigestInfoPrefix):
		return b[len(sha256DigestInfoPrefix):], DigestDigestInfo, nil
	case len(b) == len(sha256DigestInfoPrefix)+sha256.Size:
		return nil, "", errors.New("the DigestInfo is not of SHA-256")
	}
	return nil, "", fmt.Errorf("the digest has %d bytes: want 32 (SHA-256) or 51 (its DigestInfo)", len(b))
}

// newUUID is a random (version 4) UUID, the shape of a sign transaction's
// ID (Obs PS-AUTH).
func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// ccRequest is a client-credentials token's request, as the library's
// token maker sees it: the client is the subject, the sign-transaction API
// the only audience.
type ccRequest struct {
	clientID string
	aud      string
}

func (c *ccRequest) GetSubject() string    { return c.clientID }
func (c *ccRequest) GetAudience() []string { return []string{c.aud} }
func (c *ccRequest) GetScopes() []string   { return []string{"sign"} }

// ClientCredentialsExchange is the client_credentials grant (§2.2): a token
// good only for POST /api/sign-transactions, without ID or refresh token.
func (s *server) ClientCredentialsExchange(ctx context.Context, r *op.ClientRequest[oidc.ClientCredentialsRequest]) (*op.Response, error) {
	for _, sc := range r.Data.Scope {
		if !slices.Contains(s.p.cfg.CCScopes, sc) {
			s.p.refused(ctx, r.Client.GetID(), "", "token", "invalid_scope client_credentials")
			return nil, oidc.ErrInvalidScope().WithDescription("client_credentials allows the scopes %v only", s.p.cfg.CCScopes)
		}
	}
	access, _, validity, err := op.CreateAccessToken(ctx, &ccRequest{clientID: r.Client.GetID(), aud: s.p.cfg.BaseURL + SignTransactionsPath},
		op.AccessTokenTypeJWT, s.Provider(), r.Client, "")
	if err != nil {
		return nil, err
	}
	if err := s.p.audit(ctx, s.p.db, r.Client.GetID(), "", "token", "OK", "client_credentials"); err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	return s.p.tokenAnswer(tokenResponse{AccessToken: access, ExpiresIn: uint64(validity.Seconds()), Scope: "sign"}), nil
}

// tokenRow is a live token of the provider's, found by its bearer JWT.
type tokenRow struct {
	kind, clientID, grantID string
	// jti is the token's ID, its row's key.
	jti string
}

// errBadToken is a bearer token that is not (or no longer) good: 401.
var errBadToken = errors.New("oidcop: the bearer token is not good")

// bearer checks a request's bearer token: a JWT this provider signed
// whose jti is a live token of an enabled client (and, for a grant's
// token, of a grant not revoked).
func (p *Provider) bearer(ctx context.Context, r *http.Request) (tokenRow, error) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || raw == "" {
		return tokenRow{}, errBadToken
	}
	return p.accessToken(ctx, raw)
}

// accessToken is the live token row of an access token (JWT) this
// provider signed, or errBadToken.
func (p *Provider) accessToken(ctx context.Context, raw string) (tokenRow, error) {
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil || len(jws.Signatures) != 1 {
		return tokenRow{}, errBadToken
	}
	keys, err := p.keys.all(ctx)
	if err != nil {
		return tokenRow{}, err
	}
	var payload []byte
	for _, k := range keys {
		if k.KID == jws.Signatures[0].Header.KeyID {
			payload, err = jws.Verify(k.Public)
		}
	}
	if payload == nil || err != nil {
		return tokenRow{}, errBadToken
	}
	var c struct {
		Issuer string `json:"iss"`
		ID     string `json:"jti"`
	}
	if json.Unmarshal(payload, &c) != nil || c.Issuer != p.Issuer() || c.ID == "" {
		return tokenRow{}, errBadToken
	}
	var t tokenRow
	var grant sql.NullString
	err = p.db.QueryRowContext(ctx, `SELECT t.kind, t.client_id, t.grant_id FROM oidc_tokens t JOIN oidc_clients c ON c.id = t.client_id
WHERE t.hash = $1 AND t.expires_at > $2 AND c.disabled_at = 0
AND (t.grant_id IS NULL OR EXISTS (SELECT 1 FROM oidc_grants g WHERE g.id = t.grant_id AND g.revoked_at = 0))`, c.ID, ms(p.now())).Scan(&t.kind, &t.clientID, &grant)
	if errors.Is(err, sql.ErrNoRows) {
		return tokenRow{}, errBadToken
	}
	if err != nil {
		return tokenRow{}, err
	}
	t.grantID, t.jti = grant.String, c.ID
	return t, nil
}

// SignRoutes registers the sign-transaction API (a machine API: the RPs'
// servers call it with bearer tokens, no session).
func (p *Provider) SignRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+SignTransactionsPath, p.startSign)
	mux.HandleFunc("GET "+SignTransactionsPath+"/{id}/result", p.signResult)
}

// signError is the API's JSON refusal.
func signError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Cache-Control", "no-store")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	httpapi.WriteJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// startSign starts a sign transaction for the client of a
// client-credentials token: 201 with its ID.
func (p *Provider) startSign(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, err := p.bearer(ctx, r)
	switch {
	case errors.Is(err, errBadToken):
		signError(w, http.StatusUnauthorized, "invalid_token", "a client-credentials access token is required")
		return
	case err != nil:
		p.logger.ErrorContext(ctx, "oidc: sign transaction", "err", err)
		signError(w, http.StatusInternalServerError, "server_error", "")
		return
	case t.kind != "cc":
		p.refused(ctx, t.clientID, "", "sign-start", "insufficient_scope")
		signError(w, http.StatusForbidden, "insufficient_scope", "a client-credentials access token is required")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<10))
	if err != nil {
		signError(w, http.StatusBadRequest, "invalid_request", "the body cannot be read")
		return
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil {
		signError(w, http.StatusBadRequest, "invalid_request", "the body is not a JSON object")
		return
	}
	// The first present field of §3 row 14 carries the digest.
	var b64 string
	for _, f := range p.cfg.SignDigestFields {
		if v, ok := in[f]; ok {
			if err := json.Unmarshal(v, &b64); err != nil {
				signError(w, http.StatusBadRequest, "invalid_request", f+" is not a string")
				return
			}
			break
		}
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if b64 == "" || err != nil {
		p.refused(ctx, t.clientID, "", "sign-start", "invalid_request digest")
		signError(w, http.StatusBadRequest, "invalid_request", "digest: Base64 (standard alphabet, padded) is required")
		return
	}
	if _, typ, err := parseDigest(raw); err != nil {
		p.refused(ctx, t.clientID, "", "sign-start", "invalid_request digest length")
		signError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	} else {
		id, now := newUUID(), p.now()
		err = p.db.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := p.db.TxExec(ctx, tx, `INSERT INTO oidc_sign_transactions (id, client_id, digest, digest_type, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6)`, id, t.clientID, raw, typ, ms(now), ms(now.Add(p.cfg.SignTTL))); err != nil {
				return err
			}
			return p.audit(ctx, tx, t.clientID, "", "sign-start", "OK", "sign transaction "+id+" "+typ)
		})
		if err != nil {
			p.logger.ErrorContext(ctx, "oidc: sign transaction", "err", err)
			signError(w, http.StatusInternalServerError, "server_error", "")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		httpapi.WriteJSON(w, http.StatusCreated, map[string]string{p.cfg.SignIDField: id})
	}
}

// signTx is one row of oidc_sign_transactions.
type signTx struct {
	ID, ClientID, DigestType, GrantID, State string
	Digest, Signature, Certificate           []byte
	ExpiresAt, SignedAt                      time.Time
}

func (p *Provider) signTx(ctx context.Context, id string) (*signTx, error) {
	var t signTx
	var exp, signed int64
	err := p.db.QueryRowContext(ctx, `SELECT id, client_id, digest_type, grant_id, state, digest, signature, certificate, expires_at, signed_at
FROM oidc_sign_transactions WHERE id = $1`, id).Scan(&t.ID, &t.ClientID, &t.DigestType, &t.GrantID, &t.State, &t.Digest, &t.Signature,
		&t.Certificate, &exp, &signed)
	if err != nil {
		return nil, err
	}
	t.ExpiresAt, t.SignedAt = time.UnixMilli(exp), time.UnixMilli(signed)
	return &t, nil
}

// signTxUsable reports whether an authorization request of client may
// name the transaction: the client's, not yet signed or bound, not expired.
func (p *Provider) signTxUsable(ctx context.Context, id, clientID string) bool {
	t, err := p.signTx(ctx, id)
	return err == nil && t.ClientID == clientID && t.State == "created" && p.now().Before(t.ExpiresAt)
}

// recordSignature binds a transaction to the grant whose person signed it,
// once: false when it is no longer signable.
func (p *Provider) recordSignature(ctx context.Context, id, clientID, grantID string, sig, cert []byte) (bool, error) {
	now := p.now()
	res, err := p.db.WriteCommitted(ctx, `UPDATE oidc_sign_transactions SET state = 'signed', grant_id = $1, signature = $2, certificate = $3,
signed_at = $4 WHERE id = $5 AND client_id = $6 AND state = 'created' AND expires_at > $4`, grantID, sig, cert, ms(now), id, clientID)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// signResultPayload is the result's JSON (§2.4 step 5).
type signResultPayload struct {
	Signature   string `json:"signature"`
	Certificate string `json:"certificate"`
	Digest      string `json:"digest"`
	DigestType  string `json:"digest_type"`
	SignedAt    string `json:"signed_at"`
}

// signResult gives the signature to the access token of the grant that
// signed: 401 for a token that is not good, 403 for another grant's,
// client's or a client-credentials token, 409 while unsigned, 410 once
// expired (§3 row 15).
func (p *Provider) signResult(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	tok, err := p.bearer(ctx, r)
	switch {
	case errors.Is(err, errBadToken):
		signError(w, http.StatusUnauthorized, "invalid_token", "the access token of the login that signed is required")
		return
	case err != nil:
		p.logger.ErrorContext(ctx, "oidc: sign result", "err", err)
		signError(w, http.StatusInternalServerError, "server_error", "")
		return
	}
	t, err := p.signTx(ctx, r.PathValue("id"))
	switch {
	case errors.Is(err, sql.ErrNoRows) || (err == nil && t.ClientID != tok.clientID):
		p.refused(ctx, tok.clientID, "", "sign-result", "forbidden")
		signError(w, http.StatusForbidden, "forbidden", "not this client's sign transaction")
		return
	case err != nil:
		p.logger.ErrorContext(ctx, "oidc: sign result", "err", err)
		signError(w, http.StatusInternalServerError, "server_error", "")
		return
	case tok.kind != "access":
		p.refused(ctx, tok.clientID, "", "sign-result", "forbidden token kind "+tok.kind)
		signError(w, http.StatusForbidden, "forbidden", "the access token of the login that signed is required")
		return
	case t.State == stateFetched && t.GrantID == tok.grantID:
		// --oidc-sign-result-fetches=once (§3 row 15).
		signError(w, http.StatusGone, "already_fetched", "the sign result was fetched before")
		return
	case (t.State == "signed" || t.State == stateFetched) && t.GrantID != tok.grantID:
		p.refused(ctx, tok.clientID, "", "sign-result", "forbidden another grant")
		signError(w, http.StatusForbidden, "forbidden", "the access token of the login that signed is required")
		return
	case t.State != "signed" && !p.now().Before(t.ExpiresAt):
		signError(w, http.StatusGone, "expired", "the sign transaction has expired unsigned")
		return
	case t.State != "signed":
		signError(w, http.StatusConflict, "not_signed", "the sign transaction is not signed yet")
		return
	}
	var personID string
	if err := p.db.QueryRowContext(ctx, `SELECT person_id FROM oidc_grants WHERE id = $1`, t.GrantID).Scan(&personID); err != nil {
		p.logger.ErrorContext(ctx, "oidc: sign result", "err", err)
		signError(w, http.StatusInternalServerError, "server_error", "")
		return
	}
	payload, _ := json.Marshal(signResultPayload{Signature: base64.StdEncoding.EncodeToString(t.Signature),
		Certificate: base64.StdEncoding.EncodeToString(t.Certificate), Digest: base64.StdEncoding.EncodeToString(t.Digest),
		DigestType: t.DigestType, SignedAt: t.SignedAt.UTC().Format(time.RFC3339)})
	out, err := p.sealResult(ctx, tok.clientID, payload)
	if err != nil {
		p.logger.ErrorContext(ctx, "oidc: sign result", "err", err)
		signError(w, http.StatusInternalServerError, "server_error", "")
		return
	}
	once := p.cfg.SignResultFetches == FetchesOnce
	if once {
		// The one fetch is claimed before anything is given; two at once
		// are one fetch and one refusal.
		res, err := p.db.WriteCommitted(ctx, `UPDATE oidc_sign_transactions SET state = '`+stateFetched+`' WHERE id = $1 AND state = 'signed'`, t.ID)
		if err != nil {
			p.logger.ErrorContext(ctx, "oidc: sign result", "err", err)
			signError(w, http.StatusInternalServerError, "server_error", "")
			return
		}
		if n, _ := res.RowsAffected(); n != 1 {
			signError(w, http.StatusGone, "already_fetched", "the sign result was fetched before")
			return
		}
	}
	c, err := p.Client(ctx, tok.clientID)
	if err == nil && p.cfg.Platform != nil {
		err = p.cfg.Platform.Disclose(ctx, personID, platform.Disclosure{Recipient: c.Name + " (" + c.ID + ")",
			Items: []string{platform.ItemSignature}, SignTransactionID: t.ID})
	}
	if err != nil {
		p.logger.ErrorContext(ctx, "oidc: sign result disclosure", "err", err)
		if once {
			// Nothing was given: the one fetch is still to come.
			if _, err := p.db.WriteCommitted(ctx, `UPDATE oidc_sign_transactions SET state = 'signed' WHERE id = $1 AND state = '`+stateFetched+`'`, t.ID); err != nil {
				p.logger.ErrorContext(ctx, "oidc: sign result", "err", err)
			}
		}
		signError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the result cannot be given now")
		return
	}
	if err := p.audit(ctx, p.db, tok.clientID, personID, "sign-result", "OK", "sign transaction "+t.ID); err != nil {
		p.logger.ErrorContext(ctx, "oidc: audit", "err", err)
	}
	w.Header().Set("Content-Type", "application/jose")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, out)
}

// stateFetched is a signed transaction whose one result fetch happened
// (--oidc-sign-result-fetches=once).
const stateFetched = "fetched"

// sealResult is the compact JWE of payload to the client's PF key
// (--oidc-jwe-alg, --oidc-jwe-enc; default RSA-OAEP-256, A256GCM; kid its
// RFC 7638 thumbprint), or a JWS of the
// provider's key when the client has none (§3 row 16).
func (p *Provider) sealResult(ctx context.Context, clientID string, payload []byte) (string, error) {
	pf, err := p.PFKey(ctx, clientID)
	if err != nil {
		return "", err
	}
	if pf != nil {
		tp, err := (&jose.JSONWebKey{Key: pf}).Thumbprint(crypto.SHA256)
		if err != nil {
			return "", err
		}
		enc, err := jose.NewEncrypter(p.cfg.JWEEnc, jose.Recipient{Algorithm: p.cfg.JWEAlg, Key: pf,
			KeyID: base64.RawURLEncoding.EncodeToString(tp)}, (&jose.EncrypterOptions{}).WithContentType("JSON"))
		if err != nil {
			return "", err
		}
		obj, err := enc.Encrypt(payload)
		if err != nil {
			return "", err
		}
		return obj.CompactSerialize()
	}
	info, signer, err := p.keys.Signing(ctx)
	if err != nil {
		return "", err
	}
	js, err := jose.NewSigner(jose.SigningKey{Algorithm: info.Alg, Key: OpaqueSigner(signer, info.KID, info.Alg)}, nil)
	if err != nil {
		return "", err
	}
	obj, err := js.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// PFKey is the client's PF (platform operator) key for sign results, nil
// when it has none.
func (p *Provider) PFKey(ctx context.Context, clientID string) (*rsa.PublicKey, error) {
	var der []byte
	if err := p.db.QueryRowContext(ctx, `SELECT pf_key FROM oidc_clients WHERE id = $1`, clientID).Scan(&der); err != nil {
		return nil, err
	}
	if len(der) == 0 {
		return nil, nil
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("oidcop: the PF key of %s: %w", clientID, err)
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("oidcop: the PF key of %s is not RSA", clientID)
	}
	return rk, nil
}

// ErrPFKey is a PF key that cannot be used: not a PEM RSA public key of at
// least 2048 bits.
var ErrPFKey = errors.New("oidcop: the PF key must be a PEM RSA public key of at least 2048 bits / PF 鍵は 2048 ビット以上の RSA 公開鍵（PEM）にしてください")

// parsePFKey reads a PF key: the DER of a PEM RSA public key of at least
// 2048 bits, or ErrPFKey.
func parsePFKey(pemKey []byte) ([]byte, error) {
	b, _ := pem.Decode(pemKey)
	if b == nil {
		return nil, ErrPFKey
	}
	k, err := x509.ParsePKIXPublicKey(b.Bytes)
	if rk, ok := k.(*rsa.PublicKey); err != nil || !ok || rk.N.BitLen() < 2048 {
		return nil, ErrPFKey
	}
	return b.Bytes, nil
}

// SetPFKey registers (or replaces) a client's PF key, from a PEM public
// key; by names the operator for the audit.
func (p *Provider) SetPFKey(ctx context.Context, clientID string, pemKey []byte, by string) error {
	der, err := parsePFKey(pemKey)
	if err != nil {
		return err
	}
	return p.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := p.db.TxExec(ctx, tx, qSetPFKey, der, clientID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("%w: %q", ErrNoClient, clientID)
		}
		return p.audit(ctx, tx, clientID, "", "client-pf-key", "OK", byReason(by))
	})
}

// signTxKey carries an authorization request's sign_transaction_id from
// Authorize to CreateAuthRequest, which the library calls with its own
// decoded request (that drops unknown parameters).
type signTxKey struct{}

// signTxFrom is the sign_transaction_id Authorize put in ctx.
func signTxFrom(ctx context.Context) string {
	s, _ := ctx.Value(signTxKey{}).(string)
	return s
}
