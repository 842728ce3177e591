package dp_test

import (
	"fmt"
	"math"

	"github.com/octomil/secagg/dp"
)

// The privacy of TensorFlow Privacy's MNIST tutorial, under both conversions.
func ExampleEpsilonAfter() {
	q, z, steps := 256.0/60000, 1.1, 14062
	for _, conv := range []dp.Conversion{dp.Classic, dp.Improved} {
		eps, order, _ := dp.EpsilonAfter(q, z, steps, 1e-5, nil, conv)
		fmt.Printf("%s: ε = %.2f at order %v\n", conv, eps, order)
	}
	// Output:
	// classic: ε = 3.01 at order 8.8
	// improved: ε = 2.60 at order 8.1
}

// A ledger refuses the round that would overspend, before any noise is drawn.
func ExampleLedger() {
	ledger, _ := dp.NewLedger(2, 1e-5, dp.Improved, nil)
	rounds := 0
	for {
		if _, err := ledger.Charge(0.01, 1.1, 1_000_000); err != nil {
			fmt.Println(err)
			break
		}
		rounds++
	}
	spent, _ := ledger.Spent()
	fmt.Printf("%d rounds fit, ε spent %.4f\n", rounds, spent)
	// Output:
	// conflict: round 1405 would spend epsilon 2.00013 of a budget of 2 at delta 1e-05 (spent so far 1.99945)
	// 1404 rounds fit, ε spent 1.9994
}

// σ for (ε, δ) = (1, 1e-5) and sensitivity 1: the analytic Gaussian against the classic bound.
func ExampleGaussianSigma() {
	analytic, _ := dp.GaussianSigma(1, 1e-5, 1)
	classic, _ := dp.ClassicGaussianSigma(1, 1e-5, 1)
	fmt.Printf("%.4f %.4f\n", analytic, classic)
	// Output: 3.7306 4.8448
}

// Distributed DP's noise: each of ten clients adds Skellam noise of variance 2μ to its
// integer update, and the sum carries Skellam noise of variance 20μ (sums of Skellam
// draws are Skellam, so the accountant's figure is exact for the sum).
func ExampleSkellam() {
	const clients, mu, d = 10, 50.0, 100_000
	sum := make([]int64, d)
	noise := make([]int64, d)
	for c := range clients {
		_ = dp.Skellam(noise, mu, dp.InsecureSeededSource(uint64(c)))
		for i, k := range noise {
			sum[i] += k
		}
	}
	var sq float64
	for _, k := range sum {
		sq += float64(k) * float64(k)
	}
	fmt.Printf("variance of the summed noise / (20μ): %.2f\n", sq/d/(20*mu))
	// Output: variance of the summed noise / (20μ): 1.00
}

// The noise lies on the grid whatever x was: here every output is a multiple of g.
func ExampleAddGaussian() {
	x := []float32{0.1, 0.2, 0.3}
	_ = dp.AddGaussian(x, 0.5, dp.InsecureSeededSource(7))
	g := dp.Granularity(0.5)
	for _, v := range x {
		k := float64(v) / g
		fmt.Println(k == math.Trunc(k))
	}
	// Output:
	// true
	// true
	// true
}
