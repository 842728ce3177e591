package parallel

// First returns the smallest index any chunk of [0, n) reports, as one scan from 0
// would: fn(lo, hi) returns the first index in [lo, hi) it looks for, or -1. A
// validation scan of a large vector is a whole read of it, which one core alone does at
// about half the bus; First spreads it over workers goroutines in chunks of chunk, and
// runs alone when there are fewer than two chunks.
func First(workers, n, chunk int, fn func(lo, hi int) int) int {
	if n < 2*chunk || workers == 1 {
		return fn(0, n)
	}
	found := make([]int, (n+chunk-1)/chunk)
	Ranges(workers, n, chunk, func(_, lo, hi int) { found[lo/chunk] = fn(lo, hi) })
	for _, i := range found {
		if i >= 0 {
			return i
		}
	}
	return -1
}
