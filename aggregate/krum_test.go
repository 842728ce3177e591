package aggregate_test

import (
	"math"
	"math/rand/v2"
	"runtime"
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
