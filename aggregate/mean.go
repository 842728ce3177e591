package aggregate

import (
	"math"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/internal/check"
	"github.com/octomil/secagg/internal/parallel"
	"github.com/octomil/secagg/internal/pool"
	"github.com/octomil/secagg/simd"
)

// tile is how many coordinates one task averages: its float64 partial sums (32 KiB)
// stay in the core's cache while the N clients' slices of the tile stream through.
const tile = 4096

// Mean writes the coordinate-wise mean of the updates into dst:
// dst[j] = float32((Σ_i float64(updates[i][j])) * (1/N)), summed in client order.
// Every update must have len(dst) values, all finite.
func Mean(dst []float32, updates [][]float32) error {
	if err := check.Batch(dst, updates); err != nil {
		return err
	}
	return average(dst, updates, nil, 1/float64(len(updates)))
}

// WeightedMean writes Σ w_i x_i / Σ w_i into dst: FedAvg, with weights such as the
// clients' example counts. Weights must be finite and >= 0 with a positive sum. They are
// first scaled by the power of two that brings their sum into [0.5, 1), which is exact
// and keeps every product finite; each product is fused into the float64 sum with one
// rounding, and the sum is multiplied by the reciprocal of the scaled weight total.
// With equal weights that are powers of two (all ones, say) the result is bit-identical
// to Mean; other weights agree with the exact weighted mean to within one float32 ulp.
func WeightedMean(dst []float32, updates [][]float32, weights []float64) error {
	if err := check.Batch(dst, updates); err != nil {
		return err
	}
	if err := secagg.ValidateWeights(weights, len(updates)); err != nil {
		return err
	}
	scaled, total := normalizeWeights(weights)
	return average(dst, updates, scaled, 1/total)
}

// normalizeWeights scales the weights by the power of two that brings their sum into
// [0.5, 1) and returns them with their scaled sum.
func normalizeWeights(weights []float64) (scaled []float64, total float64) {
	sum := 0.0
	for _, w := range weights {
		sum += w
	}
	_, exp := math.Frexp(sum)
	scaled = make([]float64, len(weights))
	for i, w := range weights {
		scaled[i] = math.Ldexp(w, -exp)
		total += scaled[i]
	}
	return scaled, total
}

var sumsPool pool.Slices[float64] // per-worker tile sums, reused across calls

// average computes the (weighted) mean tile by tile; parallel.AllOrNothing hands the
// results to dst only if every one is finite, so a rejected call leaves dst as it was.
func average(dst []float32, updates [][]float32, weights []float64, scale float64) error {
	workers := parallel.Workers()
	sumsBuf := sumsPool.Get(workers * tile)
	defer sumsPool.Put(sumsBuf)
	sums := *sumsBuf
	ok := parallel.AllOrNothing(workers, dst, tile, func(w int, out []float32, lo, hi int) bool {
		s := sums[w*tile : w*tile+hi-lo]
		clear(s)
		if weights == nil {
			simd.AddRows(s, updates, lo)
		} else {
			simd.AddScaledRows(s, weights, updates, lo)
		}
		simd.Finish(out, s, scale)
		// A NaN or ±Inf in any update makes its coordinate's result non-finite, so
		// this check on the results, in cache, is the check on the inputs.
		return simd.FirstNonFinite(out) < 0
	})
	if ok {
		return nil
	}
	return check.NonFinite(updates)
}
