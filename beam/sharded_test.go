package secaggbeam

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"codeberg.org/sbinet/npyio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
)

// runFiles runs AggregateFiles on Prism, writing the result and any selection into
// dir, and returns them read back; checks add their assertions on the Output to the
// pipeline.
func runFiles(t *testing.T, dir string, r Round, cfg aggregate.Config, checks ...func(beam.Scope, Output)) ([]float32, []int, error) {
	t.Helper()
	p, s := beam.NewPipelineWithRoot()
	o, err := AggregateFiles(s, r, cfg)
	if err != nil {
		return nil, nil, err
	}
	for _, check := range checks {
		check(s, o)
	}
	out, selOut := filepath.Join(dir, "result.npy"), filepath.Join(dir, "selected.json")
	os.Remove(out)
	os.Remove(selOut)
	WriteNpy(s, out, o.Result)
	if o.Selection.IsValid() {
		WriteSelection(s, selOut, r.Paths, o.Selection)
	}
	if err := ptest.Run(p); err != nil {
		return nil, nil, err
	}
	got := readNpyFile(t, out)
	var sel []int
	if o.Selection.IsValid() {
		b, err := os.ReadFile(selOut)
		require.NoError(t, err)
		var report struct {
			Selected []struct {
				Client int    `json:"client"`
				File   string `json:"file"`
			} `json:"selected"`
		}
		require.NoError(t, json.Unmarshal(b, &report))
		for _, c := range report.Selected {
			assert.Equal(t, r.Paths[c.Client], c.File)
			sel = append(sel, c.Client)
		}
	}
	return got, sel, nil
}

// config is a Config of the strategy with the given settings.
func config(t *testing.T, strategy aggregate.Strategy, values map[string]string) aggregate.Config {
	t.Helper()
	info, ok := aggregate.Lookup(strategy)
	require.True(t, ok, strategy)
	cfg, err := aggregate.ConfigFor(info, values, false)
	require.NoError(t, err)
	return cfg
}

// TestStrategiesByBlocks: every strategy that runs on Beam, read from .npy files by
// blocks (the last one short) on Prism, gives the engine's Aggregate of the same
// updates bit for bit, and Krum's and Bulyan's clients chosen are the engine's. The
// updates are integers, so that the sums (of the means and of Krum's distances) are
// exact in any order; median, trimmed_mean and Bulyan's coordinate phase are also run on
// values of every magnitude, where their bits do not depend on any order.
func TestStrategiesByBlocks(t *testing.T) {
	const n, d, block = 23, 1000, 96
	ints := updates(n, d, true, 31)
	reals := updates(n, d, false, 32)
	rng := rand.New(rand.NewPCG(33, 34))
	weights := make([]float64, n)
	for i := range weights {
		weights[i] = float64(1 + rng.IntN(40))
	}
	cases := []struct {
		strategy aggregate.Strategy
		values   map[string]string
		xs       [][]float32
	}{
		{aggregate.StrategyMean, nil, ints},
		{aggregate.StrategyWeightedMean, nil, ints},
		{aggregate.StrategyMedian, nil, ints},
		{aggregate.StrategyMedian, nil, reals},
		{aggregate.StrategyTrimmedMean, map[string]string{"trim_ratio": "0.2"}, reals},
		{aggregate.StrategyKrum, map[string]string{"byzantine_clients": "4"}, ints},
		{aggregate.StrategyKrum, map[string]string{"byzantine_clients": "3", "multi_krum_m": "6"}, ints},
		{aggregate.StrategyBulyan, map[string]string{"byzantine_clients": "4"}, ints},
	}
	for _, c := range cases {
		dir := t.TempDir()
		cfg := config(t, c.strategy, c.values)
		r := Round{Paths: writeUpdates(t, dir, c.xs), Dim: d, Block: block}
		var ws []float64
		if c.strategy == aggregate.StrategyWeightedMean {
			r.Weights, ws = weights, weights
		}
		want := make([]float32, d)
		res, err := aggregate.Aggregate(want, c.xs, ws, cfg, nil)
		require.NoError(t, err)
		got, sel, err := runFiles(t, dir, r, cfg)
		require.NoError(t, err, c.strategy)
		assert.Equal(t, want, got, "%s %v", c.strategy, c.values)
		var wantSel []int
		for _, s := range res.Selected {
			i, _ := strconv.Atoi(s)
			wantSel = append(wantSel, i)
		}
		assert.Equal(t, wantSel, sel, "%s %v", c.strategy, c.values)
	}
}

// Every strategy of the engine's table either runs on Beam or is refused with its
// reason, before anything runs.
func TestEveryStrategyRunsOrSaysWhy(t *testing.T) {
	for _, info := range aggregate.Strategies() {
		how := onBeam[info.Name]
		runs, why := how.build != nil, how.why
		refused := why != ""
		assert.True(t, runs != refused, "%s: runs %v, refused %v", info.Name, runs, refused)
		if refused {
			values := map[string]string{}
			for _, p := range info.Params {
				if p.Required {
					values[p.Key] = "1"
				}
			}
			_, s := beam.NewPipelineWithRoot()
			_, err := AggregateFiles(s, Round{Paths: []string{"a.npy"}, Dim: 4, Block: 2}, config(t, info.Name, values))
			assert.ErrorIs(t, err, secagg.ErrBadRequest, info.Name)
			assert.ErrorContains(t, err, why)
		}
	}
}

// Bad rounds: settings the engine refuses are refused before the pipeline runs; a NaN
// in one client's file fails the pipeline with the engine's validation_error and writes
// no result; a block that lacks a client, or holds one twice, is a bad_request.
func TestShardedRejects(t *testing.T) {
	dir := t.TempDir()
	xs := updates(9, 50, true, 35)
	paths := writeUpdates(t, dir, xs)
	r := Round{Paths: paths, Dim: 50, Block: 16}
	_, s := beam.NewPipelineWithRoot()
	_, err := AggregateFiles(s, r, config(t, aggregate.StrategyKrum, map[string]string{"byzantine_clients": "-1"}))
	assert.ErrorIs(t, err, secagg.ErrValidation)
	_, err = AggregateFiles(s, r, config(t, aggregate.StrategyWeightedMean, nil))
	assert.ErrorIs(t, err, secagg.ErrValidation) // no weights
	_, err = AggregateFiles(s, Round{Paths: paths, Weights: make([]float64, 9), Dim: 50, Block: 16}, config(t, aggregate.StrategyMedian, nil))
	assert.ErrorIs(t, err, secagg.ErrBadRequest) // weights it does not take
	_, err = AggregateFiles(s, Round{Paths: paths, Dim: 50}, config(t, aggregate.StrategyMedian, nil))
	assert.ErrorIs(t, err, secagg.ErrValidation) // no block
	_, err = AggregateFiles(s, Round{Paths: paths, Dim: 50, Block: 16, InsecureSeed: seed(1)}, config(t, aggregate.StrategyNormBoundedMean, map[string]string{"clip_norm": "1"}))
	assert.ErrorIs(t, err, secagg.ErrBadRequest) // a seed for a strategy that draws no noise
	_, err = AggregateFiles(s, r, config(t, aggregate.StrategyDPMean, map[string]string{"clip_norm": "1e38", "noise_multiplier": "1e30"}))
	assert.ErrorIs(t, err, secagg.ErrValidation) // noise that overflows float32

	// Krum with f = 4 needs 11 updates: known only once the selection runs.
	_, _, err = runFiles(t, dir, r, config(t, aggregate.StrategyKrum, map[string]string{"byzantine_clients": "4"}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "insufficient_clients")

	xs[4][33] = float32(math.NaN())
	r.Paths = writeUpdates(t, dir, xs)
	for _, c := range []struct {
		strategy aggregate.Strategy
		values   map[string]string
	}{
		{aggregate.StrategyMedian, nil},
		{aggregate.StrategyKrum, map[string]string{"byzantine_clients": "1"}},
		{aggregate.StrategyDPMean, map[string]string{"clip_norm": "10", "noise_multiplier": "1"}},
	} {
		_, _, err = runFiles(t, dir, r, config(t, c.strategy, c.values))
		require.Error(t, err, c.strategy)
		assert.Contains(t, err.Error(), "validation_error", c.strategy)
		assert.Contains(t, err.Error(), "NaN", c.strategy)
		_, statErr := os.Stat(filepath.Join(dir, "result.npy"))
		assert.True(t, os.IsNotExist(statErr), "%s: nothing written", c.strategy)
	}

	rowsOf := func(rs ...Row) func(*Row) bool {
		return func(r *Row) bool {
			if len(rs) == 0 {
				return false
			}
			*r, rs = rs[0], rs[1:]
			return true
		}
	}
	emit := func(int, []float32) { t.Fatal("emitted a block") }
	f := &coordinateWise{Strategy: "median", Clients: 3}
	for name, rows := range map[string][]Row{
		"missing":  {{Client: 0, Values: []float32{1}}, {Client: 2, Values: []float32{1}}},
		"twice":    {{Client: 0, Values: []float32{1}}, {Client: 0, Values: []float32{1}}, {Client: 1, Values: []float32{1}}},
		"outside":  {{Client: 3, Values: []float32{1}}},
		"lengths":  {{Client: 0, Values: []float32{1}}, {Client: 1, Values: []float32{1, 2}}, {Client: 2, Values: []float32{1}}},
		"negative": {{Client: -1, Values: []float32{1}}},
	} {
		err := f.ProcessElement(7, rowsOf(rows...), emit)
		assert.ErrorIs(t, err, secagg.ErrBadRequest, name)
	}
	err = (&ofChosen{Strategy: "krum", Clients: 1}).ProcessElement(0, rowsOf(Row{Client: 0, Values: []float32{1}}), Selection{Clients: []int{5}}, emit)
	assert.ErrorIs(t, err, secagg.ErrBadRequest)
}

// The distance matrices merge in any order (an empty side is no matrix yet), refuse
// matrices of other sizes, and WriteSelection, like WriteNpy, replaces only a regular
// file.
func TestDistancesMergeAndSelectionFile(t *testing.T) {
	f := addMatricesFn{}
	a, err := f.MergeAccumulators(nil, []float64{1, 2})
	require.NoError(t, err)
	a, err = f.MergeAccumulators(a, nil)
	require.NoError(t, err)
	a, err = f.MergeAccumulators(a, []float64{0.5, 0.25})
	require.NoError(t, err)
	assert.Equal(t, []float64{1.5, 2.25}, a)
	_, err = f.MergeAccumulators(a, []float64{1})
	assert.ErrorIs(t, err, secagg.ErrBadRequest)

	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "adir"), 0o755))
	w := &writeSelection{Path: filepath.Join(dir, "adir"), Paths: []string{"a.npy"}}
	assert.ErrorIs(t, w.ProcessElement(Selection{Clients: []int{0}}), secagg.ErrBadRequest)
	w.Path = filepath.Join(dir, "chosen.json")
	require.NoError(t, w.ProcessElement(Selection{Clients: []int{0}}))
	b, err := os.ReadFile(w.Path)
	require.NoError(t, err)
	assert.JSONEq(t, `{"selected": [{"client": 0, "file": "a.npy"}]}`, string(b))
}

// readNpyFile reads a result written by WriteNpy.
func readNpyFile(t testing.TB, path string) []float32 {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var got []float32
	require.NoError(t, npyio.Read(f, &got))
	return got
}
