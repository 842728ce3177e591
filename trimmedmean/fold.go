package trimmedmean

import (
	"math/bits"
	"slices"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/internal/check"
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
// sign), but in no order, even between its two lists while they fill, until an Add,
// AddRows, Merge or MarshalBinary needs one and sorts them; the values pushed out
// between them are added to the sums in KeptSum's fixed order rather than one at a
// time, so results agree with AddRows to float64 rounding, and bit for bit where the
// sums are exact. Rejection is AddRows's: if any
// update is refused (the first bad one is reported), none is taken.
func (s *Stream) Fold(updates [][]float32) error {
	if err := s.checkRows(updates); err != nil {
		return err
	}
	// Values that all fit the lists (2k of them) are kept whatever they are: they go
	// into the free slots as they come.
	switch {
	case s.k == 0:
		s.push(updates...)
	case s.count+len(updates) <= 2*s.k:
		s.place(updates)
		s.unordered = true
	default:
		s.fold(updates)
		s.unordered = true
	}
	s.count += len(updates)
	return nil
}

// ResultWith writes into dst the trimmed mean, trimming k <= K() from each end, of
// everything the stream has taken and of updates, without taking them: what Fold then
// ResultK would write, for a round's last updates, in one pass of the batch kernel over
// each coordinate's kept values and the updates and none of Fold's rewriting of the
// lists. The trimmed values of the union are added to the sum of the values the stream
// pushed out, so the result agrees with Fold and ResultK to float64 rounding, bit for
// bit where the sums are exact, and on an empty stream it is TrimmedMean's. A wrong
// length is a bad_request, a NaN or ±Inf a validation_error naming the update, too few
// values in all insufficient_clients; on an error dst is as it was.
func (s *Stream) ResultWith(dst []float32, updates [][]float32, k int) error {
	if len(updates) == 0 {
		return s.ResultK(dst, k)
	}
	if len(dst) != s.dim {
		return secagg.Errorf(secagg.CodeBadRequest, "dst", "dst has length %d, the stream's dimension is %d", len(dst), s.dim)
	}
	if err := check.Batch(dst, updates); err != nil {
		return err
	}
	if k < 0 || k > s.k {
		return secagg.Errorf(secagg.CodeValidation, "k", "k must be in [0, %d], got %d", s.k, k)
	}
	count := s.count + len(updates)
	if count <= 2*k {
		return secagg.Errorf(secagg.CodeInsufficientClients, "updates",
			"a trimmed mean trimming %d from each end needs at least %d updates, got %d", k, 2*k+1, count)
	}
	// Trimming k <= K() from each end of every value taken trims only among the kept
	// ones, so a tile's rows are its kept planes, gathered, and the updates'.
	kept := min(s.count, 2*s.k)
	n := kept + len(updates)
	tile := tileFor(n)
	workers := parallel.Workers()
	buf := foldPool.Get(workers * kept * tile)
	defer foldPool.Put(buf)
	scratch := make([]foldScratch, workers)
	for w := range scratch {
		scratch[w] = foldScratch{kept: (*buf)[w*kept*tile : (w+1)*kept*tile], rows: make([][]float32, 0, n)}
	}
	in := tiled{n: n, count: count, base: s.sum, updates: updates,
		rowsOf: func(w, t, e int) ([][]float32, int) {
			rows := s.keptRows(&scratch[w], t, e)
			for _, x := range updates {
				rows = append(rows, x[t:e])
			}
			return rows, 0
		}}
	return in.mean(dst, k)
}

// foldScratch is one worker's buffers for a tile: the kept planes gathered out of the
// block layout as rows, the rows the kernels read, the bounds and sums, and each
// coordinate's values outside the bounds.
type foldScratch struct {
	kept       []float32
	rows       [][]float32
	low, high  []float32
	sum        []float64
	candidates []float32  // k+1 slots below low then k+1 above high, per coordinate
	counts     []int      // how many below, then above, per coordinate; then how many used
	masks      []uint32   // simd.Outside's
	panel      simd.Panel // the tile's rows gathered, where they are many (panelFrom)
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
	n, stride := 2*k+extra, 0
	if extra > 0 && n >= panelFrom {
		stride = panelStride(tile) // a fold gathers as many rows as the batch kernel would
	}
	buf := foldPool.Get(workers * (per + n*stride))
	defer foldPool.Put(buf)
	for w := range scratch {
		b := (*buf)[w*(per+n*stride) : (w+1)*(per+n*stride)]
		scratch[w] = foldScratch{
			kept:       b[:2*k*tile],
			low:        b[2*k*tile : 2*k*tile+tile],
			high:       b[2*k*tile+tile : 2*k*tile+2*tile],
			candidates: b[2*k*tile+2*tile : per],
			rows:       make([][]float32, 0, n),
			sum:        make([]float64, tile),
			counts:     make([]int, 4*tile),
			masks:      make([]uint32, n*((tile+simd.Block-1)/simd.Block)),
		}
		if stride > 0 {
			p := simd.Panel{Data: b[per:], Stride: stride, Rows: make([][]float32, n)}
			for i := range p.Rows {
				p.Rows[i] = p.Data[i*stride : i*stride+tile : i*stride+tile]
			}
			scratch[w].panel = p
		}
	}
	parallel.Ranges(workers, s.dim, tile*tilesPerTask, func(w, lo, hi int) {
		for t := lo; t < hi; t += tile {
			fn(&scratch[w], t, min(t+tile, hi))
		}
	})
}

// keptRows gathers the filled slots of the coordinates [t, e) (t at a block boundary)
// into rows of sc.kept, one row per filled plane: the lists fill plane by plane, the
// smallest list's then the largest's, so those are the first min(count, 2k).
func (s *Stream) keptRows(sc *foldScratch, t, e int) [][]float32 {
	k, m := s.k, e-t
	blockLen := 2 * k * lanes
	ext := s.ext[t/lanes*blockLen : (e+lanes-1)/lanes*blockLen]
	rows := sc.rows[:0]
	for p := range min(s.count, 2*k) {
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
	kept := len(rows)
	for _, x := range xs {
		rows = append(rows, x[t:e])
	}
	low, high, sum := sc.low[:m], sc.high[:m], sc.sum[:m]
	if p := sc.panel; len(rows) >= panelFrom {
		// Many rows: the passes after the bounds read the tile gathered as they read it.
		p.Rows = p.Rows[:len(rows)]
		simd.BoundsCopy(low, high, rows, 0, k, p)
		rows = rows[:0]
		for _, r := range p.Rows {
			rows = append(rows, r[:m])
		}
	} else {
		simd.Bounds(low, high, rows, 0, k)
	}
	simd.KeptSum(sum, rows, 0, k, low, high)
	for j, v := range sum {
		s.sum[t+j] += v
	}
	// The new k smallest are the values below low (at most k: low is the (k+1)-th
	// smallest) and copies of low for the rest; likewise above high. An update's
	// value mostly is neither: simd.Outside finds the few that are, a vector at a time,
	// and they go to cand, slot i of coordinate j's side (0 below, 1 above) at
	// cand[(side·(k+1)+i)·m + j], so one row's land in a few neighbouring lines.
	counts := sc.counts[:2*m]
	clear(counts)
	cand := sc.candidates[:2*(k+1)*m]
	if s.count < 2*k || s.count == 2*k && s.unordered {
		// While the lists fill (or were filled by Fold), the kept values lie in any
		// order across both: they are candidates like the updates'.
		s.collect(sc, rows, low, high, counts, cand)
		s.rewrite(t, e, low, high, counts, cand)
		return
	}
	s.collect(sc, rows[kept:], low, high, counts, cand)
	s.replace(sc, t, e, rows[:kept], low, high, counts, cand)
}

// collect appends the values of rows outside [low, high] to their coordinates' sides.
func (s *Stream) collect(sc *foldScratch, rows [][]float32, low, high []float32, counts []int, cand []float32) {
	k, m := s.k, len(low)
	groups := (m + simd.Block - 1) / simd.Block
	masks := sc.masks[:len(rows)*groups]
	simd.Outside(masks, rows, 0, low, high)
	for g := range groups {
		for r, mask := range masks[g*len(rows) : (g+1)*len(rows)] {
			x := rows[r]
			for ; mask != 0; mask &= mask - 1 {
				j := g*simd.Block + bits.TrailingZeros32(mask)
				v := x[j]
				side := 0 // outside the bounds, so above where not below
				if v > low[j] {
					side = 1
				}
				c := side*m + j
				cand[(side*(k+1)+counts[c])*m+j] = v
				counts[c]++
			}
		}
	}
}

// rewrite writes every slot of the coordinates [t, e): the candidates of each side,
// then copies of its bound.
func (s *Stream) rewrite(t, e int, low, high []float32, counts []int, cand []float32) {
	k, m := s.k, e-t
	blockLen := 2 * k * lanes
	ext := s.ext[t/lanes*blockLen:]
	for j := range m {
		base := j/lanes*blockLen + j%lanes
		below, above := counts[j], counts[m+j]
		for i := range k {
			lo, hi := low[j], high[j]
			if i < below {
				lo = cand[i*m+j]
			}
			if i < above {
				hi = cand[(k+1+i)*m+j]
			}
			ext[base+i*lanes], ext[base+(k+i)*lanes] = lo, hi
		}
	}
}

// replace rewrites, in full lists, only the slots whose values the bounds pushed out:
// a kept smallest value stays where it is below low (it cannot be above high: the k
// largest are at least it), a kept largest where it is above high, so simd.Outside
// over the kept planes marks the slots that stay. Each other slot takes its side's
// next candidate, or a copy of its bound once they run out.
func (s *Stream) replace(sc *foldScratch, t, e int, kept [][]float32, low, high []float32, counts []int, cand []float32) {
	k, m := s.k, e-t
	blockLen := 2 * k * lanes
	ext := s.ext[t/lanes*blockLen:]
	groups := (m + simd.Block - 1) / simd.Block
	masks := sc.masks[:len(kept)*groups]
	simd.Outside(masks, kept, 0, low, high)
	used := sc.counts[2*m : 4*m]
	clear(used)
	for g := range groups {
		valid := ^uint32(0)
		if n := m - g*simd.Block; n < simd.Block {
			valid = 1<<n - 1
		}
		for p, mask := range masks[g*len(kept) : (g+1)*len(kept)] {
			side, bound := 0, low
			if p >= k {
				side, bound = 1, high
			}
			for free := ^mask & valid; free != 0; free &= free - 1 {
				j := g*simd.Block + bits.TrailingZeros32(free)
				c := side*m + j
				v := bound[j]
				if u := used[c]; u < counts[c] {
					v = cand[(side*(k+1)+u)*m+j]
					used[c] = u + 1
				}
				ext[j/lanes*blockLen+p*lanes+j%lanes] = v
			}
		}
	}
}

// place writes xs, which the lists have room for, into the next free slots: the
// stream's (count+i)-th value into plane count+i, as the lists fill.
func (s *Stream) place(xs [][]float32) {
	blockLen := 2 * s.k * lanes
	parallel.Ranges(parallel.Workers(), (s.dim+lanes-1)/lanes, pushChunk/lanes, func(_, lo, hi int) {
		for b := lo; b < hi; b++ {
			for i, x := range xs {
				copy(s.ext[b*blockLen+(s.count+i)*lanes:][:lanes], x[b*lanes:min(s.dim, (b+1)*lanes)])
			}
		}
	})
}

// order sorts the lists Fold left unordered as Push and the serialised form have them:
// each coordinate's filled slots (the first min(count, 2k) planes) sorted together, the
// smallest k ascending in the first list and the rest descending in the second.
func (s *Stream) order() {
	if !s.unordered {
		return
	}
	k, n := s.k, min(s.count, 2*s.k)
	blockLen := 2 * k * lanes
	parallel.Ranges(parallel.Workers(), len(s.ext)/blockLen, 64, func(_, lo, hi int) {
		list := make([]float32, n)
		for b := lo; b < hi; b++ {
			for l := range min(lanes, s.dim-b*lanes) {
				at := b*blockLen + l
				for i := range list {
					list[i] = s.ext[at+i*lanes]
				}
				slices.Sort(list)
				for i, v := range list[:min(n, k)] {
					s.ext[at+i*lanes] = v
				}
				for i := range n - min(n, k) {
					s.ext[at+(k+i)*lanes] = list[n-1-i]
				}
			}
		}
	})
	s.unordered = false
}
