package dp_test

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/dp"
	"github.com/octomil/secagg/internal/simdtest"
	"github.com/octomil/secagg/simd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exactNormSquared sums the squares of x without rounding.
func exactNormSquared(x []float32) *big.Float {
	s := new(big.Float).SetPrec(4096)
	for _, v := range x {
		f := new(big.Float).SetPrec(4096).SetFloat64(float64(v))
		s.Add(s, f.Mul(f, f))
	}
	return s
}

// TestClipNeverExceeds clips vectors of many sizes, scales and bounds, on every path,
// and checks the exact norm of the result against the bound.
func TestClipNeverExceeds(t *testing.T) {
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		rng := rand.New(rand.NewPCG(70, 71))
		for _, d := range []int{1, 2, 31, 32, 33, 1000, 100_003} {
			for _, scale := range []float64{1e-20, 1e-3, 1, 1e3, 1e30} {
				for _, c := range []float64{1e-10, 0.1, 1, 7.5, 1e6} {
					x := make([]float32, d)
					for i := range x {
						x[i] = float32(rng.NormFloat64() * scale)
					}
					before := dp.Norm(x)
					norm, err := dp.Clip(x, c)
					require.NoError(t, err)
					assert.Equal(t, before, norm)
					bound := new(big.Float).SetPrec(4096).SetFloat64(c)
					bound.Mul(bound, bound)
					if exactNormSquared(x).Cmp(bound) > 0 {
						t.Fatalf("%s d=%d scale=%v c=%v: clipped norm %v exceeds the bound", p, d, scale, c, dp.Norm(x))
					}
					if before > c {
						// Clipping lands just under the bound, not far below it.
						assert.InEpsilon(t, c, dp.Norm(x), 1e-6)
					}
				}
			}
		}
	})
}

func TestClipLeavesSmallVectorsAlone(t *testing.T) {
	x := []float32{3, 4}
	norm, err := dp.Clip(x, 5.1)
	require.NoError(t, err)
	assert.Equal(t, 5.0, norm)
	assert.Equal(t, []float32{3, 4}, x)
	assert.Equal(t, 1.0, dp.ClipFactor(x, 5, 5.1))
	y := []float32{6, 8}
	assert.Less(t, dp.ClipFactor(y, 10, 5), 0.5)
	assert.InEpsilon(t, 0.5, dp.ClipFactor(y, 10, 5), 1e-6)
}

// An update exactly at the bound is left as it is (Flower, Opacus and TFF do the same;
// [3, 4] with C = 5 used to come back as [2.9999993, 3.999999]); one a hair above it is
// clipped, and ends within it. The tie is decided on the exact sum of squares.
func TestClipAtTheBound(t *testing.T) {
	ones := make([]float32, 1<<20) // norm exactly 1024
	for i := range ones {
		ones[i] = 1
	}
	tiny := []float32{0x1p-149, 0x1p-149, 0x1p-149, 0x1p-149} // norm 2^-148, all subnormal
	for _, c := range []struct {
		x []float32
		c float64
	}{{[]float32{3, 4}, 5}, {ones, 1024}, {tiny, 0x1p-148}, {[]float32{0, -3e38}, float64(float32(3e38))}} {
		x := append([]float32(nil), c.x...)
		_, err := dp.Clip(x, c.c)
		require.NoError(t, err)
		assert.Equal(t, c.x, x, "norm exactly %v", c.c)
	}
	// One ulp more in a coordinate: the exact norm exceeds C, so it is clipped.
	x := append([]float32(nil), ones...)
	x[7] = math.Nextafter32(1, 2)
	_, err := dp.Clip(x, 1024)
	require.NoError(t, err)
	assert.NotEqual(t, ones, x)
	var exact float64
	for _, v := range x {
		exact += float64(v) * float64(v) // integers and halves: exact here
	}
	assert.LessOrEqual(t, exact, 1024.0*1024)
	// And one ulp less in C.
	y := []float32{3, 4}
	_, err = dp.Clip(y, math.Nextafter(5, 0))
	require.NoError(t, err)
	assert.NotEqual(t, []float32{3, 4}, y)
}

func TestClipErrors(t *testing.T) {
	x := []float32{1, float32(math.Inf(1))}
	_, err := dp.Clip(x, 1)
	assert.ErrorIs(t, err, secagg.ErrValidation)
	assert.Equal(t, float32(1), x[0], "a rejected clip leaves the vector alone")
	_, err = dp.Clip([]float32{1}, 0)
	assert.ErrorIs(t, err, secagg.ErrValidation)
	_, err = dp.Clip([]float32{1}, math.NaN())
	assert.ErrorIs(t, err, secagg.ErrValidation)
}

// The norm is the same bits on every path.
func TestNormBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(72, 73))
	x := make([]float32, 12345)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	var want float64
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		got := dp.Norm(x)
		if want == 0 {
			want = got
		}
		require.Equal(t, math.Float64bits(want), math.Float64bits(got), p)
	})
}

// ExactSquares summed in parts and merged in any order decides a norm against a bound as
// the exact sum does, at the bound and one ulp of it either side; ClipFactorOf, given a
// norm summed in another order, asks for it only at the bound and agrees with ClipFactor.
func TestExactSquaresMergedByParts(t *testing.T) {
	rng := rand.New(rand.NewPCG(74, 75))
	for _, x := range [][]float32{
		{3, 4},
		{0x1p-149, 0x1p-149, 0x1p-149, 0x1p-149},
		{0, -3e38, 1e-30, 7},
		append(make([]float32, 1000), 1e-40, 1, 2.5, -1e20),
	} {
		exact := exactNormSquared(x)
		for _, c := range []float64{0, 1, -1} {
			// c² just at, above or below the exact sum (as a float64: the sum rounded
			// once, then one float64 either side).
			root, _ := new(big.Float).SetPrec(4096).Sqrt(exact).Float64()
			bound := root
			if c > 0 {
				bound = math.Nextafter(root, math.Inf(1))
			} else if c < 0 {
				bound = math.Nextafter(root, 0)
			}
			b := new(big.Float).SetPrec(4096).SetFloat64(bound)
			want := exact.Cmp(b.Mul(b, b)) <= 0

			parts := make([]dp.ExactSquares, 3)
			for _, v := range x {
				parts[rng.IntN(len(parts))].Add([]float32{v})
			}
			var merged dp.ExactSquares
			for _, i := range rng.Perm(len(parts)) {
				merged.Merge(&parts[i])
			}
			assert.Equal(t, want, merged.AtMost(bound), "x of %d, bound %v", len(x), bound)

			asked := false
			norm := dp.Norm(x)
			f, err := dp.ClipFactorOf(norm, bound, len(x), func() (bool, error) { asked = true; return merged.AtMost(bound), nil })
			require.NoError(t, err)
			assert.Equal(t, dp.ClipFactor(x, norm, bound), f, "x of %d, bound %v", len(x), bound)
			assert.True(t, asked, "a norm within rounding of the bound is decided exactly")
		}
	}
	asked := false
	f, err := dp.ClipFactorOf(1, 2, 10, func() (bool, error) { asked = true; return false, nil })
	assert.NoError(t, err)
	assert.Equal(t, 1.0, f)
	assert.False(t, asked, "a norm far within the bound needs no exact sum")
	_, err = dp.ClipFactorOf(2, 2, 10, func() (bool, error) { return false, secagg.ErrBadRequest })
	assert.ErrorIs(t, err, secagg.ErrBadRequest)
}
