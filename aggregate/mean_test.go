package aggregate_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
	"github.com/octomil/secagg/internal/parallel"
	"github.com/octomil/secagg/internal/simdtest"
	"github.com/octomil/secagg/simd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// round returns n updates of dimension d mixing ordinary values with ±0, subnormals,
// values near ±MaxFloat32 and exact ties.
func round(rng *rand.Rand, n, d int) [][]float32 {
	special := []float32{0, float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32,
		math.MaxFloat32, -math.MaxFloat32, 1, 1, -1}
	return fill(n, d, func(int, int) float32 {
		if rng.IntN(10) == 0 {
			return special[rng.IntN(len(special))]
		}
		return float32(rng.NormFloat64() * math.Exp2(float64(rng.IntN(40)-20)))
	})
}

// fill returns n updates of dimension d with update i, coordinate j set to value(i, j),
// filled client by client, coordinate by coordinate.
func fill(n, d int, value func(i, j int) float32) [][]float32 {
	us := make([][]float32, n)
	for i := range us {
		us[i] = make([]float32, d)
		for j := range us[i] {
			us[i][j] = value(i, j)
		}
	}
	return us
}

// meanSpec is the documented formula of Mean, coordinate by coordinate.
func meanSpec(us [][]float32) []float32 {
	out := make([]float32, len(us[0]))
	inv := 1 / float64(len(us))
	for j := range out {
		s := 0.0
		for _, u := range us {
			s += float64(u[j])
		}
		out[j] = float32(s * inv)
	}
	return out
}

// weightedReference is the textbook Σ w x / Σ w in float64, with no care for rounding.
func weightedReference(us [][]float32, w []float64) []float64 {
	out := make([]float64, len(us[0]))
	total := 0.0
	for _, v := range w {
		total += v
	}
	for j := range out {
		s := 0.0
		for i, u := range us {
			s += w[i] * float64(u[j])
		}
		out[j] = s / total
	}
	return out
}

// ulps is the distance between two float32 in units in the last place.
func ulps(a, b float32) int64 {
	ord := func(f float32) int64 {
		b := int64(math.Float32bits(f))
		if b&0x80000000 != 0 {
			return 0x80000000 - b
		}
		return b
	}
	d := ord(a) - ord(b)
	return max(d, -d)
}

func bitsEqual(t *testing.T, want, got []float32, msg string, args ...any) {
	t.Helper()
	for j := range want {
		if math.Float32bits(want[j]) != math.Float32bits(got[j]) {
			t.Fatalf("%s: coordinate %d: want %v (%#x), got %v (%#x)", append([]any{msg}, args...),
				j, want[j], math.Float32bits(want[j]), got[j], math.Float32bits(got[j]))
		}
	}
}

// dims covers one coordinate, a block tail, a tile tail and several tiles.
var dims = []int{1, 31, 33, 4095, 4096, 4097, 3*4096 + 77}

func TestMeanMatchesReference(t *testing.T) {
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		rng := rand.New(rand.NewPCG(10, 11))
		for _, n := range []int{1, 2, 3, 10, 33} {
			for _, d := range dims {
				us := round(rng, n, d)
				got := make([]float32, d)
				require.NoError(t, aggregate.Mean(got, us))
				bitsEqual(t, meanSpec(us), got, "n=%d d=%d", n, d)
				// And within one ulp of the correctly rounded mean.
				w := make([]float64, n)
				for i := range w {
					w[i] = 1
				}
				ref := weightedReference(us, w)
				for j := range got {
					require.LessOrEqual(t, ulps(float32(ref[j]), got[j]), int64(1), "n=%d d=%d j=%d", n, d, j)
				}
			}
		}
	})
}

func TestWeightedMeanMatchesReference(t *testing.T) {
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		rng := rand.New(rand.NewPCG(12, 13))
		for _, n := range []int{1, 2, 7, 40} {
			for _, d := range dims {
				us := round(rng, n, d)
				w := make([]float64, n)
				for i := range w {
					w[i] = math.Floor(rng.Float64()*1000) + 1 // example counts
				}
				got := make([]float32, d)
				require.NoError(t, aggregate.WeightedMean(got, us, w))
				ref := weightedReference(us, w)
				for j := range got {
					require.LessOrEqual(t, ulps(float32(ref[j]), got[j]), int64(1),
						"n=%d d=%d j=%d: want %v got %v", n, d, j, ref[j], got[j])
				}
			}
		}
	})
}

func TestWeightedMeanEdges(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 15))
	us := round(rng, 3, 1000)
	mean := make([]float32, 1000)
	require.NoError(t, aggregate.Mean(mean, us))

	// Equal power-of-two weights reproduce Mean bit for bit, however large or small;
	// other equal weights stay within an ulp of it.
	for _, w := range []float64{1, 0.25, 0x1p-1000, 0x1p1000, 0x1p1020} {
		got := make([]float32, 1000)
		require.NoError(t, aggregate.WeightedMean(got, us, []float64{w, w, w}))
		bitsEqual(t, mean, got, "equal weights %v", w)
	}
	for _, w := range []float64{3, 1e-300, 1e300, math.MaxFloat64 / 4} {
		got := make([]float32, 1000)
		require.NoError(t, aggregate.WeightedMean(got, us, []float64{w, w, w}))
		for j := range got {
			require.LessOrEqual(t, ulps(mean[j], got[j]), int64(1), "equal weights %v, j=%d", w, j)
		}
	}
	// A zero weight drops its client exactly.
	pair := make([]float32, 1000)
	require.NoError(t, aggregate.Mean(pair, [][]float32{us[0], us[2]}))
	got := make([]float32, 1000)
	require.NoError(t, aggregate.WeightedMean(got, us, []float64{5, 0, 5}))
	bitsEqual(t, pair, got, "zero weight")

	// Weights near MaxFloat64 times values near MaxFloat32 stay finite.
	big := [][]float32{{math.MaxFloat32, -math.MaxFloat32}, {math.MaxFloat32, math.MaxFloat32}}
	out := make([]float32, 2)
	require.NoError(t, aggregate.WeightedMean(out, big, []float64{math.MaxFloat64 / 2, math.MaxFloat64 / 4}))
	assert.Equal(t, []float32{math.MaxFloat32, float32(-math.MaxFloat32 / 3)}, out)
}

// TestBitIdenticalAcrossPathsAndThreads runs both kernels on every path at GOMAXPROCS
// 1, 2 and 3 and demands one answer.
func TestBitIdenticalAcrossPathsAndThreads(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 17))
	const n, d = 13, 5*4096 + 123
	us := round(rng, n, d)
	w := make([]float64, n)
	for i := range w {
		w[i] = rng.Float64() * 100
	}
	var wantMean, wantWeighted []float32
	procs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(procs)
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		for _, threads := range []int{1, 2, 3} {
			runtime.GOMAXPROCS(threads)
			m, wm := make([]float32, d), make([]float32, d)
			require.NoError(t, aggregate.Mean(m, us))
			require.NoError(t, aggregate.WeightedMean(wm, us, w))
			if wantMean == nil {
				wantMean, wantWeighted = m, wm
				continue
			}
			bitsEqual(t, wantMean, m, "Mean on %s with GOMAXPROCS=%d", p, threads)
			bitsEqual(t, wantWeighted, wm, "WeightedMean on %s with GOMAXPROCS=%d", p, threads)
		}
	})
	prev := parallel.SetMaxWorkers(1)
	defer parallel.SetMaxWorkers(prev)
	m := make([]float32, d)
	require.NoError(t, aggregate.Mean(m, us))
	bitsEqual(t, wantMean, m, "Mean with one worker")
}

func TestRejectedCallsWriteNothing(t *testing.T) {
	const d = 2*4096 + 5
	rng := rand.New(rand.NewPCG(18, 19))
	good := round(rng, 4, d)
	withBad := func(client, index int, v float32) [][]float32 {
		us := make([][]float32, len(good))
		for i := range us {
			us[i] = slices.Clone(good[i])
		}
		us[client][index] = v
		return us
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	twoBad := withBad(3, 5, nan)
	twoBad[1][d-1] = float32(math.Inf(-1)) // a lower client, later index: reported first
	ones := []float64{1, 1, 1, 1}

	cases := []struct {
		name    string
		call    func(dst []float32) error
		code    secagg.Code
		message string
	}{
		{"no updates", func(dst []float32) error { return aggregate.Mean(dst, nil) },
			secagg.CodeBadRequest, "updates must hold at least one update"},
		{"empty dst", func([]float32) error { return aggregate.Mean(nil, good) },
			secagg.CodeBadRequest, "dst must not be empty"},
		{"short update", func(dst []float32) error {
			return aggregate.Mean(dst, [][]float32{good[0], good[1][:d-1]})
		}, secagg.CodeBadRequest, "updates[1] has length 8196, the round's dimension is 8197"},
		{"empty update", func(dst []float32) error { return aggregate.Mean(dst, [][]float32{good[0], nil}) },
			secagg.CodeBadRequest, "updates[1] must not be empty"},
		{"NaN in the last tile", func(dst []float32) error { return aggregate.Mean(dst, withBad(2, d-3, nan)) },
			secagg.CodeValidation, "updates[2][8194] must be finite, got NaN"},
		{"Inf in the first tile", func(dst []float32) error { return aggregate.Mean(dst, withBad(0, 17, inf)) },
			secagg.CodeValidation, "updates[0][17] must be finite, got +Inf"},
		{"first client first", func(dst []float32) error { return aggregate.Mean(dst, twoBad) },
			secagg.CodeValidation, "updates[1][8196] must be finite, got -Inf"},
		{"weighted NaN with zero weight", func(dst []float32) error {
			return aggregate.WeightedMean(dst, withBad(3, 4096, nan), []float64{1, 1, 1, 0})
		}, secagg.CodeValidation, "updates[3][4096] must be finite, got NaN"},
		{"weights length", func(dst []float32) error { return aggregate.WeightedMean(dst, good, ones[:3]) },
			secagg.CodeBadRequest, "weights has length 3, want one per update (4)"},
		{"negative weight", func(dst []float32) error {
			return aggregate.WeightedMean(dst, good, []float64{1, -2, 1, 1})
		}, secagg.CodeValidation, "weights[1] must be finite and non-negative, got -2"},
		{"zero weights", func(dst []float32) error { return aggregate.WeightedMean(dst, good, make([]float64, 4)) },
			secagg.CodeValidation, "the sum of weights must be positive and finite, got 0"},
	}
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		for _, tc := range cases {
			dst := make([]float32, d)
			for i := range dst {
				dst[i] = 42
			}
			err := tc.call(dst)
			var e *secagg.Error
			require.True(t, errors.As(err, &e), "%s: %v", tc.name, err)
			assert.Equal(t, tc.code, e.Code, tc.name)
			assert.Equal(t, tc.message, e.Message, tc.name)
			for i, v := range dst {
				if v != 42 {
					t.Fatalf("%s: dst[%d] written (%v) by a rejected call", tc.name, i, v)
				}
			}
		}
	})
}
