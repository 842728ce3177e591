package trimmedmean

import (
	"math"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/internal/check"
	"github.com/octomil/secagg/internal/parallel"
	"github.com/octomil/secagg/internal/pool"
	"github.com/octomil/secagg/simd"
)

// K returns how many values trimRatio trims from each end of n: floor(trimRatio·n) in
// float64, as scipy and Flower compute it, after checking trimRatio with
// secagg.ValidateTrimRatio.
func K(trimRatio float64, n int) (int, error) {
	if err := secagg.ValidateTrimRatio(trimRatio); err != nil {
		return 0, err
	}
	return int(math.Floor(trimRatio * float64(n))), nil
}

// TrimmedMean writes into dst the coordinate-wise mean of the updates after dropping,
// per coordinate, the k = floor(trimRatio·N) smallest and k largest values.
func TrimmedMean(dst []float32, updates [][]float32, trimRatio float64) error {
	k, err := K(trimRatio, len(updates))
	if err != nil {
		return err
	}
	if err := check.Batch(dst, updates); err != nil {
		return err
	}
	return keptMean(dst, updates, k)
}

// Median writes into dst the coordinate-wise median of the updates: the middle value
// for odd N, the mean of the two middle values for even N (numpy's convention).
func Median(dst []float32, updates [][]float32) error {
	if err := check.Batch(dst, updates); err != nil {
		return err
	}
	return keptMean(dst, updates, (len(updates)-1)/2)
}

// tileBytes bounds the input one task reads: its rows' windows stay in the core's L2
// cache between finding the bounds and summing what they keep.
const tileBytes = 256 << 10

// tilesPerTask is how many neighbouring tiles one worker computes in a row;
// panelTilesPerTask, with a panel. There the kernels ask for the whole next tile of
// every row as they read one, which a task's last tile asks for in vain (the next
// is another task's): twice the tiles a task waste half as many (8 -> 16, three
// interleaved sittings: TrimmedMean n1000_d100k r=0.1 and r=0.2 1-3% faster, Median
// 1-5%; without a panel, where the prefetches run a kilobyte ahead, n100_d1m lost
// 2-5%).
const (
	tilesPerTask      = 8
	panelTilesPerTask = 16
)

// tileFor returns the coordinates per task for n rows: as many as tileBytes allows,
// between 64 and 4096, a multiple of 64.
func tileFor(n int) int {
	return min(4096, max(64, tileBytes/(4*n)&^63))
}

// panelFrom is how many rows make a tile worth gathering into a panel (simd.CopyWindows)
// before its passes. Rows a whole number of pages apart (as separate allocations of
// a large update are) put one window of each in the same few cache sets, and past a
// couple of hundred rows the tile no longer stays in L2 between the passes; below
// that, the copy is a cost with nothing to gain.
var panelFrom = 256

// panelStride is a panel's row stride for a tile: one cache line more than the tile,
// so consecutive rows start in different sets.
func panelStride(tile int) int { return tile + 16 }

var (
	panelPool     pool.Slices[float32]   // per-worker panels
	panelRowsPool pool.Slices[[]float32] // their rows
	sumsPool      pool.Slices[float64]   // per-worker tile sums, reused across calls
	boundsPool    pool.Slices[float32]   // per-worker bounds of a tile
)

// keptMean writes the mean of the values that trimming k from each end keeps.
func keptMean(dst []float32, updates [][]float32, k int) error {
	return tiled{n: len(updates), count: len(updates), updates: updates,
		rowsOf: func(_, t, _ int) ([][]float32, int) { return updates, t }}.mean(dst, k)
}

// tiled is what a trimmed mean is taken of, tile by tile: n rows a tile, which rowsOf
// gives for worker w and the coordinates [t, e) (their values from index off on), and,
// if base is not nil, a float64 sum per coordinate of values already known to be kept
// (a stream's, pushed out of its extremes). count is how many values each coordinate
// has in all; a non-finite value can only be in updates.
type tiled struct {
	n, count int
	rowsOf   func(w, t, e int) (rows [][]float32, off int)
	base     []float64
	updates  [][]float32
}

// mean writes the mean of the values that trimming k from each end keeps. Each tile of
// coordinates is computed on its own, so the result does not depend on how many workers
// share the tiles; parallel.AllOrNothing hands the results to dst only if all inputs
// proved finite.
func (in tiled) mean(dst []float32, k int) error {
	n := in.n
	scale := 1 / float64(in.count-2*k)
	tile := tileFor(n)
	workers := parallel.Workers()
	sumsBuf, boundsBuf := sumsPool.Get(workers*tile), boundsPool.Get(2*workers*tile)
	defer sumsPool.Put(sumsBuf)
	defer boundsPool.Put(boundsBuf)
	sums, bounds := *sumsBuf, *boundsBuf
	middles := make([][2][]float32, workers) // a median's kept rows, per worker
	// Many rows go through a per-worker panel: worker w's tile lies at panel[w*n*stride:],
	// its rows are panelRows[w*n:(w+1)*n]. (Not where the kernels read each value
	// once, and a copy would only add a pass: the plain mean, k = 0, and the median of
	// an odd number of rows, whose selection reads the rows in its key pass alone.)
	stride := panelStride(tile)
	var panel []float32
	var panelRows [][]float32
	if n >= panelFrom && k > 0 && n-2*k != 1 {
		buf, rowsBuf := panelPool.Get(workers*n*stride), panelRowsPool.Get(workers*n)
		defer panelPool.Put(buf)
		defer panelRowsPool.Put(rowsBuf)
		panel, panelRows = *buf, *rowsBuf
		for i := range panelRows {
			panelRows[i] = panel[i*stride : i*stride+tile : i*stride+tile]
		}
	}
	// A worker takes neighbouring tiles at a time, so the kernels' prefetches, which
	// run ahead along the rows, fetch its own next tile.
	task := tile * tilesPerTask
	if panel != nil {
		task = tile * panelTilesPerTask
	}
	ok := parallel.AllOrNothing(workers, dst, task, func(w int, out []float32, lo, hi int) bool {
		finite := true
		for t := lo; t < hi; t += tile {
			e := min(t+tile, hi)
			o := out[t-lo : e-lo]
			s := sums[w*tile : w*tile+e-t]
			rows, off := in.rowsOf(w, t, e)
			// With a panel the order statistics gather the tile into it as they read it
			// (BoundsCopy, MiddleCopy), and the passes after them read the panel.
			var p simd.Panel
			if panelRows != nil {
				p = simd.Panel{Data: panel[w*n*stride : (w+1)*n*stride], Stride: stride, Rows: panelRows[w*n : (w+1)*n]}
			}
			if k == 0 {
				// Nothing to trim: the plain mean, summed as aggregate.Mean sums it.
				clear(s)
				simd.AddRows(s, rows, off)
			} else {
				// The worker's bounds buffer holds its previous tile's bounds, which
				// Bounds takes for a guess of these.
				b := bounds[2*w*tile : 2*(w+1)*tile]
				low, high := b[:e-t], b[tile:tile+e-t]
				if n-2*k <= 2 {
					// A median keeps the middle values alone: no sum over the rows.
					// Their sum, lo or lo + hi, is exact in float64 or, for exponents
					// too far apart, off by far less than the rounding to float32 can
					// see: the median comes out correctly rounded.
					if p.Rows != nil {
						finite = simd.MiddleCopy(low, high, rows, off, p) && finite
					} else {
						finite = simd.Middle(low, high, rows, off) && finite
					}
					middles[w] = [2][]float32{low, high}
					clear(s)
					simd.AddRows(s, middles[w][:n-2*k], 0)
				} else {
					if p.Rows != nil {
						simd.BoundsCopy(low, high, rows, off, k, p)
						rows, off = p.Rows, 0
					} else {
						simd.Bounds(low, high, rows, off, k)
					}
					finite = simd.KeptSum(s, rows, off, k, low, high) && finite
				}
			}
			if in.base != nil {
				for j, v := range in.base[t:e] {
					s[j] += v
				}
			}
			simd.Finish(o, s, scale)
			finite = finite && simd.FirstNonFinite(o) < 0
		}
		return finite
	})
	if ok {
		return nil
	}
	return check.NonFinite(in.updates)
}
