package parallel_test

import (
	"runtime"
	"sync"
	"testing"

	"github.com/octomil/secagg/internal/parallel"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRangesCoverOnce(t *testing.T) {
	for _, procs := range []int{1, 2, 4, 7} {
		old := runtime.GOMAXPROCS(procs)
		for _, n := range []int{0, 1, 5, 64, 1000, 1001} {
			for _, chunk := range []int{1, 3, 64, 4096} {
				var mu sync.Mutex
				seen := make([]int, n)
				var ranges [][2]int
				parallel.Ranges(parallel.Workers(), n, chunk, func(worker, lo, hi int) {
					require.Less(t, worker, procs)
					mu.Lock()
					defer mu.Unlock()
					ranges = append(ranges, [2]int{lo, hi})
					for i := lo; i < hi; i++ {
						seen[i]++
					}
				})
				for i, c := range seen {
					require.Equal(t, 1, c, "n=%d chunk=%d index %d", n, chunk, i)
				}
				// The ranges depend on n and chunk only.
				for _, r := range ranges {
					assert.Zero(t, r[0]%chunk)
					assert.Equal(t, min(r[0]+chunk, n), r[1])
				}
			}
		}
		runtime.GOMAXPROCS(old)
	}
}

func TestMaxWorkers(t *testing.T) {
	old := runtime.GOMAXPROCS(4)
	defer runtime.GOMAXPROCS(old)
	prev := parallel.SetMaxWorkers(1)
	defer parallel.SetMaxWorkers(prev)
	assert.Equal(t, 1, parallel.Workers())
	parallel.Ranges(parallel.Workers(), 100, 1, func(worker, lo, hi int) { assert.Equal(t, 0, worker) })
	parallel.SetMaxWorkers(0)
	assert.Equal(t, 4, parallel.Workers())
}

func TestPanicReachesCaller(t *testing.T) {
	old := runtime.GOMAXPROCS(3)
	defer runtime.GOMAXPROCS(old)
	assert.PanicsWithValue(t, "boom", func() {
		parallel.Ranges(parallel.Workers(), 100, 1, func(worker, lo, hi int) {
			if lo == 57 {
				panic("boom")
			}
		})
	})
}

func TestAllOrNothing(t *testing.T) {
	old := runtime.GOMAXPROCS(3)
	defer runtime.GOMAXPROCS(old)
	const n, chunk = 10_000, 333
	orig := make([]float32, n)
	for i := range orig {
		orig[i] = float32(i)
	}
	for _, failAt := range []int{-1, 0, 5_000, n - 1} {
		dst := append([]float32(nil), orig...)
		ok := parallel.AllOrNothing(parallel.Workers(), dst, chunk, func(worker int, out []float32, lo, hi int) bool {
			require.Len(t, out, hi-lo)
			for i := range out {
				out[i] = -float32(lo + i)
			}
			return !(lo <= failAt && failAt < hi)
		})
		if failAt < 0 {
			require.True(t, ok)
			for i, v := range dst {
				require.Equal(t, -float32(i), v, "index %d", i)
			}
			continue
		}
		require.False(t, ok, "failure at %d", failAt)
		require.Equal(t, orig, dst, "a failed call writes nothing")
	}
}

// TestFirst checks that First returns the first index found, whichever chunk finds one
// first, at every worker count: the chunks after it find indices too.
func TestFirst(t *testing.T) {
	for _, workers := range []int{1, 2, 7} {
		for _, n := range []int{0, 1, 63, 64, 65, 1000} {
			for _, at := range []int{-1, 0, n / 3, n - 1} {
				if at >= n {
					continue
				}
				scan := func(lo, hi int) int {
					for i := lo; i < hi; i++ {
						if at >= 0 && i >= at && i%3 == at%3 { // at, and later ones
							return i
						}
					}
					return -1
				}
				got := parallel.First(workers, n, 32, scan)
				require.Equal(t, at, got, "workers %d, n %d", workers, n)
			}
		}
	}
}
