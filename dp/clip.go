package dp

import (
	"math"
	"math/big"
	"math/bits"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/simd"
)

// Norm returns the L2 norm of x in float64, its squares summed in simd.SumSquares' fixed
// order: the same bits on every path.
func Norm(x []float32) float64 { return math.Sqrt(simd.SumSquares(x)) }

// clipSlack shrinks the clipping factor by 2^-22 relative: enough to absorb the rounding
// of the norm's float64 sum (below 2^-24 relative for up to ~10^8 coordinates) and of
// each scaled float32 value (2^-24 relative), so a clipped vector's exact norm never
// exceeds the bound.
const clipSlack = 1 - 0x1p-22

// normError bounds the relative error of Norm over n coordinates: the squares of
// float32 values are exact in float64, a sum of n non-negative terms in any order is
// within (n−1)·2^-53 relative, and the square root halves that and rounds once more.
func normError(n int) float64 { return float64(n+2) * 0x1p-53 }

// ClipFactor returns the factor that brings x, whose Norm is norm, within clipNorm:
// exactly 1 when x's exact norm is at most clipNorm (an update within the bound is left
// as it is, as Flower, Opacus and TensorFlow Federated leave it), else clipNorm/norm
// shrunk by 2^-22 relative so that float32 rounding cannot push the result over (see
// Clip). Where norm is too close to clipNorm for its rounding to decide, the sum of
// squares is taken exactly.
func ClipFactor(x []float32, norm, clipNorm float64) float64 {
	f, _ := ClipFactorOf(norm, clipNorm, len(x), func() (bool, error) {
		var s ExactSquares
		s.Add(x)
		return s.AtMost(clipNorm), nil
	})
	return f
}

// ClipFactorOf is ClipFactor for an update of n values that is not at hand, such as one
// read by blocks on other machines: norm is its float64 norm with the squares summed in
// any order, and atMost, called only where norm is too close to clipNorm for its
// rounding to decide, reports whether the exact norm is at most clipNorm (an
// ExactSquares of the update's values says). atMost's error is returned as it is.
func ClipFactorOf(norm, clipNorm float64, n int, atMost func() (bool, error)) (float64, error) {
	e := normError(n)
	switch {
	case norm <= clipNorm*(1-e):
		return 1, nil
	case norm <= clipNorm*(1+e):
		within, err := atMost()
		if err != nil {
			return 0, err
		}
		if within {
			return 1, nil
		}
	}
	return clipNorm / norm * clipSlack, nil
}

// A float32 v is m·2^(exp−24) with m < 2^24 and exp in [−148, 128], so v² = m²·2^e with
// e in [squareMinExp, 208]: one 128-bit counter per power.
const (
	squareMinExp = 2 * (-148 - 24)
	squarePowers = 2*(128-24) - squareMinExp + 1
)

// ExactSquares is the exact sum of the squares of float32 values, which decides a norm
// against a bound where float64 rounding cannot: each square is a 48-bit integer times a
// power of two, summed per power in 128 bits. Sums of parts merge exactly, so an
// update's blocks can be added anywhere, in any order. The zero value is the empty sum;
// it takes 8.8 KB.
type ExactSquares struct{ hi, lo [squarePowers]uint64 }

// Add adds the squares of x.
func (s *ExactSquares) Add(x []float32) {
	for _, v := range x {
		if v == 0 {
			continue
		}
		mant, exp := math.Frexp(float64(v))
		m := int64(mant * (1 << 24))
		if m < 0 {
			m = -m
		}
		e := 2*(exp-24) - squareMinExp
		var carry uint64
		s.lo[e], carry = bits.Add64(s.lo[e], uint64(m*m), 0)
		s.hi[e] += carry
	}
}

// Merge adds the squares summed in o.
func (s *ExactSquares) Merge(o *ExactSquares) {
	for e := range s.lo {
		var carry uint64
		s.lo[e], carry = bits.Add64(s.lo[e], o.lo[e], 0)
		s.hi[e] += o.hi[e] + carry
	}
}

// AtMost reports whether the sum of squares is at most c², exactly: the powers are
// combined in a big.Int.
func (s *ExactSquares) AtMost(c float64) bool {
	sum := new(big.Int)
	word := new(big.Int)
	for e := len(s.lo) - 1; e >= 0; e-- {
		if s.hi[e] == 0 && s.lo[e] == 0 {
			continue
		}
		word.SetUint64(s.hi[e])
		word.Lsh(word, 64)
		word.Or(word, new(big.Int).SetUint64(s.lo[e]))
		sum.Add(sum, word.Lsh(word, uint(e)))
	}
	// Σ x² = sum·2^squareMinExp against c², c = cm·2^ce with cm a 53-bit integer.
	cmant, cexp := math.Frexp(c)
	cm := new(big.Int).SetInt64(int64(cmant * (1 << 53)))
	c2 := new(big.Int).Mul(cm, cm)
	shift := 2*(cexp-53) - squareMinExp
	if shift >= 0 {
		return sum.Cmp(c2.Lsh(c2, uint(shift))) <= 0
	}
	return sum.Lsh(sum, uint(-shift)).Cmp(c2) <= 0
}

// Clip scales x in place to an L2 norm of at most clipNorm (Abadi et al.'s per-example
// clipping, applied per client) and returns the norm before clipping, which adaptive
// clipping and monitoring need. The exact norm of the result, summed without rounding,
// never exceeds clipNorm. x must be finite.
func Clip(x []float32, clipNorm float64) (norm float64, err error) {
	if err := secagg.ValidateClipNorm(clipNorm); err != nil {
		return 0, err
	}
	if i := simd.FirstNonFinite(x); i >= 0 {
		return 0, secagg.NonFiniteValue("update", i, x[i])
	}
	norm = Norm(x)
	now := norm
	// One scaling suffices unless the factor or the results fall among float32's
	// subnormals, where rounding is coarse; then scale again (in float64), and as a
	// last resort zero the vector, which is always within the bound.
	for try := 0; ; try++ {
		f := ClipFactor(x, now, clipNorm)
		if f == 1 {
			return norm, nil
		}
		if try == 3 {
			clear(x)
			return norm, nil
		}
		if f32 := float32(f); f32 >= math.SmallestNonzeroFloat32*(1<<23) && try == 0 {
			simd.Scale(x, f32) // a normal float32 factor: the fast path
		} else {
			for i, v := range x {
				x[i] = float32(float64(v) * f)
			}
		}
		now = Norm(x)
	}
}
