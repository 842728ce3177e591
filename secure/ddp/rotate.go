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

// rotate sets y (of length D, a power of two) to H·S·x/sqrt(D), x padded with zeros:
// S the signs, H the Walsh-Hadamard matrix. It keeps the norm (H/sqrt(D) is orthogonal)
// and spreads every coordinate's mass over all of them.
func rotate(y []float32, x []float32, s []byte) {
	c := float32(1 / math.Sqrt(float64(len(y))))
	fwhtFused(y, func(lo, hi int) {
		end := max(lo, min(hi, len(x))) // x's values in [lo, hi) end here; the padding follows
		if lo < end {
			simd.ScaleFlip(y[lo:end], x[lo:end], 1, s[lo/8:])
		}
		clear(y[end:hi])
	}, func(lo, hi int) { simd.Scale(y[lo:hi], c) })
}

// unrotate is rotate's inverse, S·H·y/sqrt(D) (H is symmetric and H·H = D·I), times
// factor (1 undoes rotate; Decode folds its division in), written into dst: the first
// len(dst) coordinates, dst y's own prefix or another slice. y is transformed in place;
// fill, if not nil, writes each piece of y first (Decode's centring).
// Negating after the product is negating the factor: rounding is symmetric in the sign.
func unrotate(dst, y []float32, s []byte, factor float64, fill func(lo, hi int)) {
	if fill == nil {
		fill = func(int, int) {}
	}
	c := float32(factor / math.Sqrt(float64(len(y))))
	fwhtFused(y, fill, func(lo, hi int) {
		if end := min(hi, len(dst)); lo < end {
			simd.ScaleFlip(dst[lo:end], y[lo:end], c, s[lo/8:])
		}
	})
}

// fwhtFused is simd.FWHT on every core, bit for bit, with the pass before it and the
// pass after it fused in, so that the values cross memory twice rather than four times:
// fill(lo, hi) writes y[lo:hi], one of FWHT's pieces, just before the piece is
// transformed in L1; finish(lo, hi) takes y[lo:hi] as soon as its values are final, a
// strip of one piece's columns while the strips across the pieces are in L2. FWHT is the
// pieces transformed apart, then ranges of columns across them, so the order changes
// nothing.
func fwhtFused(y []float32, fill, finish func(lo, hi int)) {
	n := len(y)
	workers := parallel.Workers()
	piece := min(n, simd.HadamardPiece)
	parallel.Ranges(workers, n, piece, func(_, lo, hi int) {
		fill(lo, hi)
		simd.FWHT(y[lo:hi])
	})
	if n <= piece {
		finish(0, n)
		return
	}
	parallel.Ranges(workers, piece, acrossChunk, func(_, lo, hi int) {
		simd.FWHTAcross(y, lo, hi)
		for p := 0; p < n; p += piece {
			finish(p+lo, p+hi)
		}
	})
}

// acrossChunk is how many columns of the pieces one worker takes through
// simd.FWHTAcross and then finishes: 1 KiB of each piece, FWHTAcross's own strip, so
// that at 2^20 values the strips of all 128 pieces (128 KiB) are still in L2.
const acrossChunk = 256
