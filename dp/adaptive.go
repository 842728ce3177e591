package dp

import (
	"math"

	"github.com/octomil/secagg"
)

// AdaptiveClipping moves the clip norm toward a target quantile of the clients' update
// norms, privately (Andrew et al. 2021, "Differentially private learning with adaptive
// clipping"; Flower's adaptive-clipping strategies): each round the fraction of clients
// whose norm was at most the clip norm is counted with Gaussian noise, and the clip norm
// is multiplied by exp(−LearningRate·(noisy fraction − TargetQuantile)).
type AdaptiveClipping struct {
	ClipNorm       float64 // the current clip norm C
	TargetQuantile float64 // γ in [0, 1]: the fraction of clients meant to be unclipped (0.5 is usual)
	LearningRate   float64 // η > 0 (0.2 is usual)
	CountStddev    float64 // σ_b >= 0 of the noise on the count (Flower: clients per round / 20)
}

func (a *AdaptiveClipping) validate() error {
	if err := secagg.ValidateClipNorm(a.ClipNorm); err != nil {
		return err
	}
	if !(a.TargetQuantile >= 0 && a.TargetQuantile <= 1) {
		return secagg.Errorf(secagg.CodeValidation, "target_quantile", "target_quantile must be in [0, 1], got %v", a.TargetQuantile)
	}
	if !(a.LearningRate > 0) || math.IsInf(a.LearningRate, 0) {
		return secagg.Errorf(secagg.CodeValidation, "clip_learning_rate", "clip_learning_rate must be positive and finite, got %v", a.LearningRate)
	}
	if !(a.CountStddev >= 0) || math.IsInf(a.CountStddev, 0) {
		return secagg.Errorf(secagg.CodeValidation, "clipped_count_stddev", "clipped_count_stddev must be finite and non-negative, got %v", a.CountStddev)
	}
	return nil
}

// Update takes the round's pre-clip norms (from aggregate.DPMean or Clip), sets ClipNorm
// for the next round and returns it. The noisy count comes from src. A rejected call
// (bad settings, no norms) leaves ClipNorm unchanged.
func (a *AdaptiveClipping) Update(norms []float64, src *Source) (float64, error) {
	if err := a.validate(); err != nil {
		return 0, err
	}
	if len(norms) == 0 {
		return 0, secagg.Errorf(secagg.CodeInsufficientClients, "norms", "adaptive clipping needs the norms of at least one client")
	}
	unclipped := 0
	for _, n := range norms {
		if n <= a.ClipNorm {
			unclipped++
		}
	}
	count := []float32{float32(unclipped)}
	if err := AddGaussian(count, a.CountStddev, src); err != nil {
		return 0, err
	}
	fraction := float64(count[0]) / float64(len(norms))
	a.ClipNorm *= math.Exp(-a.LearningRate * (fraction - a.TargetQuantile))
	return a.ClipNorm, nil
}

// AdjustedNoiseMultiplier returns the noise multiplier for the update itself once part
// of the privacy budget goes to the noisy count: (z⁻² − (2σ_b)⁻²)^(−1/2), so that the two
// mechanisms together cost what z alone would (Andrew et al. 2021, Thm. 1). It needs
// 2σ_b > z.
func AdjustedNoiseMultiplier(z, countStddev float64) (float64, error) {
	if err := secagg.ValidateNoiseMultiplier(z); err != nil {
		return 0, err
	}
	if !(2*countStddev > z) || math.IsInf(countStddev, 0) {
		return 0, secagg.Errorf(secagg.CodeValidation, "clipped_count_stddev",
			"clipped_count_stddev must exceed noise_multiplier/2 (%v), got %v", z/2, countStddev)
	}
	if z == 0 {
		return 0, nil
	}
	return math.Pow(1/(z*z)-1/(4*countStddev*countStddev), -0.5), nil
}
