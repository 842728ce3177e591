package secaggbeam

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
)

// runGeometricMedian runs GeometricMedian on Prism, writing the result into dir, and
// returns it read back with the steps taken; the scratch directory must be left empty.
func runGeometricMedian(t *testing.T, dir string, r Round, cfg aggregate.Config) ([]float32, int, error) {
	t.Helper()
	out := filepath.Join(dir, "result.npy")
	os.Remove(out)
	scratch := t.TempDir()
	steps, err := GeometricMedian(context.Background(), r, cfg, scratch,
		func(_ context.Context, p *beam.Pipeline) error { return ptest.Run(p) },
		func(s beam.Scope, result beam.PCollection) { WriteNpy(s, out, result) })
	left, _ := os.ReadDir(scratch)
	assert.Empty(t, left, "scratch files left behind")
	if err != nil {
		return nil, steps, err
	}
	return readNpyFile(t, out), steps, nil
}

// TestGeometricMedianByBlocks: the geometric median of updates of every magnitude, by
// blocks of aggregate.SqDistRange coordinates, one Prism pipeline per Weiszfeld step,
// takes the engine's steps and gives its result bit for bit, with weights and without,
// and with a cap on the steps. With blocks that cut the distances' runs, the sums are
// added in another order: the result is then within float32 rounding of the engine's.
func TestGeometricMedianByBlocks(t *testing.T) {
	const n, d = 9, 2*aggregate.SqDistRange + 300
	xs := updates(n, d, false, 51)
	for i := range 2 {
		for j := range xs[i] {
			xs[i][j] = xs[i][j]*40 + 25 // two far-off clients
		}
	}
	dir := t.TempDir()
	paths := writeUpdates(t, dir, xs)
	weights := []float64{1, 1, 3, 2, 5, 1, 1, 4, 2}
	for _, c := range []struct {
		weights []float64
		values  map[string]string
	}{
		{nil, nil},
		{weights, nil},
		{nil, map[string]string{"geometric_median_max_iterations": "2"}},
	} {
		cfg := config(t, aggregate.StrategyGeoMedian, c.values)
		want := make([]float32, d)
		res, err := aggregate.Aggregate(want, xs, c.weights, cfg, nil)
		require.NoError(t, err)
		require.Greater(t, res.Iterations, 1)
		got, steps, err := runGeometricMedian(t, dir, Round{Paths: paths, Weights: c.weights, Dim: d, Block: aggregate.SqDistRange}, cfg)
		require.NoError(t, err)
		assert.Equal(t, res.Iterations, steps, "%v %v", c.weights, c.values)
		assert.Equal(t, want, got, "%v %v", c.weights, c.values)
	}

	// One step's distances are aggregate.Distance's bit for bit (the runs added in
	// order; in any other order the steps and results above mostly come out the same).
	cfg := config(t, aggregate.StrategyGeoMedian, nil)
	want := make([]float32, d)
	require.NoError(t, aggregate.WeightedMean(want, xs, weights))
	wantDists := make([]float64, n)
	for i, x := range xs {
		wantDists[i] = aggregate.Distance(x, want)
	}
	p, s := beam.NewPipelineWithRoot()
	_, runs := weiszfeldStep(s, Round{Paths: paths, Dim: d, Block: aggregate.SqDistRange}, scaled(weights, 1.0/32), true)
	passert.Equals(s, ClientDistances(s, runs, n), wantDists)
	require.NoError(t, ptest.Run(p))

	_, err := aggregate.Aggregate(want, xs, nil, cfg, nil)
	require.NoError(t, err)
	got, _, err := runGeometricMedian(t, dir, Round{Paths: paths, Dim: d, Block: 50_000}, cfg)
	require.NoError(t, err)
	for j := range want {
		require.InDelta(t, want[j], got[j], 1e-5*(1+math.Abs(float64(want[j]))), "coordinate %d", j)
	}
}

// A NaN in one client's file fails the first step with the engine's validation_error and
// writes nothing; settings the engine refuses are refused before any pipeline runs.
func TestGeometricMedianRejects(t *testing.T) {
	xs := updates(5, 40, false, 52)
	xs[3][17] = float32(math.NaN())
	dir := t.TempDir()
	r := Round{Paths: writeUpdates(t, dir, xs), Dim: 40, Block: 16}
	_, _, err := runGeometricMedian(t, dir, r, config(t, aggregate.StrategyGeoMedian, nil))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "validation_error")
	assert.Contains(t, err.Error(), "NaN")
	_, statErr := os.Stat(filepath.Join(dir, "result.npy"))
	assert.True(t, os.IsNotExist(statErr), "nothing written")

	never := func(context.Context, *beam.Pipeline) error { t.Fatal("a pipeline ran"); return nil }
	_, err = GeometricMedian(context.Background(), r, config(t, aggregate.StrategyMedian, nil), dir, never, nil)
	assert.ErrorIs(t, err, secagg.ErrBadRequest)
	bad := r
	bad.Weights = []float64{1, 2}
	_, err = GeometricMedian(context.Background(), bad, config(t, aggregate.StrategyGeoMedian, nil), dir, never, nil)
	assert.ErrorIs(t, err, secagg.ErrBadRequest)
	bad.Weights = []float64{1, 2, -1, 1, 1}
	_, err = GeometricMedian(context.Background(), bad, config(t, aggregate.StrategyGeoMedian, nil), dir, never, nil)
	assert.ErrorIs(t, err, secagg.ErrValidation)
	_, err = GeometricMedian(context.Background(), r, config(t, aggregate.StrategyGeoMedian, map[string]string{"geometric_median_tolerance": "-1"}), dir, never, nil)
	assert.ErrorIs(t, err, secagg.ErrValidation)
	_, err = readDistances(context.Background(), filepath.Join(dir, "none.bin"), 3)
	assert.ErrorIs(t, err, secagg.ErrBadRequest)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "short.bin"), make([]byte, 16), 0o644))
	_, err = readDistances(context.Background(), filepath.Join(dir, "short.bin"), 3)
	assert.ErrorIs(t, err, secagg.ErrBadRequest)
}

// scaled is weights times a power of two, which changes no weighted mean's bits.
func scaled(weights []float64, by float64) []float64 {
	out := make([]float64, len(weights))
	for i, w := range weights {
		out[i] = w * by
	}
	return out
}
