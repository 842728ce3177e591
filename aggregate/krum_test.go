package aggregate_test

import (
	"cmp"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
	"github.com/octomil/secagg/internal/simdtest"
	"github.com/octomil/secagg/simd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The worked example of the research notes: 1-D points [0, 1, 3, 4.5, 100], f = 1, so
// each score sums the 2 nearest squared distances: [10, 5, 6.25, 14.5, 18529.25].
func TestKrumWorkedExample(t *testing.T) {
	us := [][]float32{{0}, {1}, {3}, {4.5}, {100}}
	dst := make([]float32, 1)
	sel, err := aggregate.Krum(dst, us, 1)
	require.NoError(t, err)
	assert.Equal(t, 1, sel)
	assert.Equal(t, []float32{1}, dst)

	multi, err := aggregate.MultiKrum(dst, us, 1, 3)
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2, 0}, multi)
	assert.InDelta(t, 4.0/3, dst[0], 1e-7)
}

// Byzantine clients far away, flipped or all sending one vector are never selected.
func TestKrumResistsByzantineClients(t *testing.T) {
	rng := rand.New(rand.NewPCG(110, 111))
	const n, f, d = 20, 4, 3000
	honest := func() []float32 {
		u := make([]float32, d)
		for j := range u {
			u[j] = float32(1 + 0.1*rng.NormFloat64())
		}
		return u
	}
	us := make([][]float32, n)
	for i := range us {
		us[i] = honest()
	}
	evil := make([]float32, d)
	for j := range evil {
		evil[j] = -50
	}
	for i := range f { // clients 0..3: copies of one far, sign-flipped vector
		us[i] = evil
	}
	dst := make([]float32, d)
	sel, err := aggregate.MultiKrum(dst, us, f, n-2*f)
	require.NoError(t, err)
	for _, s := range sel {
		assert.GreaterOrEqual(t, s, f, "a Byzantine update was selected")
	}
	for j := range dst {
		require.InDelta(t, 1, dst[j], 0.2)
	}
}

// Distances, scores and the result are the same bits on every path and GOMAXPROCS.
func TestKrumBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(112, 113))
	us := round(rng, 11, 3*16384+100)
	procs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(procs)
	var want []float32
	var wantSel []int
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		for _, threads := range []int{1, 2, 3} {
			runtime.GOMAXPROCS(threads)
			dst := make([]float32, len(us[0]))
			sel, err := aggregate.MultiKrum(dst, us, 2, 4)
			require.NoError(t, err)
			if want == nil {
				want, wantSel = dst, sel
				continue
			}
			assert.Equal(t, wantSel, sel)
			bitsEqual(t, want, dst, "MultiKrum on %s at GOMAXPROCS=%d", p, threads)
		}
	})
}

func TestKrumErrors(t *testing.T) {
	us := [][]float32{{1}, {2}, {3}, {4}}
	dst := []float32{7}
	_, err := aggregate.Krum(dst, us, 1)
	assert.ErrorIs(t, err, secagg.ErrInsufficientClients)
	_, err = aggregate.Krum(dst, us, -1)
	assert.ErrorIs(t, err, secagg.ErrValidation)
	_, err = aggregate.MultiKrum(dst, us, 0, 5)
	assert.ErrorIs(t, err, secagg.ErrValidation)
	bad := [][]float32{{1}, {2}, {float32(math.NaN())}, {4}, {5}}
	_, err = aggregate.Krum(dst, bad, 1)
	assert.ErrorIs(t, err, secagg.ErrValidation)
	assert.Equal(t, []float32{7}, dst)
}

// krumReference is Krum written out in float64: every distance as a plain loop, scores
// over the n−f−2 nearest, the m lowest scores (ties to the lower index).
func krumReference(us [][]float32, f, m int) []int {
	n := len(us)
	scores := make([]float64, n)
	for i := range n {
		var ds []float64
		for j := range n {
			if j == i {
				continue
			}
			s := 0.0
			for k := range us[i] {
				d := float64(us[i][k]) - float64(us[j][k])
				s += d * d
			}
			ds = append(ds, s)
		}
		slices.Sort(ds)
		for _, v := range ds[:n-f-2] {
			scores[i] += v
		}
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(scores[a], scores[b]) })
	return order[:m]
}

// On random rounds, with clients far off (values up to 1e30, whose squares overflow
// float32 and are measured again in float64), sign-flipped or copies of one update,
// Multi-Krum selects what the float64 reference selects, in the same order.
func TestKrumAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(114, 115))
	for trial := range 12 {
		n, d := 7+rng.IntN(14), 1+rng.IntN(3000)
		f := rng.IntN((n-3)/2 + 1)
		us := normal(rng, n, d)
		for i := range f {
			switch trial % 3 {
			case 0:
				for j := range us[i] {
					us[i][j] = float32(1e30 * rng.NormFloat64())
				}
			case 1:
				for j := range us[i] {
					us[i][j] = -10 * us[n-1][j]
				}
			case 2:
				us[i] = us[0]
			}
		}
		m := 1 + rng.IntN(n)
		dst := make([]float32, d)
		sel, err := aggregate.MultiKrum(dst, us, f, m)
		require.NoError(t, err)
		assert.Equal(t, krumReference(us, f, m), sel, "trial %d: n %d d %d f %d m %d", trial, n, d, f, m)
	}
}

// KrumSelect is MultiKrum's selection for nearest = n−f−2, and also runs with fewer
// updates than Krum needs, as Flower's Krum does (krum_test.py: three clients, f = 1).
func TestKrumSelect(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	us := normal(rng, 12, 40)
	for _, f := range []int{0, 2, 4} {
		dst := make([]float32, 40)
		want, err := aggregate.MultiKrum(dst, us, f, 3)
		require.NoError(t, err)
		got, err := aggregate.KrumSelect(us, len(us)-f-2, 3)
		require.NoError(t, err)
		assert.Equal(t, want, got, "f=%d", f)
	}
	three := [][]float32{{0.2, 0.2}, {0.7, 0.7}, {1.0, 1.0}}
	sel, err := aggregate.KrumSelect(three, 1, 1)
	require.NoError(t, err)
	assert.Equal(t, []int{1}, sel, "0.7 and 1.0 tie on one neighbour: the lower index")
	_, err = aggregate.Krum(make([]float32, 2), three, 1)
	assert.ErrorIs(t, err, secagg.ErrInsufficientClients, "Krum itself needs n > 2f+2")
	for _, bad := range [][2]int{{0, 1}, {3, 1}, {1, 0}, {1, 4}} {
		_, err := aggregate.KrumSelect(three, bad[0], bad[1])
		assert.ErrorIs(t, err, secagg.ErrValidation, "nearest %d, m %d", bad[0], bad[1])
	}
}

// sqDistancesByBlocks is the sharded computation SqDistRange describes: each block of
// SqDistRange coordinates measured on its own, the matrices added in block order.
func sqDistancesByBlocks(t *testing.T, us [][]float32) []float64 {
	t.Helper()
	n, d := len(us), len(us[0])
	total := make([]float64, n*n)
	for lo := 0; lo < d; lo += aggregate.SqDistRange {
		block := make([][]float32, n)
		for i, u := range us {
			block[i] = u[lo:min(lo+aggregate.SqDistRange, d)]
		}
		part, err := aggregate.SqDistances(block)
		require.NoError(t, err)
		for i := range total {
			total[i] += part[i]
		}
	}
	return total
}

// Krum, Multi-Krum and Bulyan computed by blocks of SqDistRange coordinates (selection
// from the summed distances, then the mean or Bulyan's coordinate phase block by block)
// equal the whole-round functions bit for bit: what a sharded pipeline relies on.
func TestSelectionByBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(171, 172))
	const n, f = 23, 4
	d := 2*aggregate.SqDistRange + 777 // two whole blocks and a short one
	// Each run of 4096 coordinates has its own magnitude, 2^-20 to 2^20, so that the
	// float64 sums round and the order of adding the partial matrices shows.
	exps := make([]int, d/4096+1)
	for i := range exps {
		exps[i] = rng.IntN(41) - 20
	}
	us := make([][]float32, n)
	for i := range us {
		us[i] = make([]float32, d)
		scale := float64(1 + i%5) // spread the scores, so that no two tie
		for j := range us[i] {
			us[i][j] = float32(math.Ldexp(scale*rng.NormFloat64(), exps[j/4096]))
		}
	}
	dist := sqDistancesByBlocks(t, us)
	whole, err := aggregate.SqDistances(us)
	require.NoError(t, err)
	require.Equal(t, whole, dist, "the blocks' distances, added in block order, are the round's")

	want := make([]float32, d)
	wantSel, err := aggregate.MultiKrum(want, us, f, 5)
	require.NoError(t, err)
	sel, err := aggregate.KrumSelectDistances(dist, n, f, 5)
	require.NoError(t, err)
	assert.Equal(t, wantSel, sel)

	wantSel, err = aggregate.Bulyan(want, us, f)
	require.NoError(t, err)
	sel, err = aggregate.BulyanSelectDistances(dist, n, f)
	require.NoError(t, err)
	require.Equal(t, wantSel, sel)
	got := make([]float32, d)
	for lo := 0; lo < d; lo += 1000 { // any blocks will do for the coordinate phase
		hi := min(lo+1000, d)
		chosen := make([][]float32, len(sel))
		for a, i := range sel {
			chosen[a] = us[i][lo:hi]
		}
		require.NoError(t, aggregate.BulyanCoordinates(got[lo:hi], chosen, f))
	}
	bitsEqual(t, want, got, "Bulyan by blocks")
}

// A matrix that is not a sum of SqDistances is refused, and so are a NaN in an update
// and a coordinate phase with too few chosen updates.
func TestSelectionByBlocksErrors(t *testing.T) {
	good := []float64{0, 1, 4, 1, 0, 9, 4, 9, 0}
	_, err := aggregate.KrumSelectDistances(good, 3, 0, 1)
	require.NoError(t, err)
	for name, dist := range map[string][]float64{
		"short":      good[:8],
		"asymmetric": {0, 1, 4, 2, 0, 9, 4, 9, 0},
		"negative":   {0, -1, 4, -1, 0, 9, 4, 9, 0},
		"nan":        {0, math.NaN(), 4, math.NaN(), 0, 9, 4, 9, 0},
		"diagonal":   {1, 1, 4, 1, 0, 9, 4, 9, 0},
	} {
		_, err := aggregate.KrumSelectDistances(dist, 3, 0, 1)
		assert.ErrorIs(t, err, secagg.ErrBadRequest, name)
	}
	_, err = aggregate.BulyanSelectDistances(good, 3, 1)
	assert.ErrorIs(t, err, secagg.ErrInsufficientClients)

	_, err = aggregate.SqDistances([][]float32{{1, 2}, {3, float32(math.NaN())}})
	assert.ErrorIs(t, err, secagg.ErrValidation)
	assert.Contains(t, err.Error(), "updates[1]")

	dst := []float32{7}
	err = aggregate.BulyanCoordinates(dst, [][]float32{{1}, {2}}, 1)
	assert.ErrorIs(t, err, secagg.ErrValidation)
	err = aggregate.BulyanCoordinates(dst, [][]float32{{1}, {float32(math.Inf(1))}, {2}}, 1)
	assert.ErrorIs(t, err, secagg.ErrValidation)
	assert.Equal(t, []float32{7}, dst)
}
