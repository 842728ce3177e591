package ddp

import (
	"crypto/aes"
	"crypto/cipher"
	"math"

	"github.com/octomil/secagg/internal/parallel"
	"github.com/octomil/secagg/simd"
)

// signs returns the rotation's sign bits: AES-256-CTR's keystream under the round's
// seed, counter block zero first, bit i (byte i/8, least significant bit first) set
// meaning coordinate i is negated.
func signs(seed [32]byte, n int) []byte {
	block, _ := aes.NewCipher(seed[:]) // a 32-byte key: cannot fail
	out := make([]byte, (n+7)/8)
	cipher.NewCTR(block, make([]byte, aes.BlockSize)).XORKeyStream(out, out)
	return out
}

func negated(s []byte, i int) bool { return s[i/8]>>(i%8)&1 == 1 }

// rotate sets y (of length D, a power of two) to H·S·x/sqrt(D), x padded with zeros:
// S the signs, H the Walsh-Hadamard matrix. It keeps the norm (H/sqrt(D) is orthogonal)
// and spreads every coordinate's mass over all of them.
func rotate(y []float32, x []float32, s []byte) {
	parallel.Ranges(parallel.Workers(), len(y), 1<<15, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			v := float32(0)
			if i < len(x) {
				v = x[i]
			}
			if negated(s, i) {
				v = -v
			}
			y[i] = v
		}
	})
	simd.FWHT(y)
	simd.Scale(y, float32(1/math.Sqrt(float64(len(y)))))
}

// unrotate is rotate's inverse, S·H·y/sqrt(D) (H is symmetric and H·H = D·I), in place,
// times factor (1 undoes rotate; Decode folds its division in).
func unrotate(y []float32, s []byte, factor float64) {
	simd.FWHT(y)
	c := float32(factor / math.Sqrt(float64(len(y))))
	parallel.Ranges(parallel.Workers(), len(y), 1<<15, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			if negated(s, i) {
				y[i] *= -c
			} else {
				y[i] *= c
			}
		}
	})
}
