package simd_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/octomil/secagg/internal/simdtest"
	"github.com/octomil/secagg/simd"
	"github.com/stretchr/testify/require"
)

// newPushState returns empty extremes (+Inf low planes, -Inf high planes) and sums.
func newPushState(d, k int) ([]float32, []float64) {
	blocks := (d + simd.PushLanes - 1) / simd.PushLanes
	ext := make([]float32, blocks*2*k*simd.PushLanes)
	for b := 0; b < len(ext); b += 2 * k * simd.PushLanes {
		for i := range k * simd.PushLanes {
			ext[b+i] = float32(math.Inf(1))
			ext[b+k*simd.PushLanes+i] = float32(math.Inf(-1))
		}
	}
	return ext, make([]float64, d)
}

// TestPushBitIdentical feeds the same updates through Push on every path and on the
// generic path and compares the whole state (extremes and sums) bit for bit after each
// update, from empty slots through the fast path to insertions, with ties and zeros.
func TestPushBitIdentical(t *testing.T) {
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		rng := rand.New(rand.NewPCG(50, 51))
		for _, k := range []int{0, 1, 2, 3, 7, 12} {
			for _, d := range []int{1, 15, 16, 31, 32, 33, 100, 1<<16 + 50} {
				ext, sum := newPushState(d, k)
				wantExt, wantSum := slices.Clone(ext), slices.Clone(sum)
				updates := 2*k + 5
				if d > 1000 {
					updates = min(updates, 6)
				}
				for u := range updates {
					x := orderRows(rng, 1, d)[0]
					if u%3 == 2 {
						x[rng.IntN(d)] = float32(math.Inf(1)) // passes over, changes nothing
					}
					simd.Push(ext, sum, x, k)
					onGeneric(t, func() { simd.Push(wantExt, wantSum, x, k) })
					require.True(t, same32(ext, wantExt) && same64(sum, wantSum),
						"k=%d d=%d after update %d: %s differs from generic", k, d, u, p)
				}
			}
		}
	})
}

// TestPushKeepsExtremes checks the state against its meaning: after any sequence, the
// low planes hold each coordinate's k smallest values in order, the high planes its k
// largest, and the sum what lies between.
func TestPushKeepsExtremes(t *testing.T) {
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		rng := rand.New(rand.NewPCG(52, 53))
		const d, n, k = 40, 11, 3
		ext, sum := newPushState(d, k)
		rows := make([][]float32, n)
		for i := range rows {
			rows[i] = make([]float32, d)
			for j := range rows[i] {
				rows[i][j] = float32(rng.IntN(1000)) / 8
			}
			simd.Push(ext, sum, rows[i], k)
		}
		for j := range d {
			v := make([]float64, n)
			for i := range rows {
				v[i] = float64(rows[i][j])
			}
			slices.Sort(v)
			base := j/16*2*k*16 + j%16
			mid := 0.0
			for _, x := range v[k : n-k] {
				mid += x
			}
			require.Equal(t, mid, sum[j], "coordinate %d sum", j)
			for i := range k {
				require.Equal(t, float32(v[i]), ext[base+i*16], "coordinate %d low %d", j, i)
				require.Equal(t, float32(v[n-1-i]), ext[base+(k+i)*16], "coordinate %d high %d", j, i)
			}
		}
	})
}
