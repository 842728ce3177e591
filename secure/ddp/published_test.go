package ddp

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/octomil/secagg/dp"
)

// emnist is the EMNIST configuration Kairouz, Liu and Steinke released with the
// distributed discrete Gaussian paper (google-research/federated, distributed_dp: the
// README's command and fl_run.py's and fl_utils.py's defaults): 3400 clients, 100 a
// round (q = 100/3400), 1500 rounds, ε = 10 at δ = 1/3400, clip 0.03, a model of
// 1,018,174 parameters (padded to 2^20), β = e^-1/2, k = 4 standard deviations within
// the modulus for the discrete Gaussian and 3 for Skellam (their skellam_params).
var emnist = struct {
	clients, perRound, rounds int
	epsilon, clip             float64
}{3400, 100, 1500, 10, 0.03}

// published are the figures their accountant (distributed_dp/accounting_utils.py at
// 5e27a86: ddgauss_params and skellam_params, then ddgauss_epsilon and skellam_epsilon,
// with tensorflow_privacy's RDP conversion of 2021, Canonne, Kamath and Steinke's) gives
// for that configuration at each bit width: gamma, each client's noise stddev, and the ε
// those spend. TensorFlow cannot be installed here, so the Python functions were run
// transcribed, with numpy and scipy, outside the repository.
var published = []struct {
	mech    Mechanism
	bits    int
	gamma   float64
	stddev  float64
	epsilon float64
}{
	{DiscreteGaussian, 12, 0.00011721651386388686, 0.005994043944579092, 10.00000004553796},
	{Skellam, 12, 5.3179925438745954e-05, 0.0036184780352612467, 10.000000008594846},
	{DiscreteGaussian, 14, 1.3492750583923901e-05, 0.002747732286123007, 10.000000006884878},
	{Skellam, 14, 1.0004763028767958e-05, 0.0027162098759914563, 10.000000001961817},
	{DiscreteGaussian, 16, 3.2925930447214804e-06, 0.0026813299255916993, 10.00000006758599},
	{Skellam, 16, 2.467718130970337e-06, 0.0026794395109907493, 10.000000056529501},
	{DiscreteGaussian, 18, 8.219086082347104e-07, 0.0026772523542720394, 10.000000043028301},
	{Skellam, 18, 6.164034987685931e-07, 0.0026771277374001757, 10.000000042341517},
	{DiscreteGaussian, 20, 2.0545689902374523e-07, 0.002676977479396802, 10.00000004152417},
	{Skellam, 20, 1.5409155199437807e-07, 0.0026769679736928457, 10.00000004147321},
}

// TestPublishedConfiguration: on the published EMNIST configuration, our accountant
// spends the ε theirs does at their gamma and noise (the same bounds: agreement to a
// part in 10^9), and Calibrate picks their gamma and noise (to a part in 10^5: both
// search numerically, they with scipy's minimize_scalar).
func TestPublishedConfiguration(t *testing.T) {
	q, delta := float64(emnist.perRound)/float64(emnist.clients), 1/float64(emnist.clients)
	central, err := dp.NoiseMultiplierFor(emnist.epsilon, delta, q, emnist.rounds, Orders(), dp.Improved)
	require.NoError(t, err)
	t.Logf("central Gaussian at the same budget: noise multiplier %.4f", central)
	for _, c := range published {
		p := Params{Mechanism: c.mech, Dim: 1_018_174, Clip: emnist.clip, Bits: c.bits, Beta: math.Exp(-0.5)}
		at := p
		at.Gamma, at.Stddev = c.gamma, c.stddev
		e, _, err := at.Epsilon(emnist.perRound, emnist.rounds, q, delta, dp.Improved)
		require.NoError(t, err)
		assert.InEpsilon(t, c.epsilon, e, 1e-9, "%s, %d bits: ε at their parameters", c.mech, c.bits)

		k := 4.0
		if c.mech == Skellam {
			k = 3
		}
		ours, err := Calibrate(p, emnist.epsilon, delta, emnist.rounds, emnist.perRound, q, k, dp.Improved)
		require.NoError(t, err)
		assert.InEpsilon(t, c.gamma, ours.Gamma, 1e-5, "%s, %d bits: gamma", c.mech, c.bits)
		assert.InEpsilon(t, c.stddev, ours.Stddev, 1e-5, "%s, %d bits: stddev", c.mech, c.bits)
		z := ours.Stddev * math.Sqrt(float64(emnist.perRound)) / emnist.clip
		assert.Greater(t, z, central, "%s, %d bits: rounding only adds to the noise needed", c.mech, c.bits)
		t.Logf("%s, %d bits: gamma %.6g (theirs %.6g), stddev %.6g (theirs %.6g), noise multiplier %.4f; ε at theirs %.9f (theirs %.9f)",
			c.mech, c.bits, ours.Gamma, c.gamma, ours.Stddev, c.stddev, z, e, c.epsilon)
	}
}

// TestPublishedAccountantCoarse: their ddgauss_epsilon where the discrete Gaussians'
// τ counts (σ/γ = 1 and 1.2, so τ·D is 0.1 to 0.3; on the EMNIST configuration
// σ/γ is in the hundreds and τ underflows to 0): a 1024-value update, clip 1, γ = 0.01,
// β = e^-1/2, δ = 1e-5; one unsampled round of 10,000 clients, and 100 rounds of 5000
// sampled at 1%. Their figures, from the same transcription as published's.
func TestPublishedAccountantCoarse(t *testing.T) {
	for _, c := range []struct {
		stddev   float64
		n, steps int
		q        float64
		epsilon  float64
	}{
		{0.01, 10000, 1, 1, 4.980252868873474},
		{0.012, 5000, 100, 0.01, 2.198849378663418},
	} {
		p := Params{Mechanism: DiscreteGaussian, Dim: 1024, Clip: 1, Gamma: 0.01, Bits: 32, Beta: math.Exp(-0.5), Stddev: c.stddev}
		e, _, err := p.Epsilon(c.n, c.steps, c.q, 1e-5, dp.Improved)
		require.NoError(t, err)
		assert.InEpsilon(t, c.epsilon, e, 1e-9, "σ/γ = %v, %d clients, %d rounds at q = %v", c.stddev/p.Gamma, c.n, c.steps, c.q)
	}
}
