package dp_test

import (
	"math"
	mrand "math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/dp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pmf returns the exact probabilities of k in [−K, K] of the discrete Gaussian
// (laplace false) or discrete Laplace of scale s, normalised over a range far wider than
// the samplers' cuts.
func pmf(s float64, laplace bool, K int) []float64 {
	phi := func(k float64) float64 {
		if laplace {
			return math.Abs(k) / s
		}
		return k * k / (2 * s * s)
	}
	var z float64
	for k := -100 * math.Ceil(s); k <= 100*math.Ceil(s); k++ {
		z += math.Exp(-phi(k))
	}
	p := make([]float64, 2*K+1)
	for i := range p {
		p[i] = math.Exp(-phi(float64(i-K))) / z
	}
	return p
}

// chiSquare tests counts of k in [−K, K] (and one bin for everything beyond) against
// the probabilities p, bins with fewer than 5 expected merged outward into the tails,
// at α ≈ 1e-7 (Wilson–Hilferty). It returns the statistic and the critical value.
func chiSquare(counts map[int64]int, p []float64, n int) (stat, crit float64) {
	K := (len(p) - 1) / 2
	var bins [][2]float64 // observed, expected
	var inside int
	var tailObs, tailExp float64
	for i, pk := range p {
		k := int64(i - K)
		inside += counts[k]
		if float64(n)*pk < 5 {
			tailObs += float64(counts[k])
			tailExp += float64(n) * pk
			continue
		}
		bins = append(bins, [2]float64{float64(counts[k]), float64(n) * pk})
	}
	var pIn float64
	for _, pk := range p {
		pIn += pk
	}
	tailObs += float64(n - inside)
	tailExp += float64(n) * (1 - pIn)
	bins = append(bins, [2]float64{tailObs, tailExp})
	for _, b := range bins {
		stat += (b[0] - b[1]) * (b[0] - b[1]) / b[1]
	}
	df := float64(len(bins) - 1)
	const z = 5.2 // one-sided α ≈ 1e-7
	crit = df * math.Pow(1-2/(9*df)+z*math.Sqrt(2/(9*df)), 3)
	return stat, crit
}

func countInts(ks []int64) map[int64]int {
	m := make(map[int64]int)
	for _, k := range ks {
		m[k]++
	}
	return m
}

// The integer samplers against their exact pmfs, from both sources, and with every
// acceptance decided by the exact (arbitrary-precision) path.
func TestDiscreteSamplersChiSquare(t *testing.T) {
	for _, c := range []struct {
		name    string
		sample  func([]int64, float64, *dp.Source) error
		s       float64
		laplace bool
	}{
		{"gaussian", dp.DiscreteGaussian, 3.5, false},
		{"gaussian-wide-blocks", dp.DiscreteGaussian, 700.3, false},
		{"laplace", dp.DiscreteLaplace, 2.5, true},
		{"laplace-wide-blocks", dp.DiscreteLaplace, 150.7, true},
	} {
		for _, src := range []struct {
			name  string
			src   *dp.Source
			n     int
			exact bool
		}{
			{"seeded", dp.InsecureSeededSource(3), 400_000, false},
			{"secure", dp.SecureSource(), 400_000, false},
			{"exact-path", dp.InsecureSeededSource(4), 20_000, true},
		} {
			t.Run(c.name+"/"+src.name, func(t *testing.T) {
				if dp.RaceEnabled && src.name != "seeded" {
					t.Skip("the full sizes run without -race")
				}
				defer dp.SetExactOnly(src.exact)()
				ks := make([]int64, src.n)
				require.NoError(t, c.sample(ks, c.s, src.src))
				counts := countInts(ks)
				K := int(math.Ceil(8 * c.s))
				if c.laplace {
					K = int(math.Ceil(20 * c.s))
				}
				if c.s > 100 { // bins of one value would be too thin: test the blocks' inner structure on [−300, 300] only
					K = 300
				}
				stat, crit := chiSquare(counts, pmf(c.s, c.laplace, K), src.n)
				assert.Less(t, stat, crit, "chi-square")
				t.Logf("chi-square %.1f (critical %.1f)", stat, crit)
			})
		}
	}
}

// The precision attack, on a grid coarse enough to enumerate: the outputs for two
// inputs one grid step apart are each distributed exactly as the discrete Gaussian (or
// Laplace) around their input's grid point, on every grid point within ±6σ/g, so an
// output possible under one input is possible under the other with the probability
// the mechanism promises. Today's ziggurat passes this at a coarse grid; the birthday
// test below catches it on the real one.
func TestNeighbouringInputsOnACoarseGrid(t *testing.T) {
	defer dp.SetGridBits(3)() // g = σ/8 at most: σ/g in (4, 8]
	const n = 300_000
	for _, c := range []struct {
		name    string
		add     func([]float32, float64, *dp.Source) error
		scale   float64
		laplace bool
	}{{"gaussian", dp.AddGaussian, 1.3, false}, {"laplace", dp.AddLaplace, 0.9, true}} {
		g := dp.Granularity(c.scale)
		s := c.scale / g
		for i, x := range []float32{float32(5 * g), float32(6 * g)} {
			in := make([]float32, n)
			for j := range in {
				in[j] = x
			}
			require.NoError(t, c.add(in, c.scale, dp.InsecureSeededSource(uint64(20+i))))
			ks := make([]int64, n)
			for j, v := range in {
				k := float64(v)/g - float64(x)/g
				require.Equal(t, math.Round(k), k, "outputs lie on the grid")
				ks[j] = int64(k)
			}
			K := int(math.Ceil(6 * s))
			if c.laplace {
				K = int(math.Ceil(15 * s))
			}
			stat, crit := chiSquare(countInts(ks), pmf(s, c.laplace, K), n)
			assert.Less(t, stat, crit, "%s from %v·g: chi-square", c.name, x/float32(g))
			// Every grid point within ±3.5σ of either input (33 or more expected draws
			// each) is seen from this one.
			counts := countInts(ks)
			for k := -int64(3.5 * s); k <= int64(3.5*s); k++ {
				assert.Positive(t, counts[k], "%s: grid point %d never drawn", c.name, k)
			}
		}
	}
}

// collisions counts equal pairs among the draws, sorting them.
func collisions(s []int64) int {
	slices.Sort(s)
	pairs, run := 0, 1
	for i := 1; i <= len(s); i++ {
		if i < len(s) && s[i] == s[i-1] {
			run++
			continue
		}
		pairs += run * (run - 1) / 2
		run = 1
	}
	return pairs
}

// poissonTail is P(X >= m) for X ~ Poisson(λ).
func poissonTail(lambda float64, m int) float64 {
	term, cdf := math.Exp(-lambda), 0.0
	for i := 0; i < m; i++ {
		cdf += term
		term *= lambda / float64(i+1)
	}
	return math.Max(0, 1-cdf)
}

// The birthday test on AddGaussian's own grid (σ/g = 2^40): n draws collide about
// n²/(4√π σ) times under the exact discrete Gaussian; a sampler whose support is sparse
// collides several times more. A float ziggurat rounded to the grid (what AddGaussian
// used, K = round(σ·NormFloat64()), reaching about a fifth of the grid near 0) fails it,
// the exact sampler passes.
func TestBirthdayCollisions(t *testing.T) {
	if dp.RaceEnabled {
		t.Skip("2^23 draws sorted twice: run without -race")
	}
	const n, sigma = 1 << 23, 0x1p40
	lambda := float64(n) * float64(n-1) / 2 / (2 * math.Sqrt(math.Pi) * sigma)
	limit := 0
	for poissonTail(lambda, limit) > 1e-7 {
		limit++
	}
	ks := make([]int64, n)
	require.NoError(t, dp.DiscreteGaussian(ks, sigma, dp.SecureSource()))
	got := collisions(ks)
	t.Logf("exact sampler: %d collisions, %.1f expected, %d would fail", got, lambda, limit)
	assert.Less(t, got, limit)

	r := mrand.New(mrand.NewChaCha8([32]byte{1}))
	for i := range ks {
		ks[i] = int64(math.RoundToEven(sigma * r.NormFloat64()))
	}
	zig := collisions(ks)
	t.Logf("ziggurat rounded to the grid: %d collisions", zig)
	assert.GreaterOrEqual(t, zig, limit, "the test must catch a sparse support")
}

// Tails beyond 4, 5 and 6σ hold their exact mass (within 5 standard errors).
func TestDiscreteGaussianTails(t *testing.T) {
	const n, sigma = 4_000_000, 1e6
	ks := make([]int64, n)
	require.NoError(t, dp.DiscreteGaussian(ks, sigma, dp.InsecureSeededSource(8)))
	for _, a := range []float64{4, 5, 6} {
		var beyond int
		for _, k := range ks {
			if math.Abs(float64(k)) > a*sigma {
				beyond++
			}
		}
		p := math.Erfc(a / math.Sqrt2)
		sd := math.Sqrt(float64(n) * p * (1 - p))
		assert.InDelta(t, float64(n)*p, float64(beyond), 5*sd+1, "beyond %vσ", a)
		t.Logf("beyond %vσ: %d (expected %.1f)", a, beyond, float64(n)*p)
	}
}

// The seeded integer samplers replay at any GOMAXPROCS; the noise never depends on x.
func TestDiscreteReplayAndIndependenceOfX(t *testing.T) {
	draw := func() []int64 {
		ks := make([]int64, 3*(1<<16)+17)
		require.NoError(t, dp.DiscreteLaplace(ks, 1e4, dp.InsecureSeededSource(77)))
		return ks
	}
	procs := runtime.GOMAXPROCS(1)
	one := draw()
	runtime.GOMAXPROCS(procs)
	assert.Equal(t, one, draw())

	// The same seed over zeros, subnormals and huge values adds the same lattice steps.
	const sigma = 0.5
	g := dp.Granularity(sigma)
	var steps [][]float64
	for _, x := range []float32{0, 1e-40, 3e38} {
		v := make([]float32, 1000)
		for i := range v {
			v[i] = x
		}
		require.NoError(t, dp.AddGaussian(v, sigma, dp.InsecureSeededSource(5)))
		if x == 3e38 {
			continue // noise far below float32's precision there: x comes back
		}
		st := make([]float64, len(v))
		for i := range v {
			st[i] = math.Round((float64(v[i]) - math.RoundToEven(float64(x)/g)*g) / g)
		}
		steps = append(steps, st)
	}
	assert.Equal(t, steps[0], steps[1])
}

func TestDiscreteSamplerErrors(t *testing.T) {
	ks := []int64{7, 7}
	for _, s := range []float64{0, -1, math.NaN(), math.Inf(1), 0x1p47} {
		assert.ErrorIs(t, dp.DiscreteGaussian(ks, s, dp.SecureSource()), secagg.ErrValidation, "%v", s)
		assert.ErrorIs(t, dp.DiscreteLaplace(ks, s, dp.SecureSource()), secagg.ErrValidation, "%v", s)
	}
	assert.Equal(t, []int64{7, 7}, ks)
}

func poissonPMF(mu float64, K int) []float64 {
	p := make([]float64, K+1)
	for k := range p {
		lg, _ := math.Lgamma(float64(k) + 1)
		p[k] = math.Exp(float64(k)*math.Log(mu) - mu - lg)
	}
	return p
}

// Poisson and Skellam against their exact pmfs (the Skellam one by convolving two
// Poisson pmfs), including the exact path, and the sum of Skellam draws is Skellam.
func TestPoissonAndSkellamChiSquare(t *testing.T) {
	for _, c := range []struct {
		mu    float64
		n     int
		exact bool
	}{{0.3, 300_000, false}, {6.5, 300_000, false}, {450.25, 300_000, false}, {6.5, 4_000, true}, {9000, 300_000, false}} {
		if dp.RaceEnabled && (c.exact || c.mu > 1000) {
			continue
		}
		defer dp.SetExactOnly(c.exact)()
		K := int(c.mu + 12*math.Sqrt(c.mu) + 30)
		ks := make([]int64, c.n)
		require.NoError(t, dp.Poisson(ks, c.mu, dp.InsecureSeededSource(31)))
		p := poissonPMF(c.mu, K)
		// chiSquare takes probabilities on [−K', K']: pad the negative side with zeros.
		sym := make([]float64, 2*K+1)
		copy(sym[K:], p)
		stat, crit := chiSquare(countInts(ks), sym, c.n)
		assert.Less(t, stat, crit, "Poisson(%v) exact=%v", c.mu, c.exact)

		require.NoError(t, dp.Skellam(ks, c.mu, dp.InsecureSeededSource(32)))
		sk := make([]float64, 2*K+1)
		for i := range p {
			for j := range p {
				sk[K+i-j] += p[i] * p[j]
			}
		}
		stat, crit = chiSquare(countInts(ks), sk, c.n)
		assert.Less(t, stat, crit, "Skellam(%v) exact=%v", c.mu, c.exact)
		dp.SetExactOnly(false)
	}
	// Ten clients' Skellam(μ) sum to Skellam(10μ): its variance and its pmf.
	const clients, mu, n = 10, 2.5, 100_000
	sum := make([]int64, n)
	one := make([]int64, n)
	for i := range clients {
		require.NoError(t, dp.Skellam(one, mu, dp.InsecureSeededSource(uint64(40+i))))
		for j := range sum {
			sum[j] += one[j]
		}
	}
	K := int(clients*mu + 12*math.Sqrt(clients*mu) + 30)
	p := poissonPMF(clients*mu, K)
	sk := make([]float64, 2*K+1)
	for i := range p {
		for j := range p {
			sk[K+i-j] += p[i] * p[j]
		}
	}
	stat, crit := chiSquare(countInts(sum), sk, n)
	assert.Less(t, stat, crit, "a sum of Skellams is Skellam")
	for _, bad := range []float64{0, -1, math.NaN(), math.Inf(1), 0x1p41} {
		assert.ErrorIs(t, dp.Skellam(sum, bad, dp.SecureSource()), secagg.ErrValidation)
		assert.ErrorIs(t, dp.Poisson(sum, bad, dp.SecureSource()), secagg.ErrValidation)
	}
}
