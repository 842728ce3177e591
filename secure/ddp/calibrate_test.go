package ddp

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/dp"
)

// TestCalibrate: the parameters chosen spend the budget (not more, and within a part in
// 10^5 of it), keep k standard deviations within the modulus, and are the finest that
// do (a gamma 1% finer does not); a modulus too small for any gamma is refused naming
// bits.
func TestCalibrate(t *testing.T) {
	for _, m := range []Mechanism{Skellam, DiscreteGaussian} {
		base := Params{Mechanism: m, Dim: 1000, Clip: 2, Bits: 16, Beta: math.Exp(-0.5)}
		p, err := Calibrate(base, 2, 1e-6, 50, 200, 1, 4, dp.Improved)
		require.NoError(t, err, "%s", m)
		e, _, err := p.Epsilon(200, 50, 1, 1e-6, dp.Improved)
		require.NoError(t, err)
		assert.LessOrEqual(t, e, 2.0)
		assert.InEpsilon(t, 2.0, e, 1e-5, "%s: the least noise that meets the budget", m)
		assert.GreaterOrEqual(t, p.WrapSigmas(200), 4.0)
		finer := p
		finer.Gamma *= 0.99
		finer.Stddev, err = stddevFor(finer, 2, 1e-6, 50, 200, 1, dp.Improved)
		require.NoError(t, err)
		assert.Less(t, finer.WrapSigmas(200), 4.0, "%s: the finest gamma", m)
		assert.Equal(t, base.Dim, p.Dim)
	}
	_, err := Calibrate(Params{Mechanism: Skellam, Dim: 1 << 16, Clip: 1, Bits: 8}, 1, 1e-5, 1, 100, 1, 3, dp.Improved)
	var e *secagg.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "bits", e.Field)
	_, err = Calibrate(Params{Mechanism: Skellam, Dim: 10, Clip: 1, Bits: 16}, 0, 1e-5, 1, 100, 1, 3, dp.Improved)
	assert.ErrorIs(t, err, secagg.ErrValidation, "epsilon 0")
}

// BenchmarkCalibrate picks the parameters of the published EMNIST configuration at 16
// bits (published_test.go), as `secagg privacy` and a secure dp round's setup do.
func BenchmarkCalibrate(b *testing.B) {
	q, delta := float64(emnist.perRound)/float64(emnist.clients), 1/float64(emnist.clients)
	for _, m := range []Mechanism{Skellam, DiscreteGaussian} {
		b.Run(string(m), func(b *testing.B) {
			p := Params{Mechanism: m, Dim: 1_018_174, Clip: emnist.clip, Bits: 16, Beta: math.Exp(-0.5)}
			for b.Loop() {
				if _, err := Calibrate(p, emnist.epsilon, delta, emnist.rounds, emnist.perRound, q, 4, dp.Improved); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
