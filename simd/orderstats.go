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
// unspecified (KeptSum reports them).
func Bounds(lo, hi []float32, rows [][]float32, off, k int) {
	hi = hi[:len(lo)]
	if 2*k >= len(rows) {
		panic("simd: Bounds needs 2k < len(rows)")
	}
	for _, r := range rows {
		_ = r[off : off+len(lo)]
	}
	ks := active.Load().k
	// Per row and group of lanes: insertion costs 4(k+1) min/max, one chain 2(n-k),
	// bisection about 90 integer operations whatever k; take the cheapest the path has.
	insertCost, chainCost := 4*(k+1), 2*(len(rows)-k)
	canInsert := k < len(ks.boundsInsert)
	canChain := len(rows)-k >= 2 && len(rows)-k-2 < len(ks.boundsChain)
	switch {
	case canInsert && (!canChain || insertCost <= chainCost):
		f := ks.boundsInsert[k]
		pieces(len(lo), func(a, b int) { f(lo[a:b], hi[a:b], rows, off+a) },
			func(a, b int) { boundsGeneric(lo[a:b], hi[a:b], rows, off+a, k) })
		return
	case canChain:
		f := ks.boundsChain[len(rows)-k-2]
		var scratch [maxChainScratch]float32
		pieces(len(lo), func(a, b int) { f(lo[a:b], hi[a:b], rows, off+a, k, scratch[:]) },
			func(a, b int) { boundsGeneric(lo[a:b], hi[a:b], rows, off+a, k) })
		return
	}
	if f := ks.boundsBisect16; f != nil && len(rows) <= 32767 {
		keys := keyPool.Get(2 * keyLanes * len(rows))
		defer keyPool.Put(keys)
		bulk := func(a, b int) { f(lo[a:b], hi[a:b], rows, off+a, k, *keys) }
		switch n := len(rows); {
		case 2*k+1 == n: // odd median: one rank, hi = lo
			bulk = func(a, b int) {
				ks.selectRank16(lo[a:b], rows, off+a, k, *keys)
				copy(hi[a:b], lo[a:b])
			}
		case 2*k+2 == n: // even median: rank k, then the next
			bulk = func(a, b int) {
				ks.selectRank16(lo[a:b], rows, off+a, k, *keys)
				ks.successor(hi[a:b], lo[a:b], rows, off+a, k)
			}
		}
		pieces(len(lo), bulk, func(a, b int) { boundsGeneric(lo[a:b], hi[a:b], rows, off+a, k) })
		return
	}
	if f := ks.boundsBisect; f != nil {
		keys := keyPool.Get(keyLanes * len(rows))
		defer keyPool.Put(keys)
		pieces(len(lo), func(a, b int) { f(lo[a:b], hi[a:b], rows, off+a, k, *keys) },
			func(a, b int) { boundsGeneric(lo[a:b], hi[a:b], rows, off+a, k) })
		return
	}
	boundsGeneric(lo, hi, rows, off, k)
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
