package simd_test

import (
	"math/rand/v2"
	"testing"

	"github.com/octomil/secagg/internal/simdtest"
	"github.com/octomil/secagg/simd"
)

// TestOutside checks Outside on every path against its definition, written here per
// value: bit l of mask (g, i) set exactly where rows[i][off+32g+l] < lo or > hi, with
// values equal to either bound (inside), rows of 0 to 40 values, lengths across the
// wrappers' pieces and partial groups, a row offset, and a canary past the masks.
func TestOutside(t *testing.T) {
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		rng := rand.New(rand.NewPCG(16, 17))
		for _, n := range []int{1, 31, 32, 33, 64, 100, 1<<16 + 70} {
			for _, nrows := range []int{0, 1, 3, 40} {
				if n > 1000 && nrows > 3 {
					continue
				}
				const off = 5
				lo, hi := make([]float32, n), make([]float32, n)
				for j := range lo {
					lo[j] = float32(rng.IntN(5))
					hi[j] = lo[j] + float32(rng.IntN(4))
				}
				rows := make([][]float32, nrows)
				for i := range rows {
					rows[i] = make([]float32, off+n)
					for j := range rows[i] {
						rows[i][j] = float32(rng.IntN(10) - 1) // on the bounds often
					}
				}
				groups := (n + 31) / 32
				masks := make([]uint32, nrows*groups+1)
				masks[len(masks)-1] = 0xdeadbeef
				for i := range masks[:len(masks)-1] {
					masks[i] = rng.Uint32() // stale bits must not survive
				}
				simd.Outside(masks[:len(masks)-1], rows, off, lo, hi)
				if masks[len(masks)-1] != 0xdeadbeef {
					t.Fatalf("%s n=%d rows=%d: Outside wrote past its masks", p, n, nrows)
				}
				for g := range groups {
					for i, r := range rows {
						var want uint32
						for l := range 32 {
							j := 32*g + l
							if j < n && (r[off+j] < lo[j] || r[off+j] > hi[j]) {
								want |= 1 << l
							}
						}
						if got := masks[g*nrows+i]; got != want {
							t.Fatalf("%s n=%d rows=%d: group %d row %d: mask %032b, want %032b", p, n, nrows, g, i, got, want)
						}
					}
				}
			}
		}
	})
}
