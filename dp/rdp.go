package dp

import (
	"cmp"
	"math"
	"slices"

	"github.com/octomil/secagg"
)

// DefaultOrders are the RDP orders the accountant uses unless told otherwise: those of
// dp_accounting (1.1, 1.2, ..., 10.9, 11, ..., 63, 128, 256, 512, 1024), with 1.01-1.09
// below them for large ε and 80-4096 among and above them for small ε (at δ = 1e-5 an
// ε of 0.1 needs orders past 116, one of 0.01 past 1150). More orders only tighten ε.
func DefaultOrders() []float64 {
	orders := make([]float64, 0, 9+99+53+16)
	for i := 101; i <= 109; i++ {
		orders = append(orders, float64(i)/100)
	}
	for i := 11; i <= 109; i++ {
		orders = append(orders, float64(i)/10)
	}
	for a := 11; a <= 63; a++ {
		orders = append(orders, float64(a))
	}
	return append(orders, 80, 96, 128, 160, 192, 256, 320, 384, 512, 640, 768, 1024, 1536, 2048, 3072, 4096)
}

// RDP returns the Rényi DP of one round of the Poisson-subsampled Gaussian mechanism at
// each order: sample rate q (each client takes part with probability q) and noise
// multiplier z (noise standard deviation over the L2 sensitivity). Orders must be > 1.
// Every value is >= 0 and, for orders in increasing order, non-decreasing, as Rényi
// divergences are.
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
	// ε_α is non-decreasing in α, so the value at any larger order bounds it too: take
	// the least (as dp_accounting does), which also irons out the rounding of values
	// computed by different formulas at neighbouring orders.
	byOrder := make([]int, len(orders))
	for i := range byOrder {
		byOrder[i] = i
	}
	slices.SortFunc(byOrder, func(i, j int) int { return cmp.Compare(orders[i], orders[j]) })
	for k := len(byOrder) - 2; k >= 0; k-- {
		i, next := byOrder[k], byOrder[k+1]
		out[i] = math.Min(out[i], out[next])
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

// maxSeriesOrder is the largest order summed as a series; beyond it RDP is bounded by
// the Gaussian mechanism's α/(2z²) (subsampling never costs more), which such orders,
// useless in practice, are given.
const maxSeriesOrder = 1 << 16

// rdpOne is ε_α of one round for q in (0, 1], z >= 0, α > 1.
func rdpOne(q, z, alpha float64) float64 {
	switch {
	case z == 0 || math.IsInf(alpha, 1):
		return math.Inf(1)
	case q == 1 || alpha > maxSeriesOrder:
		return alpha / (2 * z * z)
	}
	if alpha == math.Trunc(alpha) {
		return logAInt(q, z, int(alpha)) / (alpha - 1)
	}
	return rdpFrac(q, z, alpha)
}

// logAInt is log A_α for integer α >= 1, from A_α − 1 = Σ_{i=2..α} C(α,i) (1−q)^(α−i) q^i
// (e^((i²−i)/(2σ²)) − 1): the binomial terms sum to one, so subtracting it exactly
// leaves only positive terms, and the tiny RDP of a small q and a large σ does not drown
// in the rounding of a sum near 1 (as Σ C(α,i)… e^(…) computed directly does, going
// negative at q <= 3e-8, σ >= 560).
func logAInt(q, sigma float64, alpha int) float64 {
	logAm1 := math.Inf(-1)
	lq, l1q := math.Log(q), math.Log1p(-q)
	binom := math.Log(float64(alpha)) // log C(α, 1), then C(α, i) = C(α, i−1)·(α−i+1)/i
	for i := 2; i <= alpha; i++ {
		fi := float64(i)
		binom += math.Log(float64(alpha-i+1) / fi)
		term := binom + fi*lq + float64(alpha-i)*l1q + logExpm1((fi*fi-fi)/(2*sigma*sigma))
		logAm1 = logAdd(logAm1, term)
	}
	return logAdd(0, logAm1) // log(1 + (A−1))
}

// logExpm1 is log(e^x − 1) for x > 0.
func logExpm1(x float64) float64 {
	if x > 1 {
		return x + math.Log1p(-math.Exp(-x))
	}
	return math.Log(math.Expm1(x))
}

// rdpFrac is ε_α for fractional α from the series, held between what the neighbouring
// integer orders allow: log A_α is convex in α (Hölder) with log A_1 = 0, so it lies
// below the chord between a = ⌊α⌋ and b = ⌈α⌉ and, RDP being non-decreasing in α, ε_α is
// at least ε_a. Where the chord is below 1e-9 the series' rounding (about 1e-14 on
// terms near 1) would be most of the value, and the chord, an upper bound, is used
// alone; so it is where the series has not converged in maxSeriesTerms terms (for small
// σ its terms fall off only as i^-(α+1): libraries that cut it at e^-30 drop a tail they
// do not bound).
func rdpFrac(q, sigma, alpha float64) float64 {
	a, b := math.Floor(alpha), math.Ceil(alpha)
	lb := logAInt(q, sigma, int(b))
	la, lower := 0.0, 0.0
	if a > 1 {
		la = logAInt(q, sigma, int(a))
		lower = la / (a - 1) // ε_a, as rdpOne gives it
	}
	upperLogA := la + (alpha-a)*(lb-la)
	upper := upperLogA / (alpha - 1)
	if upperLogA < 1e-9 {
		return upper
	}
	series, ok := logAFrac(q, sigma, alpha)
	if !ok {
		return upper
	}
	return math.Min(math.Max(series/(alpha-1), lower), upper)
}

// maxSeriesTerms bounds the terms logAFrac sums before it gives up.
const maxSeriesTerms = 5000

// logAFrac is log A_α for fractional α, by the two-sided series of Mironov, Talwar and
// Zhang (2019, §3.3), summed until its terms, once past α and falling, are below e^-40
// of the sum so far (an absolute cut, as Opacus and TensorFlow Privacy have, stops at
// the first term when all are small: q = 0.4, σ = 12, α = 59.25 gave −30.27 for
// +2.13). ok is false if that takes more than maxSeriesTerms terms.
func logAFrac(q, sigma, alpha float64) (logA float64, ok bool) {
	logA0, logA1 := math.Inf(-1), math.Inf(-1)
	z0 := sigma*sigma*math.Log(1/q-1) + 0.5
	lq, l1q := math.Log(q), math.Log1p(-q)
	prev := math.Inf(-1)
	coef, sign := 0.0, 1.0 // log|C(α, i)| and its sign, carried from term to term
	for i := 0.0; i < maxSeriesTerms; i++ {
		if i > 0 {
			f := (alpha - i + 1) / i // C(α, i) = C(α, i−1)·(α−i+1)/i
			coef += math.Log(math.Abs(f))
			if f < 0 {
				sign = -sign
			}
		}
		j := alpha - i
		logT0 := coef + i*lq + j*l1q
		logT1 := coef + j*lq + i*l1q
		logE0 := math.Log(0.5) + logErfc((i-z0)/(math.Sqrt2*sigma))
		logE1 := math.Log(0.5) + logErfc((z0-j)/(math.Sqrt2*sigma))
		logS0 := logT0 + (i*i-i)/(2*sigma*sigma) + logE0
		logS1 := logT1 + (j*j-j)/(2*sigma*sigma) + logE1
		if sign > 0 {
			logA0, logA1 = logAdd(logA0, logS0), logAdd(logA1, logS1)
		} else {
			logA0, logA1 = logSub(logA0, logS0), logSub(logA1, logS1)
		}
		now := math.Max(logS0, logS1)
		if i > alpha && now < prev && now < logAdd(logA0, logA1)-40 {
			return logAdd(logA0, logA1), true
		}
		prev = now
	}
	return 0, false
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
