package aggregate_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
	"github.com/octomil/secagg/simd"
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

// TestWeiszfeldByBlocks runs the iteration as a round sharded by blocks of SqDistRange
// coordinates does (the Beam module's): each step's weighted mean block by block, each
// client's distance the sum of its blocks' squared distances in block order. The steps,
// the last betas' mean and so the result are GeometricMedian's bit for bit, and
// Distance is the blocks' sum bit for bit (a sum over the whole vector is not) and the
// float64 distance to within its rounding.
func TestWeiszfeldByBlocks(t *testing.T) {
	const n, d = 7, 2*aggregate.SqDistRange + 777
	rng := rand.New(rand.NewPCG(81, 82))
	xs := make([][]float32, n)
	for i := range xs {
		xs[i] = make([]float32, d)
		for j := range xs[i] {
			xs[i][j] = float32(rng.NormFloat64() * float64(1+i%3))
		}
	}
	weights := []float64{1, 2, 3, 1, 5, 1, 0.5}
	want := make([]float32, d)
	wantSteps, err := aggregate.GeometricMedian(want, xs, weights, aggregate.GeometricMedianOptions{})
	require.NoError(t, err)
	require.Greater(t, wantSteps, 1)

	z := make([]float32, d)
	betas, steps, err := aggregate.Weiszfeld(weights, n, aggregate.GeometricMedianOptions{}, func(betas []float64) ([]float64, error) {
		squares := make([]float64, n)
		for lo := 0; lo < d; lo += aggregate.SqDistRange {
			hi := min(lo+aggregate.SqDistRange, d)
			rows := make([][]float32, n)
			for i, x := range xs {
				rows[i] = x[lo:hi]
			}
			if err := aggregate.WeightedMean(z[lo:hi], rows, betas); err != nil {
				return nil, err
			}
			for i, row := range rows {
				squares[i] += simd.SqDist(row, z[lo:hi])
			}
		}
		for i := range squares {
			squares[i] = math.Sqrt(squares[i])
		}
		return squares, nil
	})
	require.NoError(t, err)
	assert.Equal(t, wantSteps, steps)
	assert.Equal(t, want, z, "the last step's mean")
	last := make([]float32, d)
	require.NoError(t, aggregate.WeightedMean(last, xs, betas))
	assert.Equal(t, want, last, "the last betas' mean")

	for i, x := range xs {
		var exact float64
		for j, v := range x {
			e := float64(v) - float64(want[j])
			exact += e * e
		}
		assert.InEpsilon(t, math.Sqrt(exact), aggregate.Distance(x, want), 1e-12, "client %d", i)
		var byBlocks float64
		for lo := 0; lo < d; lo += aggregate.SqDistRange {
			hi := min(lo+aggregate.SqDistRange, d)
			byBlocks += simd.SqDist(x[lo:hi], want[lo:hi])
		}
		assert.Equal(t, math.Sqrt(byBlocks), aggregate.Distance(x, want), "client %d: by blocks, bit for bit", i)
	}
}
