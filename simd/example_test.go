package simd_test

import (
	"fmt"
	"math"

	"github.com/octomil/secagg/simd"
)

// The mean of three client vectors: accumulate in float64, then round once to float32.
func Example() {
	clients := [][]float32{{1, 2, 3}, {4, 5, 6}, {7, 8, 10}}
	sum := make([]float64, 3)
	for _, x := range clients {
		simd.Add(sum, x)
	}
	mean := make([]float32, 3)
	simd.Finish(mean, sum, 1.0/float64(len(clients)))
	fmt.Println(mean)
	// Output: [4 5 6.3333335]
}

// Dot and SumSquares give the same float64 on every path and alignment.
func ExampleSumSquares() {
	x := []float32{3, 4}
	fmt.Println(simd.SumSquares(x), simd.Dot(x, []float32{1, 1}))
	// Output: 25 7
}

// Active and Reason tell which path runs and why; Select forces another one.
func ExampleSelect() {
	prev, err := simd.Select(simd.Generic)
	if err != nil {
		panic(err)
	}
	defer simd.Select(prev)
	fmt.Println(simd.Active())
	// Output: generic
}

// The order statistics of a tile of three clients' coordinates 1-2, with the tile left
// in a panel for a second pass (KeptSum) to read from there: trimming k = 1 from each
// end of three values keeps the middle one.
func ExampleBoundsCopy() {
	clients := [][]float32{{0, 5, 1}, {0, 3, 9}, {0, 4, 2}}
	const off, width, stride = 1, 2, 4
	panel := simd.Panel{Data: make([]float32, 3*stride), Stride: stride, Rows: make([][]float32, 3)}
	for i := range panel.Rows {
		panel.Rows[i] = panel.Data[i*stride : i*stride+width]
	}
	lo, hi := make([]float32, width), make([]float32, width)
	simd.BoundsCopy(lo, hi, clients, off, 1, panel)
	sum := make([]float64, width)
	simd.KeptSum(sum, panel.Rows, 0, 1, lo, hi)
	fmt.Println(lo, hi, sum, panel.Rows)
	// Output: [4 2] [4 2] [4 2] [[5 1] [3 9] [4 2]]
}

// A copy that is also the check: the update is read once, and a NaN or ±Inf is named
// by its index (the copy is then unspecified, to be thrown away).
func ExampleCopyFinite() {
	copied := make([]float32, 3)
	fmt.Println(simd.CopyFinite(copied, []float32{1, 2, 3}), copied)
	inf := float32(math.Inf(1))
	fmt.Println(simd.CopyFinite(copied, []float32{1, inf, 3}))
	// Output:
	// -1 [1 2 3]
	// 1
}
