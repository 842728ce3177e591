package simd

import (
	"slices"

	"github.com/octomil/secagg/internal/pool"
)

// Bounds writes, for every coordinate j < len(lo), the order statistics of the values
// rows[i][off+j] over all rows: lo[j] is the (k+1)-th smallest and hi[j] the (k+1)-th
// largest, as a sort of the coordinate would place them. A zero is reported as +0,
// whatever the sign of the zeros it stands for, so every algorithm gives the same bits.
// The rows must hold finite values and 2k < len(rows); with NaN or ±Inf the results are
// unspecified (KeptSum reports them). What lo and hi hold on entry serves as a guess of
// the results, which never changes them: the bounds of neighbouring coordinates (a
// previous tile's) can save the AVX-512 kernel passes over many rows.
func Bounds(lo, hi []float32, rows [][]float32, off, k int) {
	hi = hi[:len(lo)]
	if 2*k >= len(rows) {
		panic("simd: Bounds needs 2k < len(rows)")
	}
	for _, r := range rows {
		_ = r[off : off+len(lo)]
	}
	ks := active.Load().k
	switch alg := ks.boundsAlgorithm(len(rows), k); alg {
	case byInsertion:
		f := ks.boundsInsert[k]
		pieces(len(lo), func(a, b int) { f(lo[a:b], hi[a:b], rows, off+a) },
			func(a, b int) { boundsGeneric(lo[a:b], hi[a:b], rows, off+a, k) })
	case byChain:
		chainBounds(ks, lo, hi, rows, off, k)
	case byBisection8, byBisection16, byBisection:
		if alg != byBisection && 2*k+2 >= len(rows) { // a median: one rank and its successor
			middleBisect(ks, lo, hi, rows, off)
			return
		}
		f, perRow := ks.bisection(alg)
		keys := keyPool.Get(perRow * len(rows))
		defer keyPool.Put(keys)
		pieces(len(lo), func(a, b int) { f(lo[a:b], hi[a:b], rows, off+a, k, *keys) },
			func(a, b int) { boundsGeneric(lo[a:b], hi[a:b], rows, off+a, k) })
	default:
		boundsGeneric(lo, hi, rows, off, k)
	}
}

// A boundsAlgorithm is how Bounds finds the order statistics.
type boundsAlgorithm int

const (
	bySort boundsAlgorithm = iota
	byInsertion
	byChain
	byBisection8
	byBisection16
	byBisection
)

// boundsAlgorithm picks the cheapest algorithm the path has for n rows and this k.
// Per row and group of lanes: insertion costs 4(k+1) min/max, one chain 2(n-k),
// bisection about 90 integer operations whatever k.
func (ks *kernels) boundsAlgorithm(n, k int) boundsAlgorithm {
	insertCost, chainCost := 4*(k+1), 2*(n-k)
	canInsert := k < len(ks.boundsInsert)
	canChain := n-k >= 2 && n-k-2 < len(ks.boundsChain)
	switch {
	case canInsert && (!canChain || insertCost <= chainCost):
		return byInsertion
	case canChain:
		return byChain
	case ks.boundsBisect8 != nil && n <= 32767:
		return byBisection8
	case ks.boundsBisect16 != nil && n <= 32767:
		return byBisection16
	case ks.boundsBisect != nil:
		return byBisection
	}
	return bySort
}

// Scratch keys per row for each bisection kernel (its group of lanes, in its layout).
const (
	keysBisect   = keyLanes     // boundsBisect: one key per lane
	keysBisect16 = 2 * keyLanes // boundsBisect16, selectRank16: high and low halves
	keysBisect8  = 65           // boundsBisect8: A1, A2, B and the upper lanes' kept rows, 64 bytes each; a row index
	keysSelect8  = 81           // selectRank8: the same with B2 for 64 lanes; a row index
)

// bisection returns the kernel of a bisection algorithm and the scratch keys it needs
// per row.
func (ks *kernels) bisection(alg boundsAlgorithm) (func(lo, hi []float32, rows [][]float32, off, k int, keys []int32), int) {
	switch alg {
	case byBisection8:
		return func(lo, hi []float32, rows [][]float32, off, k int, keys []int32) {
			ks.boundsBisect8(lo, hi, rows, off, k, keys, nil, 0)
		}, keysBisect8
	case byBisection16:
		return ks.boundsBisect16, keysBisect16
	}
	return ks.boundsBisect, keysBisect
}

// finitePieces runs bulk over the whole blocks of lo (it reports whether the values it
// read were finite) and the specification over the tail, and reports whether every
// value was finite.
func finitePieces(lo, hi []float32, rows [][]float32, off, k int, bulk func(a, b int) bool) bool {
	finite := true
	pieces(len(lo), func(a, b int) { finite = bulk(a, b) && finite },
		func(a, b int) {
			boundsGeneric(lo[a:b], hi[a:b], rows, off+a, k)
			finite = windowsFinite(rows, off+a, b-a) && finite
		})
	return finite
}

// Middle writes the middle values of every coordinate j < len(lo), as Bounds with
// k = (len(rows)-1)/2 writes them (for an odd number of rows lo[j] = hi[j] is the
// median, for an even number they are the two middle values), and reports whether
// every value in the rows' windows is finite; if not, lo and hi are unspecified. The
// check rides on the kernel's own pass over the values (the chain of the smallest, or
// the bisection's keying), so a median needs no other pass.
func Middle(lo, hi []float32, rows [][]float32, off int) (finite bool) {
	hi = hi[:len(lo)]
	if len(rows) == 0 {
		panic("simd: Middle needs rows")
	}
	for _, r := range rows {
		_ = r[off : off+len(lo)]
	}
	ks := active.Load().k
	n, k := len(rows), (len(rows)-1)/2
	if n >= 2 && n-2 < len(ks.middleNet) {
		f := ks.middleNet[n-2]
		return finitePieces(lo, hi, rows, off, k, func(a, b int) bool { return f(lo[a:b], hi[a:b], rows, off+a) == 1 })
	}
	switch ks.boundsAlgorithm(n, k) {
	case byBisection8, byBisection16:
		return middleBisect(ks, lo, hi, rows, off)
	case byChain:
		return chainBounds(ks, lo, hi, rows, off, k)
	}
	Bounds(lo, hi, rows, off, k)
	return windowsFinite(rows, off, len(lo))
}

// chainBounds is Bounds by one chain of the len(rows)-k smallest; it reports whether
// every value was finite (Middle needs that, Bounds does not).
func chainBounds(ks *kernels, lo, hi []float32, rows [][]float32, off, k int) (finite bool) {
	f := ks.boundsChain[len(rows)-k-2]
	var scratch [maxChainScratch]float32
	return finitePieces(lo, hi, rows, off, k, func(a, b int) bool { return f(lo[a:b], hi[a:b], rows, off+a, k, scratch[:]) == 1 })
}

// middleBisect is Middle by bisection, for the rows Bounds bisects: selectRank8 where the
// path has it, 64 coordinates at a time, and selectRank16 for the rest.
func middleBisect(ks *kernels, lo, hi []float32, rows [][]float32, off int) (finite bool) {
	n, k := len(rows), (len(rows)-1)/2
	keys := keyPool.Get(keysSelect8 * n) // enough for selectRank16 too
	defer keyPool.Put(keys)
	return finitePieces(lo, hi, rows, off, k, func(a, b int) bool {
		finite := true
		wide := a
		if ks.selectRank8 != nil {
			wide = a + (b-a)&^63
			if wide > a {
				finite = ks.selectRank8(lo[a:wide], rows, off+a, k, *keys, nil, 0) == 1
			}
		}
		if wide < b {
			finite = ks.selectRank16(lo[wide:b], rows, off+wide, k, *keys) == 1 && finite
		}
		if n%2 == 0 {
			ks.successor(hi[a:b], lo[a:b], rows, off+a, k)
		} else {
			copy(hi[a:b], lo[a:b])
		}
		return finite
	})
}

// BoundsCopy is Bounds that also leaves every row's window in the panel p, as
// CopyWindows(p.Data, p.Stride, rows, off, len(lo)) would, for a caller that reads the
// windows again (KeptSum on p.Rows). The byte kernel copies the values as its key pass
// reads them, which saves a pass over the tile; other kernels read the panel after a
// copy.
func BoundsCopy(lo, hi []float32, rows [][]float32, off, k int, p Panel) {
	ks := active.Load().k
	n := len(rows)
	if ks.boundsAlgorithm(n, k) != byBisection8 || 2*k+2 >= n {
		CopyWindows(p.Data, p.Stride, rows, off, len(lo))
		Bounds(lo, hi, p.Rows, 0, k)
		return
	}
	hi = hi[:len(lo)]
	p.check(rows, off, len(lo))
	keys := keyPool.Get(keysBisect8 * n)
	defer keyPool.Put(keys)
	pieces(len(lo), func(a, b int) { ks.boundsBisect8(lo[a:b], hi[a:b], rows, off+a, k, *keys, p.Data[a:], p.Stride) },
		func(a, b int) {
			CopyWindows(p.Data[a:], p.Stride, rows, off+a, b-a)
			boundsGeneric(lo[a:b], hi[a:b], p.Rows, a, k)
		})
}

// MiddleCopy is Middle that also leaves every row's window in the panel p, as
// BoundsCopy does: selectRank8 copies the values as its key pass reads them, and the
// successor of an even count reads the panel.
func MiddleCopy(lo, hi []float32, rows [][]float32, off int, p Panel) (finite bool) {
	ks := active.Load().k
	n, k := len(rows), (len(rows)-1)/2
	wide := len(lo) &^ 63
	if ks.selectRank8 == nil || ks.boundsAlgorithm(n, k) != byBisection8 || n-2 < len(ks.middleNet) || wide == 0 {
		CopyWindows(p.Data, p.Stride, rows, off, len(lo))
		return Middle(lo, hi, p.Rows, 0)
	}
	hi = hi[:len(lo)]
	p.check(rows, off, len(lo))
	keys := keyPool.Get(keysSelect8 * n)
	defer keyPool.Put(keys)
	finite = ks.selectRank8(lo[:wide], rows, off, k, *keys, p.Data, p.Stride) == 1
	if n%2 == 0 {
		ks.successor(hi[:wide], lo[:wide], p.Rows, 0, k)
	} else {
		copy(hi[:wide], lo[:wide])
	}
	if wide < len(lo) {
		CopyWindows(p.Data[wide:], p.Stride, rows, off+wide, len(lo)-wide)
		finite = Middle(lo[wide:], hi[wide:], p.Rows, wide) && finite
	}
	return finite
}

// windowsFinite reports whether rows[i][off:off+n] holds only finite values, for all i.
func windowsFinite(rows [][]float32, off, n int) bool {
	for _, r := range rows {
		if FirstNonFinite(r[off:off+n]) >= 0 {
			return false
		}
	}
	return true
}

// maxChainScratch holds the longest chain (28) of the widest lanes (16).
const maxChainScratch = 28 * 16

// keyLanes is the widest group of lanes a bisection kernel keys at once.
const keyLanes = 16

var keyPool pool.Slices[int32] // scratch for the bisection kernels

// KeptSum writes, for every coordinate j < len(sum), the float64 sum of the values that
// trimming k from each end keeps, given the bounds lo[j], hi[j] from Bounds: every value
// clamped to [lo[j], hi[j]] and added in row order, then k·lo[j] and k·hi[j] taken off,
//
//	S = (Σ_rows clamp(x, lo, hi) − k·lo) − k·hi
//
// which is exactly the kept sum (the k values below lo[j] count as lo[j], which the
// subtraction removes again, and likewise above hi[j]) and one fixed order, so every
// path gives the same bits. Clamping also keeps far-out values out of the float64 sum.
// It reports whether every value read was finite.
func KeptSum(sum []float64, rows [][]float32, off, k int, lo, hi []float32) (finite bool) {
	lo, hi = lo[:len(sum)], hi[:len(sum)]
	for _, r := range rows {
		_ = r[off : off+len(sum)]
	}
	keptSum := active.Load().k.keptSum
	finite = true
	pieces(len(sum), func(a, b int) { finite = keptSum(sum[a:b], rows, off+a, k, lo[a:b], hi[a:b]) == 1 && finite },
		func(a, b int) { finite = keptSumGeneric(sum[a:b], rows, off+a, k, lo[a:b], hi[a:b]) && finite })
	return finite
}

// Outside writes, for every group g of 32 coordinates of [0, len(lo)) and every row i,
// masks[g·len(rows)+i] with bit l set where x = rows[i][off+32g+l] lies outside the
// bounds of its coordinate j = 32g+l, x < lo[j] or x > hi[j] (a last, partial group's
// missing lanes clear): the values that trimming passes over, found a vector at a time
// so the ones kept between the bounds, mostly all, cost no branch. masks must hold
// len(rows)·⌈len(lo)/32⌉ words.
func Outside(masks []uint32, rows [][]float32, off int, lo, hi []float32) {
	hi = hi[:len(lo)]
	groups := (len(lo) + Block - 1) / Block
	_ = masks[:len(rows)*groups]
	for _, r := range rows {
		_ = r[off : off+len(lo)]
	}
	outside := active.Load().k.outsideRows
	n := len(rows)
	pieces(len(lo), func(a, b int) { outside(masks[a/Block*n:], rows, off+a, lo[a:b], hi[a:b]) },
		func(a, b int) { outsideRowsGeneric(masks[a/Block*n:], rows, off+a, lo[a:b], hi[a:b]) })
}

// outsideRowsGeneric is the specification of Outside.
func outsideRowsGeneric(masks []uint32, rows [][]float32, off int, lo, hi []float32) {
	for g := 0; g*Block < len(lo); g++ {
		for i, r := range rows {
			var m uint32
			for l := range min(Block, len(lo)-g*Block) {
				j := g*Block + l
				if x := r[off+j]; x < lo[j] || x > hi[j] {
					m |= 1 << l
				}
			}
			masks[g*len(rows)+i] = m
		}
	}
}

func keptSumGenericInt(sum []float64, rows [][]float32, off, k int, lo, hi []float32) int {
	if keptSumGeneric(sum, rows, off, k, lo, hi) {
		return 1
	}
	return 0
}

// boundsGeneric is the specification of Bounds: sort each coordinate.
func boundsGeneric(lo, hi []float32, rows [][]float32, off, k int) {
	v := make([]float32, len(rows))
	for j := range lo {
		for i, r := range rows {
			v[i] = r[off+j]
		}
		slices.Sort(v)
		lo[j], hi[j] = v[k]+0, v[len(v)-1-k]+0 // +0 turns -0 into +0
	}
}

func keptSumGeneric(sum []float64, rows [][]float32, off, k int, lo, hi []float32) (finite bool) {
	finite = true
	kf := float64(k)
	for j := range sum {
		l, h := lo[j], hi[j]
		s := 0.0
		for _, r := range rows {
			x := r[off+j]
			if firstNonFiniteGeneric(r[off+j:off+j+1]) == 0 {
				finite = false
			}
			c := l // the clamp as the vector min/max compute it: x > lo ? x : lo, then c < hi ? c : hi
			if x > l {
				c = x
			}
			if !(c < h) {
				c = h
			}
			s += float64(c)
		}
		sum[j] = (s - kf*float64(l)) - kf*float64(h)
	}
	return finite
}
