package bench_test

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
	"github.com/octomil/secagg/bench"
	"github.com/octomil/secagg/dp"
	"github.com/octomil/secagg/trimmedmean"
)

const seed = 7

// cached keeps the last workload's updates, so the benchmarks of one kernel reuse them
// and at most one round (up to 512 MB) is alive at a time.
var cached struct {
	name string
	us   [][]float32
}

func updates(w bench.Workload) [][]float32 {
	if cached.name != w.Name {
		cached.us = nil
		runtime.GC()
		cached.name, cached.us = w.Name, w.Updates(seed)
	}
	return cached.us
}

// forWorkloads runs fn as one sub-benchmark per standard workload, with its bytes set.
func forWorkloads(b *testing.B, fn func(b *testing.B, w bench.Workload, us [][]float32)) {
	forEachWorkload(b, bench.Workloads, fn)
}

// forEachWorkload is forWorkloads over the given workloads.
func forEachWorkload(b *testing.B, ws []bench.Workload, fn func(b *testing.B, w bench.Workload, us [][]float32)) {
	for _, w := range ws {
		b.Run(w.Name, func(b *testing.B) {
			us := updates(w)
			b.SetBytes(w.Bytes())
			fn(b, w, us)
		})
	}
}

func BenchmarkMean(b *testing.B) {
	forWorkloads(b, func(b *testing.B, w bench.Workload, us [][]float32) {
		dst := make([]float32, w.D)
		for b.Loop() {
			if err := aggregate.Mean(dst, us); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkWeightedMean(b *testing.B) {
	forWorkloads(b, func(b *testing.B, w bench.Workload, us [][]float32) {
		dst := make([]float32, w.D)
		weights := w.Weights(seed)
		for b.Loop() {
			if err := aggregate.WeightedMean(dst, us, weights); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// ratios are the trim ratios of the trimmed-mean benchmarks.
var ratios = []float64{0.1, 0.2}

func BenchmarkTrimmedMean(b *testing.B) {
	for _, w := range bench.Workloads {
		for _, r := range ratios {
			b.Run(fmt.Sprintf("%s_r%v", w.Name, r), func(b *testing.B) {
				us := updates(w)
				b.SetBytes(w.Bytes())
				dst := make([]float32, w.D)
				for b.Loop() {
					if err := trimmedmean.TrimmedMean(dst, us, r); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkMedian(b *testing.B) {
	forWorkloads(b, func(b *testing.B, w bench.Workload, us [][]float32) {
		dst := make([]float32, w.D)
		for b.Loop() {
			if err := trimmedmean.Median(dst, us); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBlock times the batch kernels on n100_d1m held as one N x d block, as a
// numpy array is: the direct Go calls to set beside the Python path (make pybench).
func BenchmarkBlock(b *testing.B) {
	w := bench.Workloads[1] // n100_d1m
	us := w.Block(seed)
	dst := make([]float32, w.D)
	for _, c := range []struct {
		name string
		fn   func() error
	}{
		{"mean", func() error { return aggregate.Mean(dst, us) }},
		{"trimmed_mean_r0.1", func() error { return trimmedmean.TrimmedMean(dst, us, 0.1) }},
		{"trimmed_mean_r0.2", func() error { return trimmedmean.TrimmedMean(dst, us, 0.2) }},
		{"median", func() error { return trimmedmean.Median(dst, us) }},
	} {
		b.Run(w.Name+"/"+c.name, func(b *testing.B) {
			b.SetBytes(w.Bytes())
			for b.Loop() {
				if err := c.fn(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTrimmedMeanStream times a whole round through a Stream: every update added,
// then the result.
func BenchmarkTrimmedMeanStream(b *testing.B) {
	for _, w := range bench.Workloads {
		b.Run(w.Name+"_r0.1", func(b *testing.B) {
			us := updates(w)
			b.SetBytes(w.Bytes())
			k, _ := trimmedmean.K(0.1, w.N)
			dst := make([]float32, w.D)
			for b.Loop() {
				s, err := trimmedmean.NewStream(w.D, k)
				if err != nil {
					b.Fatal(err)
				}
				for _, u := range us {
					if err := s.Add(u); err != nil {
						b.Fatal(err)
					}
				}
				if err := s.Result(dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRoundOverBudget times trimmed_mean rounds (r = 0.1) whose max_clients
// updates do not fit max_round_bytes, so they stream: with room for the stream alone
// (each update pushed through it), and for the stream and a buffer of 2k or N/2
// updates (folded a buffer at a time). BenchmarkTrimmedMean is the batch to compare.
func BenchmarkRoundOverBudget(b *testing.B) {
	forEachWorkload(b, bench.Workloads, func(b *testing.B, w bench.Workload, us [][]float32) {
		k, _ := trimmedmean.K(0.1, w.N)
		stream, _ := trimmedmean.StreamBytes(w.D, k)
		buffers := []struct {
			name string
			rows int
		}{{"stream", 0}, {"buffer_2k", 2 * k}, {"buffer_half", w.N / 2}}
		for _, buf := range buffers {
			b.Run(buf.name, func(b *testing.B) {
				e, err := aggregate.New(aggregate.Config{Strategy: aggregate.StrategyTrimmedMean, TrimRatio: 0.1,
					MinClients: 1, MaxClients: w.N, MaxRoundBytes: stream + int64(buf.rows)*int64(w.D)*4})
				if err != nil {
					b.Fatal(err)
				}
				dst := make([]float32, w.D)
				ids := make([]string, len(us))
				for i := range ids {
					ids[i] = strconv.Itoa(i)
				}
				for b.Loop() {
					r, err := e.NewRound(w.D)
					if err != nil {
						b.Fatal(err)
					}
					for i, u := range us {
						if err := r.AddOwned(ids[i], u, 1); err != nil {
							b.Fatal(err)
						}
					}
					if _, err := r.Finalize(dst); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	})
}

// BenchmarkGaussianNoise adds Gaussian noise to a 10^7-coordinate model: the secure
// default and the seeded source, reported as samples/s beside the bytes; then the
// secure source over zeros, subnormals and huge values, whose times must not differ
// (the noise does not depend on x, and x goes through the same float64 steps).
func BenchmarkGaussianNoise(b *testing.B) {
	const d = 10_000_000
	for _, c := range []struct {
		name string
		new  func() *dp.Source
		x    float32
	}{
		{"d10m/secure", dp.SecureSource, 0.25},
		{"d10m/seeded", func() *dp.Source { return dp.InsecureSeededSource(1) }, 0.25},
		{"d10m/secure/x=zero", dp.SecureSource, 0},
		{"d10m/secure/x=subnormal", dp.SecureSource, 1e-40},
		{"d10m/secure/x=huge", dp.SecureSource, 3e38},
	} {
		b.Run(c.name, func(b *testing.B) {
			x := make([]float32, d)
			s := c.new()
			b.SetBytes(d * 4)
			for b.Loop() {
				b.StopTimer()
				for i := range x {
					x[i] = c.x
				}
				b.StartTimer()
				if err := dp.AddGaussian(x, 1.5, s); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(d)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// BenchmarkIntegerNoise draws 10^7 integers from each exact sampler with the secure
// source: the discrete Gaussian at AddGaussian's scale (σ/g = 2^40·0.75) and at a small
// one, the discrete Laplace, and Skellam (two Poisson draws each) for distributed DP.
func BenchmarkIntegerNoise(b *testing.B) {
	const d = 10_000_000
	for _, c := range []struct {
		name  string
		draw  func([]int64, float64, *dp.Source) error
		scale float64
	}{
		{"discrete_gaussian/s2^40", dp.DiscreteGaussian, 0x1p40 * 0.75},
		{"discrete_gaussian/s10", dp.DiscreteGaussian, 10},
		{"discrete_laplace/s2^40", dp.DiscreteLaplace, 0x1p40 * 0.75},
		{"skellam/mu1e4", dp.Skellam, 1e4},
		{"skellam/mu1e9", dp.Skellam, 1e9},
	} {
		b.Run(c.name, func(b *testing.B) {
			ks := make([]int64, d)
			s := dp.SecureSource()
			b.SetBytes(d * 8)
			for b.Loop() {
				if err := c.draw(ks, c.scale, s); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(d)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// BenchmarkDPMean is DP-FedAvg with fixed clipping: every update's norm, the clipped
// mean, and Gaussian noise (z = 1.1, C = 1) from the secure source.
func BenchmarkDPMean(b *testing.B) {
	forWorkloads(b, func(b *testing.B, w bench.Workload, us [][]float32) {
		dst := make([]float32, w.D)
		src := dp.SecureSource()
		for b.Loop() {
			if _, err := aggregate.DPMean(dst, us, 1, 1.1, src); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkClip computes the L2 norm of every update (the read clipping needs); the
// scaling itself is folded into the mean's weights.
func BenchmarkClip(b *testing.B) {
	forWorkloads(b, func(b *testing.B, w bench.Workload, us [][]float32) {
		norms := make([]float64, len(us))
		for b.Loop() {
			for i, u := range us {
				norms[i] = dp.Norm(u)
			}
		}
	})
}

// roundConfigs is BenchmarkRound's configuration of every strategy of the engine's table
// for a workload, and Multi-Krum beside Krum: each parameter a strategy takes set from
// the values here (clip_norm 1, noise_multiplier 1.1, trim_ratio 0.1 with max_clients
// N, τ = 10 for one pass, f = 10 or fewer where N is small, m = N − f).
func roundConfigs(w bench.Workload) (names []string, cfgs []aggregate.Config) {
	f := min(10, (w.N-3)/2)
	values := map[string]string{"clip_norm": "1", "noise_multiplier": "1.1", "trim_ratio": "0.1",
		"max_clients": fmt.Sprint(w.N), "centered_clipping_radius": "10"}
	for _, info := range aggregate.Strategies() {
		byz := f
		if info.Name == aggregate.StrategyBulyan {
			byz = min(10, (w.N-3)/4)
		}
		values["byzantine_clients"] = fmt.Sprint(byz)
		for _, m := range []int{0, w.N - byz} {
			if m > 0 && info.Name != aggregate.StrategyKrum {
				continue
			}
			name := string(info.Name)
			if m > 0 {
				values["multi_krum_m"], name = fmt.Sprint(m), "multi_krum"
			}
			cfg, err := aggregate.ConfigFor(info, values, true)
			if err != nil {
				panic(err)
			}
			delete(values, "multi_krum_m")
			cfg.MinClients = 1
			names, cfgs = append(names, name), append(cfgs, cfg)
		}
	}
	return names, cfgs
}

// BenchmarkRound times a whole round through the engine for every strategy of the table
// (roundConfigs): every update added, then Finalize. For dp_mean the clipping norm is
// taken at Add, while the update is in cache (norm_bounded_mean likewise); the others
// hold the updates they are handed, trimmed_mean too under the default max_round_bytes
// (BenchmarkRoundOverBudget times it streaming). The
// quadratic ones (krum, multi_krum, bulyan) run on n100_d1m and n32_d4m only.
func BenchmarkRound(b *testing.B) {
	names, _ := roundConfigs(bench.Workloads[0])
	for k, name := range names {
		workloads := bench.Workloads
		if name == "krum" || name == "multi_krum" || name == "bulyan" {
			workloads = quadratic()
		}
		b.Run(name, func(b *testing.B) {
			forEachWorkload(b, workloads, func(b *testing.B, w bench.Workload, us [][]float32) {
				_, cfgs := roundConfigs(w)
				e, err := aggregate.New(cfgs[k])
				if err != nil {
					b.Fatal(err)
				}
				dst := make([]float32, w.D)
				ids := make([]string, len(us))
				for i := range ids {
					ids[i] = fmt.Sprint("client-", i)
				}
				for b.Loop() {
					r, err := e.NewRound(w.D)
					if err != nil {
						b.Fatal(err)
					}
					for i, u := range us {
						// AddOwned: a holding strategy keeps the buffer instead of copying it.
						if err := r.AddOwned(ids[i], u, 1); err != nil {
							b.Fatal(err)
						}
					}
					if _, err := r.Finalize(dst); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkRoundCheck times what every Add of a summing round does before the update is
// summed: the search for a NaN or ±Inf, on every core. Each update here has a NaN in its
// last value, so the whole update is searched, refused and nothing summed. A round must
// refuse a bad update at its Add, before it changes anything, so this read of each update
// comes on top of the batch kernel's (which checks its results instead): it is the floor
// under BenchmarkRound/mean's ratio to BenchmarkMean once updates outgrow the cache.
func BenchmarkRoundCheck(b *testing.B) {
	forWorkloads(b, func(b *testing.B, w bench.Workload, us [][]float32) {
		e, err := aggregate.New(aggregate.Config{Strategy: aggregate.StrategyMean, MinClients: 1})
		if err != nil {
			b.Fatal(err)
		}
		r, err := e.NewRound(w.D)
		if err != nil {
			b.Fatal(err)
		}
		last := make([]float32, len(us))
		for i, u := range us {
			last[i], u[w.D-1] = u[w.D-1], float32(math.NaN())
		}
		defer func() {
			for i, u := range us {
				u[w.D-1] = last[i]
			}
		}()
		for b.Loop() {
			for _, u := range us {
				if err := r.Add("client", u, 1); !errors.Is(err, secagg.ErrValidation) {
					b.Fatalf("a NaN went through: %v", err)
				}
			}
		}
	})
}

// Every configuration BenchmarkRound runs is one the engine takes, on every workload
// (a benchmark is not run by make test, so this is what keeps it running).
func TestRoundConfigs(t *testing.T) {
	for _, w := range bench.Workloads {
		names, cfgs := roundConfigs(w)
		if len(names) != len(aggregate.Strategies())+1 {
			t.Fatalf("%d configurations for %d strategies and multi_krum", len(names), len(aggregate.Strategies()))
		}
		for i, cfg := range cfgs {
			if _, err := aggregate.New(cfg); err != nil {
				t.Errorf("%s on %s: %v", names[i], w.Name, err)
			}
		}
	}
}

// BenchmarkKrum runs Krum with f = 10 (Flower's default in peers.py) on n100_d100k, the
// workload peers.py times Flower's Krum on, and on n100_d1m and n32_d4m.
func BenchmarkKrum(b *testing.B) {
	ws := append([]bench.Workload{{Name: "n100_d100k", N: 100, D: 100_000}}, quadratic()...)
	forEachWorkload(b, ws, func(b *testing.B, w bench.Workload, us [][]float32) {
		dst := make([]float32, w.D)
		f := min(10, (w.N-3)/2)
		for b.Loop() {
			if _, err := aggregate.Krum(dst, us, f); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// quadratic returns the standard workloads the quadratic strategies (Krum, Bulyan) are
// measured on: n100_d1m and n32_d4m.
func quadratic() []bench.Workload {
	var ws []bench.Workload
	for _, w := range bench.Workloads {
		if w.Name == "n100_d1m" || w.Name == "n32_d4m" {
			ws = append(ws, w)
		}
	}
	return ws
}

// BenchmarkBulyan runs Bulyan with f = min(10, (N−3)/4) on n100_d1m and n32_d4m.
func BenchmarkBulyan(b *testing.B) {
	forEachWorkload(b, quadratic(), func(b *testing.B, w bench.Workload, us [][]float32) {
		dst := make([]float32, w.D)
		f := min(10, (w.N-3)/4)
		for b.Loop() {
			if _, err := aggregate.Bulyan(dst, us, f); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGeometricMedian runs RFA's smoothed Weiszfeld with its defaults.
func BenchmarkGeometricMedian(b *testing.B) {
	forWorkloads(b, func(b *testing.B, w bench.Workload, us [][]float32) {
		dst := make([]float32, w.D)
		steps := 0
		for b.Loop() {
			n, err := aggregate.GeometricMedian(dst, us, nil, aggregate.GeometricMedianOptions{})
			if err != nil {
				b.Fatal(err)
			}
			steps = n
		}
		b.ReportMetric(float64(steps), "steps")
	})
}

// BenchmarkRoundConcurrent adds a round's updates from several goroutines at once, as a
// coordinator receiving them on many connections does (Add: the caller keeps its
// buffer), then finalises: throughput as effective GB/s for 1, 2, 8 and 64 adders.
func BenchmarkRoundConcurrent(b *testing.B) {
	w := bench.Workloads[1] // n100_d1m
	us := w.Updates(1)
	names, cfgs := roundConfigs(w)
	for k, name := range names {
		switch name {
		case "mean", "weighted_mean", "dp_mean", "trimmed_mean", "median":
		default:
			continue
		}
		for _, adders := range []int{1, 2, 8, 64} {
			b.Run(fmt.Sprintf("%s/%d", name, adders), func(b *testing.B) {
				e, err := aggregate.New(cfgs[k])
				if err != nil {
					b.Fatal(err)
				}
				dst := make([]float32, w.D)
				b.SetBytes(w.Bytes())
				for b.Loop() {
					r, err := e.NewRound(w.D)
					if err != nil {
						b.Fatal(err)
					}
					var wg sync.WaitGroup
					for a := range adders {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for i := a; i < len(us); i += adders {
								if err := r.Add(fmt.Sprint("client-", i), us[i], 1); err != nil {
									b.Error(err)
									return
								}
							}
						}()
					}
					wg.Wait()
					if _, err := r.Finalize(dst); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
