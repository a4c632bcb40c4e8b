package sealedbid

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"io"

	"golang.org/x/crypto/argon2"
)

// KDFParams are the Argon2id parameters (RFC 9106) that turn an officer's
// passphrase into the key sealing the share.
type KDFParams struct {
	Time    uint32 // passes
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultKDF is RFC 9106 §4's second recommended option (t=3, 64 MiB,
// p=4), for machines where 2 GiB per guess is too much: about 0.1–0.2 s
// per derivation here, paid n times when the key is split and k times at
// the opening, while every offline guess at a stolen share costs 64 MiB
// and three passes. The parameters are stored in each share, so they can
// be raised later without breaking the shares already sealed.
func DefaultKDF() KDFParams { return KDFParams{Time: 3, Memory: 64 * 1024, Threads: 4} }

// Limits of Parse, so that a forged share cannot make Open spend unbounded
// memory or time in Argon2id.
const (
	maxKDFTime    = 16
	maxKDFMemory  = 1 << 20 // 1 GiB
	maxOfficerID  = 256
	maxSealedSize = 16 << 10
)

// SealedShare is one officer's share of the opening key, sealed under the
// officer's passphrase. Everything but Sealed is readable by anyone, and
// all of it is bound into the seal as associated data.
type SealedShare struct {
	Officer     string   // the officer's ID
	Threshold   uint8    // k: how many shares open
	X           uint8    // the share's point, 1..n
	Fingerprint [32]byte // SHA-256 of the opening certificate (DER)
	KDF         KDFParams
	Salt        [16]byte
	Nonce       [12]byte
	// Check is derived from the passphrase beside the sealing key, so a
	// wrong passphrase is told apart from a changed share. It gives an
	// attacker nothing the seal itself does not: both need the Argon2id
	// work per guess.
	Check  [32]byte
	Sealed []byte // AES-256-GCM of the share's y bytes
}

// The byte form, version 1 (all integers big-endian):
//
//	"MYNA-SBS" | 0x01 | k u8 | x u8 | fingerprint [32] | t u32 | m u32 | p u8
//	| len(officer) u16 | officer | salt [16] | nonce [12] | check [32]
//	| len(sealed) u32 | sealed
const magic = "MYNA-SBS\x01"

// Marshal returns the share's stable byte form.
func (s *SealedShare) Marshal() []byte {
	var b bytes.Buffer
	b.Write(s.header())
	b.Write(s.Salt[:])
	b.Write(s.Nonce[:])
	b.Write(s.Check[:])
	binary.Write(&b, binary.BigEndian, uint32(len(s.Sealed))) //nolint:errcheck // bytes.Buffer
	b.Write(s.Sealed)
	return b.Bytes()
}

// header is the part that also serves as associated data.
func (s *SealedShare) header() []byte {
	var b bytes.Buffer
	b.WriteString(magic)
	b.WriteByte(s.Threshold)
	b.WriteByte(s.X)
	b.Write(s.Fingerprint[:])
	binary.Write(&b, binary.BigEndian, s.KDF.Time)   //nolint:errcheck // bytes.Buffer
	binary.Write(&b, binary.BigEndian, s.KDF.Memory) //nolint:errcheck // bytes.Buffer
	b.WriteByte(s.KDF.Threads)
	binary.Write(&b, binary.BigEndian, uint16(len(s.Officer))) //nolint:errcheck // bytes.Buffer
	b.WriteString(s.Officer)
	return b.Bytes()
}

// ParseSealedShare reads a share's byte form, strictly: one version, no
// trailing bytes, and bounded KDF parameters and sizes.
func ParseSealedShare(b []byte) (*SealedShare, error) {
	r := bytes.NewReader(b)
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrTamperedShare, what) }
	m := make([]byte, len(magic))
	if _, err := io.ReadFull(r, m); err != nil || string(m) != magic {
		return nil, bad("not a sealed share of version 1")
	}
	var s SealedShare
	var idLen uint16
	var sealedLen uint32
	read := func(v any) error { return binary.Read(r, binary.BigEndian, v) }
	if read(&s.Threshold) != nil || read(&s.X) != nil || read(&s.Fingerprint) != nil ||
		read(&s.KDF.Time) != nil || read(&s.KDF.Memory) != nil || read(&s.KDF.Threads) != nil ||
		read(&idLen) != nil {
		return nil, bad("short header")
	}
	if s.Threshold < 2 || s.X == 0 {
		return nil, bad("threshold or point out of range")
	}
	if s.KDF.Time == 0 || s.KDF.Time > maxKDFTime || s.KDF.Threads == 0 ||
		s.KDF.Memory < 8*uint32(s.KDF.Threads) || s.KDF.Memory > maxKDFMemory {
		return nil, bad("KDF parameters out of range")
	}
	if idLen == 0 || idLen > maxOfficerID || int(idLen) > r.Len() {
		return nil, bad("officer ID length")
	}
	id := make([]byte, idLen)
	if _, err := io.ReadFull(r, id); err != nil {
		return nil, bad("short officer ID")
	}
	s.Officer = string(id)
	if read(&s.Salt) != nil || read(&s.Nonce) != nil || read(&s.Check) != nil || read(&sealedLen) != nil {
		return nil, bad("short seal")
	}
	if sealedLen <= 16 || sealedLen > maxSealedSize || int(sealedLen) != r.Len() {
		return nil, bad("sealed length")
	}
	s.Sealed = make([]byte, sealedLen)
	if _, err := io.ReadFull(r, s.Sealed); err != nil {
		return nil, bad("short sealed share")
	}
	return &s, nil
}

// keys derives the sealing key and the check value from a passphrase.
func (s *SealedShare) keys(passphrase []byte) (key, check []byte) {
	out := argon2.IDKey(passphrase, s.Salt[:], s.KDF.Time, s.KDF.Memory, s.KDF.Threads, 64)
	return out[:32], out[32:]
}

// associatedData binds the seal to the tender (its subject and the
// certificate's fingerprint, which covers the subject too), the officer,
// the point and the parameters: a share moved to another tender or
// officer, or with any header byte changed, does not unseal.
func (s *SealedShare) associatedData(subject string) []byte {
	ad := append([]byte("mynaplat sealedbid share v1\x00"), s.header()...)
	ad = binary.BigEndian.AppendUint16(ad, uint16(len(subject)))
	return append(ad, subject...)
}

// seal fills Salt, Nonce, Check and Sealed for y.
func (s *SealedShare) seal(rand io.Reader, subject string, passphrase, y []byte) error {
	if _, err := io.ReadFull(rand, s.Salt[:]); err != nil {
		return err
	}
	if _, err := io.ReadFull(rand, s.Nonce[:]); err != nil {
		return err
	}
	key, check := s.keys(passphrase)
	defer clear(key)
	copy(s.Check[:], check)
	aead, err := newGCM(key)
	if err != nil {
		return err
	}
	s.Sealed = aead.Seal(nil, s.Nonce[:], y, s.associatedData(subject))
	return nil
}

// unseal returns the share's y bytes.
func (s *SealedShare) unseal(subject string, passphrase []byte) ([]byte, error) {
	key, check := s.keys(passphrase)
	defer clear(key)
	if subtle.ConstantTimeCompare(check, s.Check[:]) != 1 {
		return nil, fmt.Errorf("%w (officer %q)", ErrWrongPassphrase, s.Officer)
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	y, err := aead.Open(nil, s.Nonce[:], s.Sealed, s.associatedData(subject))
	if err != nil {
		return nil, fmt.Errorf("%w (officer %q): the seal does not verify", ErrTamperedShare, s.Officer)
	}
	return y, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
