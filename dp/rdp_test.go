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
	for _, q := range []float64{1e-4, 0.004, 0.04, 0.3, 1} {
		for _, z := range []float64{0.5, 0.8, 1.1, 2, 5} {
			for _, steps := range []int{1, 100, 10000} {
				for _, delta := range []float64{1e-3, 1e-5, 1e-9} {
					imp, _, err := dp.EpsilonAfter(q, z, steps, delta, nil, dp.Improved)
					require.NoError(t, err)
					cls, _, err := dp.EpsilonAfter(q, z, steps, delta, nil, dp.Classic)
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
