package simd_test

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/octomil/secagg/internal/simdtest"
	"github.com/octomil/secagg/simd"
)

// finiteValues are n ordinary float32 over many magnitudes, ±0 and subnormals among
// them (FWHT's bit identity holds for finite values, the only ones a client rotates).
func finiteValues(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		switch rng.IntN(10) {
		case 0:
			x[i] = []float32{0, float32(math.Copysign(0, -1)), 1e-40, -1e-44, 1, -1}[rng.IntN(6)]
		case 1:
			x[i] = float32(rng.NormFloat64() * 1e20)
		default:
			x[i] = float32(rng.NormFloat64())
		}
	}
	return x
}

// TestFWHTAgainstDefinition: the generic transform against y_i = sum_j (-1)^popcount(i&j)
// x_j in float64, within the bound of log2(n) roundings of partial sums of |x| (each
// stage adds one rounding of at most 2^-24 of a value no larger than sum |x_j|), on
// every length to 512.
func TestFWHTAgainstDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	onGeneric(t, func() {
		for n := 1; n <= 512; n *= 2 {
			for range 20 {
				x := finiteValues(rng, n)
				got := slices.Clone(x)
				simd.FWHT(got)
				var l1 float64
				for _, v := range x {
					l1 += math.Abs(float64(v))
				}
				bound := float64(bits.Len(uint(n))) * 0x1p-24 * l1 * 1.001
				for i := range n {
					var want float64
					for j, v := range x {
						if bits.OnesCount(uint(i&j))%2 == 1 {
							want -= float64(v)
						} else {
							want += float64(v)
						}
					}
					require.LessOrEqual(t, math.Abs(float64(got[i])-want), bound, "n=%d y[%d]", n, i)
				}
			}
		}
	})
}

// TestFWHTInvolution: H·H = n·I, so two transforms and a division by n give x back
// exactly for small integers (every partial sum exact in float32).
func TestFWHTInvolution(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		for _, n := range []int{1, 2, 32, 64, 1 << 13, 1 << 15} {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rng.IntN(200) - 100)
			}
			y := slices.Clone(x)
			simd.FWHT(y)
			simd.FWHT(y)
			simd.Scale(y, 1/float32(n))
			assert.Equal(t, x, y, "%s n=%d", p, n)
		}
	})
}

// TestFWHTBitIdentical: every path's transform, the generic one included, equals the
// definition done stage by stage in float32 (half-width 1, 2, 4, ..., each pair a+b and
// a-b) bit for bit, for every power of two to 2^18 (past the 2^13 pieces whose stages
// are done apart, with one to five stages across them: every grouping of them in
// passes) and every alignment of the start, with canaries around the values.
func TestFWHTBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var inputs, wants [][]float32
	for n := 1; n <= 1<<18; n *= 2 {
		x := finiteValues(rng, n)
		want := slices.Clone(x)
		for h := 1; h < n; h *= 2 {
			for i := 0; i < n; i += 2 * h {
				for j := i; j < i+h; j++ {
					want[j], want[j+h] = want[j]+want[j+h], want[j]-want[j+h]
				}
			}
		}
		inputs, wants = append(inputs, x), append(wants, want)
	}
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		for i, x := range inputs {
			for _, off := range []int{0, 1, 7} {
				buf, got := guarded32(len(x), off)
				copy(got, x)
				simd.FWHT(got)
				checkGuards32(t, buf, len(x), off)
				require.True(t, same32(got, wants[i]), "%s n=%d off=%d", p, len(x), off)
			}
		}
	})
}

// TestFWHTInParts: the pieces transformed one by one, then FWHTAcross over column ranges
// of every width a multiple of 32 taken in a shuffled order (as goroutines would), give
// FWHT's result bit for bit on every path; an x of one piece needs nothing across.
func TestFWHTInParts(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		for _, n := range []int{32, simd.HadamardPiece, 2 * simd.HadamardPiece, 1 << 17} {
			x := finiteValues(rng, n)
			want := slices.Clone(x)
			simd.FWHT(want)
			got := slices.Clone(x)
			piece := min(n, simd.HadamardPiece)
			for _, lo := range rng.Perm(n / piece) {
				simd.FWHT(got[lo*piece : (lo+1)*piece])
			}
			var cuts []int
			for c := 0; c < piece; c += 32 * (1 + rng.IntN(20)) {
				cuts = append(cuts, c)
			}
			cuts = append(cuts, piece)
			for _, i := range rng.Perm(len(cuts) - 1) {
				simd.FWHTAcross(got, cuts[i], cuts[i+1])
			}
			require.True(t, same32(got, want), "%s n=%d", p, n)
		}
	})
}

func TestFWHTAcrossPanics(t *testing.T) {
	x := make([]float32, 4*simd.HadamardPiece)
	for _, c := range [][2]int{{-32, 0}, {0, 16}, {64, 32}, {0, simd.HadamardPiece + 32}} {
		assert.Panics(t, func() { simd.FWHTAcross(x, c[0], c[1]) }, "columns %v", c)
	}
	assert.Panics(t, func() { simd.FWHTAcross(make([]float32, 3*simd.HadamardPiece), 0, 32) })
	assert.NotPanics(t, func() { simd.FWHTAcross(x, 32, 32) })
}

func TestFWHTPanicsOnLength(t *testing.T) {
	for _, n := range []int{0, 3, 48, 1<<10 + 1} {
		assert.Panics(t, func() { simd.FWHT(make([]float32, n)) }, "n=%d", n)
	}
}

// BenchmarkFWHT is the transform of one update, in place; the bytes are its values, so
// MB/s compares with the bus (a transform reads and writes them log2(n)/13 times or so).
func BenchmarkFWHT(b *testing.B) {
	for _, n := range []int{1 << 16, 1 << 20, 1 << 24} {
		b.Run(fmt.Sprintf("n%d", n), func(b *testing.B) {
			x := finiteValues(rand.New(rand.NewPCG(7, 8)), n)
			b.SetBytes(int64(n) * 4)
			for b.Loop() {
				simd.FWHT(x)
				simd.Scale(x, 1/float32(n)) // keep the values in range
			}
		})
	}
}
