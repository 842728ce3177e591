package dp_test

import (
	"math"
	"testing"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/dp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Published per-step RDP values.
func TestRDPVectors(t *testing.T) {
	// dp_accounting: q=0.01, σ=2.5, 50 steps at integer orders (fractional ones differ
	// between libraries by design, see the package doc).
	orders := []float64{5, 50, 100}
	rdp, err := dp.RDP(0.01, 2.5, orders)
	require.NoError(t, err)
	for i, want := range []float64{2.18075656e-03, 2.38460375e-02, 1.67416308e02} {
		assert.InEpsilon(t, want, 50*rdp[i], 1e-4, "order %v", orders[i])
	}
	// TensorFlow Privacy: compute_rdp(q=0.1, σ=2, steps=10, α=5) = 0.07737.
	rdp, err = dp.RDP(0.1, 2, []float64{5})
	require.NoError(t, err)
	assert.InDelta(t, 0.07737, 10*rdp[0], 1e-5)
	// Without subsampling it is the Gaussian mechanism: α/(2σ²).
	rdp, err = dp.RDP(1, 2.71828, []float64{3.14159})
	require.NoError(t, err)
	assert.InEpsilon(t, 3.14159/(2*2.71828*2.71828), rdp[0], 1e-12)
	// Integer and fractional formulas meet: an order just off an integer is close.
	a, _ := dp.RDP(0.01, 1.1, []float64{8, 8 + 1e-9})
	assert.InEpsilon(t, a[0], a[1], 1e-6)
	// No noise: infinite.
	a, _ = dp.RDP(0.5, 0, []float64{2})
	assert.True(t, math.IsInf(a[0], 1))
}

// TestPublishedEpsilons reproduces the figures users compare against.
func TestPublishedEpsilons(t *testing.T) {
	const delta = 1e-5
	cases := []struct {
		name         string
		q, z         float64
		steps        int
		orders       []float64
		conv         dp.Conversion
		want, relTol float64
	}{
		// TensorFlow Privacy, MNIST tutorial: "eps = 3.01" (classic conversion).
		{"tf-privacy mnist", 256.0 / 60000, 1.1, 14062, nil, dp.Classic, 3.01, 0.01},
		// Opacus accountants_test: σ=1.5, q=0.04, 2250 steps, improved: 7.32911117143.
		{"opacus test", 0.04, 1.5, 2250, nil, dp.Improved, 7.32911117143, 1e-6},
		// Opacus MNIST README: q=240/60000, σ=1.3, 15 epochs: "ε = 1.16" (classic).
		{"opacus mnist", 240.0 / 60000, 1.3, 3750, nil, dp.Classic, 1.16, 0.01},
		// Opacus docs: σ=1.12 on the same MNIST setup with orders {10, 20, 100}: ≈ 2.95.
		{"opacus orders 10,20,100", 256.0 / 60000, 1.12, 14062, []float64{10, 20, 100}, dp.Classic, 2.95, 0.01},
		// TF-Privacy tutorial table: σ=1.12, 60 epochs: 2.92 (classic).
		{"tf-privacy 1.12", 256.0 / 60000, 1.12, 14062, nil, dp.Classic, 2.92, 0.01},
	}
	for _, c := range cases {
		eps, order, err := dp.EpsilonAfter(c.q, c.z, c.steps, delta, c.orders, c.conv)
		require.NoError(t, err, c.name)
		t.Logf("%s: ε = %.4f (%s conversion, order %v)", c.name, eps, c.conv, order)
		assert.InEpsilon(t, c.want, eps, c.relTol, c.name)
	}
}

// The improved conversion never reports more than the classic one.
func TestImprovedNeverExceedsClassic(t *testing.T) {
	orders := dp.DefaultOrders()
	for _, q := range []float64{1e-4, 0.004, 0.04, 0.3, 1} {
		for _, z := range []float64{0.5, 0.8, 1.1, 2, 5} {
			step, err := dp.RDP(q, z, orders)
			require.NoError(t, err)
			for _, steps := range []int{1, 100, 10000} {
				rdp := make([]float64, len(step))
				for i := range step {
					rdp[i] = float64(steps) * step[i]
				}
				for _, delta := range []float64{1e-3, 1e-5, 1e-9} {
					imp, _, err := dp.Epsilon(rdp, orders, delta, dp.Improved)
					require.NoError(t, err)
					cls, _, err := dp.Epsilon(rdp, orders, delta, dp.Classic)
					require.NoError(t, err)
					require.LessOrEqual(t, imp, cls, "q=%v z=%v steps=%d δ=%v", q, z, steps, delta)
				}
			}
		}
	}
}

func TestNoiseMultiplierRoundTrip(t *testing.T) {
	// Opacus get_noise_multiplier(ε=8, δ=1e-5, q=0.04, steps=2000) = 1.3562 (improved).
	z, err := dp.NoiseMultiplierFor(8, 1e-5, 0.04, 2000, nil, dp.Improved)
	require.NoError(t, err)
	assert.InDelta(t, 1.3562, z, 1e-3)
	eps, _, err := dp.EpsilonAfter(0.04, z, 2000, 1e-5, nil, dp.Improved)
	require.NoError(t, err)
	assert.LessOrEqual(t, eps, 8.0)
	assert.InDelta(t, 8, eps, 1e-3)
	_, err = dp.NoiseMultiplierFor(-1, 1e-5, 0.04, 10, nil, dp.Improved)
	assert.ErrorIs(t, err, secagg.ErrValidation)
}

func TestAccountingErrors(t *testing.T) {
	_, err := dp.RDP(0, 1, []float64{2})
	assert.ErrorIs(t, err, secagg.ErrValidation)
	_, err = dp.RDP(0.1, math.NaN(), []float64{2})
	assert.ErrorIs(t, err, secagg.ErrValidation)
	_, err = dp.RDP(0.1, 1, []float64{1})
	assert.ErrorIs(t, err, secagg.ErrValidation)
	_, err = dp.RDP(0.1, 1, nil)
	assert.ErrorIs(t, err, secagg.ErrBadRequest)
	_, _, err = dp.Epsilon([]float64{1}, []float64{2}, 1, dp.Improved)
	assert.ErrorIs(t, err, secagg.ErrValidation)
	_, _, err = dp.EpsilonAfter(0.1, 1, -1, 1e-5, nil, dp.Improved)
	assert.ErrorIs(t, err, secagg.ErrValidation)
}

// The fractional-order series against an mpmath integral of A_α (values from the issue
// that found the absolute cut): log A = 2.13 and 0.0497, where the cut gave −30.27 and
// −43.68.
func TestRDPFractionalSeriesCut(t *testing.T) {
	for _, c := range []struct{ q, z, alpha, logA float64 }{
		{0.4, 12, 59.25, 2.13},
		{0.5, 100, 63.5, 0.0497},
	} {
		rdp, err := dp.RDP(c.q, c.z, []float64{c.alpha})
		require.NoError(t, err)
		assert.InEpsilon(t, c.logA, rdp[0]*(c.alpha-1), 2e-3, "q=%v z=%v α=%v", c.q, c.z, c.alpha)
	}
	// Opacus's signed series at a fractional order (dp_accounting adds absolute values
	// there and reports more): q = 0.01, σ = 2.5, 50 steps.
	rdp, err := dp.RDP(0.01, 2.5, []float64{1.5, 2.5})
	require.NoError(t, err)
	assert.InEpsilon(t, 6.5007e-4, 50*rdp[0], 1e-4)
	assert.LessOrEqual(t, 50*rdp[0], 6.70579741e-04)
	assert.LessOrEqual(t, 50*rdp[1], 1.08548710e-03)
	assert.InEpsilon(t, 1.08548710e-03, 50*rdp[1], 1e-4)
}

// RDP is >= 0 and non-decreasing in α on a grid of q in [1e-8, 1), z in [0.1, 1000] and
// α in [1.01, 1024], tiny rates and huge noise included (where rounding made it
// negative).
func TestRDPNonNegativeAndMonotone(t *testing.T) {
	orders := []float64{1.01, 1.05, 1.1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.3, 4, 5.5, 8, 12, 16.5, 20, 32, 48.5, 64, 100, 128, 256, 512, 1000.5, 1024}
	for _, q := range []float64{1e-8, 3e-8, 1e-6, 1e-4, 0.003, 0.05, 0.3, 0.7, 0.999} {
		for _, z := range []float64{0.1, 0.3, 0.7, 1.1, 3, 10, 60, 560, 1000} {
			rdp, err := dp.RDP(q, z, orders)
			require.NoError(t, err)
			for i, r := range rdp {
				require.GreaterOrEqual(t, r, 0.0, "q=%v z=%v α=%v", q, z, orders[i])
				if i > 0 {
					require.GreaterOrEqual(t, r, rdp[i-1], "q=%v z=%v: ε(%v) < ε(%v)", q, z, orders[i], orders[i-1])
				}
			}
		}
	}
}

// Orders at the edge: huge ones are finite, infinite ones infinite.
func TestRDPExtremeOrders(t *testing.T) {
	rdp, err := dp.RDP(0.01, 2.5, []float64{1e15, 1e300, math.Inf(1)})
	require.NoError(t, err)
	assert.False(t, math.IsNaN(rdp[0]) || math.IsNaN(rdp[1]))
	assert.Positive(t, rdp[1])
	assert.True(t, math.IsInf(rdp[2], 1))
}

// A tiny sample rate with huge noise is a valid round that spends almost nothing.
func TestLedgerTinyRate(t *testing.T) {
	l, err := dp.NewLedger(1, 1e-5, dp.Improved, nil)
	require.NoError(t, err)
	spent, err := l.Charge(1e-8, 1000, 1_000_000)
	require.NoError(t, err)
	assert.Less(t, spent, 1e-6)
}

// Small ε needs large orders: the noise multipliers against dp_accounting's default
// orders (which stop at 1024; ours go on to 4096 and may only need less noise).
func TestSmallEpsilonNoiseMultipliers(t *testing.T) {
	for _, c := range []struct {
		q             float64
		rounds        int
		dpAccounting  float64
		atMostRelDiff float64
	}{
		{0.01, 1, 3.70, -1}, // our richer orders: less noise suffices
		{0.01, 100, 3.74, 0.01},
		{1, 1, 33.99, 0.001},
	} {
		z, err := dp.NoiseMultiplierFor(0.1, 1e-5, c.q, c.rounds, nil, dp.Improved)
		require.NoError(t, err)
		eps, order, err := dp.EpsilonAfter(c.q, z, c.rounds, 1e-5, nil, dp.Improved)
		require.NoError(t, err)
		t.Logf("q=%v rounds=%d: z = %.4f (dp_accounting %.2f), ε = %.5f at order %v", c.q, c.rounds, z, c.dpAccounting, eps, order)
		assert.LessOrEqual(t, z, c.dpAccounting*1.002)
		if c.atMostRelDiff > 0 {
			assert.InEpsilon(t, c.dpAccounting, z, c.atMostRelDiff)
		}
	}
	// Other orders can be given, to the ledger and to the conversions.
	z, err := dp.NoiseMultiplierFor(0.1, 1e-5, 0.01, 1, dp.DefaultOrders()[:160], dp.Improved)
	require.NoError(t, err)
	assert.Greater(t, z, 100.0, "orders up to 63 cannot reach ε = 0.1 cheaply")
	l, err := dp.NewLedger(10, 1e-5, dp.Improved, []float64{2, 4, 8})
	require.NoError(t, err)
	_, err = l.Charge(0.01, 1, 0)
	require.NoError(t, err)
	_, err = dp.NewLedger(1, 1e-5, dp.Improved, []float64{0.5})
	assert.ErrorIs(t, err, secagg.ErrValidation)
}
