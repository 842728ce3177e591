package simd

import "math"

// PairBlock is the side of the block of pairs SqDistPairs measures in one pass: its a
// and b hold PairBlock rows each, and it fills PairBlock² distances.
const PairBlock = 4

const (
	pairLanes = 16  // float32 partial sums per pair
	pairFlush = 256 // coordinates summed in float32 before the sums move to float64
)

// SqDistPairs adds to dist[PairBlock*i+j] the squared distance between a[i] and b[j]
// over the coordinates [off, off+n), for the PairBlock² pairs at once, so that each
// coordinate of the 2·PairBlock rows is loaded once for PairBlock² pairs: the register
// blocking that lets Krum's N²/2 distances run at the speed of the arithmetic.
//
// The arithmetic is float32, fixed and the same on every path: each difference is taken
// in float32, squared and added into one of 16 float32 lanes per pair (coordinate k,
// counted from the start of each piece, into lane k%16) with a fused multiply-add, and
// the lanes move into float64 every 256 coordinates and at the end; the 16 float64
// lanes are then added pairwise. Differences, not ‖x‖² + ‖y‖² − 2x·y: a distance is
// never negative and its error is relative to itself (about 2^-20), not to the norms.
// A difference or square beyond float32's range makes the distance +Inf; callers that
// must not lose such a pair measure it again with SqDist, in float64.
func SqDistPairs(dist *[PairBlock * PairBlock]float64, a, b [][]float32, off, n int) {
	a, b = a[:PairBlock], b[:PairBlock]
	for i := range PairBlock {
		_, _ = a[i][off:off+n], b[i][off:off+n]
	}
	var acc [PairBlock * PairBlock * pairLanes]float64
	kernel := active.Load().k.sqDistPairs
	pieces(n, func(lo, hi int) { kernel(&acc, a, b, off+lo, hi-lo) },
		func(lo, hi int) { sqDistPairsGeneric(&acc, a, b, off+lo, hi-lo) })
	for p := range dist {
		lanes := acc[p*pairLanes : (p+1)*pairLanes]
		for h := pairLanes / 2; h > 0; h /= 2 {
			for l := range h {
				lanes[l] += lanes[l+h]
			}
		}
		dist[p] += lanes[0]
	}
}

// sqDistPairsGeneric is the specification of the pair kernels: for pair p = 4i+j, the
// float32 lanes s[k%16] = fma32(d, d, s[k%16]) with d = a[i][off+k] − b[j][off+k],
// added into acc[16p+l] (and cleared) after every 256th coordinate and after the last.
func sqDistPairsGeneric(acc *[PairBlock * PairBlock * pairLanes]float64, a, b [][]float32, off, n int) {
	for i := range PairBlock {
		for j := range PairBlock {
			x, y := a[i][off:off+n], b[j][off:off+n]
			out := acc[(PairBlock*i+j)*pairLanes : (PairBlock*i+j+1)*pairLanes]
			var s [pairLanes]float32
			for k := range x {
				d := x[k] - y[k]
				s[k%pairLanes] = fma32(d, d, s[k%pairLanes])
				if k%pairFlush == pairFlush-1 || k == len(x)-1 {
					for l, v := range s {
						out[l] += float64(v)
					}
					s = [pairLanes]float32{}
				}
			}
		}
	}
}

// fma32 returns x·y + z rounded once to float32, as VFMADD231PS computes it. The
// product is exact in float64; the sum is rounded to odd in float64 (round to nearest,
// then, if inexact and even, to the neighbour on the side of the error), after which
// rounding to float32 gives the correctly rounded result, 53 ≥ 2·24 + 2.
func fma32(x, y, z float32) float32 {
	p, c := float64(x)*float64(y), float64(z)
	s := p + c
	if math.IsInf(s, 0) || s != s {
		return float32(s)
	}
	t := s - p
	e := (p - (s - t)) + (c - t) // the error of s, exactly (TwoSum)
	if bits := math.Float64bits(s); e != 0 && bits&1 == 0 {
		if (e > 0) == (s > 0) {
			bits++ // away from zero, toward the exact sum
		} else {
			bits--
		}
		s = math.Float64frombits(bits)
	}
	return float32(s)
}
