package secaggbeam

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
	"github.com/octomil/secagg/dp"
)

// TestDPMeanOnPrism: dp_mean on Prism with a seeded source equals the engine's DPMean
// with the same seed bit for bit (updates within the clip, exact sums); the ledger is
// charged once, before the pipeline, and an exhausted one refuses the round.
func TestDPMeanOnPrism(t *testing.T) {
	n, d := 200, 64
	xs := updates(n, d, true, 10)
	want := make([]float32, d)
	_, err := aggregate.DPMean(want, xs, 1e6, 1.1, dp.InsecureSeededSource(42))
	require.NoError(t, err)

	ledger, err := dp.NewLedger(3, 1e-5, dp.Improved, nil)
	require.NoError(t, err)
	p, s := beam.NewPipelineWithRoot()
	out, err := DPMean(s, parts(s, xs), &DPMeanFn{Dim: d, ClipNorm: 1e6, NoiseMultiplier: 1.1, InsecureSeed: seed(42)}, ledger, 0.01)
	require.NoError(t, err)
	passert.Equals(s, out, want)
	require.NoError(t, ptest.Run(p))
	_, rounds := ledger.Spent()
	assert.Equal(t, 1, rounds)

	spent, err := dp.NewLedger(0.01, 1e-5, dp.Improved, nil)
	require.NoError(t, err)
	_, s = beam.NewPipelineWithRoot()
	_, err = DPMean(s, parts(s, xs), &DPMeanFn{Dim: d, ClipNorm: 1, NoiseMultiplier: 0.5}, spent, 1)
	assert.ErrorIs(t, err, secagg.ErrConflict)
}

// TestDPMeanClipsAndMerges: updates beyond the clip are scaled to it in AddInput; split
// over seven accumulators merged in a random tree, the result equals the engine's.
func TestDPMeanClipsAndMerges(t *testing.T) {
	n, d := 90, 40
	xs := updates(n, d, true, 11) // norms about 3600, clipped to 1000
	want := make([]float32, d)
	_, err := aggregate.DPMean(want, xs, 1000, 0.7, dp.InsecureSeededSource(3))
	require.NoError(t, err)
	f := &DPMeanFn{Dim: d, ClipNorm: 1000, NoiseMultiplier: 0.7, InsecureSeed: seed(3)}
	var accs []*Sums
	for c := range 7 {
		a := f.CreateAccumulator()
		for _, x := range xs[c*n/7 : (c+1)*n/7] {
			a, err = f.AddInput(a, x)
			require.NoError(t, err)
		}
		accs = append(accs, shuffled(t, a, encodeSums, decodeSums))
	}
	got, err := f.ExtractOutput(mergeTree(t, accs, rand.New(rand.NewPCG(1, 1)).Perm(7), f.MergeAccumulators))
	require.NoError(t, err)
	// Clip factors are not powers of two: the sums are not exact, so within a step.
	require.NoError(t, (&withinOneStep{Want: want}).ProcessElement(got))
}

func seed(s uint64) *uint64 { return &s }

// TestDPMeanNoiseUnpredictable plays the attacker who knows the code: with DPMeanFn's
// zero value the noise must come from the secure source, so the same round released
// twice carries different noise (a default seed would repeat it, and the noise could be
// subtracted). It failed when the zero value meant seed 0.
func TestDPMeanNoiseUnpredictable(t *testing.T) {
	xs := updates(10, 32, true, 14)
	f := &DPMeanFn{Dim: 32, ClipNorm: 1e6, NoiseMultiplier: 1}
	a := f.CreateAccumulator()
	for _, x := range xs {
		a, _ = f.AddInput(a, x)
	}
	first, err := f.ExtractOutput(a)
	require.NoError(t, err)
	second, err := f.ExtractOutput(a)
	require.NoError(t, err)
	assert.NotEqual(t, first, second)
	replay := &DPMeanFn{Dim: 32, ClipNorm: 1e6, NoiseMultiplier: 1, InsecureSeed: seed(0)}
	r1, _ := replay.ExtractOutput(a)
	r2, _ := replay.ExtractOutput(a)
	assert.Equal(t, r1, r2, "only an explicit seed replays")
}
