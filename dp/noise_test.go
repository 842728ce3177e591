package dp_test

import (
	"math"
	"runtime"
	"slices"
	"sort"
	"testing"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/dp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ksStatistic returns sup |F_n − F| of the sample against the CDF cdf.
func ksStatistic(sample []float64, cdf func(float64) float64) float64 {
	s := slices.Clone(sample)
	sort.Float64s(s)
	n := float64(len(s))
	d := 0.0
	for i, v := range s {
		f := cdf(v)
		d = math.Max(d, math.Max(f-float64(i)/n, float64(i+1)/n-f))
	}
	return d
}

// strictness is how far a statistic may stray before checkDistribution fails: for a
// seeded source, whose draws are fixed, KS at α = 1e-4 (D·√n < 2.23) and mean, variance
// and correlation at 4.5 standard errors (α ≈ 7e-6); for the secure source, drawn afresh
// on every run (and make test runs it some eight times), α ≈ 1e-7 (2.84 and 5.3), so
// that a correct sampler fails CI about once in a million runs rather than once in a
// thousand. At 200,000 draws either still sees a bias of a few thousandths.
type strictness struct{ ks, se float64 }

var (
	fixedDraws = strictness{ks: 2.23, se: 4.5}
	freshDraws = strictness{ks: 2.84, se: 5.3}
)

func checkDistribution(t *testing.T, noise []float32, scale float64, cdf func(float64) float64, variance float64, at strictness) {
	t.Helper()
	n := float64(len(noise))
	sample := make([]float64, len(noise))
	var sum, sq, cross float64
	for i, v := range noise {
		x := float64(v) / scale
		sample[i] = x
		sum += x
		sq += x * x
		if i > 0 {
			cross += x * sample[i-1]
		}
	}
	mean := sum / n
	assert.Less(t, math.Abs(mean), at.se*math.Sqrt(variance/n), "mean")
	v := sq/n - mean*mean
	assert.Less(t, math.Abs(v-variance), at.se*variance*math.Sqrt(8/n), "variance %v", v) // kurtosis ≤ 6 (Laplace)
	r := cross / n / variance
	assert.Less(t, math.Abs(r), at.se/math.Sqrt(n), "lag-1 correlation %v", r)
	d := ksStatistic(sample, cdf)
	assert.Less(t, d*math.Sqrt(n), at.ks, "Kolmogorov–Smirnov D = %v", d)
}

func normalCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }
func laplaceCDF(x float64) float64 {
	if x < 0 {
		return 0.5 * math.Exp(x)
	}
	return 1 - 0.5*math.Exp(-x)
}

// TestNoiseDistributions checks both mechanisms from both sources against their exact
// distributions: Gaussian (σ = 2.5, variance 1 in units of σ) and Laplace (b = 0.75,
// variance 2 in units of b).
func TestNoiseDistributions(t *testing.T) {
	mechanisms := []struct {
		name     string
		add      func([]float32, float64, *dp.Source) error
		scale    float64
		cdf      func(float64) float64
		variance float64
	}{
		{"gaussian", dp.AddGaussian, 2.5, normalCDF, 1},
		{"laplace", dp.AddLaplace, 0.75, laplaceCDF, 2},
	}
	for i, m := range mechanisms {
		for name, src := range map[string]*dp.Source{"seeded": dp.InsecureSeededSource(uint64(7 + i)), "secure": dp.SecureSource()} {
			t.Run(m.name+"/"+name, func(t *testing.T) {
				x := make([]float32, 200_000)
				require.NoError(t, m.add(x, m.scale, src))
				at := fixedDraws
				if name == "secure" {
					at = freshDraws
				}
				checkDistribution(t, x, m.scale, m.cdf, m.variance, at)
			})
		}
	}
}

// Noise is independent across calls: two draws of the same source are uncorrelated, and
// the seeded source replays exactly, whatever the parallelism.
func TestNoiseAcrossCalls(t *testing.T) {
	const n = 150_000
	draw := func(src *dp.Source) []float32 {
		x := make([]float32, n)
		require.NoError(t, dp.AddGaussian(x, 1, src))
		return x
	}
	for _, c := range []struct {
		src *dp.Source
		at  strictness
	}{{dp.InsecureSeededSource(9), fixedDraws}, {dp.SecureSource(), freshDraws}} {
		a, b := draw(c.src), draw(c.src)
		var cross float64
		for i := range a {
			cross += float64(a[i]) * float64(b[i])
		}
		assert.Less(t, math.Abs(cross/n), c.at.se/math.Sqrt(n), "correlation between calls")
	}
	procs := runtime.GOMAXPROCS(1)
	one := draw(dp.InsecureSeededSource(10))
	runtime.GOMAXPROCS(procs)
	assert.Equal(t, one, draw(dp.InsecureSeededSource(10)), "the seeded source replays at any GOMAXPROCS")
	assert.NotEqual(t, one, draw(dp.SecureSource()))
}

func TestGranularity(t *testing.T) {
	for _, s := range []float64{1e-200, 1e-6, 0.3, 1, 2.5, 1024, 1e300} {
		g := dp.Granularity(s)
		m, _ := math.Frexp(g)
		assert.Equal(t, 0.5, m, "%v: a power of two", g)
		assert.GreaterOrEqual(t, g, s*0x1p-40)
		assert.Less(t, g/2, s*0x1p-40)
	}
	// Absurdly small scales stop at 2^-800: the largest float32 over it stays finite.
	assert.Equal(t, 0x1p-800, dp.Granularity(1e-300))
	x := []float32{3e38, -3e38, 1}
	require.NoError(t, dp.AddGaussian(x, 1e-300, dp.InsecureSeededSource(1)))
	assert.Equal(t, []float32{3e38, -3e38, 1}, x, "noise far below float32 precision leaves x as it was")
}

func TestNoiseErrors(t *testing.T) {
	x := []float32{1, 2}
	for _, err := range []error{
		dp.AddGaussian(x, -1, dp.SecureSource()),
		dp.AddGaussian(x, math.NaN(), dp.SecureSource()),
		dp.AddLaplace(x, math.Inf(1), dp.SecureSource()),
		dp.AddGaussian([]float32{1, float32(math.NaN())}, 1, dp.SecureSource()),
	} {
		assert.ErrorIs(t, err, secagg.ErrValidation)
	}
	assert.Equal(t, []float32{1, 2}, x, "rejected calls leave x alone")
	require.NoError(t, dp.AddGaussian(x, 0, dp.SecureSource()))
	assert.Equal(t, []float32{1, 2}, x, "sigma 0 adds nothing")
}

// A nil noise source is a bad_request from every sampler, and nothing is written: the
// fuzzer found ddp.Encode panicking on one.
func TestNilSourceIsRefused(t *testing.T) {
	x := []float32{1, 2}
	ints := []int64{7, 8}
	for name, err := range map[string]error{
		"AddGaussian":      dp.AddGaussian(x, 1, nil),
		"AddLaplace":       dp.AddLaplace(x, 1, nil),
		"DiscreteGaussian": dp.DiscreteGaussian(ints, 1, nil),
		"DiscreteLaplace":  dp.DiscreteLaplace(ints, 1, nil),
		"Skellam":          dp.Skellam(ints, 1, nil),
	} {
		assert.ErrorIs(t, err, secagg.ErrBadRequest, name)
	}
	assert.Equal(t, []float32{1, 2}, x)
	assert.Equal(t, []int64{7, 8}, ints)
}
