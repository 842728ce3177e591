package dp

import (
	"math"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/internal/parallel"
	"github.com/octomil/secagg/simd"
)

// gridBits sets the grid: g is the smallest power of two at least scale·2^-gridBits (a
// test hook coarsens it so that the support can be enumerated).
var gridBits = 40

// Granularity returns the grid the noise of scale `scale` lives on: the smallest power
// of two at least scale·2^-40, and at least 2^-800 so that no float32 divided by it
// overflows. Both the input and the noise are put on this grid, so the set of possible
// outputs is the same lattice whatever the input was (see AddGaussian).
func Granularity(scale float64) float64 {
	_, e := math.Frexp(scale * math.Ldexp(1, -gridBits))
	g := math.Ldexp(1, e)
	if g/2 >= scale*math.Ldexp(1, -gridBits) {
		g /= 2
	}
	return math.Max(g, 0x1p-800)
}

// GridSensitivity is what rounding a vector of dim coordinates to the grid of noise of
// standard deviation sigma can add to its L2 sensitivity: each coordinate moves by at
// most g/2, so two neighbouring inputs end at most g·√dim further apart
// (g = Granularity(sigma) <= sigma·2^-39).
func GridSensitivity(sigma float64, dim int) float64 {
	return Granularity(sigma) * math.Sqrt(float64(dim))
}

// GaussianNoiseSigma returns the noise standard deviation that gives noise multiplier z over
// an L2 sensitivity after AddGaussian's rounding to the grid: the smallest σ with
// σ >= z·(sensitivity + g·√dim) for its own grid g, found as z·sensitivity/(1 − z·√dim·2^-39)
// (which the grid's g <= σ·2^-39 guarantees) and 0 when z is 0. It is +Inf when z·√dim
// reaches 2^39, where no grid this fine suffices.
func GaussianNoiseSigma(z, sensitivity float64, dim int) float64 {
	if z == 0 {
		return 0
	}
	slack := 1 - z*math.Sqrt(float64(dim))*0x1p-39
	if slack <= 0 {
		return math.Inf(1)
	}
	return z * sensitivity / slack
}

// AddGaussian adds Gaussian noise of standard deviation sigma to every coordinate of x:
// each coordinate becomes g·(round(x/g) + K) rounded to float32, with
// g = Granularity(sigma) and K drawn from the discrete Gaussian N_ℤ(0, (σ/g)²) by the
// exact integer sampler (see the package doc for the whole argument). The output's
// support is the lattice gℤ whatever x was, every point of it within 12σ is reachable
// with its true probability, and rounding x to the grid adds at most g·√d to the L2
// sensitivity (GridSensitivity; GaussianNoiseSigma calibrates for it). sigma == 0 adds
// nothing. A rejected call leaves x as it was.
func AddGaussian(x []float32, sigma float64, src *Source) error {
	if !(sigma >= 0) || math.IsInf(sigma, 0) {
		return secagg.Errorf(secagg.CodeValidation, "sigma", "sigma must be finite and non-negative, got %v", sigma)
	}
	if sigma == 0 {
		return nil
	}
	g := Granularity(sigma)
	return addNoise(x, g, samplerFor(gaussianShape, sigma/g), src)
}

// AddLaplace adds Laplace noise of scale b to every coordinate of x, on the grid
// Granularity(b) by the same construction as AddGaussian, K drawn from the discrete
// Laplace with P(K = k) ∝ exp(−|k|·g/b) (Google's secure Laplace, whose L1 sensitivity
// bound the rounding adds g per coordinate to).
func AddLaplace(x []float32, b float64, src *Source) error {
	if !(b >= 0) || math.IsInf(b, 0) {
		return secagg.Errorf(secagg.CodeValidation, "scale", "scale must be finite and non-negative, got %v", b)
	}
	if b == 0 {
		return nil
	}
	g := Granularity(b)
	return addNoise(x, g, samplerFor(laplaceShape, b/g), src)
}

// addNoise puts every coordinate on the grid g and adds g·K, chunk by chunk on all
// workers, each chunk with its own keystream. The draws do not depend on x, and x only
// enters float64 arithmetic whose result is a function of the integer m + K alone,
// m = round(x/g): IEEE addition rounds the exact sum, and the scaling by g is exact.
func addNoise(x []float32, g float64, t *sampler, src *Source) error {
	if i := simd.FirstNonFinite(x); i >= 0 {
		return secagg.NonFiniteValue("x", i, x[i])
	}
	key, err := src.callKey()
	if err != nil {
		return err
	}
	inv := 1 / g // a power of two: x·inv is x/g exactly
	parallel.Ranges(parallel.Workers(), len(x), noiseChunk, func(_, lo, hi int) {
		b := newKeystream(key, lo/noiseChunk)
		for i := lo; i < hi; i++ {
			// (m + K) rounds as (m + K)·g would (scaling by a power of two commutes with
			// rounding far from float64's limits), so the result is a function of m + K.
			m := math.RoundToEven(float64(x[i]) * inv)
			x[i] = float32((m + float64(t.draw(b))) * g)
		}
	})
	return nil
}

// DiscreteGaussian fills dst with independent draws from the discrete Gaussian
// N_ℤ(0, sigma²), P(k) ∝ exp(−k²/(2σ²)) (Canonne, Kamath and Steinke 2020), exactly on
// |k| <= 12σ (TailMass beyond). sigma is in (0, 2^46].
func DiscreteGaussian(dst []int64, sigma float64, src *Source) error {
	return sampleInts(dst, gaussianShape, "sigma", sigma, src)
}

// DiscreteLaplace fills dst with independent draws from the discrete Laplace
// (two-sided geometric) distribution of scale b, P(k) ∝ exp(−|k|/b), exactly on
// |k| <= 72b (TailMass beyond). b is in (0, 2^46].
func DiscreteLaplace(dst []int64, b float64, src *Source) error {
	return sampleInts(dst, laplaceShape, "scale", b, src)
}

func sampleInts(dst []int64, sh shape, field string, s float64, src *Source) error {
	if !(s > 0 && s <= MaxIntegerScale) {
		return errorScale(field, s, "(0, 2^46]")
	}
	return fillInts(dst, samplerFor(sh, s), src, (*sampler).draw)
}

// fillInts fills dst chunk by chunk on all workers, each chunk from its own keystream
// under one key for the call.
func fillInts(dst []int64, t *sampler, src *Source, draw func(*sampler, *keystream) int64) error {
	key, err := src.callKey()
	if err != nil {
		return err
	}
	parallel.Ranges(parallel.Workers(), len(dst), noiseChunk, func(_, lo, hi int) {
		b := newKeystream(key, lo/noiseChunk)
		for i := lo; i < hi; i++ {
			dst[i] = draw(t, b)
		}
	})
	return nil
}

func errorScale(field string, s float64, allowed string) error {
	return secagg.Errorf(secagg.CodeValidation, field, "%s must be in %s, got %v", field, allowed, s)
}

// GaussianBound is the most AddGaussian can move a coordinate for sigma: the sampler's
// cut, 12σ plus a block (at most σ/64), and half a grid step for the rounding of x.
func GaussianBound(sigma float64) float64 {
	return sigma*(gaussianTail+1.0/64) + Granularity(sigma)
}
