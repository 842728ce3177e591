package secaggbeam

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/octomil/secagg/aggregate"
	"github.com/octomil/secagg/trimmedmean"
)

// updates returns n updates of d values; integers (exact float64 sums) or not.
func updates(n, d int, integers bool, seed uint64) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([][]float32, n)
	for i := range out {
		out[i] = make([]float32, d)
		for j := range out[i] {
			if integers {
				out[i][j] = float32(rng.IntN(2001) - 1000)
			} else {
				out[i][j] = float32(rng.NormFloat64())
			}
		}
	}
	return out
}

// combineEquals combines the inputs with fn on Prism, compares the output with want bit
// for bit inside the pipeline (passert) and returns the pipeline's error.
func combineEquals[T any](t *testing.T, fn any, inputs []T, want []float32) error {
	t.Helper()
	p, s := beam.NewPipelineWithRoot()
	out := beam.Combine(s, fn, parts(s, inputs))
	passert.Equals(s, out, want)
	return ptest.Run(p)
}

// parts makes the inputs one PCollection of five flattened ones, so that the combine
// runs in several bundles and merges their accumulators (one CreateList is one bundle).
func parts[T any](s beam.Scope, inputs []T) beam.PCollection {
	var cols []beam.PCollection
	for i := range 5 {
		lo, hi := i*len(inputs)/5, (i+1)*len(inputs)/5
		if lo < hi {
			cols = append(cols, beam.CreateList(s, inputs[lo:hi]))
		}
	}
	return beam.Flatten(s, cols...)
}

// TestMeanOnPrism: the mean, the weighted mean and the trimmed mean on Prism equal the
// engine's bit for bit on updates whose float64 sums are exact, five bundles merging
// (a merge that drops an accumulator fails it).
func TestMeanOnPrism(t *testing.T) {
	n, d := 400, 300
	xs := updates(n, d, true, 1)
	want := make([]float32, d)
	require.NoError(t, aggregate.Mean(want, xs))
	require.NoError(t, combineEquals(t, &MeanFn{Dim: d}, xs, want))

	rng := rand.New(rand.NewPCG(2, 2))
	ws := make([]float64, n)
	in := make([]Weighted, n)
	for i := range ws {
		ws[i] = float64(1 + rng.IntN(50))
		in[i] = Weighted{Update: xs[i], Weight: ws[i]}
	}
	require.NoError(t, aggregate.WeightedMean(want, xs, ws))
	require.NoError(t, combineEquals(t, &WeightedMeanFn{Dim: d}, in, want))

	trimmed := make([]float32, d)
	require.NoError(t, trimmedmean.TrimmedMean(trimmed, xs, 0.1))
	require.NoError(t, combineEquals(t, &TrimmedMeanFn{Dim: d, TrimRatio: 0.1, MaxClients: 500}, xs, trimmed))
}

// TestMeanOnPrismRounding: on ordinary floats the merge order may change the float64
// sums' last bits, never the float32 result by more than one step.
func TestMeanOnPrismRounding(t *testing.T) {
	n, d := 300, 200
	xs := updates(n, d, false, 3)
	want := make([]float32, d)
	require.NoError(t, aggregate.Mean(want, xs))
	p, s := beam.NewPipelineWithRoot()
	out := beam.Combine(s, &MeanFn{Dim: d}, parts(s, xs))
	beam.ParDo0(s, &withinOneStep{Want: want}, out)
	require.NoError(t, ptest.Run(p))
}

// withinOneStep fails its pipeline unless its input is Want to within one float32 step
// (with Exact, bit for bit).
type withinOneStep struct {
	Want  []float32
	Exact bool
}

func (f *withinOneStep) ProcessElement(got []float32) error {
	if len(got) != len(f.Want) {
		return fmt.Errorf("%d values, want %d", len(got), len(f.Want))
	}
	step := 0x1p-23
	if f.Exact {
		step = 0
	}
	for i, v := range got {
		if d := math.Abs(float64(v - f.Want[i])); d > math.Abs(float64(f.Want[i]))*step || math.Float32bits(v) != math.Float32bits(f.Want[i]) && f.Exact {
			return fmt.Errorf("value %d: %v, the engine's %v", i, v, f.Want[i])
		}
	}
	return nil
}

func init() { register.DoFn1x1[[]float32, error](&withinOneStep{}) }

// TestBadUpdateFailsThePipeline: a NaN update, or one of the wrong length, fails the
// pipeline with the engine's typed error in its message.
func TestBadUpdateFailsThePipeline(t *testing.T) {
	xs := updates(20, 10, true, 4)
	xs[7][3] = float32(math.NaN())
	err := combineEquals(t, &MeanFn{Dim: 10}, xs, make([]float32, 10))
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "validation_error") && strings.Contains(err.Error(), "update[3] is NaN"), err.Error())
	xs[7] = xs[7][:9]
	err = combineEquals(t, &MeanFn{Dim: 10}, xs, make([]float32, 10))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "update has 9 values, want 10")
}

// TestSumsEncoding: Sums round-trip through their encoding, and every damaged or
// truncated encoding is refused.
func TestSumsEncoding(t *testing.T) {
	s := &Sums{Weight: 3.5, Sum: []float64{1, -2.25, math.Pi}}
	b, err := s.MarshalBinary()
	require.NoError(t, err)
	var got Sums
	require.NoError(t, got.UnmarshalBinary(b))
	assert.Equal(t, *s, got)
	for i := range b {
		bad := append([]byte(nil), b...)
		bad[i] ^= 0x40
		assert.Error(t, new(Sums).UnmarshalBinary(bad), "byte %d flipped", i)
	}
	for n := range len(b) {
		assert.Error(t, new(Sums).UnmarshalBinary(b[:n]), "%d bytes", n)
	}
}

// TestMergesInAnyOrder: Prism runs these small pipelines in one bundle, so the merges
// are tested here: the inputs split into seven accumulators, each sent through its coder
// (as a shuffle does), merged in random tree orders, give the engine's result bit for
// bit (exact sums); a merge that dropped an accumulator fails it.
func TestMergesInAnyOrder(t *testing.T) {
	n, d := 350, 100
	xs := updates(n, d, true, 5)
	ws := make([]float64, n)
	in := make([]Weighted, n)
	for i := range ws {
		ws[i] = float64(1 + i%13)
		in[i] = Weighted{Update: xs[i], Weight: ws[i]}
	}
	mean, weighted, trimmed := make([]float32, d), make([]float32, d), make([]float32, d)
	require.NoError(t, aggregate.Mean(mean, xs))
	require.NoError(t, aggregate.WeightedMean(weighted, xs, ws))
	require.NoError(t, trimmedmean.TrimmedMean(trimmed, xs, 0.1))
	rng := rand.New(rand.NewPCG(6, 6))
	for trial := range 5 {
		// Split points, then a random merge tree over the chunks' accumulators.
		cut := []int{0}
		for range 6 {
			cut = append(cut, rng.IntN(n+1))
		}
		cut = append(cut, n)
		slices.Sort(cut)
		order := rng.Perm(7)

		mf := &MeanFn{Dim: d}
		var accs []*Sums
		for c := range 7 {
			a := mf.CreateAccumulator()
			for _, x := range xs[cut[c]:cut[c+1]] {
				a, _ = mf.AddInput(a, x)
			}
			accs = append(accs, shuffled(t, a, encodeSums, decodeSums))
		}
		got, err := mf.ExtractOutput(mergeTree(t, accs, order, mf.MergeAccumulators))
		require.NoError(t, err)
		require.Equal(t, mean, got, "mean, trial %d", trial)

		wf := &WeightedMeanFn{Dim: d}
		accs = accs[:0]
		for c := range 7 {
			a := wf.CreateAccumulator()
			for _, x := range in[cut[c]:cut[c+1]] {
				a, _ = wf.AddInput(a, x)
			}
			accs = append(accs, shuffled(t, a, encodeSums, decodeSums))
		}
		got, err = wf.ExtractOutput(mergeTree(t, accs, order, wf.MergeAccumulators))
		require.NoError(t, err)
		require.Equal(t, weighted, got, "weighted mean, trial %d", trial)

		tf := &TrimmedMeanFn{Dim: d, TrimRatio: 0.1, MaxClients: 400}
		var streams []*trimmedmean.Stream
		for c := range 7 {
			a, err := tf.CreateAccumulator()
			require.NoError(t, err)
			for _, x := range xs[cut[c]:cut[c+1]] {
				a, err = tf.AddInput(a, x)
				require.NoError(t, err)
			}
			streams = append(streams, shuffled(t, a, encodeStream, decodeStream))
		}
		got, err = tf.ExtractOutput(mergeTree(t, streams, order, tf.MergeAccumulators))
		require.NoError(t, err)
		require.Equal(t, trimmed, got, "trimmed mean, trial %d", trial)
	}
}

// shuffled sends an accumulator through its coder.
func shuffled[A any](t *testing.T, a A, enc func(A) ([]byte, error), dec func([]byte) (A, error)) A {
	t.Helper()
	b, err := enc(a)
	require.NoError(t, err)
	out, err := dec(b)
	require.NoError(t, err)
	return out
}

// mergeTree merges the accumulators pairwise, in rounds, after ordering them by order.
func mergeTree[A any](t *testing.T, accs []A, order []int, merge func(a, b A) (A, error)) A {
	t.Helper()
	level := make([]A, len(accs))
	for i, o := range order {
		level[i] = accs[o]
	}
	for len(level) > 1 {
		var next []A
		for i := 0; i+1 < len(level); i += 2 {
			m, err := merge(level[i], level[i+1])
			require.NoError(t, err)
			next = append(next, m)
		}
		if len(level)%2 == 1 {
			next = append(next, level[len(level)-1])
		}
		level = next
	}
	return level[0]
}

// BenchmarkMeanFnAddInput is one worker's combine throughput, the cost model's unit: the
// bytes are the updates' (d = 10^5).
func BenchmarkMeanFnAddInput(b *testing.B) {
	xs := updates(64, 100_000, false, 9)
	f := &MeanFn{Dim: 100_000}
	a := f.CreateAccumulator()
	b.SetBytes(int64(len(xs)) * 100_000 * 4)
	for b.Loop() {
		for _, x := range xs {
			if _, err := f.AddInput(a, x); err != nil {
				b.Fatal(err)
			}
		}
	}
}
