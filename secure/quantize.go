package secure

import (
	"math"
	"math/rand/v2"
)

// quantize writes a client's vector before masking: word 0 its weight ratio
// W = round(weight/max_weight · T), then each value x as r·x (r = W/T) clipped to
// [-c, c] and mapped to [0, T] by stochastic rounding: v = (r·x + c)·T/(2c), rounded up
// with probability v - floor(v), so that the rounding is unbiased. It returns how many
// values were clipped, or, at the first NaN or ±Inf, its index as bad (-1 when every
// value is finite: the check and the quantisation are one pass). rng is a ChaCha8
// stream (a CSPRNG) seeded from the client's randomness.
func quantize(dst []uint32, x []float32, weight float64, cfg Config, rng *rand.ChaCha8) (clipped, bad int) {
	T := float64(cfg.QuantizationRange)
	w := math.Round(weight / cfg.MaxWeight * T)
	dst[0] = uint32(w)
	r := w / T
	c := cfg.ClippingRange
	scale := T / (2 * c)
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return clipped, i
		}
		y := r * float64(v)
		if y > c {
			y, clipped = c, clipped+1
		} else if y < -c {
			y, clipped = -c, clipped+1
		}
		q := float64(y+c) * scale
		f := math.Floor(q)
		if u := float64(rng.Uint64()>>11) * 0x1p-53; u < q-f {
			f++
		}
		dst[i+1] = uint32(min(f, T))
	}
	return clipped, -1
}

// dequantize turns the unmasked sums of n clients' values into their weighted mean: a
// value's sum S maps back as S·2c/T - n·c, divided by the weight ratios' sum W/T (weight
// is W, the sum's first word). Each value is its own: a sum dequantized by blocks is the
// same to the bit.
func dequantize(dst []float32, values []uint32, weight uint32, n int, c float64, T int64) {
	step := 2 * c / float64(T)
	ratio := float64(weight) / float64(T)
	for i, s := range values {
		dst[i] = float32((float64(float64(s)*step) - float64(n)*c) / ratio)
	}
}
