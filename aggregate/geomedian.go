package aggregate

import (
	"math"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/internal/check"
	"github.com/octomil/secagg/internal/parallel"
	"github.com/octomil/secagg/simd"
)

// GeometricMedianOptions tune GeometricMedian; the zero value takes the defaults of
// Pillutla et al.'s RFA.
type GeometricMedianOptions struct {
	MaxIterations int     // cap on Weiszfeld steps (default 100)
	Tolerance     float64 // stop when the objective improves by less than this fraction (default 1e-6)
	Smoothing     float64 // ν: distances below it count as ν, so no update gets infinite weight (default 1e-6)
}

// GeometricMedian writes into dst an approximation of the weighted geometric median of
// the updates, argmin_z Σ w_i ‖z − x_i‖, by the smoothed Weiszfeld iteration of RFA
// (Pillutla, Kakade and Harchaoui 2019): start from the weighted mean, then repeatedly
// z ← Σ β_i x_i / Σ β_i with β_i = w_i / max(ν, ‖z − x_i‖), until the objective improves
// by less than Tolerance of itself or MaxIterations is reached. weights nil means equal
// weights. It returns the number of steps taken. Distances use simd.SqDist and the steps
// the weighted-mean kernel, so the result is the same bits on every path and GOMAXPROCS.
func GeometricMedian(dst []float32, updates [][]float32, weights []float64, opt GeometricMedianOptions) (steps int, err error) {
	if err := check.Batch(dst, updates); err != nil {
		return 0, err
	}
	n := len(updates)
	if weights == nil {
		weights = make([]float64, n)
		for i := range weights {
			weights[i] = 1
		}
	} else if err := secagg.ValidateWeights(weights, n); err != nil {
		return 0, err
	}
	if opt.MaxIterations == 0 {
		opt.MaxIterations = 100
	}
	if opt.Tolerance == 0 {
		opt.Tolerance = 1e-6
	}
	if opt.Smoothing == 0 {
		opt.Smoothing = 1e-6
	}
	if opt.MaxIterations < 0 || !(opt.Tolerance > 0) || !(opt.Smoothing > 0) ||
		math.IsInf(opt.Tolerance, 0) || math.IsInf(opt.Smoothing, 0) {
		return 0, secagg.Errorf(secagg.CodeValidation, "geometric_median",
			"max_iterations must be >= 0 and tolerance and smoothing positive and finite, got %d, %v, %v",
			opt.MaxIterations, opt.Tolerance, opt.Smoothing)
	}
	// The starting point is the weighted mean; it also checks every value is finite.
	if err := WeightedMean(dst, updates, weights); err != nil {
		return 0, err
	}
	dists := make([]float64, n)
	objective := func() float64 {
		parallel.Ranges(parallel.Workers(), n, 1, func(_, i, _ int) {
			dists[i] = math.Sqrt(simd.SqDist(updates[i], dst))
		})
		g := 0.0
		for i, d := range dists {
			g += weights[i] * d
		}
		return g
	}
	g := objective()
	betas := make([]float64, n)
	for steps < opt.MaxIterations {
		for i, d := range dists {
			betas[i] = weights[i] / math.Max(opt.Smoothing, d)
		}
		scaled, sum := normalizeWeights(betas)
		if err := average(dst, updates, scaled, 1/sum); err != nil {
			return steps, err
		}
		steps++
		next := objective()
		if g-next <= opt.Tolerance*next {
			break
		}
		g = next
	}
	return steps, nil
}
