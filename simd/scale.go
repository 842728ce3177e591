package simd

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
