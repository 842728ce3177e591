package parallel

import (
	"slices"

	"github.com/octomil/secagg/internal/pool"
	"github.com/octomil/secagg/simd"
)

// AllOrNothing is Ranges for kernels that learn only as they go whether their input was
// valid. fn computes the results for dst[lo:hi] into out (scratch of that length) and
// reports whether they are valid; only when every range is valid are the results
// copied into dst. Otherwise AllOrNothing returns false and dst is exactly as it was.
//
// Saving each range of dst before overwriting it in place was measured slower: the
// short, cold reads of dst inside the kernel's loop stall it, while the one copy at the
// end streams.
func AllOrNothing(workers int, dst []float32, chunk int, fn func(worker int, out []float32, lo, hi int) (ok bool)) bool {
	scratch := scratchPool.Get(len(dst))
	defer scratchPool.Put(scratch)
	failed := make([]bool, max(workers, 1))
	Ranges(workers, len(dst), chunk, func(w, lo, hi int) {
		if !fn(w, (*scratch)[lo:hi], lo, hi) {
			failed[w] = true
		}
	})
	if slices.Contains(failed, true) {
		return false
	}
	Ranges(workers, len(dst), copyChunk, func(_, lo, hi int) {
		copyResult(dst[lo:hi], (*scratch)[lo:hi])
	})
	return true
}

// copyChunk is the range one goroutine copies into dst at the end: long enough to stream.
const copyChunk = 1 << 16

var copyResult = simd.CopyStream

var scratchPool pool.Slices[float32] // results awaiting the verdict, reused across calls
