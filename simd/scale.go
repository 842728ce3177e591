package simd

import "math"

// Scale multiplies x in place by a in float32: x[i] *= a.
func Scale(x []float32, a float32) {
	scale := active.Load().k.scale
	pieces(len(x), func(lo, hi int) { scale(x[lo:hi], a) },
		func(lo, hi int) { scaleGeneric(x[lo:hi], a) })
}

func scaleGeneric(x []float32, a float32) {
	for i := range x {
		x[i] *= a
	}
}

// ScaleFlip writes x times a into dst, negated where signs says: dst[i] = x[i]*a in
// float32 with its sign bit flipped if bit i of signs (byte i/8, least significant bit
// first) is set. A randomised Hadamard rotation flips its coordinates so, before and
// after the transform. x may be dst; len(x) must be at least len(dst), and signs hold a
// bit for each of dst.
func ScaleFlip(dst, x []float32, a float32, signs []byte) {
	x = x[:len(dst)]
	signs = signs[:(len(dst)+7)/8]
	k := active.Load().k.scaleFlip
	pieces(len(dst), func(lo, hi int) { k(dst[lo:hi], x[lo:hi], a, signs[lo/8:]) },
		func(lo, hi int) { scaleFlipGeneric(dst[lo:hi], x[lo:hi], a, signs[lo/8:]) })
}

func scaleFlipGeneric(dst, x []float32, a float32, signs []byte) {
	x = x[:len(dst)]
	for i, v := range x {
		flip := uint32(signs[i>>3]>>(i&7)&1) << 31
		dst[i] = math.Float32frombits(math.Float32bits(v*a) ^ flip)
	}
}
