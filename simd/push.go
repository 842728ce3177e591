package simd

import (
	"math"
)

// PushLanes is the block width of Push's layout: the kept values of 16 coordinates lie
// together.
const PushLanes = 16

// Push passes one update x through the state of a streaming trimmed mean that trims k
// values from each end, coordinate by coordinate, as pushGeneric spells out. ext holds,
// per block of 16 coordinates, k planes of 16 smallest values in ascending order (+Inf
// marks an empty slot) followed by k planes of 16 largest in descending order (-Inf
// marks an empty slot); sum holds one float64 per coordinate. x must be finite; a +Inf
// in x leaves the state unchanged (Merge relies on that).
func Push(ext []float32, sum []float64, x []float32, k int) {
	sum = sum[:len(x)]
	blockLen := 2 * k * PushLanes
	_ = ext[:(len(x)+PushLanes-1)/PushLanes*blockLen]
	if k == 0 {
		Add(sum, x)
		return
	}
	push := active.Load().k.push
	pieces(len(x), func(lo, hi int) {
		push(ext[lo/PushLanes*blockLen:hi/PushLanes*blockLen], sum[lo:hi], x[lo:hi], k)
	}, func(lo, hi int) {
		pushGeneric(ext[lo/PushLanes*blockLen:], sum[lo:hi], x[lo:hi], k)
	})
}

// pushGeneric is the specification of Push, for x starting at a block boundary. Each
// value runs down its coordinate's smallest values (swapping where it is strictly
// smaller), what comes out runs down the largest values (swapping where strictly
// larger), and what comes out of that goes into the sum; a +Inf out of the smallest or
// a -Inf out of the largest means an empty slot took the value and nothing goes on.
func pushGeneric(ext []float32, sum []float64, x []float32, k int) {
	inf := float32(math.Inf(1))
	for j, v := range x {
		base := j/PushLanes*2*k*PushLanes + j%PushLanes
		lastLow, lastHigh := base+(k-1)*PushLanes, base+(2*k-1)*PushLanes
		if k == 0 || v >= ext[lastLow] && v <= ext[lastHigh] {
			sum[j] += float64(v) // between the kept extremes: the common case
			continue
		}
		for i := base; i <= lastLow; i += PushLanes {
			if v < ext[i] {
				ext[i], v = v, ext[i]
			}
		}
		if v == inf {
			continue
		}
		for i := base + k*PushLanes; i <= lastHigh; i += PushLanes {
			if v > ext[i] {
				ext[i], v = v, ext[i]
			}
		}
		if v == -inf {
			continue
		}
		sum[j] += float64(v)
	}
}
