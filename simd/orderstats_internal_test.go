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

// TestAVX512WithoutVBMI runs the order statistics on the AVX-512 table that a CPU
// without AVX512_VBMI gets (no byte bisection: VPERMI2B would fault there), on rounds
// large enough that the full table bisects by bytes, against the sort-based
// specification: Bounds, Middle and their panel-copying forms.
func TestAVX512WithoutVBMI(t *testing.T) {
	var full *kernels
	for _, k := range implementations {
		if k.path == AVX512 {
			full = k
		}
	}
	if full == nil {
		t.Skip("no AVX-512 path here")
	}
	k := withoutVBMI(full)
	if k.boundsAlgorithm(1000, 100) != byBisection16 || full.boundsAlgorithm(1000, 100) == byBisection16 {
		t.Fatalf("without VBMI Bounds must take the 16-bit bisection where the full table does not")
	}
	prev := active.Load()
	active.Store(&selection{k: k, reason: "test: AVX-512 without VBMI"})
	defer active.Store(prev)
	rng := rand.New(rand.NewPCG(62, 63))
	for _, n := range []int{100, 257, 1000} {
		const d, off = 130, 3
		rows := make([][]float32, n)
		for i := range rows {
			rows[i] = make([]float32, d+off)
			for j := range rows[i] {
				rows[i][j] = float32(rng.NormFloat64())
			}
		}
		want := func(j, r int) float32 {
			v := make([]float32, n)
			for i := range rows {
				v[i] = rows[i][off+j]
			}
			slices.Sort(v)
			return v[r]
		}
		panel := Panel{Data: make([]float32, n*d), Stride: d, Rows: make([][]float32, n)}
		for i := range panel.Rows {
			panel.Rows[i] = panel.Data[i*d : (i+1)*d]
		}
		for _, r := range []int{n / 10, (n - 1) / 2} {
			lo, hi := make([]float32, d), make([]float32, d)
			Bounds(lo, hi, rows, off, r)
			clo, chi := make([]float32, d), make([]float32, d)
			BoundsCopy(clo, chi, rows, off, r, panel)
			for j := range d {
				if lo[j] != want(j, r) || hi[j] != want(j, n-1-r) || clo[j] != lo[j] || chi[j] != hi[j] {
					t.Fatalf("n=%d k=%d coordinate %d: Bounds %v %v, BoundsCopy %v %v, want %v %v",
						n, r, j, lo[j], hi[j], clo[j], chi[j], want(j, r), want(j, n-1-r))
				}
			}
		}
		lo, hi := make([]float32, d), make([]float32, d)
		clo, chi := make([]float32, d), make([]float32, d)
		if !Middle(lo, hi, rows, off) || !MiddleCopy(clo, chi, rows, off, panel) {
			t.Fatalf("n=%d: Middle found a non-finite value", n)
		}
		for j := range d {
			if lo[j] != want(j, (n-1)/2) || hi[j] != want(j, n/2) || clo[j] != lo[j] || chi[j] != hi[j] {
				t.Fatalf("n=%d coordinate %d: Middle %v %v, MiddleCopy %v %v", n, j, lo[j], hi[j], clo[j], chi[j])
			}
		}
	}
}
