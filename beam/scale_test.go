package secaggbeam

import (
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/sdf"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/rtrackers/offsetrange"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/octomil/secagg/aggregate"
	"github.com/octomil/secagg/simd"
)

// generate emits client i's update for every i in its input: d seeded values, made on
// the worker, so that the round is never held whole.
type generate struct{ Dim int }

// bundles counts generate's bundles: each is fused with the combine's lifted part, which
// shuffles one accumulator per bundle.
var bundles = beam.NewCounter("secaggbeam", "bundles")

func (g *generate) StartBundle(ctx context.Context, _ func([]float32)) { bundles.Inc(ctx, 1) }

func (g *generate) ProcessElement(i int, emit func([]float32)) {
	rng := rand.New(rand.NewPCG(uint64(i), 7))
	x := make([]float32, g.Dim)
	for j := range x {
		x[j] = float32(rng.IntN(2001) - 1000) // exact sums: the results compare bit for bit
	}
	emit(x)
}

// generateRange is generate as a splittable DoFn over the clients [0, N), so that the
// runner can split the round across workers (a created list is one bundle on Prism).
type generateRange struct{ N, Dim int }

func (g *generateRange) CreateInitialRestriction(_ []byte) offsetrange.Restriction {
	return offsetrange.Restriction{Start: 0, End: int64(g.N)}
}

func (g *generateRange) SplitRestriction(_ []byte, r offsetrange.Restriction) []offsetrange.Restriction {
	return r.EvenSplits(16)
}

func (g *generateRange) RestrictionSize(_ []byte, r offsetrange.Restriction) float64 { return r.Size() }

func (g *generateRange) CreateTracker(r offsetrange.Restriction) *sdf.LockRTracker {
	return sdf.NewLockRTracker(offsetrange.NewTracker(r))
}

func (g *generateRange) StartBundle(ctx context.Context, _ func([]float32)) { bundles.Inc(ctx, 1) }

func (g *generateRange) ProcessElement(rt *sdf.LockRTracker, _ []byte, emit func([]float32)) {
	one := &generate{Dim: g.Dim}
	for i := rt.GetRestriction().(offsetrange.Restriction).Start; rt.TryClaim(i); i++ {
		one.ProcessElement(int(i), emit)
	}
}

func init() {
	register.DoFn3x0[*sdf.LockRTracker, []byte, func([]float32)](&generateRange{})
	register.DoFn2x0[int, func([]float32)](&generate{})
	register.Emitter1[[]float32]()
}

// BenchmarkPrismMean is issue 19's scale figure: n clients of d values (n·d·4 bytes,
// generated on the workers) through MeanFn on Prism, checked bit for bit against the
// engine's arithmetic on the same updates (outside the timer).
// SECAGG_BEAM_N and _D override n = 10^4, d = 10^5.
func BenchmarkPrismMean(b *testing.B) {
	n, d := envInt("SECAGG_BEAM_N", 10_000), envInt("SECAGG_BEAM_D", 100_000)
	want := engineMean(b, n, d)
	b.SetBytes(int64(n) * int64(d) * 4)
	for b.Loop() {
		p, s := beam.NewPipelineWithRoot()
		xs := beam.ParDo(s, &generateRange{N: n, Dim: d}, beam.Impulse(s))
		beam.ParDo0(s, &withinOneStep{Want: want, Exact: true}, beam.Combine(s, &MeanFn{Dim: d}, xs))
		res, err := ptest.RunWithMetrics(p)
		if err != nil {
			b.Fatal(err)
		}
		var nb int64
		for _, c := range res.Metrics().AllMetrics().Counters() {
			if c.Key.Name == "bundles" {
				nb += c.Committed
			}
		}
		acc, _ := (&Sums{Sum: make([]float64, d)}).MarshalBinary()
		b.ReportMetric(float64(nb), "bundles")
		b.ReportMetric(float64(nb)*float64(len(acc))/float64(n), "shuffled_B/client")
	}
}

// engineMean is the engine's arithmetic on the generated updates, without holding them:
// exact float64 sums (the values are integers), times 1/n, rounded once (simd.Finish).
func engineMean(b *testing.B, n, d int) []float32 {
	sums := make([]float64, d)
	g := &generate{Dim: d}
	for i := range n {
		g.ProcessElement(i, func(x []float32) {
			for j, v := range x {
				sums[j] += float64(v)
			}
		})
	}
	out := make([]float32, d)
	simd.Finish(out, sums, 1/float64(n))
	return out
}

// BenchmarkEngineMean is the same round on the one-machine engine: a mean Round, the
// updates generated and added from two goroutines (the cores), never held whole.
func BenchmarkEngineMean(b *testing.B) {
	n, d := envInt("SECAGG_BEAM_N", 10_000), envInt("SECAGG_BEAM_D", 100_000)
	want := engineMean(b, n, d)
	b.SetBytes(int64(n) * int64(d) * 4)
	for b.Loop() {
		e, err := aggregate.New(aggregate.Config{Strategy: aggregate.StrategyMean, MinClients: 1})
		if err != nil {
			b.Fatal(err)
		}
		r, err := e.NewRound(d)
		if err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for w := range 2 {
			wg.Go(func() {
				g := &generate{Dim: d}
				for i := w; i < n; i += 2 {
					g.ProcessElement(i, func(x []float32) {
						if err := r.Add(strconv.Itoa(i), x, 1); err != nil {
							errs[w] = err
						}
					})
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			b.Fatal(err)
		}
		got := make([]float32, d)
		if _, err := r.Finalize(got); err != nil {
			b.Fatal(err)
		}
		if err := (&withinOneStep{Want: want, Exact: true}).ProcessElement(got); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFilesByBlocks runs AggregateFiles on Prism for each strategy of onBeam over n
// .npy files of d values (SECAGG_BEAM_FILES_N, _D: 100 and 2^20 by default), next to the
// engine's Aggregate of the same updates held in memory (engine/<strategy>). It reports
// the bytes each client's update sends through the shuffle: a combine's lifted
// accumulators for the sums, every row for the strategies that group them, plus each
// block's distance matrix for krum and bulyan.
func BenchmarkFilesByBlocks(b *testing.B) {
	n, d := envInt("SECAGG_BEAM_FILES_N", 100), envInt("SECAGG_BEAM_FILES_D", 1<<20)
	const block = aggregate.SqDistRange
	xs := updates(n, d, true, 41)
	dir := b.TempDir()
	paths := writeUpdates(b, dir, xs)
	weights := make([]float64, n)
	for i := range weights {
		weights[i] = float64(1 + i%7)
	}
	values := map[string]string{"trim_ratio": "0.1", "byzantine_clients": "10"}
	blocks := float64((d + block - 1) / block)
	for _, info := range aggregate.Strategies() {
		if onBeam[info.Name].build == nil {
			continue
		}
		cfg, err := aggregate.ConfigFor(info, values, false)
		if err != nil {
			b.Fatal(err)
		}
		r := Round{Paths: paths, Dim: d, Block: block}
		var ws []float64
		if info.Weights == aggregate.RequiredWeights {
			r.Weights, ws = weights, weights
		}
		shuffled := 4*float64(d) + blocks*16 // rows: the values and a key and client each
		switch info.Kind {
		case aggregate.Sums:
			shuffled = blocks * (8*block + 28) / float64(n) // one accumulator per block per bundle, one bundle
		}
		if info.Name == aggregate.StrategyKrum || info.Name == aggregate.StrategyBulyan {
			shuffled += blocks * 8 * float64(n*n) / float64(n)
		}
		b.Run("prism/"+string(info.Name), func(b *testing.B) {
			b.SetBytes(int64(n) * int64(d) * 4)
			for b.Loop() {
				p, s := beam.NewPipelineWithRoot()
				o, err := AggregateFiles(s, r, cfg)
				if err != nil {
					b.Fatal(err)
				}
				WriteNpy(s, filepath.Join(b.TempDir(), "result.npy"), o.Result)
				if err := ptest.Run(p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(shuffled, "shuffled_B/client")
		})
		b.Run("engine/"+string(info.Name), func(b *testing.B) {
			b.SetBytes(int64(n) * int64(d) * 4)
			dst := make([]float32, d)
			for b.Loop() {
				if _, err := aggregate.Aggregate(dst, xs, ws, cfg, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWorker measures what one worker does per value, outside any runner: reading an
// update's .npy file by blocks (from the page cache), a row through its coder and
// back, and a block's distance matrix (n = 100, one block of SqDistRange), the figures
// of the cost model in COSTS.md.
func BenchmarkWorker(b *testing.B) {
	const d, block = 1 << 20, aggregate.SqDistRange
	x := updates(1, d, false, 61)
	path := writeUpdates(b, b.TempDir(), x)[0]
	b.Run("read_by_blocks", func(b *testing.B) {
		b.SetBytes(4 * d)
		for b.Loop() {
			if err := readByBlocks(context.Background(), path, d, block, func(int, []float32) {}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("row_coder", func(b *testing.B) {
		r := Row{Client: 1, Values: x[0][:block]}
		b.SetBytes(4 * block)
		for b.Loop() {
			enc, _ := encodeRow(r)
			if _, err := decodeRow(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("block_distances_n100", func(b *testing.B) {
		rows := updates(100, block, false, 62)
		b.SetBytes(100 * 4 * block)
		for b.Loop() {
			if _, err := aggregate.SqDistances(rows); err != nil {
				b.Fatal(err)
			}
		}
	})
}
