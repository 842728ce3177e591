package simd_test

import (
	"fmt"

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
