package dp

import (
	"math"

	"github.com/octomil/secagg"
)

// Conversion names the RDP to (ε, δ) conversion.
type Conversion int

const (
	// Improved is the conversion of Balle et al. 2020 (Thm. 21) that Opacus and
	// dp_accounting use today; it never reports more ε than Classic.
	Improved Conversion = iota
	// Classic is Mironov 2017 (Prop. 3), behind most published figures.
	Classic
)

func (c Conversion) String() string {
	if c == Classic {
		return "classic"
	}
	return "improved"
}

// Epsilon converts RDP values at the given orders into the smallest ε they certify at δ,
// and returns the order that achieves it.
func Epsilon(rdp, orders []float64, delta float64, conv Conversion) (eps, order float64, err error) {
	if err := secagg.ValidateDelta(delta); err != nil {
		return 0, 0, err
	}
	if err := validateOrders(orders); err != nil {
		return 0, 0, err
	}
	if len(rdp) != len(orders) {
		return 0, 0, secagg.Errorf(secagg.CodeBadRequest, "rdp", "rdp has %d values for %d orders", len(rdp), len(orders))
	}
	eps, order = math.Inf(1), math.NaN()
	logDelta := math.Log(delta)
	for i, a := range orders {
		r := rdp[i]
		if math.IsNaN(r) || r < 0 {
			return 0, 0, secagg.Errorf(secagg.CodeValidation, "rdp", "rdp[%d] must be >= 0, got %v", i, r)
		}
		var e float64
		switch {
		case r == 0:
			e = 0 // nothing spent at this order, so nothing anywhere
		case conv == Classic:
			e = r - logDelta/(a-1)
		case delta*delta+math.Expm1(-r) > 0:
			e = 0 // the improved bound's own zero case (as dp_accounting)
		default:
			e = r + math.Log((a-1)/a) - (logDelta+math.Log(a))/(a-1)
		}
		if e < eps {
			eps, order = e, a
		}
	}
	return math.Max(eps, 0), order, nil
}

// EpsilonAfter returns the ε spent at δ by rounds rounds of the subsampled Gaussian
// mechanism with sample rate q and noise multiplier z, over the given orders (nil:
// DefaultOrders), and the order that achieves it.
func EpsilonAfter(q, z float64, rounds int, delta float64, orders []float64, conv Conversion) (eps, order float64, err error) {
	if rounds < 0 {
		return 0, 0, secagg.Errorf(secagg.CodeValidation, "rounds", "rounds must be >= 0, got %d", rounds)
	}
	if orders == nil {
		orders = DefaultOrders()
	}
	rdp, err := RDP(q, z, orders)
	if err != nil {
		return 0, 0, err
	}
	for i := range rdp {
		rdp[i] *= float64(rounds)
	}
	return Epsilon(rdp, orders, delta, conv)
}

// NoiseMultiplierFor returns the smallest noise multiplier z (to 1e-6 relative) whose
// rounds rounds at sample rate q spend at most targetEpsilon at δ.
func NoiseMultiplierFor(targetEpsilon, delta, q float64, rounds int, orders []float64, conv Conversion) (float64, error) {
	if err := secagg.ValidateEpsilon(targetEpsilon); err != nil {
		return 0, err
	}
	if rounds < 1 {
		return 0, secagg.Errorf(secagg.CodeValidation, "rounds", "rounds must be >= 1, got %d", rounds)
	}
	z, reached, err := LeastNoise(func(z float64) (float64, error) {
		e, _, err := EpsilonAfter(q, z, rounds, delta, orders, conv)
		return e, err
	}, targetEpsilon, 1, 1e6)
	if err == nil && !reached {
		err = secagg.Errorf(secagg.CodeValidation, "epsilon",
			"epsilon %v is out of reach: even a noise multiplier of 1e6 spends more", targetEpsilon)
	}
	return z, err
}

// LeastNoise returns the least noise x (to 1e-6 relative) at which spent(x), the ε a
// mechanism spends with noise x and decreasing in it, is at most target: it doubles x
// from start until that holds, then bisects. reached is false when even limit spends
// more.
func LeastNoise(spent func(x float64) (float64, error), target, start, limit float64) (x float64, reached bool, err error) {
	lo, hi := 0.0, start
	for {
		e, err := spent(hi)
		if err != nil {
			return 0, false, err
		}
		if e <= target {
			break
		}
		lo, hi = hi, 2*hi
		if hi > limit {
			return 0, false, nil
		}
	}
	for hi-lo > 1e-6*hi {
		mid := (lo + hi) / 2
		e, err := spent(mid)
		if err != nil {
			return 0, false, err
		}
		if e <= target {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, true, nil
}
