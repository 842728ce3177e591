package pool_test

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octomil/secagg/internal/pool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSlices(t *testing.T) {
	var p pool.Slices[float64]
	a := p.Get(10)
	assert.Len(t, *a, 10)
	(*a)[9] = 7
	p.Put(a)
	c := p.Get(1000) // a is too small: a new one
	assert.Len(t, *c, 1000)
	assert.NotSame(t, a, c)
	b := p.Get(5) // a's storage, at the length asked
	assert.Same(t, a, b)
	assert.Len(t, *b, 5)
	assert.Equal(t, 7.0, (*b)[:10][9])
	assert.NotSame(t, a, p.Get(5), "a slice is handed out once")
}

// TestSlicesAcrossGoroutines is why Slices is not a sync.Pool: a slice returned on one P
// is taken on another. The returning goroutine spins on its P while the test takes the
// slice, so the two are on different Ps (a sync.Pool kept the slice in the returning
// P's private slot, out of the other's reach, and failed this every time).
func TestSlicesAcrossGoroutines(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	var p pool.Slices[byte]
	for range 50 {
		a := p.Get(1 << 10)
		var returned, taken atomic.Bool
		go func() {
			p.Put(a)
			returned.Store(true)
			for !taken.Load() { // hold this P
			}
		}()
		for !returned.Load() {
		}
		b := p.Get(1 << 10)
		taken.Store(true)
		require.Same(t, a, b)
	}
}

// TestSlicesFreed: a returned slice survives one collection, for the next round to take
// it, and nobody taking it, it is the collector's after the second.
func TestSlicesFreed(t *testing.T) {
	var p pool.Slices[byte]
	a := p.Get(1 << 20)
	p.Put(a)
	runtime.GC()
	require.Same(t, a, p.Get(1<<20), "kept through one collection")

	freed := make(chan bool, 1)
	runtime.AddCleanup(&(*a)[0], func(chan bool) { freed <- true }, freed)
	(*a)[0] = 1
	p.Put(a)
	a = nil
	for range 20 {
		runtime.GC()
		select {
		case <-freed:
			assert.Zero(t, (*p.Get(1 << 20))[0], "a new slice")
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("a returned slice outlived 20 collections")
}

// TestSlicesBounded: Slices remembers its newest returns, a bounded number of them.
func TestSlicesBounded(t *testing.T) {
	var p pool.Slices[int]
	var all []*[]int
	for range 100 {
		all = append(all, p.Get(1))
	}
	for _, s := range all {
		p.Put(s)
	}
	seen := map[*[]int]bool{}
	for range 100 {
		seen[p.Get(1)] = true
	}
	reused := 0
	for _, s := range all {
		if seen[s] {
			reused++
		}
	}
	assert.Equal(t, 64, reused)
	assert.True(t, seen[all[99]] && !seen[all[0]], "the newest are kept, the oldest forgotten")
}
