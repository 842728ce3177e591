package ddp

import (
	"math"
	"sync"

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
	mu, tau := float64(n)*s*s, 0.0
	if p.Mechanism == DiscreteGaussian {
		tau = ddgTau(s, n)
	}
	direct := func(a int) float64 {
		if p.Mechanism == Skellam {
			return skellamRDP(float64(a), d1, d2, mu)
		}
		return ddgRDP(float64(a), d1, d2, s, tau, n, p.Padded())
	}
	// The subsampled bound at order a reads ε at every integer order up to a, so they are
	// computed once for all the orders (up to memoOrders; any above, as they are needed).
	top := 2
	for _, a := range orders {
		top = max(top, min(int(math.Ceil(a)), memoOrders))
	}
	at := make([]float64, top+1)
	for a := 2; a <= top; a++ {
		at[a] = direct(a)
	}
	eps := func(a int) float64 {
		if a < len(at) {
			return at[a]
		}
		return direct(a)
	}
	out := make([]float64, len(orders))
	for i, a := range orders {
		// The bounds are for integers; RDP grows with the order.
		out[i] = sampled(int(math.Max(2, math.Ceil(a))), q, eps)
	}
	return out, nil
}

// memoOrders is the largest order whose ε SampledRDP keeps in its table (8·2^14 bytes):
// far above any ledger's orders, and a bound on what an absurd order could make it hold.
const memoOrders = 1 << 14

// sampled is SampledRDP's bound at integer order a for a mechanism of RDP eps, in log
// space (the terms' exponents reach (a-1)·ε(a)): the log of the sum of the terms'
// exponentials, each taken relative to the largest, as scipy's logsumexp does.
func sampled(a int, q float64, eps func(int) float64) float64 {
	full := eps(a)
	if q == 1 {
		return full
	}
	af, lq, l1q, log3 := float64(a), math.Log(q), math.Log1p(-q), math.Log(3)
	lf := logFactorials()
	logC := func(l int) float64 {
		if a <= memoOrders {
			return lf[a] - lf[l] - lf[a-l]
		}
		return logFactorial(a) - logFactorial(l) - logFactorial(a-l)
	}
	term := func(l int) float64 { // l >= 2
		t := logC(l) + float64(l)*lq + (af-float64(l))*l1q + (float64(l)-1)*eps(l)
		if l > 2 {
			t += log3
		}
		return t
	}
	first := (af-1)*l1q + math.Log(af*q-q+1)
	top := first
	for l := 2; l <= a; l++ {
		top = math.Max(top, term(l))
	}
	sum := math.Exp(first - top)
	for l := 2; l <= a; l++ {
		sum += math.Exp(term(l) - top)
	}
	return math.Min((top+math.Log(sum))/(af-1), full)
}

// logFactorials are log k! for k <= memoOrders, made at first use: the binomial
// coefficients of every order's bound read them.
var logFactorials = sync.OnceValue(func() []float64 {
	t := make([]float64, memoOrders+1)
	for k := range t {
		t[k], _ = math.Lgamma(float64(k) + 1)
	}
	return t
})

// logFactorial is log k!.
func logFactorial(k int) float64 {
	if k <= memoOrders {
		return logFactorials()[k]
	}
	x, _ := math.Lgamma(float64(k) + 1)
	return x
}

// skellamRDP is Agarwal et al.'s bound at order a for sensitivities d1, d2 and the sum's
// Skellam variance mu.
func skellamRDP(a, d1, d2, mu float64) float64 {
	return a*d2*d2/(2*mu) + math.Min(((2*a-1)*d2*d2+6*d1)/(4*mu*mu), 3*d1/(2*mu))
}

// ddgTau is Kairouz et al.'s τ for n clients each adding N_Z(0, s²): how far their sum
// may be from N_Z(0, n s²).
func ddgTau(s float64, n int) float64 {
	var tau float64
	for k := 1.0; k < float64(n); k++ {
		tau += math.Exp(-2 * math.Pi * math.Pi * s * s * k / (k + 1))
	}
	return 10 * tau
}

// ddgRDP is Kairouz et al.'s bound at order a for sensitivities d1, d2, n clients each
// adding N_Z(0, s²) (their τ = ddgTau(s, n)), in dim dimensions.
func ddgRDP(a, d1, d2, s, tau float64, n, dim int) float64 {
	nf, df := float64(n), float64(dim)
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
