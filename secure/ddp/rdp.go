package ddp

import (
	"math"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/dp"
)

// Orders are the Rényi orders the accountant uses: both bounds hold at integer orders.
func Orders() []float64 {
	var o []float64
	for a := 2; a <= 64; a++ {
		o = append(o, float64(a))
	}
	return append(o, 80, 96, 128, 160, 192, 256, 384, 512, 768, 1024)
}

// RDP returns the Rényi DP, at each integer order, of one round whose sum carries the
// noise of n clients (the survivors: a dropped client's noise is not in the sum), without
// subsampling. For a neighbouring round one client's integers change by at most
// NormBound in L2 and L1Bound in L1 (add or remove one client). The bounds hold at
// integer orders; at a fractional one RDP takes the next integer's (RDP does not
// decrease with the order), so any ledger's orders serve.
//
// Skellam (Agarwal, Kairouz, Liu 2021, Theorem 3.5): the sum's noise is Skellam of
// variance μ = n(σ/γ)² per coordinate, and
//
//	ε(α) = α Δ2²/(2μ) + min(((2α-1) Δ2² + 6 Δ1)/(4μ²), 3 Δ1/(2μ)).
//
// Distributed discrete Gaussian (Kairouz, Liu, Steinke 2021, Theorem 1): n draws of
// N_Z(0, s²), s = σ/γ, sum to within τ = 10 Σ_{k=1}^{n-1} exp(-2π² s² k/(k+1)) of
// N_Z(0, n s²), and with a2 = Δ2/(s√n), a1 = Δ1/(s√n), D the padded dimension,
//
//	ε(α) = min(α a2²/2 + τD, α/2 (a2² + 2 a1 τ + τ² D), α/2 (a2 + √D τ)²).
func (p Params) RDP(n int, orders []float64) ([]float64, error) {
	return p.SampledRDP(n, 1, orders)
}

// SampledRDP is RDP for a round whose clients each take part with probability q
// (Poisson sampling; q = 1 is RDP): Zhu and Wang's general upper bound (ICML 2019,
// Theorem 9) on the subsampled mechanism's RDP at each integer order a,
//
//	1/(a-1) log((1-q)^(a-1) (aq-q+1) + C(a,2) q² (1-q)^(a-2) e^ε(2) + 3 Σ_{l=3..a} C(a,l) (1-q)^(a-l) q^l e^((l-1)ε(l))),
//
// where it is below the unsampled ε(a). n is still the fewest clients whose noise the
// sum holds.
func (p Params) SampledRDP(n int, q float64, orders []float64) ([]float64, error) {
	if !(q > 0 && q <= 1) {
		return nil, secagg.Errorf(secagg.CodeValidation, "sample_rate", "sample_rate must be in (0, 1], got %v", q)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, secagg.Errorf(secagg.CodeValidation, "clients", "the noise of %d clients: want at least 1", n)
	}
	if !(p.Stddev > 0) {
		return nil, secagg.Errorf(secagg.CodeValidation, "stddev", "no noise (stddev 0) certifies no privacy")
	}
	for _, a := range orders {
		if !(a > 1) || math.IsInf(a, 0) {
			return nil, secagg.Errorf(secagg.CodeValidation, "orders", "orders must be finite and > 1, got %v", a)
		}
	}
	d2, d1 := p.NormBound(), p.L1Bound()
	s := p.Stddev / p.Gamma
	out := make([]float64, len(orders))
	eps := func(a int) float64 {
		if p.Mechanism == Skellam {
			return skellamRDP(float64(a), d1, d2, float64(n)*s*s)
		}
		return ddgRDP(float64(a), d1, d2, s, n, p.Padded())
	}
	for i, a := range orders {
		// The bounds are for integers; RDP grows with the order.
		out[i] = sampled(int(math.Max(2, math.Ceil(a))), q, eps)
	}
	return out, nil
}

// sampled is SampledRDP's bound at integer order a for a mechanism of RDP eps, in log
// space (the terms' exponents reach (a-1)·ε(a)).
func sampled(a int, q float64, eps func(int) float64) float64 {
	full := eps(a)
	if q == 1 {
		return full
	}
	af, lq, l1q := float64(a), math.Log(q), math.Log1p(-q)
	logC := func(l int) float64 {
		x, _ := math.Lgamma(af + 1)
		y, _ := math.Lgamma(float64(l) + 1)
		z, _ := math.Lgamma(af - float64(l) + 1)
		return x - y - z
	}
	sum := (af-1)*l1q + math.Log(af*q-q+1)
	sum = logAddExp(sum, logC(2)+2*lq+(af-2)*l1q+eps(2))
	for l := 3; l <= a; l++ {
		lf := float64(l)
		sum = logAddExp(sum, math.Log(3)+logC(l)+(af-lf)*l1q+lf*lq+(lf-1)*eps(l))
	}
	return math.Min(sum/(af-1), full)
}

// logAddExp is log(e^a + e^b).
func logAddExp(a, b float64) float64 {
	if math.IsInf(a, -1) {
		return b
	}
	if math.IsInf(b, -1) {
		return a
	}
	m := math.Max(a, b)
	return m + math.Log1p(math.Exp(-math.Abs(a-b)))
}

// skellamRDP is Agarwal et al.'s bound at order a for sensitivities d1, d2 and the sum's
// Skellam variance mu.
func skellamRDP(a, d1, d2, mu float64) float64 {
	return a*d2*d2/(2*mu) + math.Min(((2*a-1)*d2*d2+6*d1)/(4*mu*mu), 3*d1/(2*mu))
}

// ddgRDP is Kairouz et al.'s bound at order a for sensitivities d1, d2, n clients each
// adding N_Z(0, s²), in dim dimensions.
func ddgRDP(a, d1, d2, s float64, n, dim int) float64 {
	nf, df := float64(n), float64(dim)
	var tau float64
	for k := 1.0; k < nf; k++ {
		tau += math.Exp(-2 * math.Pi * math.Pi * s * s * k / (k + 1))
	}
	tau *= 10
	a2, a1 := d2/(s*math.Sqrt(nf)), d1/(s*math.Sqrt(nf))
	return math.Min(a*a2*a2/2+tau*df, math.Min(
		a/2*(a2*a2+2*a1*tau+tau*tau*df),
		a/2*(a2+math.Sqrt(df)*tau)*(a2+math.Sqrt(df)*tau)))
}

// Epsilon is the ε at delta of rounds rounds, each sampling clients at rate q (1: every
// client) and holding the noise of at least n of them (fewer clients means less noise:
// the bound is for the fewest a round may finish with), and the order that achieves it.
func (p Params) Epsilon(n, rounds int, q, delta float64, conv dp.Conversion) (eps, order float64, err error) {
	if rounds < 1 {
		return 0, 0, secagg.Errorf(secagg.CodeValidation, "rounds", "rounds must be >= 1, got %d", rounds)
	}
	orders := Orders()
	rdp, err := p.SampledRDP(n, q, orders)
	if err != nil {
		return 0, 0, err
	}
	for i := range rdp {
		rdp[i] *= float64(rounds)
	}
	return dp.Epsilon(rdp, orders, delta, conv)
}

// Charge charges a round of these parameters, sampled at rate q and finishing with at
// least n clients, to the ledger, the noise values the clients draw included (n·Padded of them), or with record
// false only checks that it fits: the round asks before any client adds noise, and
// charges once it is finalised. Over the budget is a conflict and changes nothing.
func (p Params) Charge(l *dp.Ledger, n int, q float64, record bool) (float64, error) {
	step, err := p.SampledRDP(n, q, l.Orders())
	if err != nil {
		return 0, err
	}
	return l.ChargeRDP(step, n*p.Padded(), record)
}
