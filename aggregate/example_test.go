package aggregate_test

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/octomil/secagg/aggregate"
)

// FedAvg: three clients weighted by their example counts.
func ExampleWeightedMean() {
	updates := [][]float32{
		{0.5, -1.0, 2.0},
		{1.5, -3.0, 2.0},
		{1.0, 1.0, 2.0},
	}
	examples := []float64{100, 300, 600}
	global := make([]float32, 3)
	if err := aggregate.WeightedMean(global, updates, examples); err != nil {
		panic(err)
	}
	fmt.Println(global)
	// Output: [1.1 -0.4 2]
}

// A NaN from one client rejects the round with the platform's error, naming the client
// and the coordinate; dst keeps what it held.
func ExampleMean_rejected() {
	updates := [][]float32{{1, 2}, {3, float32(math.NaN())}}
	dst := []float32{7, 7}
	err := aggregate.Mean(dst, updates)
	b, _ := json.Marshal(err)
	fmt.Println(string(b))
	fmt.Println(dst)
	// Output:
	// {"error":"validation_error","message":"updates[1][1] must be finite, got NaN","status_code":422}
	// [7 7]
}
