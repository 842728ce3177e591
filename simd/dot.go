package simd

import "math"

// Dot returns the dot product of x and y[:len(x)] in float64. The products of two
// float32 are exact in float64; they are summed into Block partial sums (element i into
// partial sum i%Block, in order) which are then added pairwise, halves first. That fixed
// order makes the result the same on every path and every alignment.
func Dot(x, y []float32) float64 {
	y = y[:len(x)]
	var acc [Block]float64
	dot := active.Load().k.dot
	pieces(len(x), func(lo, hi int) { dot(&acc, x[lo:hi], y[lo:hi]) },
		func(lo, hi int) { dotGeneric(&acc, x[lo:hi], y[lo:hi]) })
	return reduce(&acc)
}

// SumSquares returns the sum of x[i]*x[i] in float64, in the order of Dot(x, x).
func SumSquares(x []float32) float64 {
	var acc [Block]float64
	sumSquares := active.Load().k.sumSquares
	pieces(len(x), func(lo, hi int) { sumSquares(&acc, x[lo:hi]) },
		func(lo, hi int) { sumSquaresGeneric(&acc, x[lo:hi]) })
	return reduce(&acc)
}

// reduce adds the partial sums pairwise: acc[i] += acc[i+h] for h = 16, 8, 4, 2, 1.
func reduce(acc *[Block]float64) float64 {
	for h := Block / 2; h > 0; h /= 2 {
		for i := range h {
			acc[i] += acc[i+h]
		}
	}
	return acc[0]
}

// dotGeneric is the specification of the dot kernels; len(x) need not be a multiple of
// Block, but x must start at a multiple of Block within the whole vector.
func dotGeneric(acc *[Block]float64, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		acc[i%Block] += float64(v) * float64(y[i])
	}
}

func sumSquaresGeneric(acc *[Block]float64, x []float32) {
	for i, v := range x {
		acc[i%Block] += float64(v) * float64(v)
	}
}

// SqDist returns the squared Euclidean distance Σ (x[i] − y[i])² between x and
// y[:len(x)] in float64, each difference taken in float64 and fused into its partial sum
// in Dot's blocking and order. Taking differences rather than ‖x‖² + ‖y‖² − 2x·y keeps
// close vectors' distances accurate and never negative (Krum's scores depend on them).
func SqDist(x, y []float32) float64 {
	y = y[:len(x)]
	var acc [Block]float64
	sq := active.Load().k.sqDist
	pieces(len(x), func(lo, hi int) { sq(&acc, x[lo:hi], y[lo:hi]) },
		func(lo, hi int) { sqDistGeneric(&acc, x[lo:hi], y[lo:hi]) })
	return reduce(&acc)
}

func sqDistGeneric(acc *[Block]float64, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		d := float64(v) - float64(y[i])
		acc[i%Block] = math.FMA(d, d, acc[i%Block])
	}
}
