package aggregate

import (
	"math"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/dp"
	"github.com/octomil/secagg/internal/check"
	"github.com/octomil/secagg/internal/parallel"
)

// DPMean is the central-DP federated mean with fixed clipping (DP-FedAvg; Flower's
// server-side fixed clipping): every update is scaled to an L2 norm of at most
// clipNorm, the clipped updates are averaged as Mean averages, and Gaussian noise of
// standard deviation noiseMultiplier·clipNorm/N (dp.GaussianNoiseSigma: a hair more, for
// the rounding to the noise's grid) from src is added. It returns each
// client's norm before clipping, which adaptive clipping and monitoring need. A
// rejected call writes nothing (a nil src with noise to draw is a bad_request: the mean
// without its noise must never be left in dst); charging a dp.Ledger for the round is
// the caller's.
//
// It reads every update twice, once for its norm and once to add it; the clipped
// updates themselves are never materialised.
func DPMean(dst []float32, updates [][]float32, clipNorm, noiseMultiplier float64, src *dp.Source) (norms []float64, err error) {
	if err := check.Batch(dst, updates); err != nil {
		return nil, err
	}
	if err := validateNoise(clipNorm, noiseMultiplier); err != nil {
		return nil, err
	}
	if err := validateNoiseRange(clipNorm, noiseMultiplier, len(updates), len(dst)); err != nil {
		return nil, err
	}
	if noiseMultiplier > 0 {
		if err := dp.ValidateSource(src); err != nil {
			return nil, err
		}
	}
	norms = make([]float64, len(updates))
	parallel.Ranges(parallel.Workers(), len(updates), 1, func(_, i, _ int) {
		norms[i] = dp.Norm(updates[i])
	})
	factors := make([]float64, len(updates))
	for i, n := range norms {
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return nil, check.NonFinite(updates)
		}
		factors[i] = dp.ClipFactor(updates[i], n, clipNorm)
	}
	n := float64(len(updates))
	if err := average(dst, updates, factors, 1/n); err != nil {
		return nil, err
	}
	if err := dp.AddGaussian(dst, dp.GaussianNoiseSigma(noiseMultiplier, clipNorm/n, len(dst)), src); err != nil {
		return nil, err
	}
	return norms, nil
}

// validateNoise checks a clip norm and noise multiplier together: each may be finite
// and their product, the noise's standard deviation for one client, still overflow.
func validateNoise(clipNorm, noiseMultiplier float64) error {
	if err := secagg.ValidateClipNorm(clipNorm); err != nil {
		return err
	}
	if err := secagg.ValidateNoiseMultiplier(noiseMultiplier); err != nil {
		return err
	}
	if math.IsInf(noiseMultiplier*clipNorm, 0) {
		return secagg.Errorf(secagg.CodeValidation, "noise_multiplier",
			"noise_multiplier·clip_norm must be finite, got %v·%v", noiseMultiplier, clipNorm)
	}
	return nil
}

// validateNoiseRange checks that the noisy mean of n updates of dim coordinates fits in
// float32: its coordinates reach clip_norm plus dp.GaussianBound of the noise, and a
// round must refuse a noise that could overflow before it writes anything rather than
// return infinities.
func validateNoiseRange(clipNorm, noiseMultiplier float64, n, dim int) error {
	sigma := dp.GaussianNoiseSigma(noiseMultiplier, clipNorm/float64(max(n, 1)), dim)
	if bound := clipNorm + dp.GaussianBound(sigma); !(bound <= math.MaxFloat32) {
		return secagg.Errorf(secagg.CodeValidation, "noise_multiplier",
			"noise_multiplier %v with clip_norm %v over %d updates gives noise of standard deviation %.4g, and the noisy mean (up to %.4g) does not fit in float32",
			noiseMultiplier, clipNorm, max(n, 1), sigma, bound)
	}
	return nil
}

// NormBoundedMean is the mean of the updates after each is scaled to an L2 norm of at
// most bound: the norm-bounding defence against model replacement (Sun et al. 2019,
// "Can You Really Backdoor Federated Learning?"), TensorFlow Federated's clipping
// aggregator without noise. It is DPMean without the noise, and returns the norms
// before clipping; a rejected call writes nothing.
func NormBoundedMean(dst []float32, updates [][]float32, bound float64) (norms []float64, err error) {
	return DPMean(dst, updates, bound, 0, nil)
}
