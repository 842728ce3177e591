package dp_test

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/dp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Flower's vector: z = 1, 100 clients, σ_b = 100/20 = 5 gives z_Δ = (1 − 10⁻²)^(−1/2).
func TestAdjustedNoiseMultiplier(t *testing.T) {
	z, err := dp.AdjustedNoiseMultiplier(1, 5)
	require.NoError(t, err)
	assert.InDelta(t, 1.0050378, z, 1e-7)
	_, err = dp.AdjustedNoiseMultiplier(1, 0.4)
	assert.ErrorIs(t, err, secagg.ErrValidation)
}

func TestAdaptiveClippingStep(t *testing.T) {
	a := dp.AdaptiveClipping{ClipNorm: 2, TargetQuantile: 0.5, LearningRate: 0.2}
	// Without count noise: 3 of 4 norms within 2, so the norm shrinks by exp(−0.2·0.25).
	c, err := a.Update([]float64{1, 2, 1.5, 9}, dp.SecureSource())
	require.NoError(t, err)
	assert.InDelta(t, 2*math.Exp(-0.05), c, 1e-12)
	assert.Equal(t, c, a.ClipNorm)

	bad := a
	bad.LearningRate = 0
	_, err = bad.Update([]float64{1}, dp.SecureSource())
	assert.ErrorIs(t, err, secagg.ErrValidation)
	_, err = a.Update(nil, dp.SecureSource())
	assert.ErrorIs(t, err, secagg.ErrInsufficientClients)
	assert.Equal(t, c, a.ClipNorm, "rejected calls leave the clip norm")
}

// Over many rounds the clip norm settles near the target quantile of the norms.
func TestAdaptiveClippingConverges(t *testing.T) {
	rng := rand.New(rand.NewPCG(90, 91))
	src := dp.InsecureSeededSource(5)
	for _, target := range []float64{0.3, 0.5, 0.8} {
		a := dp.AdaptiveClipping{ClipNorm: 0.01, TargetQuantile: target, LearningRate: 0.2, CountStddev: 100.0 / 20}
		var all []float64
		for range 400 {
			norms := make([]float64, 100)
			for i := range norms {
				norms[i] = math.Exp(rng.NormFloat64()) // log-normal client norms
			}
			all = append(all, norms...)
			_, err := a.Update(norms, src)
			require.NoError(t, err)
		}
		sort.Float64s(all)
		want := all[int(target*float64(len(all)))]
		assert.InEpsilon(t, want, a.ClipNorm, 0.25, "target quantile %v", target)
	}
}
