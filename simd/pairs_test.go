package simd_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/octomil/secagg/internal/simdtest"
	"github.com/octomil/secagg/simd"
)

// pairRows returns 8 rows of length n: 4 for a and 4 for b, some of them copies of each
// other (distance exactly 0) and some differing in one coordinate only.
func pairRows(rng *rand.Rand, n int) (a, b [][]float32) {
	rows := make([][]float32, 8)
	for i := range rows {
		rows[i] = make([]float32, n)
		for j := range rows[i] {
			rows[i][j] = float32(rng.NormFloat64() * math.Exp2(float64(rng.IntN(12)-6)))
		}
	}
	copy(rows[5], rows[1]) // b[1] = a[1]
	if n > 0 {
		copy(rows[6], rows[2])
		rows[6][n/2] += 1 // b[2] differs from a[2] in one coordinate
	}
	return rows[:4], rows[4:]
}

// SqDistPairs gives the same bits on every path, at lengths around the 32-element blocks
// and the 256-coordinate flushes, at several offsets; and each distance is within float32
// accuracy of the float64 distance (copies: exactly 0).
func TestSqDistPairs(t *testing.T) {
	rng := rand.New(rand.NewPCG(44, 45))
	lengths := []int{0, 1, 15, 16, 31, 32, 33, 255, 256, 257, 511, 513, 1000, 4096 + 17, 70_000}
	for _, n := range lengths {
		for _, off := range []int{0, 3, 32} {
			a, b := pairRows(rng, n+off)
			var want [16]uint64
			first := true
			simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
				var dist [16]float64
				dist[5] = 1 // adds, does not overwrite
				simd.SqDistPairs(&dist, a, b, off, n)
				dist[5]--
				for k, v := range dist {
					if first {
						want[k] = math.Float64bits(v)
					} else if math.Float64bits(v) != want[k] {
						t.Fatalf("n %d off %d pair %d: %v, generic gave %v", n, off, k, v, math.Float64frombits(want[k]))
					}
					ref := simd.SqDist(a[k/4][off:off+n], b[k%4][off:off+n])
					if math.Abs(v-ref) > 1e-6*ref {
						t.Fatalf("n %d off %d pair %d: %v, float64 distance %v", n, off, k, v, ref)
					}
				}
				first = false
			})
		}
	}
}

// A difference beyond float32's range is +Inf, never a wrong finite distance.
func TestSqDistPairsOverflow(t *testing.T) {
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		a, b := pairRows(rand.New(rand.NewPCG(1, 2)), 64)
		a[0][40], b[3][40] = 3e38, -3e38
		a[2][7] = 1e30
		var dist [16]float64
		simd.SqDistPairs(&dist, a, b, 0, 64)
		for k, v := range dist {
			overflows := k/4 == 0 || k%4 == 3 || k/4 == 2 // a[0], b[3], a[2]
			if overflows != math.IsInf(v, 1) {
				t.Errorf("pair %d: %v", k, v)
			}
		}
	})
}
