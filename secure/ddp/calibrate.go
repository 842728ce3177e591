package ddp

import (
	"errors"
	"math"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/dp"
)

// Calibrate picks p's Gamma and Stddev for a budget of epsilon at delta over rounds
// rounds, each sampling its clients at rate (Poisson; 1: every client) and finishing
// with at least n of them (the noise of fewer does not meet it: the round's
// min_devices_per_round must be n), the way TFF does: Stddev is the least
// noise that spends at most epsilon at that gamma (bisection), and Gamma the finest
// granularity at which the sum's coordinates keep k standard deviations within half
// the modulus (WrapSigmas(n) >= k; TFF takes k = 3 for Skellam, 4 for the discrete
// Gaussian). The other fields of p are kept. bits too few for the clients, clip and
// noise is a validation_error naming bits.
func Calibrate(p Params, epsilon, delta float64, rounds, n int, rate, k float64, conv dp.Conversion) (Params, error) {
	if err := secagg.ValidateEpsilon(epsilon); err != nil {
		return p, err
	}
	if err := secagg.ValidateDelta(delta); err != nil {
		return p, err
	}
	switch {
	case rounds < 1:
		return p, secagg.Errorf(secagg.CodeValidation, "rounds", "rounds must be >= 1, got %d", rounds)
	case n < 1:
		return p, secagg.Errorf(secagg.CodeValidation, "clients", "clients must be >= 1, got %d", n)
	case !(rate > 0 && rate <= 1):
		return p, secagg.Errorf(secagg.CodeValidation, "sample_rate", "sample_rate must be in (0, 1], got %v", rate)
	case !(k > 0) || math.IsInf(k, 0):
		return p, secagg.Errorf(secagg.CodeValidation, "k", "k (standard deviations within the modulus) must be finite and > 0, got %v", k)
	}
	p.Gamma, p.Stddev = p.Clip, p.Clip // only to validate the rest
	if err := p.Validate(); err != nil {
		return p, err
	}
	// fits reports whether gamma g works, with the noise it needs.
	fits := func(g float64) (Params, bool, error) {
		q := p
		q.Gamma = g
		if q.Validate() != nil {
			return q, false, nil // too fine for the exact norm check
		}
		if q.Stddev = 0; q.WrapSigmas(n) < k {
			return q, false, nil // the sum wraps even without noise (noise only adds variance)
		}
		s, err := stddevFor(q, epsilon, delta, rounds, n, rate, conv)
		if errors.Is(err, secagg.ErrValidation) {
			return q, false, nil // its noise is beyond the samplers' range
		}
		if err != nil {
			return q, false, err
		}
		q.Stddev = s
		return q, q.WrapSigmas(n) >= k, nil
	}
	// The gammas that fit are an interval: too fine and the integers overflow the
	// modulus, too coarse and the rounding's norm growth (sqrt(D) against clip/gamma)
	// needs more noise than the modulus holds. Its low end is found on a grid of four
	// steps an octave, from clip/2^30 up, then by bisection within its step.
	step := math.Pow(2, 0.25)
	var prev float64
	for g := p.Clip * 0x1p-30; g <= p.Clip*(1+1e-9); g *= step {
		q, ok, err := fits(g)
		if err != nil {
			return p, err
		}
		if !ok {
			prev = g
			continue
		}
		if prev == 0 {
			return q, nil
		}
		lo, hi, best := prev, g, q
		for range 20 {
			mid := math.Sqrt(lo * hi)
			q, ok, err := fits(mid)
			if err != nil {
				return p, err
			}
			if ok {
				best, hi = q, mid
			} else {
				lo = mid
			}
		}
		return best, nil
	}
	return p, secagg.Errorf(secagg.CodeValidation, "bits", "%d bits cannot hold the sum of %d clients within %v standard deviations at any gamma: raise bits", p.Bits, n, k)
}

// stddevFor is the least Stddev (to a part in 10^6) at which rounds rounds spend at most
// epsilon.
func stddevFor(p Params, epsilon, delta float64, rounds, n int, q float64, conv dp.Conversion) (float64, error) {
	s, reached, err := dp.LeastNoise(func(s float64) (float64, error) {
		p.Stddev = s
		e, _, err := p.Epsilon(n, rounds, q, delta, conv)
		return e, err
	}, epsilon, p.Clip, 1e9*p.Clip)
	if err == nil && !reached {
		err = secagg.Errorf(secagg.CodeValidation, "epsilon", "epsilon %v is out of reach", epsilon)
	}
	return s, err
}

// WrapChance is the chance, in the Gaussian approximation, that one coordinate of the
// sum of n clients leaves [-2^(Bits-1), 2^(Bits-1)) and wraps: erfc(k/sqrt(2)) for
// k = WrapSigmas(n).
func (p Params) WrapChance(n int) float64 { return math.Erfc(p.WrapSigmas(n) / math.Sqrt2) }
