package trimmedmean

import (
	"slices"

	"github.com/octomil/secagg/internal/parallel"
	"github.com/octomil/secagg/internal/pool"
	"github.com/octomil/secagg/simd"
)

// Fold takes several updates at once, as AddRows does, but finds each coordinate's new
// extremes among its 2k kept values and the updates with the batch order-statistic
// kernels (simd.Bounds, simd.KeptSum): passes over 2k + len(updates) rows, so each
// value costs O(1) once len(updates) is about 2k or more, where AddRows costs O(k) for
// every value that lands among the extremes (a third of them at N = 1000, k = 100).
//
// The stream keeps the same extremes as AddRows, as a set (a zero among them may change
// sign), but in no order until an Add, AddRows, Merge or MarshalBinary needs one and
// sorts them; the values pushed out between them are added to the sums in KeptSum's
// fixed order rather than one at a time, so results agree with AddRows to float64
// rounding, and bit for bit where the sums are exact. Rejection is AddRows's: if any
// update is refused (the first bad one is reported), none is taken.
func (s *Stream) Fold(updates [][]float32) error {
	if err := s.checkRows(updates); err != nil {
		return err
	}
	// Values that all fit the lists (2k of them) are kept whatever they are: push them
	// (the lists are then still filling, so in order).
	if s.k == 0 || s.count+len(updates) <= 2*s.k {
		s.push(updates...)
	} else {
		s.fold(updates)
		s.unordered = true
	}
	s.count += len(updates)
	return nil
}

// foldScratch is one worker's buffers for a tile: the kept planes gathered out of the
// block layout as rows, the rows the kernels read, the bounds and sums, and each
// coordinate's values outside the bounds.
type foldScratch struct {
	kept       []float32
	rows       [][]float32
	low, high  []float32
	sum        []float64
	candidates []float32 // per coordinate, k+1 slots below low then k+1 above high
	counts     []int     // per coordinate, how many below and above
}

var foldPool pool.Slices[float32]

// tiles runs fn over the stream's coordinates tile by tile, the tiles spread over the
// workers, each worker with its own scratch: tiles of the batch kernel's size for the
// 2k kept planes and extra rows.
func (s *Stream) tiles(extra int, fn func(sc *foldScratch, t, e int)) {
	k := s.k
	tile := tileFor(2*k + extra)
	workers := parallel.Workers()
	scratch := make([]foldScratch, workers)
	per := 2*k*tile + 2*tile + 2*(k+1)*tile // kept, bounds, candidates
	buf := foldPool.Get(workers * per)
	defer foldPool.Put(buf)
	for w := range scratch {
		b := (*buf)[w*per : (w+1)*per]
		scratch[w] = foldScratch{
			kept: b[:2*k*tile], low: b[2*k*tile : 2*k*tile+tile], high: b[2*k*tile+tile : 2*k*tile+2*tile],
			candidates: b[2*k*tile+2*tile:],
			rows:       make([][]float32, 0, 2*k+extra), sum: make([]float64, tile), counts: make([]int, 2*tile),
		}
	}
	parallel.Ranges(workers, s.dim, tile*tilesPerTask, func(w, lo, hi int) {
		for t := lo; t < hi; t += tile {
			fn(&scratch[w], t, min(t+tile, hi))
		}
	})
}

// keptRows gathers the filled slots of the coordinates [t, e) (t at a block boundary)
// into rows of sc.kept, one row per filled plane: while the lists fill, the smallest
// list's first slots, then the largest's.
func (s *Stream) keptRows(sc *foldScratch, t, e int) [][]float32 {
	k, m := s.k, e-t
	blockLen := 2 * k * lanes
	ext := s.ext[t/lanes*blockLen : (e+lanes-1)/lanes*blockLen]
	nLow, nHigh := min(s.count, k), min(max(s.count-k, 0), k)
	rows := sc.rows[:0]
	for p := range 2 * k {
		if p >= nLow && p < k || p >= k+nHigh {
			continue
		}
		row := sc.kept[p*m : (p+1)*m]
		for b := 0; b*lanes < m; b++ {
			copy(row[b*lanes:min(m, (b+1)*lanes)], ext[b*blockLen+p*lanes:])
		}
		rows = append(rows, row)
	}
	return rows
}

// fold passes xs through the stream when its kept values and xs are more than 2k.
func (s *Stream) fold(xs [][]float32) {
	s.tiles(len(xs), func(sc *foldScratch, t, e int) { s.foldTile(sc, xs, t, e) })
}

// foldTile folds xs into the coordinates [t, e).
func (s *Stream) foldTile(sc *foldScratch, xs [][]float32, t, e int) {
	k, m := s.k, e-t
	rows := s.keptRows(sc, t, e)
	for _, x := range xs {
		rows = append(rows, x[t:e])
	}
	low, high, sum := sc.low[:m], sc.high[:m], sc.sum[:m]
	simd.Bounds(low, high, rows, 0, k)
	simd.KeptSum(sum, rows, 0, k, low, high)
	for j, v := range sum {
		s.sum[t+j] += v
	}
	// The new k smallest are the values below low (at most k: low is the (k+1)-th
	// smallest) and copies of low for the rest; likewise above high. A kept value
	// mostly stays kept: each is written to its coordinate's next free slot and the
	// slot taken only if it belongs there, without a branch to mispredict (slot k takes
	// what belongs nowhere). An update's value mostly does not: a branch passes it by.
	below, above := sc.counts[:m], sc.counts[m:2*m]
	clear(below)
	clear(above)
	cand := sc.candidates[:2*(k+1)*m]
	kept := len(rows) - len(xs)
	for _, x := range rows[:kept] {
		for j, v := range x {
			b, a := below[j], above[j]
			cand[j*2*(k+1)+b] = v
			cand[j*2*(k+1)+k+1+a] = v
			if v < low[j] {
				b++
			}
			if v > high[j] {
				a++
			}
			below[j], above[j] = b, a
		}
	}
	for _, x := range rows[kept:] {
		for j, v := range x {
			if v < low[j] {
				cand[j*2*(k+1)+below[j]] = v
				below[j]++
			} else if v > high[j] {
				cand[j*2*(k+1)+k+1+above[j]] = v
				above[j]++
			}
		}
	}
	blockLen := 2 * k * lanes
	ext := s.ext[t/lanes*blockLen:]
	for j := range m {
		base := j/lanes*blockLen + j%lanes
		c := cand[j*2*(k+1) : (j+1)*2*(k+1)]
		for i := range k {
			lo, hi := low[j], high[j]
			if i < below[j] {
				lo = c[i]
			}
			if i < above[j] {
				hi = c[k+1+i]
			}
			ext[base+i*lanes], ext[base+(k+i)*lanes] = lo, hi
		}
	}
}

// order sorts a folded stream's lists, the smallest ascending and the largest
// descending, as Push and the serialised form have them.
func (s *Stream) order() {
	if !s.unordered {
		return
	}
	k := s.k
	blockLen := 2 * k * lanes
	parallel.Ranges(parallel.Workers(), len(s.ext)/blockLen, 64, func(_, lo, hi int) {
		list := make([]float32, k)
		for b := lo; b < hi; b++ {
			for l := range lanes {
				for side := range 2 {
					at := b*blockLen + side*k*lanes + l
					for i := range list {
						list[i] = s.ext[at+i*lanes]
					}
					slices.Sort(list)
					if side == 1 {
						slices.Reverse(list)
					}
					for i, v := range list {
						s.ext[at+i*lanes] = v
					}
				}
			}
		}
	})
	s.unordered = false
}
