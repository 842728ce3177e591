package simd

// Min lowers dst to the element-wise minimum of dst and x: if x[i] < dst[i] { dst[i] = x[i] }.
// Equal values (such as -0 and +0) and NaN keep dst[i]; the rule, not math.Min, is the
// contract, since it is what one vector instruction does.
func Min(dst, x []float32) {
	dst = dst[:len(x)]
	fn := active.Load().k.min
	pieces(len(x), func(lo, hi int) { fn(dst[lo:hi], x[lo:hi]) },
		func(lo, hi int) { minGeneric(dst[lo:hi], x[lo:hi]) })
}

// Max raises dst to the element-wise maximum of dst and x: if x[i] > dst[i] { dst[i] = x[i] }.
// Equal values and NaN keep dst[i], as for Min.
func Max(dst, x []float32) {
	dst = dst[:len(x)]
	fn := active.Load().k.max
	pieces(len(x), func(lo, hi int) { fn(dst[lo:hi], x[lo:hi]) },
		func(lo, hi int) { maxGeneric(dst[lo:hi], x[lo:hi]) })
}

func minGeneric(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		if v < dst[i] {
			dst[i] = v
		}
	}
}

func maxGeneric(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		if v > dst[i] {
			dst[i] = v
		}
	}
}
