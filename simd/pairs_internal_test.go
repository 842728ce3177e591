package simd

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// fma32Exact is x·y + z computed exactly and rounded once to float32 (ties to even,
// subnormals included), by math/big.
func fma32Exact(x, y, z float32) float32 {
	p := new(big.Float).SetPrec(400).Mul(big.NewFloat(float64(x)).SetPrec(400), big.NewFloat(float64(y)))
	p.Add(p, big.NewFloat(float64(z)))
	f, _ := p.Float32()
	return f
}

// fma32 rounds once, like the hardware: against exact arithmetic on random operands of
// every scale, on sums that fall exactly halfway between float32s or just beside, and
// on the squares SqDistPairs forms.
func TestFMA32RoundsOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(32, 32))
	random := func() float32 {
		return float32(rng.NormFloat64() * math.Exp2(float64(rng.IntN(80)-40)))
	}
	check := func(x, y, z float32) {
		t.Helper()
		got, want := fma32(x, y, z), fma32Exact(x, y, z)
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("fma32(%g, %g, %g) = %g (%#x), want %g (%#x)", x, y, z, got, math.Float32bits(got), want, math.Float32bits(want))
		}
	}
	for range 200_000 {
		x, y, z := random(), random(), random()
		check(x, y, z)
		d := x - y
		check(d, d, float32(math.Abs(float64(z))))
	}
	// Halfway cases: 1 + 2^-24 (a tie) nudged by a tiny product either way, where rounding
	// the float64 sum to float32 a second time would go wrong.
	for _, tiny := range []float32{0x1p-60, -0x1p-60, 0x1p-30, 0x1p-80, 0} {
		check(1+0x1p-23, 0.5, 0.5+0x1p-24) // products landing on ties
		check(tiny, 1, 1+0x1p-23)
		check(0x1p-12, 0x1p-12, 1)         // 1 + 2^-24: a tie, to even (1)
		check(0x1p-12, 0x1p-12+0x1p-35, 1) // just above the tie: up
		check(0x1p-12, 0x1p-12-0x1p-35, 1) // just below: down
		check(tiny, tiny, 0x1p-149)
	}
	// Overflow and the non-finite: as float32 arithmetic gives them.
	check(math.MaxFloat32, 2, 0)
	check(-math.MaxFloat32, 2, 1)
	if v := fma32(float32(math.Inf(1)), 1, 1); !math.IsInf(float64(v), 1) {
		t.Fatalf("Inf·1 + 1 = %v", v)
	}
	if v := fma32(float32(math.NaN()), 1, 1); v == v {
		t.Fatalf("NaN·1 + 1 = %v", v)
	}
}
