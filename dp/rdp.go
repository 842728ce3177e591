package dp

import (
	"math"

	"github.com/octomil/secagg"
)

// DefaultOrders are the RDP orders Opacus and TensorFlow Privacy use by default:
// 1.1, 1.2, ..., 10.9 and 12, 13, ..., 63.
func DefaultOrders() []float64 {
	orders := make([]float64, 0, 99+52)
	for i := 11; i <= 109; i++ {
		orders = append(orders, float64(i)/10)
	}
	for a := 12; a <= 63; a++ {
		orders = append(orders, float64(a))
	}
	return orders
}

// RDP returns the Rényi DP of one round of the Poisson-subsampled Gaussian mechanism at
// each order: sample rate q (each client takes part with probability q) and noise
// multiplier z (noise standard deviation over the L2 sensitivity). Orders must be > 1.
func RDP(q, z float64, orders []float64) ([]float64, error) {
	if err := secagg.ValidateSampleRate(q); err != nil {
		return nil, err
	}
	if err := secagg.ValidateNoiseMultiplier(z); err != nil {
		return nil, err
	}
	if err := validateOrders(orders); err != nil {
		return nil, err
	}
	out := make([]float64, len(orders))
	for i, a := range orders {
		out[i] = rdpOne(q, z, a)
	}
	return out, nil
}

func validateOrders(orders []float64) error {
	if len(orders) == 0 {
		return secagg.Errorf(secagg.CodeBadRequest, "orders", "orders must not be empty")
	}
	for i, a := range orders {
		if !(a > 1) || math.IsNaN(a) {
			return secagg.Errorf(secagg.CodeValidation, "orders", "orders[%d] must be > 1, got %v", i, a)
		}
	}
	return nil
}

// rdpOne is ε_α of one round for q in (0, 1], z >= 0, α > 1.
func rdpOne(q, z, alpha float64) float64 {
	switch {
	case z == 0 || math.IsInf(alpha, 1):
		return math.Inf(1)
	case q == 1:
		return alpha / (2 * z * z)
	}
	var logA float64
	if alpha == math.Trunc(alpha) && alpha < 1<<20 {
		logA = logAInt(q, z, int(alpha))
	} else {
		logA = logAFrac(q, z, alpha)
	}
	return logA / (alpha - 1)
}

// logAInt is log A_α for integer α: log Σ_{i=0..α} C(α,i) (1−q)^(α−i) q^i e^((i²−i)/(2σ²)).
func logAInt(q, sigma float64, alpha int) float64 {
	logA := math.Inf(-1)
	lq, l1q := math.Log(q), math.Log1p(-q)
	for i := 0; i <= alpha; i++ {
		fi := float64(i)
		term := logBinom(float64(alpha), fi) + fi*lq + float64(alpha-i)*l1q + (fi*fi-fi)/(2*sigma*sigma)
		logA = logAdd(logA, term)
	}
	return logA
}

// logAFrac is log A_α for fractional α, by the two-sided series of Mironov, Talwar and
// Zhang (2019, §3.3), summed until its terms fall below e^-30 of the largest.
func logAFrac(q, sigma, alpha float64) float64 {
	logA0, logA1 := math.Inf(-1), math.Inf(-1)
	z0 := sigma*sigma*math.Log(1/q-1) + 0.5
	lq, l1q := math.Log(q), math.Log1p(-q)
	for i := 0.0; ; i++ {
		coef, sign := generalizedBinom(alpha, i)
		logCoef := coef
		j := alpha - i
		logT0 := logCoef + i*lq + j*l1q
		logT1 := logCoef + j*lq + i*l1q
		logE0 := math.Log(0.5) + logErfc((i-z0)/(math.Sqrt2*sigma))
		logE1 := math.Log(0.5) + logErfc((z0-j)/(math.Sqrt2*sigma))
		logS0 := logT0 + (i*i-i)/(2*sigma*sigma) + logE0
		logS1 := logT1 + (j*j-j)/(2*sigma*sigma) + logE1
		if sign > 0 {
			logA0, logA1 = logAdd(logA0, logS0), logAdd(logA1, logS1)
		} else {
			logA0, logA1 = logSub(logA0, logS0), logSub(logA1, logS1)
		}
		if math.Max(logS0, logS1) < -30 || i > 1e6 {
			break
		}
	}
	return logAdd(logA0, logA1)
}

// logBinom is log C(n, k) for real n >= k >= 0.
func logBinom(n, k float64) float64 {
	a, _ := math.Lgamma(n + 1)
	b, _ := math.Lgamma(k + 1)
	c, _ := math.Lgamma(n - k + 1)
	return a - b - c
}

// generalizedBinom returns log|C(α, i)| and the sign of C(α, i) = Γ(α+1)/(Γ(i+1)Γ(α−i+1))
// for real α > 1 and integer i >= 0.
func generalizedBinom(alpha, i float64) (logAbs float64, sign int) {
	a, sa := math.Lgamma(alpha + 1)
	b, sb := math.Lgamma(i + 1)
	c, sc := math.Lgamma(alpha - i + 1)
	return a - b - c, sa * sb * sc
}

// logAdd is log(e^a + e^b), exact for infinite arguments.
func logAdd(a, b float64) float64 {
	if math.IsInf(a, -1) {
		return b
	}
	if math.IsInf(b, -1) {
		return a
	}
	if a < b {
		a, b = b, a
	}
	return a + math.Log1p(math.Exp(b-a))
}

// logSub is log(e^a − e^b) for a >= b (−Inf when they are equal).
func logSub(a, b float64) float64 {
	switch {
	case math.IsInf(b, -1):
		return a
	case a == b:
		return math.Inf(-1)
	case a < b:
		return math.NaN()
	}
	return a + math.Log(-math.Expm1(b-a))
}

// logErfc is log(erfc(x)), accurate where erfc underflows (x beyond ~26).
func logErfc(x float64) float64 {
	if x < 25 {
		return math.Log(math.Erfc(x))
	}
	// erfc(x) = e^(-x²)/(x√π) · (1 − 1/(2x²) + 3/(4x⁴) − 15/(8x⁶) + ...)
	r := 1 / (x * x)
	series := 1 - r/2 + 3*r*r/4 - 15*r*r*r/8 + 105*r*r*r*r/16
	return -x*x - math.Log(x) - 0.5*math.Log(math.Pi) + math.Log(series)
}
