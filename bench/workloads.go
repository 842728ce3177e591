// Package bench holds the standard benchmark workloads and the benchmark suite of the
// engine (go test -bench . ./bench). Every benchmark calls b.SetBytes(N*d*4), so the MB/s
// that go test prints is the effective input bandwidth, the figure to set beside the
// memory bus (bench/peers/bandwidth.c) and the numpy/scipy peers (bench/peers/peers.py).
package bench

import (
	"math/rand/v2"

	"github.com/octomil/secagg/internal/parallel"
)

// Workload is one standard round: N client updates of D float32 each.
type Workload struct {
	Name string
	N, D int
}

// Workloads are the standard rounds, named as in bench/peers/peers.py.
var Workloads = []Workload{
	{"n10_d1m", 10, 1_000_000},
	{"n100_d1m", 100, 1_000_000},
	{"n1000_d100k", 1000, 100_000},
	{"n32_d4m", 32, 4_000_000},
	{"n10_d10m", 10, 10_000_000},
}

// Bytes is the input size of the round, N*D*4: what one aggregation must read at least.
func (w Workload) Bytes() int64 { return int64(w.N) * int64(w.D) * 4 }

// Updates returns N standard-normal updates of D float32, each in its own allocation
// as a coordinator holds them. The values depend on seed only, not on the cores.
func (w Workload) Updates(seed uint64) [][]float32 {
	const chunk = 1 << 16
	us := make([][]float32, w.N)
	for i := range us {
		us[i] = make([]float32, w.D)
	}
	perClient := (w.D + chunk - 1) / chunk
	parallel.Ranges(parallel.Workers(), w.N*perClient, 1, func(_, t, _ int) {
		i, lo := t/perClient, (t%perClient)*chunk
		rng := rand.New(rand.NewPCG(seed, uint64(t)))
		x := us[i][lo:min(lo+chunk, w.D)]
		for j := range x {
			x[j] = float32(rng.NormFloat64())
		}
	})
	return us
}

// Block returns the same updates as Updates, as rows of one N x D allocation: the layout
// of a numpy (N, d) array that a notebook passes through the C ABI.
func (w Workload) Block(seed uint64) [][]float32 {
	us := w.Updates(seed)
	block := make([]float32, 0, w.N*w.D)
	for i, u := range us {
		block = append(block, u...)
		us[i] = block[i*w.D : (i+1)*w.D : (i+1)*w.D]
	}
	return us
}

// Weights returns N weights uniform in [1, 100), like example counts.
func (w Workload) Weights(seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1<<63))
	ws := make([]float64, w.N)
	for i := range ws {
		ws[i] = 1 + 99*rng.Float64()
	}
	return ws
}
