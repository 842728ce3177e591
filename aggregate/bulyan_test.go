package aggregate_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/aggregate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The worked example of the research notes: [0, 1, 2, 3, 4, 50, -40], f = 1, so θ = 5
// and β = 3: chosen {2, 1, 3, 0, 4}, median 2, closest {2, 1, 3}, result 2.
func TestBulyanWorkedExample(t *testing.T) {
	us := [][]float32{{0}, {1}, {2}, {3}, {4}, {50}, {-40}}
	dst := make([]float32, 1)
	sel, err := aggregate.Bulyan(dst, us, 1)
	require.NoError(t, err)
	assert.ElementsMatch(t, []int{0, 1, 2, 3, 4}, sel)
	assert.Equal(t, float32(2), dst[0])
}

func TestBulyanResistsByzantineClients(t *testing.T) {
	rng := rand.New(rand.NewPCG(120, 121))
	const n, f, d = 23, 5, 2000
	us := fill(n, d, func(i, _ int) float32 {
		if i < f {
			return float32(1e6 * rng.NormFloat64()) // Byzantine noise
		}
		return float32(1 + 0.1*rng.NormFloat64())
	})
	dst := make([]float32, d)
	sel, err := aggregate.Bulyan(dst, us, f)
	require.NoError(t, err)
	assert.Len(t, sel, n-2*f)
	for _, s := range sel {
		assert.GreaterOrEqual(t, s, f, "a Byzantine update was chosen")
	}
	for j := range dst {
		require.InDelta(t, 1, dst[j], 0.2)
	}
}

func TestBulyanErrors(t *testing.T) {
	us := make([][]float32, 6)
	for i := range us {
		us[i] = []float32{float32(i)}
	}
	dst := []float32{7}
	_, err := aggregate.Bulyan(dst, us, 1)
	assert.ErrorIs(t, err, secagg.ErrInsufficientClients)
	us = append(us, []float32{float32(math.Inf(1))})
	_, err = aggregate.Bulyan(dst, us, 1)
	assert.ErrorIs(t, err, secagg.ErrValidation)
	assert.Equal(t, []float32{7}, dst)
}

// With f = 0 Bulyan chooses every update (θ = n), the last pick alone; β = n, so the
// result is the mean.
func TestBulyanWithoutByzantineClients(t *testing.T) {
	us := [][]float32{{1}, {2}, {4}, {8}}
	dst := make([]float32, 1)
	sel, err := aggregate.Bulyan(dst, us, 0)
	require.NoError(t, err)
	assert.ElementsMatch(t, []int{0, 1, 2, 3}, sel)
	assert.Equal(t, float32(3.75), dst[0])
}
