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
// weights. It returns the number of steps taken. Distances are Distance's and the steps
// the weighted-mean kernel's, so the result is the same bits on every path and
// GOMAXPROCS, and on a round sharded by blocks that runs Weiszfeld.
func GeometricMedian(dst []float32, updates [][]float32, weights []float64, opt GeometricMedianOptions) (steps int, err error) {
	if err := check.Batch(dst, updates); err != nil {
		return 0, err
	}
	dists := make([]float64, len(updates))
	_, steps, err = Weiszfeld(weights, len(updates), opt, func(betas []float64) ([]float64, error) {
		// The first step, the weighted mean, also checks every value is finite.
		if err := WeightedMean(dst, updates, betas); err != nil {
			return nil, err
		}
		parallel.Ranges(parallel.Workers(), len(updates), 1, func(_, i, _ int) {
			dists[i] = Distance(updates[i], dst)
		})
		return dists, nil
	})
	return steps, err
}

// Weiszfeld is GeometricMedian's iteration over n updates with its passes over them done
// by step, for a round held elsewhere (the Beam module runs each step as a pipeline).
// step is given the betas of a step, scaled so that their sum is in [0.5, 1) (the first
// step's are the weights), and must compute the weighted mean Σ β_i x_i / Σ β_i as
// WeightedMean does and return each update's Distance to it. Weiszfeld returns the betas
// of the last step, whose weighted mean is the geometric median, and the steps taken
// after the first (GeometricMedian's count). weights nil means equal weights.
func Weiszfeld(weights []float64, n int, opt GeometricMedianOptions, step func(betas []float64) (dists []float64, err error)) (betas []float64, steps int, err error) {
	if weights == nil {
		weights = make([]float64, n)
		for i := range weights {
			weights[i] = 1
		}
	} else if err := secagg.ValidateWeights(weights, n); err != nil {
		return nil, 0, err
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
		return nil, 0, secagg.Errorf(secagg.CodeValidation, "geometric_median",
			"max_iterations must be >= 0 and tolerance and smoothing positive and finite, got %d, %v, %v",
			opt.MaxIterations, opt.Tolerance, opt.Smoothing)
	}
	// Scaling by a power of two changes no weighted mean's bits, and keeps every beta
	// within ValidateWeights' range however small the distances get.
	betas, _ = normalizeWeights(weights)
	var dists []float64
	measure := func(betas []float64) (err error) {
		if dists, err = step(betas); err == nil && len(dists) != n {
			err = secagg.Errorf(secagg.CodeBadRequest, "geometric_median", "a step measured %d distances for %d updates", len(dists), n)
		}
		return err
	}
	if err := measure(betas); err != nil {
		return nil, 0, err
	}
	objective := func() float64 {
		g := 0.0
		for i, d := range dists {
			g += weights[i] * d
		}
		return g
	}
	g := objective()
	next := make([]float64, n)
	for steps < opt.MaxIterations {
		for i, d := range dists {
			next[i] = weights[i] / math.Max(opt.Smoothing, d)
		}
		scaled, _ := normalizeWeights(next)
		if err := measure(scaled); err != nil {
			return betas, steps, err
		}
		betas = scaled
		steps++
		now := objective()
		if g-now <= opt.Tolerance*now {
			break
		}
		g = now
	}
	return betas, steps, nil
}

// Distance returns the L2 distance between x and y as the geometric median and
// centered clipping measure it: the float64 squares summed (simd.SqDist) over each run
// of SqDistRange coordinates, the runs added in order, so that a round sharded by
// blocks of a multiple of SqDistRange coordinates gets the same bits.
func Distance(x, y []float32) float64 {
	sum := 0.0
	for lo := 0; lo < len(x); lo += SqDistRange {
		hi := min(lo+SqDistRange, len(x))
		sum += simd.SqDist(x[lo:hi], y[lo:hi])
	}
	return math.Sqrt(sum)
}
