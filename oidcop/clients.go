package oidcop

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mynaplat/mynaplat/store"
)

// ErrInvalid is matched by every refused client or client key (a
// *FieldError).
var ErrInvalid = errors.New("oidcop: invalid")

// ErrNoClient is a client ID that is not registered.
var ErrNoClient = errors.New("oidcop: no such client")

// FieldError is a client (or client key) the provider refuses because of
// one field: which and why, in Japanese and English, for the command line
// and the operator page alike. It matches ErrInvalid.
type FieldError struct {
	// Field is the form's name: id, name, redirect_uri, post_logout_uri,
	// sector, key.
	Field string
	// Code is the audit's reason code.
	Code   string
	JA, EN string
}

func (e *FieldError) Error() string { return "oidcop: invalid " + e.Field + ": " + e.EN }

// Unwrap makes a FieldError an ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// ClientSpec is a client as the operator registers it (§4.5).
type ClientSpec struct {
	ID   string
	Name string
	// Sector groups clients that share the pairwise sub ("" = the ID).
	Sector         string
	RedirectURIs   []string
	PostLogoutURIs []string
	// Keys are the contents of the key files: a PEM public key or a JWK.
	Keys [][]byte
	// Dev allows http:// redirect URIs (the demo RPs on 127.0.0.1).
	Dev bool
	// PFKey is the optional PEM RSA public key of the client's platform
	// operator (PF), to which sign results are encrypted (§2.4).
	PFKey []byte
}

// Client is a registered client.
type Client struct {
	ID, Name, Sector string
	RedirectURIs     []string
	PostLogoutURIs   []string
	Dev              bool
	CreatedAt        time.Time
	DisabledAt       time.Time // zero while enabled
	Keys             []ClientKey
}

// Enabled reports whether the client may take part in any flow.
func (c Client) Enabled() bool { return c.DisabledAt.IsZero() }

// ClientKey is one public key of a client for private_key_jwt.
type ClientKey struct {
	KID        string
	Alg        jose.SignatureAlgorithm
	Public     crypto.PublicKey
	AddedAt    time.Time
	DisabledAt time.Time
}

// Enabled reports whether the key verifies assertions.
func (k ClientKey) Enabled() bool { return k.DisabledAt.IsZero() }

var clientIDPattern = regexp.MustCompile(`^[0-9A-Za-z]{1,255}$`)

// ValidateClient checks a client to be registered and returns its keys
// parsed. It is the one validation of the command line and the operator
// page; it writes nothing. A refusal is a *FieldError.
func ValidateClient(spec *ClientSpec) ([]ClientKey, error) {
	spec.ID, spec.Name, spec.Sector = strings.TrimSpace(spec.ID), strings.TrimSpace(spec.Name), strings.TrimSpace(spec.Sector)
	switch {
	case !clientIDPattern.MatchString(spec.ID):
		return nil, &FieldError{"id", "bad_id", "クライアントIDは英数字1〜255文字です。",
			fmt.Sprintf("the client ID %q is not 1–255 letters and digits", spec.ID)}
	case spec.Name == "" || len([]rune(spec.Name)) > 100:
		return nil, &FieldError{"name", "bad_name", "名前を1〜100文字で入力してください。", "enter the name (1–100 characters)"}
	case len(spec.Sector) > 255 || strings.ContainsAny(spec.Sector, "\x00\n"):
		return nil, &FieldError{"sector", "bad_sector", "セクターは255文字までです。", "the sector is at most 255 characters"}
	case len(spec.RedirectURIs) == 0:
		return nil, &FieldError{"redirect_uri", "no_redirect_uri", "リダイレクトURIを一つ以上登録してください。", "register at least one redirect URI"}
	}
	for _, u := range spec.RedirectURIs {
		if err := checkURI("redirect_uri", u, spec.Dev); err != nil {
			return nil, err
		}
	}
	for _, u := range spec.PostLogoutURIs {
		if err := checkURI("post_logout_uri", u, spec.Dev); err != nil {
			return nil, err
		}
	}
	if len(spec.Keys) == 0 {
		return nil, &FieldError{"key", "no_key", "公開鍵（PEM または JWK）を一つ以上登録してください。",
			"register at least one public key (PEM or JWK)"}
	}
	if len(spec.PFKey) > 0 {
		if _, err := parsePFKey(spec.PFKey); err != nil {
			return nil, &FieldError{"pf_key", "bad_pf_key", "PF 鍵は 2048 ビット以上の RSA 公開鍵（PEM）にしてください。",
				"the PF key must be a PEM RSA public key of at least 2048 bits"}
		}
	}
	var keys []ClientKey
	seen := map[string]bool{}
	for _, b := range spec.Keys {
		k, err := ParseClientKey(b)
		if err != nil {
			return nil, err
		}
		if seen[k.KID] {
			return nil, &FieldError{"key", "duplicate_key", "同じ鍵（kid " + k.KID + "）が二度あります。", "the key " + k.KID + " is given twice"}
		}
		seen[k.KID] = true
		keys = append(keys, k)
	}
	return keys, nil
}

// checkURI applies §4.5 to one registered URI: absolute, no fragment, at
// most 255 characters, https (or http with dev).
func checkURI(field, s string, dev bool) error {
	if len(s) > 255 {
		return &FieldError{field, "uri_too_long", "URIは255文字までです: " + s[:40] + "…", "the URI is longer than 255 characters: " + s[:40] + "…"}
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return &FieldError{field, "uri_not_absolute", "URIは絶対URIにしてください: " + s, "the URI is not absolute: " + s}
	case u.Fragment != "" || strings.Contains(s, "#"):
		return &FieldError{field, "uri_fragment", "URIに # 以降（フラグメント）は使えません: " + s, "the URI has a fragment: " + s}
	case u.Scheme == "https":
	case u.Scheme == "http" && dev:
	case u.Scheme == "http":
		return &FieldError{field, "uri_not_https", "http のURIは開発用クライアント（--dev）にだけ登録できます: " + s,
			"an http URI needs a development client (--dev): " + s}
	default:
		return &FieldError{field, "uri_scheme", "URIは https にしてください: " + s, "the URI is not https: " + s}
	}
	return nil
}

// ParseClientKey reads a client's public key: a PEM "PUBLIC KEY" (PKIX) or
// a JWK (JSON). RSA of at least 2048 bits (RS256) or EC P-256 (ES256) only.
// Its kid is the JWK's, or else the RFC 7638 thumbprint.
func ParseClientKey(b []byte) (ClientKey, error) {
	bad := func(ja, en string) (ClientKey, error) {
		return ClientKey{}, &FieldError{"key", "bad_key", ja, en}
	}
	var pub crypto.PublicKey
	kid := ""
	trimmed := strings.TrimSpace(string(b))
	switch {
	case strings.HasPrefix(trimmed, "-----BEGIN"):
		p, _ := pem.Decode([]byte(trimmed))
		if p == nil || p.Type != "PUBLIC KEY" {
			return bad("鍵ファイルが読めません（PEM の PUBLIC KEY か JWK にしてください）。", "the key file is not a PEM PUBLIC KEY or a JWK")
		}
		k, err := x509.ParsePKIXPublicKey(p.Bytes)
		if err != nil {
			return bad("公開鍵が読めません。", "the public key cannot be read: "+err.Error())
		}
		pub = k
	case strings.HasPrefix(trimmed, "{"):
		var jwk jose.JSONWebKey
		if err := json.Unmarshal([]byte(trimmed), &jwk); err != nil {
			return bad("JWK が読めません。", "the JWK cannot be read: "+err.Error())
		}
		if !jwk.IsPublic() {
			return bad("秘密鍵は登録できません。公開鍵だけを渡してください。", "that is a private key: give the public key only")
		}
		pub, kid = jwk.Key, jwk.KeyID
	default:
		return bad("鍵ファイルが読めません（PEM の PUBLIC KEY か JWK にしてください）。", "the key file is not a PEM PUBLIC KEY or a JWK")
	}
	var alg jose.SignatureAlgorithm
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return bad(fmt.Sprintf("RSA 鍵が短すぎます（%d ビット、2048 ビット以上が必要）。", k.N.BitLen()),
				fmt.Sprintf("the RSA key is too weak (%d bits; at least 2048)", k.N.BitLen()))
		}
		alg = jose.RS256
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return bad("EC 鍵は P-256 だけです。", "an EC key must be on P-256, not "+k.Curve.Params().Name)
		}
		alg = jose.ES256
	default:
		return bad("RSA か EC（P-256）の鍵にしてください。", fmt.Sprintf("the key is %T: RSA or EC P-256 only", pub))
	}
	if kid == "" {
		tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
		if err != nil {
			return bad("鍵の指紋が計算できません。", "the key's thumbprint: "+err.Error())
		}
		kid = base64.RawURLEncoding.EncodeToString(tp)
	}
	if len(kid) > 255 {
		return bad("kid は255文字までです。", "the kid is longer than 255 characters")
	}
	return ClientKey{KID: kid, Alg: alg, Public: pub}, nil
}

// AddClient registers a client, on behalf of by (an operator's staff
// number, "" the command line). A refusal is a *FieldError and writes
// nothing but its audit row.
func (p *Provider) AddClient(ctx context.Context, spec ClientSpec, by string) (Client, error) {
	defer p.clientCache.invalidate()
	keys, err := ValidateClient(&spec)
	if err != nil {
		return Client{}, p.refuse(ctx, spec.ID, "client-add", err, by)
	}
	now := p.now()
	sector := spec.Sector
	if sector == "" {
		sector = spec.ID
	}
	c := Client{ID: spec.ID, Name: spec.Name, Sector: sector, RedirectURIs: spec.RedirectURIs, PostLogoutURIs: spec.PostLogoutURIs,
		Dev: spec.Dev, CreatedAt: time.UnixMilli(ms(now))}
	err = p.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, qInsertClient, c.ID, c.Name, c.Sector, strings.Join(c.RedirectURIs, "\n"),
			strings.Join(c.PostLogoutURIs, "\n"), c.Dev, ms(now)); err != nil {
			return err
		}
		if len(spec.PFKey) > 0 {
			der, _ := parsePFKey(spec.PFKey) // checked by ValidateClient
			if _, err := tx.ExecContext(ctx, qSetPFKey, der, c.ID); err != nil {
				return err
			}
		}
		for i := range keys {
			keys[i].AddedAt = c.CreatedAt
			der, err := x509.MarshalPKIXPublicKey(keys[i].Public)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, qInsertClientKey, c.ID, keys[i].KID, string(keys[i].Alg), der, ms(now)); err != nil {
				return err
			}
		}
		return p.audit(ctx, tx, c.ID, "", "client-add", "OK", byReason(by))
	})
	if store.IsUniqueViolation(err) {
		return Client{}, p.refuse(ctx, spec.ID, "client-add", &FieldError{"id", "duplicate_id",
			"クライアントID " + spec.ID + " はもう登録されています。", "the client ID " + spec.ID + " is already registered"}, by)
	}
	if err != nil {
		return Client{}, fmt.Errorf("oidcop: add client: %w", err)
	}
	// As Client reads them back: by time added, then kid.
	slices.SortFunc(keys, func(a, b ClientKey) int { return strings.Compare(a.KID, b.KID) })
	c.Keys = keys
	return c, nil
}

// refuse writes the audit row of a refused change and returns why.
func (p *Provider) refuse(ctx context.Context, clientID, action string, why error, by string) error {
	code := "error"
	if fe, ok := errors.AsType[*FieldError](why); ok {
		code = fe.Code
	}
	if len(clientID) > 255 {
		clientID = clientID[:255]
	}
	reason := code
	if by != "" {
		reason += " " + byReason(by)
	}
	if _, err := p.db.Write(ctx, qInsertAudit, newID(), ms(p.now()), clientID, "", action, "refused", reason, ""); err != nil {
		return errors.Join(why, err)
	}
	return why
}

func byReason(by string) string {
	if by == "" {
		return "by command line"
	}
	return "by " + by
}

// Client is one registered client with its keys. An unknown ID is ErrNoClient.
//
// Every request that names a client looks it up (the authorization, the
// callback, the token endpoint, UserInfo), so a client read is kept for
// Config.ClientCacheTTL: this Provider's own changes drop it at once, another
// instance's (or the command line's) show within that bound. Unknown IDs
// are not kept, so the cache holds registered clients only.
func (p *Provider) Client(ctx context.Context, id string) (Client, error) {
	now := p.now()
	if c, ok := p.clientCache.get(id, now, p.cfg.ClientCacheTTL); ok {
		return c, nil
	}
	gen := p.clientCache.generation()
	cs, err := p.clients(ctx, id)
	if err != nil {
		return Client{}, err
	}
	if len(cs) == 0 {
		return Client{}, fmt.Errorf("%w: %q", ErrNoClient, id)
	}
	if p.cfg.ClientCacheTTL > 0 {
		p.clientCache.put(id, cs[0], now, gen)
	}
	return cs[0].clone(), nil
}

// clone copies the slices a caller might change, so that no caller changes
// the cached client.
func (c Client) clone() Client {
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.PostLogoutURIs = slices.Clone(c.PostLogoutURIs)
	c.Keys = slices.Clone(c.Keys)
	return c
}

// clientCache is Client's short-lived cache. gen counts invalidations, so
// that a read begun before a change does not store what it read after the
// change dropped the entry.
type clientCache struct {
	mu  sync.Mutex
	gen uint64
	m   map[string]cachedClient
}

type cachedClient struct {
	c  Client
	at time.Time
}

func (cc *clientCache) get(id string, now time.Time, ttl time.Duration) (Client, bool) {
	if ttl <= 0 {
		return Client{}, false
	}
	cc.mu.Lock()
	e, ok := cc.m[id]
	cc.mu.Unlock()
	// A clock set back counts as expired, as does the bound reached.
	if !ok || now.Before(e.at) || now.Sub(e.at) >= ttl {
		return Client{}, false
	}
	return e.c.clone(), true
}

func (cc *clientCache) generation() uint64 {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.gen
}

func (cc *clientCache) put(id string, c Client, now time.Time, gen uint64) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if gen != cc.gen {
		return
	}
	if cc.m == nil {
		cc.m = map[string]cachedClient{}
	}
	cc.m[id] = cachedClient{c: c, at: now}
}

// invalidate drops every kept client; each change of a client or its keys
// calls it after the change is committed (or refused).
func (cc *clientCache) invalidate() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.gen++
	clear(cc.m)
}

// Clients are every registered client, by ID.
func (p *Provider) Clients(ctx context.Context) ([]Client, error) { return p.clients(ctx, "") }

func (p *Provider) clients(ctx context.Context, id string) ([]Client, error) {
	rows, err := p.db.QueryContext(ctx, qSelectClients, id)
	if err != nil {
		return nil, fmt.Errorf("oidcop: clients: %w", err)
	}
	var out []Client
	byID := map[string]int{}
	for rows.Next() {
		var c Client
		var redirects, logouts string
		var created, disabled int64
		if err := rows.Scan(&c.ID, &c.Name, &c.Sector, &redirects, &logouts, &c.Dev, &created, &disabled); err != nil {
			rows.Close()
			return nil, err
		}
		c.RedirectURIs, c.PostLogoutURIs = splitLines(redirects), splitLines(logouts)
		c.CreatedAt = time.UnixMilli(created)
		if disabled != 0 {
			c.DisabledAt = time.UnixMilli(disabled)
		}
		byID[c.ID] = len(out)
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	krows, err := p.db.QueryContext(ctx, qSelectClientKeys, id)
	if err != nil {
		return nil, fmt.Errorf("oidcop: client keys: %w", err)
	}
	defer krows.Close()
	for krows.Next() {
		var clientID, alg string
		var k ClientKey
		var der []byte
		var added, disabled int64
		if err := krows.Scan(&clientID, &k.KID, &alg, &der, &added, &disabled); err != nil {
			return nil, err
		}
		if k.Public, err = x509.ParsePKIXPublicKey(der); err != nil {
			return nil, fmt.Errorf("oidcop: key %s of %s: %w", k.KID, clientID, err)
		}
		k.Alg, k.AddedAt = jose.SignatureAlgorithm(alg), time.UnixMilli(added)
		if disabled != 0 {
			k.DisabledAt = time.UnixMilli(disabled)
		}
		if i, ok := byID[clientID]; ok {
			out[i].Keys = append(out[i].Keys, k)
		}
	}
	return out, krows.Err()
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// DisableClient disables a client at once: its tokens stop working and new
// authorizations show the error page. Disabling it again changes nothing.
func (p *Provider) DisableClient(ctx context.Context, id, by string) error {
	defer p.clientCache.invalidate()
	return p.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, qDisableClient, ms(p.now()), id)
		if err != nil {
			return fmt.Errorf("oidcop: disable client: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var one int
			if err := tx.QueryRowContext(ctx, qClientExists, id).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: %q", ErrNoClient, id)
			}
			return nil
		}
		return p.audit(ctx, tx, id, "", "client-disable", "OK", byReason(by))
	})
}

// AddClientKey adds a public key (PEM or JWK file contents) to a client. A
// refusal writes nothing but its audit row.
func (p *Provider) AddClientKey(ctx context.Context, clientID string, keyFile []byte, by string) (ClientKey, error) {
	defer p.clientCache.invalidate()
	if _, err := p.Client(ctx, clientID); err != nil {
		return ClientKey{}, err
	}
	k, err := ParseClientKey(keyFile)
	if err != nil {
		return ClientKey{}, p.refuse(ctx, clientID, "client-key-add", err, by)
	}
	der, err := x509.MarshalPKIXPublicKey(k.Public)
	if err != nil {
		return ClientKey{}, err
	}
	now := p.now()
	k.AddedAt = time.UnixMilli(ms(now))
	err = p.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, qInsertClientKey, clientID, k.KID, string(k.Alg), der, ms(now)); err != nil {
			return err
		}
		return p.audit(ctx, tx, clientID, "", "client-key-add", "OK", k.KID+" "+byReason(by))
	})
	if store.IsUniqueViolation(err) {
		return ClientKey{}, p.refuse(ctx, clientID, "client-key-add", &FieldError{"key", "duplicate_key",
			"この鍵（kid " + k.KID + "）はもう登録されています。", "the key " + k.KID + " is already registered"}, by)
	}
	if err != nil {
		return ClientKey{}, fmt.Errorf("oidcop: add client key: %w", err)
	}
	return k, nil
}

// ErrNoKey is a client key that is not registered.
var ErrNoKey = errors.New("oidcop: no such client key")

// DisableClientKey disables one key of a client; assertions signed with it
// are refused from then on.
func (p *Provider) DisableClientKey(ctx context.Context, clientID, kid, by string) error {
	defer p.clientCache.invalidate()
	return p.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, qDisableClientKey, ms(p.now()), clientID, kid)
		if err != nil {
			return fmt.Errorf("oidcop: disable client key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var one int
			if err := tx.QueryRowContext(ctx, qClientKeyExists, clientID, kid).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: %s of %s", ErrNoKey, kid, clientID)
			}
			return nil
		}
		return p.audit(ctx, tx, clientID, "", "client-key-disable", "OK", kid+" "+byReason(by))
	})
}
