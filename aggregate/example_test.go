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

// A coordinator's round: clients add as they arrive, from any goroutine; the round is
// finalised once enough have.
func ExampleRound() {
	engine, err := aggregate.New(aggregate.Config{Strategy: aggregate.StrategyWeightedMean, MinClients: 2})
	if err != nil {
		panic(err)
	}
	round, _ := engine.NewRound(3)
	round.Add("phone-1", []float32{1, 2, 3}, 10)
	round.Add("phone-2", []float32{3, 2, 1}, 30)
	err = round.Add("phone-1", []float32{9, 9, 9}, 10)
	fmt.Println(err)
	global := make([]float32, 3)
	res, _ := round.Finalize(global)
	fmt.Println(global, res.Clients)
	// Output:
	// conflict: client "phone-1" already submitted an update this round
	// [2.5 2 1.5] 2
}

// A batch a notebook already holds, one poisoned client among five: the mean follows
// the attacker, Krum picks an honest update.
func ExampleAggregate() {
	updates := [][]float32{{1, 1}, {1.1, 0.9}, {0.9, 1.1}, {1, 1.05}, {-100, 100}}
	for _, cfg := range []aggregate.Config{
		{Strategy: aggregate.StrategyMean},
		{Strategy: aggregate.StrategyKrum, ByzantineClients: 1},
	} {
		global := make([]float32, 2)
		res, err := aggregate.Aggregate(global, updates, nil, cfg, nil)
		if err != nil {
			panic(err)
		}
		fmt.Println(res.Strategy, global, res.Selected)
	}
	// Output:
	// mean [-19.2 20.81] []
	// krum [1 1.05] [3]
}
