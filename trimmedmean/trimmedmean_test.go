package trimmedmean_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
	"github.com/octomil/secagg/internal/simdtest"
	"github.com/octomil/secagg/simd"
	"github.com/octomil/secagg/trimmedmean"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reference is the brute force: sort each coordinate in float64, add the kept values in
// sorted order, multiply by 1/m and round once. It also returns Σ|kept| per coordinate,
// which bounds how far any other summation order can be.
func reference(us [][]float32, k int) (want []float32, magnitude []float64) {
	n, d := len(us), len(us[0])
	want, magnitude = make([]float32, d), make([]float64, d)
	v := make([]float64, n)
	for j := range d {
		for i := range us {
			v[i] = float64(us[i][j])
		}
		slices.Sort(v)
		s, a := 0.0, 0.0
		for _, x := range v[k : n-k] {
			s += x
			a += math.Abs(x)
		}
		want[j], magnitude[j] = float32(s*(1/float64(n-2*k))), a
	}
	return want, magnitude
}

// ratioFor returns a trim ratio that trims exactly k of n.
func ratioFor(t *testing.T, k, n int) float64 {
	r := math.Min((float64(k)+0.5)/float64(n), math.Nextafter(0.5, 0))
	got, err := trimmedmean.K(r, n)
	require.NoError(t, err)
	require.Equal(t, k, got, "ratio %v of %d", r, n)
	return r
}

// Data generators: each returns n updates of dimension d.
type generator func(rng *rand.Rand, n, d int) [][]float32

func fill(n, d int, f func(i, j int) float32) [][]float32 {
	us := make([][]float32, n)
	for i := range us {
		us[i] = make([]float32, d)
		for j := range us[i] {
			us[i][j] = f(i, j)
		}
	}
	return us
}

var generators = map[string]generator{
	"normal": func(rng *rand.Rand, n, d int) [][]float32 {
		return fill(n, d, func(int, int) float32 { return float32(rng.NormFloat64()) })
	},
	// Values on a grid of 2^-10 below 2^12: every float64 sum is exact.
	"grid": func(rng *rand.Rand, n, d int) [][]float32 {
		return fill(n, d, func(int, int) float32 { return float32(rng.IntN(1<<23)-1<<22) / 1024 })
	},
	"ties": func(rng *rand.Rand, n, d int) [][]float32 {
		return fill(n, d, func(int, int) float32 { return float32(rng.IntN(3) - 1) })
	},
	"constant columns": func(rng *rand.Rand, n, d int) [][]float32 {
		return fill(n, d, func(_, j int) float32 { return float32(j%7) - 3.5 })
	},
	"signed zeros": func(rng *rand.Rand, n, d int) [][]float32 {
		z := []float32{0, float32(math.Copysign(0, -1)), 0, 1e-45}
		return fill(n, d, func(int, int) float32 { return z[rng.IntN(len(z))] })
	},
	"subnormal and huge": func(rng *rand.Rand, n, d int) [][]float32 {
		s := []float32{math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, 1e-40, -3e-39,
			math.MaxFloat32, -math.MaxFloat32, 1e38, -2e38, 1, -1}
		return fill(n, d, func(int, int) float32 { return s[rng.IntN(len(s))] })
	},
	// A few Byzantine clients far out: trimming must not lose the honest values in
	// float64 cancellation.
	"byzantine": func(rng *rand.Rand, n, d int) [][]float32 {
		return fill(n, d, func(i, _ int) float32 {
			if i%5 == 4 {
				return float32(rng.NormFloat64() * 1e30)
			}
			return float32(rng.NormFloat64())
		})
	},
}

func checkAgainstReference(t *testing.T, us [][]float32, k int, got []float32, name string) {
	t.Helper()
	want, mag := reference(us, k)
	m := float64(len(us) - 2*k)
	for j := range want {
		if math.Float32bits(got[j]) == math.Float32bits(want[j]) {
			continue
		}
		// Another summation order may differ by float64 rounding, at most (m-1)·2^-53·Σ|x|
		// before the division, then by one more rounding to float32.
		bound := (m-1)*0x1p-53*mag[j]/m + ulp32(want[j])
		if math.Abs(float64(got[j])-float64(want[j])) > bound || name == "grid" || name == "ties" || name == "constant columns" {
			t.Fatalf("%s n=%d k=%d coordinate %d: want %v (%#x), got %v (%#x)", name, len(us), k, j,
				want[j], math.Float32bits(want[j]), got[j], math.Float32bits(got[j]))
		}
	}
}

func ulp32(x float32) float64 {
	return float64(math.Nextafter32(float32(math.Abs(float64(x))), math.MaxFloat32)) - math.Abs(float64(x))
}

func TestTrimmedMeanAgainstReference(t *testing.T) {
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		rng := rand.New(rand.NewPCG(20, 21))
		for name, gen := range generators {
			for _, n := range []int{1, 2, 3, 4, 5, 8, 10, 11, 17, 32, 33} {
				for _, d := range []int{1, 37, 100} {
					us := gen(rng, n, d)
					for k := 0; 2*k < n; k++ {
						got := make([]float32, d)
						require.NoError(t, trimmedmean.TrimmedMean(got, us, ratioFor(t, k, n)))
						checkAgainstReference(t, us, k, got, name)
					}
					med := make([]float32, d)
					require.NoError(t, trimmedmean.Median(med, us))
					checkAgainstReference(t, us, (n-1)/2, med, name)
				}
			}
		}
	})
}

func TestZeroResultIsPositive(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	us := [][]float32{{negZero}, {negZero}, {negZero}, {0}, {negZero}}
	for _, f := range []func(dst []float32) error{
		func(dst []float32) error { return trimmedmean.Median(dst, us) },
		func(dst []float32) error { return trimmedmean.TrimmedMean(dst, us, 0.2) },
		func(dst []float32) error { return trimmedmean.TrimmedMean(dst, us, 0) },
	} {
		dst := []float32{7}
		require.NoError(t, f(dst))
		assert.Equal(t, uint32(0), math.Float32bits(dst[0]))
	}
}

func TestTrimRatioZeroIsTheMean(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 23))
	us := generators["byzantine"](rng, 13, 5000)
	mean, trimmed := make([]float32, 5000), make([]float32, 5000)
	require.NoError(t, aggregate.Mean(mean, us))
	require.NoError(t, trimmedmean.TrimmedMean(trimmed, us, 0))
	assert.Equal(t, mean, trimmed)
}

func TestKLikeScipy(t *testing.T) {
	for _, c := range []struct {
		ratio float64
		n, k  int
	}{{0.29, 100, 28}, {0.1, 10, 1}, {0.2, 10, 2}, {0.1, 9, 0}, {0.49, 3, 1}, {0.3, 10, 3}, {0.1, 1000, 100}} {
		k, err := trimmedmean.K(c.ratio, c.n)
		require.NoError(t, err)
		assert.Equal(t, c.k, k, "ratio %v n %d", c.ratio, c.n)
	}
	_, err := trimmedmean.K(0.5, 10)
	assert.ErrorIs(t, err, secagg.ErrValidation)
}

// TestMedianExact: the mean of the two middle values is exact even at ±MaxFloat32,
// where a float32 (a+b)/2 would overflow.
func TestMedianExact(t *testing.T) {
	us := [][]float32{{math.MaxFloat32, 1}, {math.MaxFloat32, 2}, {-1, 3}, {math.MaxFloat32, 4}}
	dst := make([]float32, 2)
	require.NoError(t, trimmedmean.Median(dst, us))
	assert.Equal(t, []float32{math.MaxFloat32, 2.5}, dst)
}

func TestBitIdenticalAcrossPathsAndThreads(t *testing.T) {
	rng := rand.New(rand.NewPCG(24, 25))
	us := generators["byzantine"](rng, 21, 3*4096+77)
	procs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(procs)
	var want [][]float32
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		for _, threads := range []int{1, 2, 3} {
			runtime.GOMAXPROCS(threads)
			var got [][]float32
			for _, ratio := range []float64{0.1, 0.2, 0.45} {
				dst := make([]float32, len(us[0]))
				require.NoError(t, trimmedmean.TrimmedMean(dst, us, ratio))
				got = append(got, dst)
			}
			dst := make([]float32, len(us[0]))
			require.NoError(t, trimmedmean.Median(dst, us))
			got = append(got, dst)
			if want == nil {
				want = got
				continue
			}
			for i := range want {
				for j := range want[i] {
					if math.Float32bits(want[i][j]) != math.Float32bits(got[i][j]) {
						t.Fatalf("%s GOMAXPROCS=%d kernel %d coordinate %d differs", p, threads, i, j)
					}
				}
			}
		}
	})
}

func TestRejectedCallsWriteNothing(t *testing.T) {
	const d = 5000
	rng := rand.New(rand.NewPCG(26, 27))
	good := generators["normal"](rng, 7, d)
	bad := make([][]float32, len(good))
	for i := range bad {
		bad[i] = slices.Clone(good[i])
	}
	bad[4][4321] = float32(math.Inf(-1))
	bad[5][17] = float32(math.NaN())
	// A round large enough for the median's bisection, which checks the values itself.
	large := generators["normal"](rng, 100, d)
	large[63][4999] = float32(math.NaN())
	cases := []struct {
		name string
		call func(dst []float32) error
		code secagg.Code
		msg  string
	}{
		{"ratio", func(dst []float32) error { return trimmedmean.TrimmedMean(dst, good, 0.5) },
			secagg.CodeValidation, "trim_ratio must be in [0, 0.5), got 0.5"},
		{"empty", func(dst []float32) error { return trimmedmean.Median(dst, nil) },
			secagg.CodeBadRequest, "updates must hold at least one update"},
		{"length", func(dst []float32) error { return trimmedmean.Median(dst, [][]float32{good[0], good[1][:10]}) },
			secagg.CodeBadRequest, "updates[1] has length 10, the round's dimension is 5000"},
		{"median NaN", func(dst []float32) error { return trimmedmean.Median(dst, bad) },
			secagg.CodeValidation, "updates[4][4321] must be finite, got -Inf"},
		{"median NaN, 100 clients", func(dst []float32) error { return trimmedmean.Median(dst, large) },
			secagg.CodeValidation, "updates[63][4999] must be finite, got NaN"},
		{"trimmed NaN", func(dst []float32) error { return trimmedmean.TrimmedMean(dst, bad, 0.2) },
			secagg.CodeValidation, "updates[4][4321] must be finite, got -Inf"},
		{"untrimmed NaN", func(dst []float32) error { return trimmedmean.TrimmedMean(dst, bad, 0.1) },
			secagg.CodeValidation, "updates[4][4321] must be finite, got -Inf"},
	}
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		for _, tc := range cases {
			dst := make([]float32, d)
			for i := range dst {
				dst[i] = 42
			}
			var e *secagg.Error
			require.True(t, errors.As(tc.call(dst), &e), tc.name)
			assert.Equal(t, tc.code, e.Code, tc.name)
			assert.Equal(t, tc.msg, e.Message, tc.name)
			for i, v := range dst {
				require.Equal(t, float32(42), v, "%s: dst[%d] written", tc.name, i)
			}
		}
	})
}

// TestPanelChangesNothing: a tile gathered into a panel first gives the same bits as
// one read where the rows lie, for every kernel and path, at sizes with partial tiles
// and on data the reference checks exactly; a NaN is still found through the panel.
func TestPanelChangesNothing(t *testing.T) {
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		rng := rand.New(rand.NewPCG(30, 31))
		for _, n := range []int{1, 2, 5, 17, 40, 301} {
			for _, d := range []int{1, 33, 3*64 + 37, 5000} {
				for _, name := range []string{"normal", "grid", "ties"} {
					us := generators[name](rng, n, d)
					for _, k := range []int{0, 1, n / 10, n / 5, (n - 1) / 2} {
						if 2*k >= n {
							continue
						}
						direct, viaPanel := make([]float32, d), make([]float32, d)
						restore := trimmedmean.SetPanelFrom(1 << 30)
						require.NoError(t, trimmedmean.TrimmedMean(direct, us, ratioFor(t, k, n)))
						restore()
						restore = trimmedmean.SetPanelFrom(1)
						require.NoError(t, trimmedmean.TrimmedMean(viaPanel, us, ratioFor(t, k, n)))
						restore()
						require.Equal(t, bitsOf(direct), bitsOf(viaPanel), "%s n=%d d=%d k=%d", name, n, d, k)
						checkAgainstReference(t, us, k, viaPanel, name)
					}
					med := make([]float32, d)
					restore := trimmedmean.SetPanelFrom(1)
					require.NoError(t, trimmedmean.Median(med, us))
					restore()
					checkAgainstReference(t, us, (n-1)/2, med, name)
				}
			}
		}
		us := generators["normal"](rng, 300, 1000)
		us[123][777] = float32(math.NaN())
		dst := make([]float32, 1000)
		restore := trimmedmean.SetPanelFrom(1)
		defer restore()
		for _, ratio := range []float64{0.1, 0.45} {
			err := trimmedmean.TrimmedMean(dst, us, ratio)
			require.ErrorIs(t, err, secagg.ErrValidation)
			assert.Contains(t, err.Error(), "updates[123]")
		}
		for _, n := range []int{300, 299} { // the median's two paths: with and without a successor
			err := trimmedmean.Median(dst, us[:n])
			require.ErrorIs(t, err, secagg.ErrValidation)
			assert.Contains(t, err.Error(), "updates[123]")
		}
		assert.Equal(t, make([]float32, 1000), dst)
	})
}

func bitsOf(x []float32) []uint32 {
	b := make([]uint32, len(x))
	for i, v := range x {
		b[i] = math.Float32bits(v)
	}
	return b
}
