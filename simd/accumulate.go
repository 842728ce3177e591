package simd

import "math"

// Add adds a client vector into float64 sums: sum[i] += float64(x[i]) for i < len(x).
func Add(sum []float64, x []float32) {
	sum = sum[:len(x)]
	add := active.Load().k.add
	pieces(len(x), func(lo, hi int) { add(sum[lo:hi], x[lo:hi]) },
		func(lo, hi int) { addGeneric(sum[lo:hi], x[lo:hi]) })
}

// AddScaled adds a weighted client vector into float64 sums with one rounding per
// element: sum[i] = math.FMA(w, float64(x[i]), sum[i]) for i < len(x).
func AddScaled(sum []float64, w float64, x []float32) {
	sum = sum[:len(x)]
	addScaled := active.Load().k.addScaled
	pieces(len(x), func(lo, hi int) { addScaled(sum[lo:hi], w, x[lo:hi]) },
		func(lo, hi int) { addScaledGeneric(sum[lo:hi], w, x[lo:hi]) })
}

// Finish scales float64 sums and rounds them once to float32:
// dst[i] = float32(sum[i] * scale) for i < len(dst).
func Finish(dst []float32, sum []float64, scale float64) {
	sum = sum[:len(dst)]
	finish := active.Load().k.finish
	pieces(len(dst), func(lo, hi int) { finish(dst[lo:hi], sum[lo:hi], scale) },
		func(lo, hi int) { finishGeneric(dst[lo:hi], sum[lo:hi], scale) })
}

func addGeneric(sum []float64, x []float32) {
	sum = sum[:len(x)]
	for i, v := range x {
		sum[i] += float64(v)
	}
}

func addScaledGeneric(sum []float64, w float64, x []float32) {
	sum = sum[:len(x)]
	for i, v := range x {
		sum[i] = math.FMA(w, float64(v), sum[i])
	}
}

func finishGeneric(dst []float32, sum []float64, scale float64) {
	sum = sum[:len(dst)]
	for i, s := range sum {
		dst[i] = float32(s * scale)
	}
}
