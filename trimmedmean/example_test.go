package trimmedmean_test

import (
	"fmt"

	"github.com/octomil/secagg/trimmedmean"
)

// Five clients, one of them poisoned: trimming one value from each end of every
// coordinate removes its pull.
func ExampleTrimmedMean() {
	updates := [][]float32{
		{0.10, -0.20},
		{0.12, -0.18},
		{0.11, -0.22},
		{0.09, -0.20},
		{1e6, 1e6}, // poisoned
	}
	global := make([]float32, 2)
	if err := trimmedmean.TrimmedMean(global, updates, 0.2); err != nil { // k = floor(0.2·5) = 1
		panic(err)
	}
	fmt.Println(global)
	// Output: [0.11 -0.19333334]
}

// The median follows numpy: the mean of the two middle values for an even count.
func ExampleMedian() {
	updates := [][]float32{{1}, {4}, {2}, {100}}
	median := make([]float32, 1)
	if err := trimmedmean.Median(median, updates); err != nil {
		panic(err)
	}
	fmt.Println(median)
	// Output: [3]
}

// Two shards stream their clients and merge; the result does not depend on the split.
func ExampleStream() {
	a, _ := trimmedmean.NewStream(1, 1)
	b, _ := trimmedmean.NewStream(1, 1)
	for _, v := range []float32{3, -50} {
		a.Add([]float32{v})
	}
	for _, v := range []float32{5, 4, 90} {
		b.Add([]float32{v})
	}
	blob, _ := b.MarshalBinary() // e.g. sent from another machine
	var remote trimmedmean.Stream
	if err := remote.UnmarshalBinary(blob); err != nil {
		panic(err)
	}
	a.Merge(&remote)
	out := make([]float32, 1)
	a.Result(out) // drops -50 and 90, averages 3, 4, 5
	fmt.Println(a.Count(), out, a.MemoryBytes())
	// Output: 5 [4] 136
}

// A coordinator with room for a buffer folds it into the stream: the extremes are
// chosen among the kept values and the buffer at once.
func ExampleStream_Fold() {
	s, _ := trimmedmean.NewStream(2, 1)
	s.Fold([][]float32{{1, 10}, {-40, 20}, {3, 30}})  // keeps -40, 3 and 10, 30; sums 1 and 20
	s.Fold([][]float32{{2, 900}, {50, 40}, {-1, 25}}) // keeps -40, 50 and 10, 900
	out := make([]float32, 2)
	s.Result(out) // drops -40 and 50, 10 and 900
	fmt.Println(s.Count(), out)
	// Output: 6 [1.25 28.75]
}
