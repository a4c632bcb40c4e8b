package sealedbid

import (
	"errors"
	"fmt"
	"io"
)

// Shamir's secret sharing (Shamir, "How to share a secret", CACM 22(11),
// 1979) over GF(2^8) with the AES polynomial x^8+x^4+x^3+x+1, one
// polynomial per byte of the secret. Written here rather than imported:
// the Go proxy list has no small maintained module for it, and the one
// well-kept implementation (hashicorp/vault/shamir) comes in Vault's huge
// module. The arithmetic is branch-free on secret values (no log tables),
// so timing does not depend on the key bytes.

// gfMul multiplies in GF(2^8) without branches on the operands.
func gfMul(a, b byte) byte {
	var p byte
	for range 8 {
		p ^= a & -(b & 1) // add a when b's low bit is set
		hi := a >> 7
		a = a<<1 ^ 0x1b&-hi // reduce by the AES polynomial when a overflowed
		b >>= 1
	}
	return p
}

// gfInv is a^254 = a^-1 (0 for 0), by square-and-multiply with a fixed
// sequence of operations.
func gfInv(a byte) byte {
	a2 := gfMul(a, a)
	r := a2
	for range 6 { // r = a^(2+4+…+128) = a^254
		a2 = gfMul(a2, a2)
		r = gfMul(r, a2)
	}
	return r
}

// share is one point of the polynomials: x in 1..255 and y per byte.
type share struct {
	x byte
	y []byte
}

var errShamir = errors.New("sealedbid: bad sharing parameters")

// split shares secret k-of-n: any k shares rebuild it, k-1 tell nothing.
func split(rand io.Reader, secret []byte, k, n int) ([]share, error) {
	if k < 2 || n < k || n > 255 || len(secret) == 0 {
		return nil, fmt.Errorf("%w: k=%d n=%d", errShamir, k, n)
	}
	shares := make([]share, n)
	for i := range shares {
		shares[i] = share{x: byte(i + 1), y: make([]byte, len(secret))}
	}
	coef := make([]byte, k) // coef[0] is the secret byte
	defer clear(coef)
	for j, s := range secret {
		coef[0] = s
		if _, err := io.ReadFull(rand, coef[1:]); err != nil {
			return nil, fmt.Errorf("sealedbid: randomness: %w", err)
		}
		for i := range shares {
			x := shares[i].x
			var y byte // Horner
			for c := k - 1; c >= 0; c-- {
				y = gfMul(y, x) ^ coef[c]
			}
			shares[i].y[j] = y
		}
	}
	return shares, nil
}

// combine rebuilds the secret from k shares (Lagrange at x = 0). It cannot
// tell a wrong share from a right one: the caller checks the result.
func combine(shares []share) ([]byte, error) {
	if len(shares) < 2 {
		return nil, fmt.Errorf("%w: %d shares", errShamir, len(shares))
	}
	n := len(shares[0].y)
	seen := map[byte]bool{}
	for _, s := range shares {
		if s.x == 0 || seen[s.x] || len(s.y) != n {
			return nil, fmt.Errorf("%w: duplicate or malformed share", errShamir)
		}
		seen[s.x] = true
	}
	secret := make([]byte, n)
	for i, si := range shares {
		// l_i(0) = Π_{j≠i} x_j / (x_j - x_i); minus is xor in GF(2^8).
		l := byte(1)
		for j, sj := range shares {
			if i != j {
				l = gfMul(l, gfMul(sj.x, gfInv(sj.x^si.x)))
			}
		}
		for b := range secret {
			secret[b] ^= gfMul(l, si.y[b])
		}
	}
	return secret, nil
}
