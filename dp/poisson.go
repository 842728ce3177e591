package dp

import (
	"math"
	"math/big"
)

// poissonLogP is log p(n) for the Poisson distribution of mean mu, after Loader (2000):
// −stirlerr(n) − bd0(n, μ) − ½·log(2πn), whose pieces are either small or summed from
// terms of one sign, so the result is within a few ulps of its magnitude (at most ~90
// where the sampler uses it: 2^-39 absolute with room to spare, which
// TestPoissonPhiAccuracy checks against the exact bounds).
func poissonLogP(n int64, mu float64) float64 {
	if n == 0 {
		return -mu
	}
	x := float64(n)
	return -stirlerr(n) - bd0(x, mu) - 0.5*math.Log(2*math.Pi*x)
}

// stirlerrSmall holds log n! − ((n+½)·log n − n + ½·log 2π) for n = 1..35.
var stirlerrSmall = func() (t [36]float64) {
	for n := 1; n < len(t); n++ {
		x := float64(n)
		lg, _ := math.Lgamma(x + 1)
		t[n] = lg - (x+0.5)*math.Log(x) + x - 0.5*math.Log(2*math.Pi)
	}
	return t
}()

// stirlerr is Stirling's error log n! − ((n+½)·log n − n + ½·log 2π): tabled below 36,
// else its series to the n^-9 term (the rest is below 691/(360360·n^11) < 2^-60).
func stirlerr(n int64) float64 {
	if n < int64(len(stirlerrSmall)) {
		return stirlerrSmall[n]
	}
	x := float64(n)
	r := 1 / (x * x)
	return (1.0/12 - r*(1.0/360-r*(1.0/1260-r*(1.0/1680-r/1188)))) / x
}

// bd0 is x·log(x/μ) + μ − x >= 0, by its series in v = (x−μ)/(x+μ) where |v| < 0.1 (the
// direct form cancels there).
func bd0(x, mu float64) float64 {
	if math.Abs(x-mu) < 0.1*(x+mu) {
		v := (x - mu) / (x + mu)
		s := (x - mu) * v
		ej := 2 * x * v
		v2 := v * v
		for j := 3.0; ; j += 2 {
			ej *= v2
			next := s + ej/j
			if next == s {
				return s
			}
			s = next
		}
	}
	return x*math.Log(x/mu) + mu - x
}

// poissonPhiBounds returns lo <= φ(k) = log(p(mode)/p(k)) <= hi for the Poisson of
// mean mu: |k − mode|·log μ against the log of k!/mode! (or its inverse), the latter
// from the exact integer product when k is near mode and from Stirling's series, whose
// error is below its next term and of that term's sign, when both are far from 0.
func poissonPhiBounds(k, mode int64, mu float64, prec uint) (lo, hi *big.Float) {
	a, b := mode, k // log(b!/a!) with b > a
	if k < mode {
		a, b = k, mode
	}
	fLo, fHi := lnFactorialRatio(a, b, prec)
	lmLo, lmHi := lnBounds(new(big.Float).SetFloat64(mu), prec)
	d := new(big.Float).SetInt64(b - a)
	if k >= mode { // φ = log(k!/mode!) − d·log μ
		lo = newFloat(prec, big.ToNegativeInf).Sub(fLo, newFloat(prec, big.ToPositiveInf).Mul(d, lmHi))
		hi = newFloat(prec, big.ToPositiveInf).Sub(fHi, newFloat(prec, big.ToNegativeInf).Mul(d, lmLo))
	} else { // φ = d·log μ − log(mode!/k!)
		lo = newFloat(prec, big.ToNegativeInf).Sub(newFloat(prec, big.ToNegativeInf).Mul(d, lmLo), fHi)
		hi = newFloat(prec, big.ToPositiveInf).Sub(newFloat(prec, big.ToPositiveInf).Mul(d, lmHi), fLo)
	}
	if lo.Sign() < 0 {
		lo.SetInt64(0) // φ >= 0 at every k: p is largest at its mode
	}
	if hi.Sign() < 0 {
		hi.SetInt64(0)
	}
	return lo, hi
}

// lnFactorialRatio bounds log(b!/a!) for 0 <= a <= b.
func lnFactorialRatio(a, b int64, prec uint) (lo, hi *big.Float) {
	if a == b {
		return new(big.Float), new(big.Float)
	}
	if b-a > 4096 && a >= 4096 {
		aLo, aHi, okA := stirlingLnFactorial(a, prec)
		bLo, bHi, okB := stirlingLnFactorial(b, prec)
		if okA && okB {
			return newFloat(prec, big.ToNegativeInf).Sub(bLo, aHi), newFloat(prec, big.ToPositiveInf).Sub(bHi, aLo)
		}
		// Beyond what the tabled series terms reach: the product, slowly.
	}
	r := new(big.Int).MulRange(a+1, b)
	lo, _ = lnBounds(newFloat(prec, big.ToNegativeInf).SetInt(r), prec)
	_, hi = lnBounds(newFloat(prec, big.ToPositiveInf).SetInt(r), prec)
	return lo, hi
}

// bernoulli holds B_2, B_4, ..., B_26 as numerator/denominator pairs.
var bernoulli = [][2]int64{
	{1, 6}, {-1, 30}, {1, 42}, {-1, 30}, {5, 66}, {-691, 2730}, {7, 6}, {-3617, 510},
	{43867, 798}, {-174611, 330}, {854513, 138}, {-236364091, 2730}, {8553103, 6},
}

// stirlingLnFactorial bounds log n! − ½·log 2π (the constant cancels in the ratios) by
// (n+½)·log n − n + Σ B_2j/(2j(2j−1)·n^(2j−1)), stopping where the next term is below
// 2^-(prec+4) and adding it to the bound on its side. ok is false when the tabled terms
// do not get that small.
func stirlingLnFactorial(n int64, prec uint) (lo, hi *big.Float, ok bool) {
	N := new(big.Float).SetInt64(n)
	lnLo, lnHi := lnBounds(N, prec)
	half := new(big.Float).SetFloat64(float64(n) + 0.5) // exact for n < 2^52
	lo = newFloat(prec, big.ToNegativeInf).Mul(half, lnLo)
	lo.Sub(lo, N)
	hi = newFloat(prec, big.ToPositiveInf).Mul(half, lnHi)
	hi.Sub(hi, N)
	for j, bn := range bernoulli {
		// term = B_2j / (2j(2j−1)·n^(2j−1)), exact as a rational, bounded both ways.
		den := new(big.Int).Exp(big.NewInt(n), big.NewInt(int64(2*j+1)), nil)
		den.Mul(den, big.NewInt(int64((2*j+2)*(2*j+1))*bn[1]))
		term := new(big.Rat).SetFrac(big.NewInt(bn[0]), den)
		tLo, tHi := newFloat(prec, big.ToNegativeInf), newFloat(prec, big.ToPositiveInf)
		tLo.SetRat(term)
		tHi.SetRat(term)
		if tHi.Sign() != 0 && tHi.MantExp(nil) < -int(prec)-4 && term.Sign() != 0 {
			// This term bounds the rest: add it on its side only.
			if term.Sign() > 0 {
				hi.Add(hi, tHi)
			} else {
				lo.Add(lo, tLo)
			}
			return lo, hi, true
		}
		lo.Add(lo, tLo)
		hi.Add(hi, tHi)
	}
	return nil, nil, false
}

// lnBounds returns lo <= log y <= hi for y > 0, about prec bits apart: y = f·2^e with f
// in [½, 1), log f = −2·atanh((1−f)/(1+f)) and log 2 = 2·atanh(1/3), each atanh a series
// of positive terms with z <= 1/3, whose tail after a term is below that term.
func lnBounds(y *big.Float, prec uint) (lo, hi *big.Float) {
	f := new(big.Float)
	e := y.MantExp(f)
	one := big.NewFloat(1)
	zHi := newFloat(prec, big.ToPositiveInf).Quo(newFloat(prec, big.ToPositiveInf).Sub(one, f), newFloat(prec, big.ToNegativeInf).Add(one, f))
	zLo := newFloat(prec, big.ToNegativeInf).Quo(newFloat(prec, big.ToNegativeInf).Sub(one, f), newFloat(prec, big.ToPositiveInf).Add(one, f))
	third := big.NewFloat(3)
	l2Lo := atanhBound(newFloat(prec, big.ToNegativeInf).Quo(one, third), prec, big.ToNegativeInf)
	l2Hi := atanhBound(newFloat(prec, big.ToPositiveInf).Quo(one, third), prec, big.ToPositiveInf)
	l2Lo.Mul(l2Lo, big.NewFloat(2))
	l2Hi.Mul(l2Hi, big.NewFloat(2))
	E := new(big.Float).SetInt64(int64(e))
	lo, hi = newFloat(prec, big.ToNegativeInf), newFloat(prec, big.ToPositiveInf)
	if e >= 0 {
		lo.Mul(E, l2Lo)
		hi.Mul(E, l2Hi)
	} else {
		lo.Mul(E, l2Hi)
		hi.Mul(E, l2Lo)
	}
	aHi := atanhBound(zHi, prec, big.ToPositiveInf)
	aLo := atanhBound(zLo, prec, big.ToNegativeInf)
	lo.Sub(lo, newFloat(prec, big.ToPositiveInf).Mul(big.NewFloat(2), aHi))
	hi.Sub(hi, newFloat(prec, big.ToNegativeInf).Mul(big.NewFloat(2), aLo))
	return lo, hi
}

// atanhBound is a lower (ToNegativeInf) or upper (ToPositiveInf) bound on atanh z for
// 0 <= z <= 1/3: Σ z^(2j+1)/(2j+1) with terms rounded the bound's way, the upper one
// adding its last term again for the tail (at most that term·z²/(1−z²) <= term/8).
func atanhBound(z *big.Float, prec uint, mode big.RoundingMode) *big.Float {
	sum := newFloat(prec, mode).Set(z)
	if z.Sign() == 0 {
		return sum
	}
	z2 := newFloat(prec, mode).Mul(z, z)
	pow := newFloat(prec, mode).Set(z)
	for j := int64(3); ; j += 2 {
		pow.Mul(pow, z2)
		term := newFloat(prec, mode).Quo(pow, new(big.Float).SetInt64(j))
		sum.Add(sum, term)
		if term.Sign() == 0 || term.MantExp(nil) < sum.MantExp(nil)-int(prec)-2 {
			if mode == big.ToPositiveInf {
				sum.Add(sum, term)
			}
			return sum
		}
	}
}

// MaxPoissonMean is the largest mean Skellam takes.
const MaxPoissonMean = 0x1p40

// Skellam fills dst with independent draws from the Skellam distribution of mean 0 and
// variance 2μ, the difference of two independent Poisson(μ) draws, each exact on the
// central part that holds all but TailMass/2 of its mass (Bennett's bound). Sums of
// Skellam draws are Skellam, which is why distributed DP adds it (Agarwal, Kairouz and
// Liu 2021). mu is in (0, 2^40].
func Skellam(dst []int64, mu float64, src *Source) error {
	if !(mu > 0 && mu <= MaxPoissonMean) {
		return errorScale("mu", mu, "(0, 2^40]")
	}
	return fillInts(dst, samplerFor(poissonShape, mu), src, func(t *sampler, b *keystream) int64 {
		return t.draw(b) - t.draw(b)
	})
}

// Poisson fills dst with independent draws from the Poisson distribution of mean mu in
// (0, 2^40], exact on all but TailMass/2 of its mass.
func Poisson(dst []int64, mu float64, src *Source) error {
	if !(mu > 0 && mu <= MaxPoissonMean) {
		return errorScale("mu", mu, "(0, 2^40]")
	}
	return fillInts(dst, samplerFor(poissonShape, mu), src, (*sampler).draw)
}
