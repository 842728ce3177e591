package aggregate

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// closestMeanReference is Bulyan's coordinate rule written out: sort by distance to the
// median, stably (ties to the earlier value), and average the first beta.
func closestMeanReference(vals []float32, beta int) float32 {
	n := len(vals)
	sorted := make([]float64, n)
	for a, v := range vals {
		sorted[a] = float64(v)
	}
	slices.Sort(sorted)
	med := sorted[(n-1)/2]
	if n%2 == 0 {
		med = (med + sorted[n/2]) / 2
	}
	idx := make([]int, n)
	for a := range idx {
		idx[a] = a
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		da, db := math.Abs(float64(vals[a])-med), math.Abs(float64(vals[b])-med)
		switch {
		case da < db:
			return -1
		case da > db:
			return 1
		}
		return 0
	})
	s := 0.0
	for _, a := range idx[:beta] {
		s += float64(vals[a])
	}
	return float32(s * (1 / float64(beta)))
}

// On integer values (many ties, on both sides of the median, and exact sums) closestMean
// is the reference exactly; on general values within one float32 step, the sums' order
// being the only difference.
func TestClosestMeanAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(77, 78))
	for trial := range 20_000 {
		n := 1 + rng.IntN(120) // both sides of radixFrom
		beta := 1 + rng.IntN(n)
		vals := make([]float32, n)
		integer := trial%2 == 0
		for a := range vals {
			if integer {
				vals[a] = float32(rng.IntN(7) - 3)
			} else {
				vals[a] = float32(rng.NormFloat64() * math.Exp2(float64(rng.IntN(20)-10)))
			}
		}
		if trial%5 == 0 && n > 2 {
			vals[1] = float32(math.Copysign(0, -1))
			vals[2] = 0
		}
		got := closestMean(vals, beta, make([]uint64, 2*n))
		want := closestMeanReference(vals, beta)
		if integer && got != want {
			t.Fatalf("%v, beta %d: got %v, want %v", vals, beta, got, want)
		}
		if diff := math.Abs(float64(got - want)); diff > math.Abs(float64(want))*0x1p-23 {
			t.Fatalf("%v, beta %d: got %v, want %v", vals, beta, got, want)
		}
	}
}

// sortByValue orders keys exactly as slices.Sort does, on both sides of radixFrom, with
// shared bytes (skipped passes), ties, −0 and every exponent.
func TestSortByValue(t *testing.T) {
	rng := rand.New(rand.NewPCG(79, 80))
	for trial := range 2000 {
		n := 1 + rng.IntN(3*radixFrom)
		keys := make([]uint64, n)
		for a := range keys {
			var v float32
			switch trial % 3 {
			case 0:
				v = float32(rng.IntN(5))
			case 1:
				v = float32(1 + 0.001*rng.NormFloat64()) // high bytes shared
			default:
				v = math.Float32frombits(rng.Uint32()&^(0xff<<23) | uint32(rng.IntN(254)+1)<<23)
			}
			keys[a] = uint64(orderBits(v+0))<<32 | uint64(a)
		}
		want := slices.Clone(keys)
		slices.Sort(want)
		sortByValue(keys, make([]uint64, n))
		if !slices.Equal(keys, want) {
			t.Fatalf("trial %d, n %d: order differs", trial, n)
		}
	}
}
