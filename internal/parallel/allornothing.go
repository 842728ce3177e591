package parallel

import (
	"slices"
	"sync"

	"github.com/octomil/secagg/simd"
)

// AllOrNothing is Ranges for kernels that write dst range by range and learn only as
// they go whether the input was valid. Before fn overwrites dst[lo:hi], the range is
// saved (with cache-bypassing stores: the copy is read back only on failure); fn
// reports whether its results are valid, and if any range is not, every range is
// restored and AllOrNothing returns false, leaving dst exactly as it was.
//
// The insurance costs one extra write of len(dst) floats, against the extra write and
// read of computing into scratch and copying the result over.
func AllOrNothing(workers int, dst []float32, chunk int, fn func(worker, lo, hi int) (ok bool)) bool {
	saved := getSaved(len(dst))
	defer savedPool.Put(saved)
	failed := make([]bool, max(workers, 1))
	Ranges(workers, len(dst), chunk, func(w, lo, hi int) {
		simd.CopyStream((*saved)[lo:hi], dst[lo:hi])
		if !fn(w, lo, hi) {
			failed[w] = true
		}
	})
	if !slices.Contains(failed, true) {
		return true
	}
	Ranges(workers, len(dst), chunk, func(_, lo, hi int) {
		copy(dst[lo:hi], (*saved)[lo:hi])
	})
	return false
}

var savedPool sync.Pool // *[]float32, reused across calls

func getSaved(n int) *[]float32 {
	if p, ok := savedPool.Get().(*[]float32); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]float32, n)
	return &s
}
