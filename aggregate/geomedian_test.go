package aggregate_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// In one dimension the geometric median is the median.
func TestGeometricMedianOneDimension(t *testing.T) {
	us := [][]float32{{0}, {1}, {2}, {10}, {100}}
	dst := make([]float32, 1)
	steps, err := aggregate.GeometricMedian(dst, us, nil, aggregate.GeometricMedianOptions{MaxIterations: 1000, Tolerance: 1e-12})
	require.NoError(t, err)
	assert.InDelta(t, 2, dst[0], 1e-3, "after %d steps", steps)
}

// For an equilateral triangle the geometric median is the centre; a far outlier with a
// small weight barely moves it.
func TestGeometricMedianTriangle(t *testing.T) {
	h := float32(math.Sqrt(3) / 2)
	us := [][]float32{{0, 0}, {1, 0}, {0.5, h}}
	dst := make([]float32, 2)
	_, err := aggregate.GeometricMedian(dst, us, nil, aggregate.GeometricMedianOptions{Tolerance: 1e-12, MaxIterations: 500})
	require.NoError(t, err)
	assert.InDelta(t, 0.5, dst[0], 1e-4)
	assert.InDelta(t, float64(h)/3, dst[1], 1e-4)
}

func TestGeometricMedianResistsByzantineClients(t *testing.T) {
	rng := rand.New(rand.NewPCG(130, 131))
	const n, d = 20, 1000
	us := fill(n, d, func(i, _ int) float32 {
		v := float32(1 + 0.1*rng.NormFloat64())
		if i < 6 {
			v = 1e4 // 30% of the clients far away, all together
		}
		return v
	})
	dst := make([]float32, d)
	_, err := aggregate.GeometricMedian(dst, us, nil, aggregate.GeometricMedianOptions{})
	require.NoError(t, err)
	for j := range dst {
		require.InDelta(t, 1, dst[j], 0.5, "coordinate %d", j)
	}
	mean := make([]float32, d)
	require.NoError(t, aggregate.Mean(mean, us))
	assert.Greater(t, mean[0], float32(1000), "the plain mean is dragged away")
}

func TestGeometricMedianErrors(t *testing.T) {
	dst := []float32{7}
	_, err := aggregate.GeometricMedian(dst, [][]float32{{1}, {float32(math.NaN())}}, nil, aggregate.GeometricMedianOptions{})
	assert.ErrorIs(t, err, secagg.ErrValidation)
	_, err = aggregate.GeometricMedian(dst, [][]float32{{1}}, nil, aggregate.GeometricMedianOptions{Tolerance: -1})
	assert.ErrorIs(t, err, secagg.ErrValidation)
	_, err = aggregate.GeometricMedian(dst, [][]float32{{1}}, []float64{1, 2}, aggregate.GeometricMedianOptions{})
	assert.ErrorIs(t, err, secagg.ErrBadRequest)
	assert.Equal(t, []float32{7}, dst)
}
