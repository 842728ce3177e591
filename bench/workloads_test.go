package bench_test

import (
	"math"
	"slices"
	"testing"
	"unsafe"

	"github.com/octomil/secagg/bench"
	"github.com/stretchr/testify/assert"
)

func TestWorkloadsAreSeeded(t *testing.T) {
	w := bench.Workload{Name: "n3_d70k", N: 3, D: 70_000}
	a, b := w.Updates(1), w.Updates(1)
	for i := range a {
		assert.True(t, slices.Equal(a[i], b[i]), "client %d differs between runs", i)
	}
	c := w.Updates(2)
	assert.False(t, slices.Equal(a[0], c[0]), "another seed gives other data")
	assert.False(t, slices.Equal(a[0][:1000], a[0][1<<16:1<<16+1000]), "chunks have their own streams")

	// Standard normal: mean near 0, variance near 1.
	var s, ss float64
	for _, u := range a {
		for _, v := range u {
			s += float64(v)
			ss += float64(v) * float64(v)
		}
	}
	n := float64(w.N * w.D)
	assert.InDelta(t, 0, s/n, 0.01)
	assert.InDelta(t, 1, ss/n, 0.01)
	assert.False(t, math.IsNaN(ss))
	assert.Equal(t, int64(840_000), w.Bytes())

	ws := w.Weights(1)
	assert.Len(t, ws, 3)
	for _, v := range ws {
		assert.True(t, v >= 1 && v < 100)
	}
}

func TestStandardNames(t *testing.T) {
	var names []string
	for _, w := range bench.Workloads {
		names = append(names, w.Name)
	}
	assert.Equal(t, []string{"n10_d1m", "n100_d1m", "n1000_d100k", "n32_d4m", "n10_d10m"}, names)
}

func TestBlockIsUpdatesInOneAllocation(t *testing.T) {
	w := bench.Workload{Name: "n3_d5", N: 3, D: 5}
	us, block := w.Updates(4), w.Block(4)
	for i := range us {
		assert.Equal(t, us[i], block[i])
	}
	assert.Equal(t, uintptr(unsafe.Pointer(&block[0][0]))+uintptr(4*w.D), uintptr(unsafe.Pointer(&block[1][0])), "row 1 follows row 0")
	assert.Equal(t, w.D, cap(block[0]), "a row cannot be appended into the next")
}
