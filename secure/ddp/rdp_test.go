package ddp

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/dp"
)

// Log-pmfs on [-w, w] (index k+w), from their definitions, in log space so that the
// far tails, where high orders' divergences live, neither underflow nor lose their
// ratios. Each is computed on a window twice as wide and cut to its centre, so that the
// truncation of the convolutions does not reach the values kept.

// logAddExp is log(e^a + e^b).
func logAddExp(a, b float64) float64 {
	if math.IsInf(a, -1) {
		return b
	}
	if math.IsInf(b, -1) {
		return a
	}
	m := math.Max(a, b)
	return m + math.Log1p(math.Exp(-math.Abs(a-b)))
}

func logConvolve(p, q []float64, w int) []float64 {
	out := make([]float64, 2*w+1)
	for i := range out {
		out[i] = math.Inf(-1)
	}
	for i, a := range p {
		for j, b := range q {
			if k := i + j - w; k >= 0 && k <= 2*w {
				out[k] = logAddExp(out[k], a+b)
			}
		}
	}
	return out
}

func centre(p []float64, w int) []float64 { W := (len(p) - 1) / 2; return p[W-w : W+w+1] }

func logSkellamPMF(mu float64, w int) []float64 { // variance mu
	W := 2 * w
	pos, neg := make([]float64, 2*W+1), make([]float64, 2*W+1)
	for k := -W; k <= W; k++ {
		pos[k+W], neg[W-k] = math.Inf(-1), math.Inf(-1)
		if k >= 0 {
			lg, _ := math.Lgamma(float64(k) + 1)
			pos[k+W] = float64(k)*math.Log(mu/2) - mu/2 - lg
			neg[W-k] = pos[k+W]
		}
	}
	return centre(logConvolve(pos, neg, W), w)
}

// logDDGSumPMF is the log-pmf of the sum of n independent N_Z(0, s²).
func logDDGSumPMF(s float64, n, w int) []float64 {
	W := 2 * w
	one := make([]float64, 2*W+1)
	z := math.Inf(-1)
	for k := -W; k <= W; k++ {
		one[k+W] = -float64(k*k) / (2 * s * s)
		z = logAddExp(z, one[k+W])
	}
	for i := range one {
		one[i] -= z
	}
	sum := one
	for range n - 1 {
		sum = logConvolve(sum, one, W)
	}
	return centre(sum, w)
}

// renyi is the larger of D_a(P || P moved by shift) and D_a(P moved by shift || P),
// log(sum_k P(k)^a Q(k)^(1-a))/(a-1) (the bounds are for both neighbours).
func renyi(lp []float64, shift int, a float64) float64 {
	div := func(shift int) float64 {
		s := math.Inf(-1)
		for k := range lp {
			if j := k - shift; j >= 0 && j < len(lp) {
				s = logAddExp(s, a*lp[k]+(1-a)*lp[j])
			}
		}
		return s / (a - 1)
	}
	return math.Max(div(shift), div(-shift))
}

// TestSkellamBoundAgainstNumeric: in one dimension, the Rényi divergence of the Skellam
// mechanism, computed from its pmf (two Poisson pmfs convolved), never exceeds
// Agarwal et al.'s bound, and the bound is within a factor 1.5 of it where the noise is
// large (the bound is tight there: its leading term is the Gaussian's).
func TestSkellamBoundAgainstNumeric(t *testing.T) {
	for _, mu := range []float64{4, 50, 400} {
		w := int(12*math.Sqrt(mu)) + 80
		p := logSkellamPMF(mu, w)
		for _, shift := range []int{1, 2, 3} {
			for _, a := range []float64{2, 3, 5, 10, 20} {
				exact := renyi(p, shift, a)
				bound := skellamRDP(a, float64(shift), float64(shift), mu)
				require.LessOrEqual(t, exact, bound*(1+1e-9), "mu=%v shift=%d a=%v", mu, shift, a)
				if mu == 400 {
					assert.Less(t, bound, 1.5*exact, "mu=%v shift=%d a=%v", mu, shift, a)
				}
			}
		}
	}
}

// TestDDGBoundAgainstNumeric: n clients' discrete Gaussians, summed by convolving their
// pmfs, against the sum shifted by the sensitivity: the divergence never exceeds
// Kairouz et al.'s bound (one dimension).
func TestDDGBoundAgainstNumeric(t *testing.T) {
	for _, c := range []struct {
		s float64
		n int
	}{{0.5, 2}, {1, 3}, {2, 5}} {
		w := int(14*c.s*math.Sqrt(float64(c.n))) + 80 // and past the peak of order 16's terms
		sum := logDDGSumPMF(c.s, c.n, w)
		for _, shift := range []int{1, 2} {
			for _, a := range []float64{2, 4, 8, 16} {
				exact := renyi(sum, shift, a)
				bound := ddgRDP(a, float64(shift), float64(shift), c.s, ddgTau(c.s, c.n), c.n, 1)
				require.LessOrEqual(t, exact, bound*(1+1e-9), "s=%v n=%d shift=%d a=%v", c.s, c.n, shift, a)
			}
		}
	}
}

// TestEpsilon: at a fine granularity (γ = 2^-12 of a clip of 1) both mechanisms cost
// within 2% of the central Gaussian of the same total noise (noise multiplier 1: 100
// clients of σ = 0.1), as Agarwal et al. and Kairouz et al. report with enough bits; more
// rounds cost more, fewer surviving clients (less noise) cost more.
func TestEpsilon(t *testing.T) {
	central, _, err := dp.EpsilonAfter(1, 1, 10, 1e-5, Orders(), dp.Improved)
	require.NoError(t, err)
	for _, m := range []Mechanism{Skellam, DiscreteGaussian} {
		p := params(1 << 16)
		p.Mechanism, p.Gamma, p.Stddev = m, 0x1p-12, 0.1
		e, _, err := p.Epsilon(100, 10, 1, 1e-5, dp.Improved)
		require.NoError(t, err)
		assert.InEpsilon(t, central, e, 0.02, "%s", m)
		assert.GreaterOrEqual(t, e, central, "%s: rounding only adds", m)
		e90, _, err := p.Epsilon(90, 10, 1, 1e-5, dp.Improved)
		require.NoError(t, err)
		e1, _, err := p.Epsilon(100, 1, 1, 1e-5, dp.Improved)
		require.NoError(t, err)
		assert.Less(t, e, e90, "%s", m)
		assert.Less(t, e1, e, "%s", m)
		t.Logf("%s: ε = %.4f (central Gaussian %.4f), with 90 survivors %.4f, one round %.4f", m, e, central, e90, e1)
	}
}

// TestCharge: the ledger charges a distributed-DP round at its own (partly fractional)
// orders to within 2% of Epsilon's figure, refuses the round that would exceed its
// budget leaving itself as it was, and a check (record false) records nothing.
func TestCharge(t *testing.T) {
	p := params(1 << 10)
	p.Stddev = 0.05
	want, _, err := p.Epsilon(100, 3, 1, 1e-5, dp.Improved)
	require.NoError(t, err)
	l, err := dp.NewLedger(want*1.05, 1e-5, dp.Improved, nil)
	require.NoError(t, err)
	var spent float64
	for range 3 {
		_, err := p.Charge(l, 100, 1, false)
		require.NoError(t, err)
		spent, err = p.Charge(l, 100, 1, true)
		require.NoError(t, err)
	}
	assert.InEpsilon(t, want, spent, 0.02)
	_, rounds := l.Spent()
	assert.Equal(t, 3, rounds)
	_, err = p.Charge(l, 100, 1, false)
	assert.ErrorIs(t, err, secagg.ErrConflict, "a fourth round is over the budget")
	after, rounds := l.Spent()
	assert.Equal(t, 3, rounds)
	assert.InDelta(t, spent, after, 1e-12)
}

// TestSampledAgainstGaussian: the general subsampling bound applied to the Gaussian
// mechanism's RDP (α/(2z²)) is never below dp's exact RDP of the subsampled Gaussian
// (Mironov et al.'s, the tight one) and within a factor 4 of it (2.68 at worst on this
// grid); at q = 1 it is the unsampled RDP itself.
func TestSampledAgainstGaussian(t *testing.T) {
	var worst float64
	for _, z := range []float64{0.8, 1.1, 2} {
		for _, q := range []float64{0.001, 0.01, 0.1, 1} {
			gauss := func(a int) float64 { return float64(a) / (2 * z * z) }
			orders := []float64{2, 3, 4, 8, 16, 32}
			exact, err := dp.RDP(q, z, orders)
			require.NoError(t, err)
			for i, a := range orders {
				got := sampled(int(a), q, gauss)
				require.GreaterOrEqual(t, got, exact[i]*(1-1e-9), "z=%v q=%v a=%v", z, q, a)
				if q == 1 {
					assert.InDelta(t, gauss(int(a)), got, 1e-12)
				} else {
					worst = math.Max(worst, got/exact[i])
				}
			}
		}
	}
	t.Logf("the general bound is at most %.2fx the exact subsampled Gaussian's", worst)
	assert.Less(t, worst, 4.0)
	p := params(1 << 10)
	p.Stddev = 0.05
	full, _, err := p.Epsilon(100, 100, 1, 1e-5, dp.Improved)
	require.NoError(t, err)
	some, _, err := p.Epsilon(100, 100, 0.1, 1e-5, dp.Improved)
	require.NoError(t, err)
	assert.Less(t, some, full/2, "sampling a tenth of the clients amplifies")
	_, _, err = p.Epsilon(100, 1, 0, 1e-5, dp.Improved)
	assert.ErrorIs(t, err, secagg.ErrValidation)
}
