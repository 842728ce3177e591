package dp

import "math/big"

// exactAccept decides U < a = exp(−φ(k))·T/q exactly, for the uniform real U in [0, 1)
// whose first 64 bits are u: it brackets a between rigorous bounds computed with
// directed rounding, and reveals U 64 bits at a time until U falls clear of them.
// T, q, s and k are exact rationals, so the decision is exact; it terminates with
// probability one, after one round but for about 2^-60 of its calls.
func (t *sampler) exactAccept(k int64, q, u uint64, src *keystream) bool {
	U := new(big.Int).SetUint64(u)
	one := big.NewInt(1)
	for n := uint(64); ; n += 64 {
		lo, hi := t.acceptBounds(k, q, n+64)
		uLo := new(big.Float).SetInt(U)
		uLo.SetMantExp(uLo, -int(n))
		uHi := new(big.Float).SetInt(new(big.Int).Add(U, one))
		uHi.SetMantExp(uHi, -int(n))
		if uHi.Cmp(lo) <= 0 {
			return true
		}
		if uLo.Cmp(hi) >= 0 {
			return false
		}
		U.Lsh(U, 64).Or(U, new(big.Int).SetUint64(src.uint64()))
	}
}

// acceptBounds returns lo <= exp(−φ(k))·T/q <= hi, about prec bits apart.
func (t *sampler) acceptBounds(k int64, q uint64, prec uint) (lo, hi *big.Float) {
	phiLo, phiHi := t.phiBounds(k, prec)
	expLo := expBound(phiLo, prec, big.ToNegativeInf) // <= e^φ
	expHi := expBound(phiHi, prec, big.ToPositiveInf) // >= e^φ
	T, Q := new(big.Float).SetFloat64(t.t), new(big.Float).SetUint64(q)
	lo = newFloat(prec, big.ToNegativeInf).Quo(T, newFloat(prec, big.ToPositiveInf).Mul(Q, expHi))
	hi = newFloat(prec, big.ToPositiveInf).Quo(T, newFloat(prec, big.ToNegativeInf).Mul(Q, expLo))
	return lo, hi
}

// phiBounds returns 0 <= lo <= φ(k) <= hi, about prec bits apart: k²/(2s²) and |k|/s
// are rationals divided with directed rounding, Poisson's is poissonPhiBounds.
func (t *sampler) phiBounds(k int64, prec uint) (lo, hi *big.Float) {
	if t.shape == poissonShape {
		return poissonPhiBounds(k, t.mode, t.s, prec)
	}
	num, den := new(big.Int).SetInt64(k), new(big.Float).SetPrec(128).SetFloat64(t.s)
	if t.shape == gaussianShape {
		num.Mul(num, num)
		den.Mul(den, den)
		den.Add(den, den) // 2s², exact in 128 bits
	} else {
		num.Abs(num)
	}
	lo = newFloat(prec, big.ToNegativeInf).Quo(new(big.Float).SetInt(num), den)
	hi = newFloat(prec, big.ToPositiveInf).Quo(new(big.Float).SetInt(num), den)
	return lo, hi
}

func newFloat(prec uint, mode big.RoundingMode) *big.Float {
	return new(big.Float).SetPrec(prec).SetMode(mode)
}

// expBound returns a lower (mode ToNegativeInf) or upper (ToPositiveInf) bound on e^x
// for x >= 0, within about 2^-prec relative, from the Taylor series: every term is
// positive and rounded the bound's way, the lower bound drops the tail, and the upper
// adds the last term again, which exceeds the tail once j+1 >= 2x (the tail is then at
// most term·Σ 2^-i).
func expBound(x *big.Float, prec uint, mode big.RoundingMode) *big.Float {
	sum, term := newFloat(prec, mode).SetInt64(1), newFloat(prec, mode).SetInt64(1)
	xf, _ := x.Float64()
	for j := int64(1); ; j++ {
		term.Mul(term, x)
		term.Quo(term, newFloat(prec, mode).SetInt64(j))
		sum.Add(sum, term)
		if float64(j+1) >= 2*xf+1 && (term.Sign() == 0 || term.MantExp(nil) < sum.MantExp(nil)-int(prec)-2) {
			if mode == big.ToPositiveInf {
				sum.Add(sum, term)
			}
			return sum
		}
	}
}
