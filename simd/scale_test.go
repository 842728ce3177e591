package simd_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/octomil/secagg/internal/simdtest"
	"github.com/octomil/secagg/simd"
)

// TestScaleFlip checks ScaleFlip on every path against its definition (the product,
// negated where the sign's bit is set) bit for bit, at every length to 257 and across
// the wrappers' pieces, at four alignments, in place and not, with canaries around dst.
func TestScaleFlip(t *testing.T) {
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		rng := rand.New(rand.NewPCG(12, 13))
		for _, n := range lengths() {
			for off := range 4 {
				x := values(rng, n)
				signs := make([]byte, (n+7)/8)
				for i := range signs {
					signs[i] = byte(rng.Uint32())
				}
				a := float32(rng.NormFloat64())
				want := make([]float32, n)
				for i, v := range x {
					want[i] = v * a
					if signs[i/8]&(1<<(i%8)) != 0 {
						want[i] = -want[i]
					}
				}
				buf, got := guarded32(n, off)
				simd.ScaleFlip(got, x, a, signs)
				checkGuards32(t, buf, n, off)
				if !same32(got, want) {
					t.Fatalf("%s n=%d off=%d: ScaleFlip differs from its definition", p, n, off)
				}
				simd.ScaleFlip(x, x, a, signs)
				if !same32(x, want) {
					t.Fatalf("%s n=%d: ScaleFlip in place differs", p, n)
				}
			}
		}
	})
}

// TestDequantize checks Dequantize on every path against its definition written in
// int64 (the low bits, less 2^bits where the top one is set, times scale in float64,
// rounded once) bit for bit, at every width, with words of every pattern (the extremes
// of each width included), scales that round and ones that overflow float32, and
// canaries around dst.
func TestDequantize(t *testing.T) {
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		rng := rand.New(rand.NewPCG(14, 15))
		for _, bits := range []int{1, 2, 12, 16, 20, 31, 32} {
			for _, n := range []int{0, 1, 31, 32, 33, 100, 257, 1<<16 + 37} {
				words := make([]uint32, n+rng.IntN(3))
				for i := range words {
					switch rng.IntN(4) {
					case 0:
						words[i] = uint32(1) << (bits - 1) // the most negative
					case 1:
						words[i] = uint32(1)<<(bits-1) - 1 // the most positive
					default:
						words[i] = rng.Uint32()
					}
				}
				for _, scale := range []float64{1, 1 / 3.0, rng.NormFloat64() * 1e-5, 1e35} {
					want := make([]float32, n)
					for i := range want {
						v := int64(words[i]) & (1<<bits - 1)
						if v >= 1<<(bits-1) {
							v -= 1 << bits
						}
						want[i] = float32(float64(v) * scale)
					}
					off := n % 4
					buf, got := guarded32(n, off)
					simd.Dequantize(got, words, bits, scale)
					checkGuards32(t, buf, n, off)
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s bits=%d n=%d scale=%v: value %d (word %#x) is %v, want %v", p, bits, n, scale, i, words[i], got[i], want[i])
						}
					}
				}
			}
		}
	})
}
