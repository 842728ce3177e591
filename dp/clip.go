package dp

import (
	"math"

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

// ClipFactor returns the factor that brings a vector of L2 norm norm within clipNorm: 1
// if it is already within, else clipNorm/norm shrunk by 2^-22 relative so that float32
// rounding cannot push the result over (see Clip).
func ClipFactor(norm, clipNorm float64) float64 {
	if norm <= clipNorm*clipSlack {
		return 1
	}
	return clipNorm / norm * clipSlack
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
		f := ClipFactor(now, clipNorm)
		if f == 1 || try > 0 && now <= clipNorm {
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
