package dp_test

import (
	"math"
	"testing"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/dp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Vectors from google/differential-privacy go/noise/gaussian_noise_test.go.
func TestGaussianDeltaVectors(t *testing.T) {
	cases := []struct{ sigma, eps, l2, want, tol float64 }{
		{10, 0.1, 1, 0.008751768145810, 1e-10},
		{20, 0.1, 2, 0.008751768145810, 1e-10},
		{10, math.Log(3), 5, 0.004159742234000802, 1e-10},
		{0.5, 0, 1, 0.6826894921370859, 1e-10},
		{1, math.Log(3), 1, 0.10985556344445052, 1e-10},
		{0, 1, 1, 1, 0},
		{1, math.Inf(1), 1, 0, 0},
	}
	for _, c := range cases {
		assert.InDelta(t, c.want, dp.GaussianDelta(c.sigma, c.eps, c.l2), c.tol, "σ=%v ε=%v Δ=%v", c.sigma, c.eps, c.l2)
	}
}

func TestGaussianSigma(t *testing.T) {
	cases := []struct{ eps, delta, analytic, classic float64 }{
		{1, 1e-5, 3.7306, 4.8448},
		{0.5, 1e-5, 7.0318, 9.6896},
		{1, 1e-6, 4.2247, 5.2988},
		{2, 1e-5, 1.9938, 2.4224},
		{0.1, 1e-5, 30.750, 48.448},
		{1, 1e-3, 2.5747, 3.7765},
		{10, 1e-5, 0.49989, 0.48448}, // the classic bound under-noises here
	}
	for _, c := range cases {
		s, err := dp.GaussianSigma(c.eps, c.delta, 1)
		require.NoError(t, err)
		assert.InEpsilon(t, c.analytic, s, 2e-4, "analytic ε=%v δ=%v", c.eps, c.delta)
		// Round trip: σ gives at most δ, and 0.1% less σ gives more.
		assert.LessOrEqual(t, dp.GaussianDelta(s, c.eps, 1), c.delta)
		assert.Greater(t, dp.GaussianDelta(s*0.999, c.eps, 1), c.delta)
		cl, err := dp.ClassicGaussianSigma(c.eps, c.delta, 1)
		require.NoError(t, err)
		assert.InEpsilon(t, c.classic, cl, 2e-4, "classic ε=%v δ=%v", c.eps, c.delta)
	}
	// Sensitivity scales σ linearly.
	s1, _ := dp.GaussianSigma(1, 1e-5, 1)
	s3, _ := dp.GaussianSigma(1, 1e-5, 3)
	assert.InEpsilon(t, 3*s1, s3, 1e-9)
}

func TestCalibrationErrors(t *testing.T) {
	for _, call := range []func() error{
		func() error { _, err := dp.GaussianSigma(0, 1e-5, 1); return err },
		func() error { _, err := dp.GaussianSigma(1, 1, 1); return err },
		func() error { _, err := dp.GaussianSigma(1, 1e-5, -1); return err },
		func() error { _, err := dp.GaussianSigma(math.NaN(), 1e-5, 1); return err },
		func() error { _, err := dp.ClassicGaussianSigma(1, 0, 1); return err },
		func() error { _, err := dp.LaplaceScale(1, math.Inf(1)); return err },
		func() error { _, err := dp.LaplaceScale(-1, 1); return err },
	} {
		assert.ErrorIs(t, call(), secagg.ErrValidation)
	}
	b, err := dp.LaplaceScale(0.5, 2)
	require.NoError(t, err)
	assert.Equal(t, 4.0, b)
}
