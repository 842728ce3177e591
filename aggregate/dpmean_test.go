package aggregate_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
	"github.com/octomil/secagg/dp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Without noise DPMean is the mean of the clipped updates; with noise the result moves
// by the stated standard deviation.
func TestDPMean(t *testing.T) {
	rng := rand.New(rand.NewPCG(80, 81))
	const n, d, c = 9, 50_000, 3.0
	us := fill(n, d, func(i, _ int) float32 {
		scale := []float64{0.001, 0.01, 0.05}[i%3] // norms about 0.2, 2.2, 11: some clipped
		return float32(rng.NormFloat64() * scale)
	})
	clean := make([]float32, d)
	norms, err := aggregate.DPMean(clean, us, c, 0, dp.SecureSource())
	require.NoError(t, err)
	// Reference in float64: (1/N) Σ f_i x_i with the clip factors of dp.Clip.
	clipped := 0
	for i, u := range us {
		v := append([]float32(nil), u...)
		norm, err := dp.Clip(v, c)
		require.NoError(t, err)
		assert.Equal(t, norm, norms[i])
		if norm > c {
			clipped++
		}
	}
	require.Equal(t, 3, clipped, "the round must clip some clients and not others")
	for j := range clean {
		s := 0.0
		for i, u := range us {
			s += dp.ClipFactor(u, norms[i], c) * float64(u[j])
		}
		require.LessOrEqual(t, ulps(float32(s/n), clean[j]), int64(1), "coordinate %d", j)
	}

	noisy := make([]float32, d)
	_, err = aggregate.DPMean(noisy, us, c, 1.1, dp.InsecureSeededSource(3))
	require.NoError(t, err)
	var sq float64
	for j := range noisy {
		e := float64(noisy[j] - clean[j])
		sq += e * e
	}
	sigma := 1.1 * c / n
	assert.InEpsilon(t, sigma, math.Sqrt(sq/d), 0.03, "noise standard deviation")
}

func TestDPMeanRejects(t *testing.T) {
	us := [][]float32{{1, 2}, {3, float32(math.NaN())}}
	dst := []float32{7, 7}
	_, err := aggregate.DPMean(dst, us, 1, 1, dp.SecureSource())
	var e *secagg.Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, "updates[1][1] must be finite, got NaN", e.Message)
	assert.Equal(t, []float32{7, 7}, dst)
	_, err = aggregate.DPMean(dst, us[:1], 0, 1, dp.SecureSource())
	assert.ErrorIs(t, err, secagg.ErrValidation)
	_, err = aggregate.DPMean(dst, us[:1], 1, -1, dp.SecureSource())
	assert.ErrorIs(t, err, secagg.ErrValidation)
	_, err = aggregate.DPMean(dst[:1], us[:1], 1, 1, dp.SecureSource())
	assert.ErrorIs(t, err, secagg.ErrBadRequest)
	assert.Equal(t, []float32{7, 7}, dst)
	// No noise source: refused before the mean is written, so the mean without its
	// noise is never left in dst for a caller that drops the error.
	_, err = aggregate.DPMean(dst, us[:1], 1, 1, nil)
	assert.ErrorIs(t, err, secagg.ErrBadRequest)
	assert.Equal(t, []float32{7, 7}, dst)
	// Each finite, the product not: refused before anything is written (found by
	// FuzzAggregate: the noise used to fail after the mean was in dst).
	_, err = aggregate.DPMean(dst, us[:1], 2, 1e308, dp.SecureSource())
	require.True(t, errors.As(err, &e))
	assert.Equal(t, "noise_multiplier·clip_norm must be finite, got 1e+308·2", e.Message)
	assert.Equal(t, []float32{7, 7}, dst)
	// Finite noise whose result cannot be a float32: clip_norm 1e38 with
	// noise_multiplier 10 over 10 updates (σ = 1e38) used to return infinities.
	ten := make([][]float32, 10)
	for i := range ten {
		ten[i] = []float32{1, 2}
	}
	_, err = aggregate.DPMean(dst, ten, 1e38, 10, dp.SecureSource())
	require.True(t, errors.As(err, &e))
	assert.Equal(t, "noise_multiplier", e.Field)
	assert.Contains(t, e.Message, "does not fit in float32")
	assert.Equal(t, []float32{7, 7}, dst)
	_, err = aggregate.New(aggregate.Config{Strategy: aggregate.StrategyDPMean, ClipNorm: 1e38, NoiseMultiplier: 10, MinClients: 10})
	assert.ErrorIs(t, err, secagg.ErrValidation, "an engine whose smallest round overflows")
	_, err = aggregate.New(aggregate.Config{Strategy: aggregate.StrategyDPMean, ClipNorm: 1e38, NoiseMultiplier: 10, MinClients: 100})
	assert.NoError(t, err, "σ = 1e37 fits")
	// Just inside the range it works, and every output is finite.
	_, err = aggregate.DPMean(dst, ten, 1e37, 10, dp.SecureSource())
	require.NoError(t, err)
	assert.False(t, math.IsInf(float64(dst[0]), 0) || math.IsInf(float64(dst[1]), 0))
	err = aggregate.Config{Strategy: aggregate.StrategyDPMean, ClipNorm: 2, NoiseMultiplier: 1e308, MinClients: 1}.Validate()
	assert.ErrorIs(t, err, secagg.ErrValidation, "a round's config is refused up front")
}
