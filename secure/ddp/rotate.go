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

// signBit is coordinate i's sign flip as a float32's sign bit: 1<<31 where it is negated.
func signBit(s []byte, i int) uint32 { return uint32(s[i>>3]>>(i&7)&1) << 31 }

// rotateChunk is how many coordinates one worker flips and scales at a time.
const rotateChunk = 1 << 15

// rotate sets y (of length D, a power of two) to H·S·x/sqrt(D), x padded with zeros:
// S the signs, H the Walsh-Hadamard matrix. It keeps the norm (H/sqrt(D) is orthogonal)
// and spreads every coordinate's mass over all of them.
func rotate(y []float32, x []float32, s []byte) {
	parallel.Ranges(parallel.Workers(), len(y), rotateChunk, func(_, lo, hi int) {
		end := max(lo, min(hi, len(x))) // x's values in [lo, hi) end here; the padding follows
		for i := lo; i < end; i++ {
			y[i] = math.Float32frombits(math.Float32bits(x[i]) ^ signBit(s, i))
		}
		clear(y[end:hi])
	})
	fwht(y)
	simd.Scale(y, float32(1/math.Sqrt(float64(len(y)))))
}

// unrotate is rotate's inverse, S·H·y/sqrt(D) (H is symmetric and H·H = D·I), times
// factor (1 undoes rotate; Decode folds its division in), written into dst: the first
// len(dst) coordinates, dst y's own prefix or another slice. y is transformed in place.
// Negating after the product is negating the factor: rounding is symmetric in the sign.
func unrotate(dst, y []float32, s []byte, factor float64) {
	fwht(y)
	c := float32(factor / math.Sqrt(float64(len(y))))
	parallel.Ranges(parallel.Workers(), len(dst), rotateChunk, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			dst[i] = math.Float32frombits(math.Float32bits(y[i]*c) ^ signBit(s, i))
		}
	})
}

// acrossChunk is how many columns of the pieces one worker takes through
// simd.FWHTAcross at a time.
const acrossChunk = 1 << 10

// fwht is simd.FWHT on every core, bit for bit: the pieces transformed apart, then
// ranges of columns across them.
func fwht(y []float32) {
	workers := parallel.Workers()
	if workers == 1 || len(y) <= simd.HadamardPiece {
		simd.FWHT(y)
		return
	}
	parallel.Ranges(workers, len(y), simd.HadamardPiece, func(_, lo, hi int) { simd.FWHT(y[lo:hi]) })
	parallel.Ranges(workers, simd.HadamardPiece, acrossChunk, func(_, lo, hi int) { simd.FWHTAcross(y, lo, hi) })
}
