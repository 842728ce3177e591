package simd

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestBisect32 runs the 32-bit bisection, which Bounds keeps for rounds of more than
// 32767 rows, directly on every path that has it, against the specification.
func TestBisect32(t *testing.T) {
	rng := rand.New(rand.NewPCG(60, 61))
	for _, ks := range implementations {
		if ks.boundsBisect == nil {
			continue
		}
		for _, n := range []int{3, 17, 64} {
			const d = 64
			rows := make([][]float32, n)
			for i := range rows {
				rows[i] = make([]float32, d+5)
				for j := range rows[i] {
					rows[i][j] = float32(rng.NormFloat64()) * float32(rng.IntN(3))
				}
			}
			for k := 0; 2*k < n; k++ {
				lo, hi := make([]float32, d), make([]float32, d)
				ks.boundsBisect(lo, hi, rows, 5, k, make([]int32, keyLanes*n))
				wantLo, wantHi := make([]float32, d), make([]float32, d)
				boundsGeneric(wantLo, wantHi, rows, 5, k)
				if !slices.Equal(lo, wantLo) || !slices.Equal(hi, wantHi) {
					t.Fatalf("%s n=%d k=%d: bisection differs from the sort", ks.path, n, k)
				}
			}
		}
	}
}
