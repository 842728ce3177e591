package secaggbeam

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
)

// runCenteredClipping runs CenteredClipping on Prism, writing the result into dir, and
// returns it read back; the scratch directory must be left empty.
func runCenteredClipping(t *testing.T, dir string, r Round, cfg aggregate.Config) ([]float32, error) {
	t.Helper()
	out := filepath.Join(dir, "result.npy")
	os.Remove(out)
	scratch := t.TempDir()
	err := CenteredClipping(context.Background(), r, cfg, scratch,
		func(_ context.Context, p *beam.Pipeline) error { return ptest.Run(p) },
		func(s beam.Scope, result beam.PCollection) { WriteNpy(s, out, result) })
	left, _ := os.ReadDir(scratch)
	assert.Empty(t, left, "scratch files left behind")
	if err != nil {
		_, statErr := os.Stat(out)
		assert.True(t, os.IsNotExist(statErr), "a failed round wrote %s", out)
		return nil, err
	}
	return readNpyFile(t, out), nil
}

// TestCenteredClippingByBlocks: centered clipping by blocks of aggregate.SqDistRange, one
// Prism pipeline per pass, from zeros and from a center file, with three far-off clients
// the radius clips, gives the engine's CenteredClipping bit for bit, for one pass and
// for three. A NaN, a center that is not finite and a center of another length are
// refused as the engine refuses them, and write nothing.
func TestCenteredClippingByBlocks(t *testing.T) {
	const n, d = 10, 2*aggregate.SqDistRange + 300
	xs := updates(n, d, false, 71)
	for i := range 3 {
		for j := range xs[i] {
			xs[i][j] = xs[i][j]*30 - 12
		}
	}
	dir := t.TempDir()
	paths := writeUpdates(t, dir, xs)
	center := updates(1, d, false, 72)[0]
	centerPath := filepath.Join(dir, "center.npy")
	require.NoError(t, os.WriteFile(centerPath, appendFloat32s(npyHeaderOf(d), center), 0o644))
	for _, c := range []struct {
		passes int
		center []float32
	}{{0, nil}, {3, nil}, {1, center}, {3, center}} {
		values := map[string]string{"centered_clipping_radius": "200", "centered_clipping_iterations": strconv.Itoa(c.passes)}
		cfg := config(t, aggregate.StrategyCenteredClipping, values)
		want := make([]float32, d)
		require.NoError(t, aggregate.CenteredClipping(want, xs, aggregate.CenteredClippingOptions{
			Radius: 200, Iterations: c.passes, Center: c.center}))
		r := Round{Paths: paths, Dim: d, Block: aggregate.SqDistRange}
		if c.center != nil {
			r.Center = centerPath
		}
		got, err := runCenteredClipping(t, dir, r, cfg)
		require.NoError(t, err)
		require.Len(t, got, d)
		for j := range want {
			if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
				t.Fatalf("passes %d, center %v: value %d is %v, the engine's %v", c.passes, c.center != nil, j, got[j], want[j])
			}
		}
	}
	// The radius clips: the far-off clients pull the center less than a plain mean.
	mean := make([]float32, d)
	require.NoError(t, aggregate.Mean(mean, xs))
	clipped := make([]float32, d)
	require.NoError(t, aggregate.CenteredClipping(clipped, xs, aggregate.CenteredClippingOptions{Radius: 200}))
	assert.Less(t, math.Abs(float64(clipped[0])), math.Abs(float64(mean[0]))+1e-3)

	cfg := config(t, aggregate.StrategyCenteredClipping, map[string]string{"centered_clipping_radius": "200"})
	code := func(err error) secagg.Code {
		var e *secagg.Error
		if assert.ErrorAs(t, err, &e) {
			return e.Code
		}
		return ""
	}
	nanX := append([][]float32(nil), xs...)
	nanX[4] = append([]float32(nil), xs[4]...)
	nanX[4][aggregate.SqDistRange+7] = float32(math.NaN())
	nanPaths := writeUpdates(t, t.TempDir(), nanX)
	_, err := runCenteredClipping(t, dir, Round{Paths: nanPaths, Dim: d, Block: aggregate.SqDistRange}, cfg)
	require.Error(t, err)
	e, ok := secagg.FindError(err.Error())
	require.True(t, ok, err.Error())
	assert.Equal(t, secagg.CodeValidation, e.Code)
	assert.Contains(t, e.Message, "updates[4]")
	assert.Contains(t, e.Message, strconv.Itoa(aggregate.SqDistRange+7))

	bad := append([]float32(nil), center...)
	bad[9] = float32(math.Inf(1))
	require.NoError(t, os.WriteFile(centerPath, appendFloat32s(npyHeaderOf(d), bad), 0o644))
	_, err = runCenteredClipping(t, dir, Round{Paths: paths, Dim: d, Block: aggregate.SqDistRange, Center: centerPath}, cfg)
	e, ok = secagg.FindError(err.Error())
	require.True(t, ok, err.Error())
	assert.Equal(t, secagg.CodeValidation, e.Code)
	assert.Contains(t, e.Message, "center[9] must be finite")

	require.NoError(t, os.WriteFile(centerPath, appendFloat32s(npyHeaderOf(d-1), bad[1:]), 0o644))
	_, err = runCenteredClipping(t, dir, Round{Paths: paths, Dim: d, Block: aggregate.SqDistRange, Center: centerPath}, cfg)
	e, ok = secagg.FindError(err.Error())
	require.True(t, ok, err.Error())
	assert.Equal(t, secagg.CodeBadRequest, e.Code)
	assert.Contains(t, e.Message, "center.npy")

	_, err = runCenteredClipping(t, dir, Round{Paths: paths, Dim: d, Block: aggregate.SqDistRange, Center: centerPath},
		config(t, aggregate.StrategyMedian, nil))
	assert.Equal(t, secagg.CodeBadRequest, code(err))
	_, root := beam.NewPipelineWithRoot()
	_, err = AggregateFiles(root, Round{Paths: paths, Dim: d, Block: 8, Center: centerPath}, config(t, aggregate.StrategyMedian, nil))
	assert.Equal(t, secagg.CodeBadRequest, code(err))
	assert.ErrorContains(t, err, "only centered_clipping starts from one")
}
