package simd_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/octomil/secagg/simd"
)

// cachedTile returns n rows of standard-normal values and the width d of a window of
// them that stays in L2 (640 coordinates of 100 rows, 64 of 1000). The rows run on past
// the window, as in a round, for the kernels' prefetches.
func cachedTile(n int) (rows [][]float32, d int) {
	d = 640
	if n >= 1000 {
		d = 64
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rows = make([][]float32, n)
	for i := range rows {
		rows[i] = make([]float32, d+4096)
		for j := range rows[i] {
			rows[i][j] = float32(rng.NormFloat64())
		}
	}
	return rows, d
}

// BenchmarkBounds times Bounds on a cache-resident tile (cachedTile), so the figure (ns
// per coordinate, for the k each strategy uses) is the kernel's compute alone. The same
// tile comes round again and again, so the branch predictor learns its data-dependent
// branches, and lo and hi hold the very bounds the byte kernel guesses from: judge
// those on bench's workloads.
func BenchmarkBounds(b *testing.B) {
	for _, c := range []struct{ n, k int }{{100, 10}, {100, 20}, {100, 49}, {1000, 100}, {1000, 200}, {1000, 499}} {
		rows, d := cachedTile(c.n)
		lo, hi := make([]float32, d), make([]float32, d)
		b.Run(fmt.Sprintf("n%d_k%d", c.n, c.k), func(b *testing.B) {
			for b.Loop() {
				simd.Bounds(lo, hi, rows, 0, c.k)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*d), "ns/coord")
		})
	}
}

// BenchmarkKeptSum times KeptSum on the cache-resident tiles of BenchmarkBounds, given
// their bounds: the second pass of a trimmed mean, in ns per coordinate.
func BenchmarkKeptSum(b *testing.B) {
	for _, c := range []struct{ n, k int }{{100, 10}, {100, 20}, {1000, 100}, {1000, 200}} {
		rows, d := cachedTile(c.n)
		lo, hi, sum := make([]float32, d), make([]float32, d), make([]float64, d)
		simd.Bounds(lo, hi, rows, 0, c.k)
		b.Run(fmt.Sprintf("n%d_k%d", c.n, c.k), func(b *testing.B) {
			for b.Loop() {
				simd.KeptSum(sum, rows, 0, c.k, lo, hi)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*d), "ns/coord")
		})
	}
}

// BenchmarkCopyWindows gathers every tile of 1000 separately allocated rows of 10^5
// (n1000_d100k's layout: each row starts on a page) into a panel, one thread, for
// tiles of 64 to 512 coordinates: the rate a trimmed mean of many rows reads memory at.
func BenchmarkCopyWindows(b *testing.B) {
	const n, d = 1000, 100_000
	rows := make([][]float32, n)
	for i := range rows {
		rows[i] = make([]float32, d)
		for j := range rows[i] {
			rows[i][j] = float32(j)
		}
	}
	for _, tile := range []int{64, 128, 256, 512} {
		panel := make([]float32, n*(tile+16))
		b.Run(fmt.Sprintf("tile%d", tile), func(b *testing.B) {
			b.SetBytes(n * d * 4)
			for b.Loop() {
				for t := 0; t < d; t += tile {
					simd.CopyWindows(panel, tile+16, rows, t, min(tile, d-t))
				}
			}
		})
	}
}
