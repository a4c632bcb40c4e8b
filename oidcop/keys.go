package oidcop

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"database/sql"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mynaplat/mynaplat/internal/keydir"
	"github.com/mynaplat/mynaplat/store"
)

// SigningKeyInfo is one provider signing key as oidc_keys records it: the
// public half and its schedule (§4.4).
type SigningKeyInfo struct {
	KID       string
	Alg       jose.SignatureAlgorithm
	Public    jose.JSONWebKey
	SignerRef string
	CreatedAt time.Time
	// SignsFrom is when it starts signing: PublishLead after it was made
	// (at once for the very first key, which nobody can have cached).
	SignsFrom time.Time
	// RetiredAt is when it stopped (or stops) signing, zero while no newer
	// key is due.
	RetiredAt time.Time
}

// keyRing is the provider's signing keys: the schedule in oidc_keys, the
// private keys as files of internal/keydir in dir.
type keyRing struct {
	db       *store.DB
	dir      string
	alg      jose.SignatureAlgorithm
	now      func() time.Time
	lead     time.Duration
	rotation time.Duration
	// keep is how long a key stays listed after it stopped signing: the
	// longest lifetime of what it signed.
	keep time.Duration
	// signers are the loaded private keys, by kid.
	signers sync.Map
	// ttl bounds how long a read of the schedule is used again (the
	// client cache's bound, Config.ClientCacheTTL): every token signed
	// and every access token checked needs it. This ring's own changes
	// drop it at once; another instance's new key is listed lead before
	// it signs, so the cache is only used while lead is longer than ttl.
	ttl    time.Duration
	cache  sync.Mutex
	cached []SigningKeyInfo
	readAt time.Time
	gen    uint64
}

// all is every key in oidc_keys, oldest signs_from first: a read at most
// ttl old (see keyRing.ttl), each caller its own copy.
func (k *keyRing) all(ctx context.Context) ([]SigningKeyInfo, error) {
	if k.ttl <= 0 || k.lead <= k.ttl {
		return k.read(ctx)
	}
	now := k.now()
	k.cache.Lock()
	if k.cached != nil && !now.Before(k.readAt) && now.Sub(k.readAt) < k.ttl {
		keys := slices.Clone(k.cached)
		k.cache.Unlock()
		return keys, nil
	}
	gen := k.gen
	k.cache.Unlock()
	keys, err := k.read(ctx)
	if err != nil {
		return nil, err
	}
	k.cache.Lock()
	if gen == k.gen { // no change of this ring's since the read began
		k.cached, k.readAt = slices.Clone(keys), now
	}
	k.cache.Unlock()
	return keys, nil
}

// changed drops the cached schedule: this ring wrote to it.
func (k *keyRing) changed() {
	k.cache.Lock()
	k.cached = nil
	k.gen++
	k.cache.Unlock()
}

// all reads the schedule.
// read is every key in oidc_keys, from the database.
func (k *keyRing) read(ctx context.Context) ([]SigningKeyInfo, error) {
	rows, err := k.db.QueryPrepared(ctx, qSelectKeys)
	if err != nil {
		return nil, fmt.Errorf("oidcop: signing keys: %w", err)
	}
	defer rows.Close()
	var out []SigningKeyInfo
	for rows.Next() {
		var i SigningKeyInfo
		var alg, jwk string
		var created, from, retired int64
		if err := rows.Scan(&i.KID, &alg, &jwk, &i.SignerRef, &created, &from, &retired); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(jwk), &i.Public); err != nil {
			return nil, fmt.Errorf("oidcop: key %s: %w", i.KID, err)
		}
		i.Alg, i.CreatedAt, i.SignsFrom = jose.SignatureAlgorithm(alg), time.UnixMilli(created), time.UnixMilli(from)
		if retired != 0 {
			i.RetiredAt = time.UnixMilli(retired)
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// signing is the key that signs at now: the newest whose time has come.
func signing(keys []SigningKeyInfo, now time.Time) (SigningKeyInfo, bool) {
	var best SigningKeyInfo
	found := false
	for _, i := range keys {
		if !i.SignsFrom.After(now) && (i.RetiredAt.IsZero() || i.RetiredAt.After(now)) {
			if !found || i.SignsFrom.After(best.SignsFrom) {
				best, found = i, true
			}
		}
	}
	return best, found
}

// listed are the keys the JWKS shows at now: each from its creation (the
// publish lead) until keep after it stopped signing.
func (k *keyRing) listed(keys []SigningKeyInfo, now time.Time) []SigningKeyInfo {
	var out []SigningKeyInfo
	for _, i := range keys {
		if i.RetiredAt.IsZero() || now.Before(i.RetiredAt.Add(k.keep)) {
			out = append(out, i)
		}
	}
	return out
}

// Signing is the key that signs now, with its signer. It is an error when
// there is none (EnsureKeys makes the first).
func (k *keyRing) Signing(ctx context.Context) (SigningKeyInfo, crypto.Signer, error) {
	keys, err := k.all(ctx)
	if err != nil {
		return SigningKeyInfo{}, nil, err
	}
	i, ok := signing(keys, k.now())
	if !ok {
		return SigningKeyInfo{}, nil, errors.New("oidcop: no signing key yet")
	}
	s, err := k.signer(i)
	return i, s, err
}

// signer loads a key's private half, once.
func (k *keyRing) signer(i SigningKeyInfo) (crypto.Signer, error) {
	if s, ok := k.signers.Load(i.KID); ok {
		return s.(crypto.Signer), nil
	}
	name, ok := strings.CutPrefix(i.SignerRef, "file:")
	if !ok || strings.ContainsAny(name, `/\`) {
		return nil, fmt.Errorf("oidcop: key %s: unsupported signer %q", i.KID, i.SignerRef)
	}
	alg := keydir.ECDSA
	if i.Alg == jose.RS256 {
		alg = keydir.RSA
	}
	s, err := keydir.ReadKey(filepath.Join(k.dir, name), alg)
	if err != nil {
		return nil, fmt.Errorf("oidcop: key %s: %w", i.KID, err)
	}
	k.signers.Store(i.KID, s)
	return s, nil
}

// Ensure makes the first key when there is none, and the next one when the
// signing key has signed for rotation less the publish lead (so that the
// new one is listed lead before it signs). It reports whether it made one.
func (k *keyRing) Ensure(ctx context.Context) (bool, error) {
	keys, err := k.all(ctx)
	if err != nil {
		return false, err
	}
	if due, _ := k.due(keys, k.now()); !due {
		return false, nil
	}
	return k.add(ctx, false)
}

// due reports whether a new key is needed at now, and whether it may sign
// at once (there is no key at all).
func (k *keyRing) due(keys []SigningKeyInfo, now time.Time) (due, first bool) {
	if len(keys) == 0 {
		return true, true
	}
	if k.rotation == 0 {
		return false, false
	}
	newest := keys[0]
	for _, i := range keys {
		if i.SignsFrom.After(newest.SignsFrom) {
			newest = i
		}
	}
	return !now.Before(newest.SignsFrom.Add(k.rotation - k.lead)), false
}

// Rotate makes a new key that is listed now and signs PublishLead from now;
// the key signing now stops then.
func (k *keyRing) Rotate(ctx context.Context) (SigningKeyInfo, error) {
	if _, err := k.add(ctx, true); err != nil {
		return SigningKeyInfo{}, err
	}
	keys, err := k.all(ctx)
	if err != nil {
		return SigningKeyInfo{}, err
	}
	newest := keys[len(keys)-1]
	return newest, nil
}

// add makes a key, writes its file and records it, unless (force false)
// another instance made the key that was due meanwhile.
func (k *keyRing) add(ctx context.Context, force bool) (bool, error) {
	alg := keydir.ECDSA
	if k.alg == jose.RS256 {
		alg = keydir.RSA
	}
	key, err := keydir.NewKey(alg)
	if err != nil {
		return false, err
	}
	pub := jose.JSONWebKey{Key: key.Public(), Algorithm: string(k.alg), Use: "sig"}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return false, err
	}
	pub.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	jwk, err := json.Marshal(pub)
	if err != nil {
		return false, err
	}
	file := pub.KeyID + ".key"
	path := filepath.Join(k.dir, file)
	// The file comes first: a row without its file would be a key every
	// instance lists and none can sign with.
	if err := keydir.Lock(k.dir, func() error { return keydir.WriteKey(path, key) }); err != nil {
		return false, fmt.Errorf("oidcop: write key: %w", err)
	}
	made := false
	defer k.changed()
	err = k.db.Tx(ctx, func(tx *sql.Tx) error {
		made = false
		keys, err := keysTx(ctx, tx)
		if err != nil {
			return err
		}
		now := k.now()
		due, first := k.due(keys, now)
		if !force && !due {
			return nil
		}
		from := now.Add(k.lead)
		if first || len(keys) == 0 {
			from = now
		}
		if _, err := tx.ExecContext(ctx, qInsertKey, pub.KeyID, string(k.alg), string(jwk), "file:"+file, ms(now), ms(from)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, qRetireKeys, ms(from), pub.KeyID); err != nil {
			return err
		}
		made = true
		return nil
	})
	if err != nil || !made {
		os.Remove(path)
	}
	if err != nil {
		return false, fmt.Errorf("oidcop: add signing key: %w", err)
	}
	if made {
		k.signers.Store(pub.KeyID, key)
	}
	return made, nil
}

// keysTx is all inside a transaction (only what due needs).
func keysTx(ctx context.Context, tx *sql.Tx) ([]SigningKeyInfo, error) {
	rows, err := tx.QueryContext(ctx, `SELECT kid, signs_from FROM oidc_keys ORDER BY signs_from, kid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SigningKeyInfo
	for rows.Next() {
		var i SigningKeyInfo
		var from int64
		if err := rows.Scan(&i.KID, &from); err != nil {
			return nil, err
		}
		i.SignsFrom = time.UnixMilli(from)
		out = append(out, i)
	}
	return out, rows.Err()
}

// Prune deletes the keys no longer listed, with their files.
func (k *keyRing) Prune(ctx context.Context) error {
	keys, err := k.all(ctx)
	if err != nil {
		return err
	}
	now := k.now()
	for _, i := range keys {
		if i.RetiredAt.IsZero() || now.Before(i.RetiredAt.Add(k.keep)) {
			continue
		}
		k.changed()
		if _, err := k.db.Write(ctx, qDeleteKey, i.KID); err != nil {
			return fmt.Errorf("oidcop: prune key %s: %w", i.KID, err)
		}
		k.signers.Delete(i.KID)
		if name, ok := strings.CutPrefix(i.SignerRef, "file:"); ok && !strings.ContainsAny(name, `/\`) {
			os.Remove(filepath.Join(k.dir, name))
		}
	}
	return nil
}

// EnsureKeys makes the first signing key, or the next when rotation is due,
// and drops the keys past their listing. Run it at start and then every
// minute or so; several instances may run it at once.
func (p *Provider) EnsureKeys(ctx context.Context) error {
	if _, err := p.keys.Ensure(ctx); err != nil {
		return err
	}
	return p.keys.Prune(ctx)
}

// RotateKeys makes a new signing key at once (mynaplat oidc keys rotate):
// listed now, signing after the publish lead.
func (p *Provider) RotateKeys(ctx context.Context) (SigningKeyInfo, error) { return p.keys.Rotate(ctx) }

// SigningKeys is the schedule, oldest first.
func (p *Provider) SigningKeys(ctx context.Context) ([]SigningKeyInfo, error) { return p.keys.all(ctx) }

// KeyState says where a key stands at now: "lead" (listed, not yet
// signing), "signing", "listed" (stopped, still listed) or "dropped".
func (p *Provider) KeyState(i SigningKeyInfo, now time.Time) string {
	switch {
	case now.Before(i.SignsFrom):
		return "lead"
	case i.RetiredAt.IsZero() || now.Before(i.RetiredAt):
		return "signing"
	case now.Before(i.RetiredAt.Add(p.keys.keep)):
		return "listed"
	}
	return "dropped"
}

// OpaqueSigner makes any crypto.Signer a go-jose OpaqueSigner, so that a
// key never leaves its Signer (a file today, a PKCS #11 object later). For
// ES256 it turns the signer's ASN.1 signature into JWS's R‖S (RFC 7518
// §3.4).
func OpaqueSigner(s crypto.Signer, kid string, alg jose.SignatureAlgorithm) jose.OpaqueSigner {
	return opaqueSigner{s: s, kid: kid, alg: alg}
}

type opaqueSigner struct {
	s   crypto.Signer
	kid string
	alg jose.SignatureAlgorithm
}

func (o opaqueSigner) Public() *jose.JSONWebKey {
	return &jose.JSONWebKey{Key: o.s.Public(), KeyID: o.kid, Algorithm: string(o.alg), Use: "sig"}
}

func (o opaqueSigner) Algs() []jose.SignatureAlgorithm { return []jose.SignatureAlgorithm{o.alg} }

func (o opaqueSigner) SignPayload(payload []byte, alg jose.SignatureAlgorithm) ([]byte, error) {
	if alg != o.alg {
		return nil, fmt.Errorf("oidcop: key %s signs %s, not %s", o.kid, o.alg, alg)
	}
	h := sha256.Sum256(payload)
	switch alg {
	case jose.RS256:
		if _, ok := o.s.Public().(*rsa.PublicKey); !ok {
			return nil, fmt.Errorf("oidcop: key %s is not RSA", o.kid)
		}
		return o.s.Sign(rand.Reader, h[:], crypto.SHA256)
	case jose.ES256:
		if _, ok := o.s.Public().(*ecdsa.PublicKey); !ok {
			return nil, fmt.Errorf("oidcop: key %s is not ECDSA", o.kid)
		}
		der, err := o.s.Sign(rand.Reader, h[:], crypto.SHA256)
		if err != nil {
			return nil, err
		}
		var sig struct{ R, S *big.Int }
		if rest, err := asn1.Unmarshal(der, &sig); err != nil || len(rest) != 0 {
			return nil, fmt.Errorf("oidcop: key %s: an ECDSA signature that is not ASN.1", o.kid)
		}
		out := make([]byte, 64)
		sig.R.FillBytes(out[:32])
		sig.S.FillBytes(out[32:])
		return out, nil
	}
	return nil, fmt.Errorf("oidcop: algorithm %s", alg)
}
