package secaggbeam

import (
	"math"
	"strconv"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
	"github.com/octomil/secagg/dp"
)

// clippedRoundFiles is a round for norm_bounded_mean and dp_mean: integer updates (so
// every norm is exact in any order), a clip near the middle of their norms, and client
// 5's update exactly at the clip, [3k, 0, ..., 4k, ...] with the clip 5k.
func clippedRoundFiles(t *testing.T, n, d int) (xs [][]float32, clip float64) {
	xs = updates(n, d, true, 41)
	k := math.Round(dp.Norm(xs[n/2]) / 5)
	clip = 5 * k
	xs[5] = make([]float32, d)
	xs[5][0], xs[5][d/2] = float32(3*k), float32(4*k)
	return xs, clip
}

// TestClippedByBlocks: norm_bounded_mean read by blocks on Prism gives the engine's
// norms, clip factors and result. The norms are exact here, so they and the factors are
// the engine's bits, and the result is within one float32 step of it (the clipped
// products are summed in the runner's order). Client 5's update is exactly at the clip:
// its norm is within the float64 rounding of the bound, so its file is read again into
// an exact sum, which leaves it as it is (factor 1, as the engine's); a factor taken from
// the rounded norm alone would shrink it by 2^-22.
func TestClippedByBlocks(t *testing.T) {
	const n, d, block = 23, 1000, 96
	xs, clip := clippedRoundFiles(t, n, d)
	cfg := config(t, aggregate.StrategyNormBoundedMean, map[string]string{"clip_norm": fmtFloat(clip)})
	want := make([]float32, d)
	res, err := aggregate.Aggregate(want, xs, nil, cfg, nil)
	require.NoError(t, err)
	factors := make([]float64, n)
	clipped := 0
	for i, x := range xs {
		factors[i] = dp.ClipFactor(x, res.Norms[i], clip)
		if factors[i] < 1 {
			clipped++
		}
	}
	require.Equal(t, 1.0, factors[5])
	require.Positive(t, clipped)
	require.Less(t, clipped, n-1)

	dir := t.TempDir()
	r := Round{Paths: writeUpdates(t, dir, xs), Dim: d, Block: block}
	got, _, err := runFiles(t, dir, r, cfg, func(s beam.Scope, o Output) {
		passert.Equals(s, o.Clipping, Clipping{Norms: res.Norms, Factors: factors})
		assert.Zero(t, o.NoiseSigma)
	})
	require.NoError(t, err)
	require.NoError(t, (&withinOneStep{Want: want}).ProcessElement(got))
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// TestDPMeanByBlocks: dp_mean by blocks is norm_bounded_mean plus noise of the engine's
// σ. The attacker here knows the code and subtracts what norm_bounded_mean gives: what
// is left must look like fresh Gaussian noise of that σ in every block. A seed reused
// for each block (or one source per block drawn alike) would repeat the noise from
// block to block, and it is checked not to; the same seed replays the round, and the
// secure source (no seed) never does.
func TestDPMeanByBlocks(t *testing.T) {
	const n, d, block = 23, 2048, 128
	xs, clip := clippedRoundFiles(t, n, d)
	dir := t.TempDir()
	r := Round{Paths: writeUpdates(t, dir, xs), Dim: d, Block: block}
	clipOnly, _, err := runFiles(t, dir, r, config(t, aggregate.StrategyNormBoundedMean, map[string]string{"clip_norm": fmtFloat(clip)}))
	require.NoError(t, err)

	cfg := config(t, aggregate.StrategyDPMean, map[string]string{"clip_norm": fmtFloat(clip), "noise_multiplier": "1.5"})
	_, err = aggregate.Aggregate(make([]float32, d), xs, nil, cfg, nil)
	require.NoError(t, err)
	sigma, err := cfg.DPNoise(n, d)
	require.NoError(t, err)
	run := func(seed *uint64) []float32 {
		r := r
		r.InsecureSeed = seed
		got, _, err := runFiles(t, dir, r, cfg, func(_ beam.Scope, o Output) { assert.Equal(t, sigma, o.NoiseSigma) })
		require.NoError(t, err)
		return got
	}
	noisy := run(seed(7))

	// The ledger is charged once for the round, when the pipeline is built; one that
	// cannot take it refuses the round before any pipeline exists; a ledger is refused
	// where no noise is drawn.
	ledger, err := dp.NewLedger(3, 1e-5, dp.Improved, nil)
	require.NoError(t, err)
	charged := r
	charged.Ledger, charged.SampleRate = ledger, 0.01
	_, root := beam.NewPipelineWithRoot()
	_, err = AggregateFiles(root, charged, cfg)
	require.NoError(t, err)
	_, rounds := ledger.Spent()
	assert.Equal(t, 1, rounds)
	spent, err := dp.NewLedger(0.01, 1e-5, dp.Improved, nil)
	require.NoError(t, err)
	charged.Ledger, charged.SampleRate = spent, 1
	_, root = beam.NewPipelineWithRoot()
	_, err = AggregateFiles(root, charged, cfg)
	assert.ErrorIs(t, err, secagg.ErrConflict)
	_, root = beam.NewPipelineWithRoot()
	_, err = AggregateFiles(root, charged, config(t, aggregate.StrategyNormBoundedMean, map[string]string{"clip_norm": fmtFloat(clip)}))
	assert.ErrorIs(t, err, secagg.ErrBadRequest)
	assert.ErrorContains(t, err, "only dp_mean adds noise")

	noise := make([]float64, d)
	var sum, squares float64
	for i := range noise {
		noise[i] = float64(noisy[i]) - float64(clipOnly[i])
		sum += noise[i]
		squares += noise[i] * noise[i]
	}
	mean, std := sum/d, math.Sqrt(squares/d)
	assert.InDelta(t, 0, mean, 4*sigma/math.Sqrt(d), "noise mean")
	assert.InEpsilon(t, sigma, std, 0.1, "noise σ")
	// Independent blocks correlate within a few 1/√block ≈ 0.09 of 0; noise repeated
	// from block to block (under each block's own rounding) correlates near 1.
	first := noise[:block]
	for b := 1; b < d/block; b++ {
		other := noise[b*block : (b+1)*block]
		var xy, xx, yy float64
		for i := range first {
			xy, xx, yy = xy+first[i]*other[i], xx+first[i]*first[i], yy+other[i]*other[i]
		}
		assert.Less(t, math.Abs(xy/math.Sqrt(xx*yy)), 0.5, "block %d's noise follows block 0's", b)
	}
	assert.Equal(t, noisy, run(seed(7)), "a seed replays its round")
	assert.NotEqual(t, noisy, run(seed(8)))
	assert.NotEqual(t, run(nil), run(nil), "the secure source never repeats")
}
