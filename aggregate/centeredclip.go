package aggregate

import (
	"math"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/internal/check"
	"github.com/octomil/secagg/internal/parallel"
	"github.com/octomil/secagg/simd"
)

// CenteredClippingOptions tune CenteredClipping.
type CenteredClippingOptions struct {
	// Radius is τ: how far, in L2 norm, one update can pull the center in one pass.
	Radius float64
	// Iterations is L, the clipping passes (0: 1, as in the paper's experiments).
	Iterations int
	// Center is v₀, where the passes start: the previous round's aggregate, which is
	// what lets the rule learn from history (nil: zeros).
	Center []float32
}

// CenteredClipping writes into dst the centered-clipping aggregate of Karimireddy, He
// and Jaggi (2021, "Learning from History for Byzantine Robust Optimization"): starting
// from v = Center, Iterations times
//
//	v ← v + (1/n) Σ_i (x_i − v)·min(1, τ/‖x_i − v‖)
//
// so that no update moves the center by more than τ/n, however large it is. Each pass
// is one weighted mean of the updates and v in float64 (the weights are the clip
// factors, and v's is n − Σ factors), rounded once. A rejected call writes nothing.
func CenteredClipping(dst []float32, updates [][]float32, opt CenteredClippingOptions) error {
	if err := check.Batch(dst, updates); err != nil {
		return err
	}
	if err := validateCenteredClipping(opt.Radius, opt.Iterations); err != nil {
		return err
	}
	n, d := len(updates), len(dst)
	v := make([]float32, d)
	if opt.Center != nil {
		if err := secagg.ValidateUpdateLength("center", opt.Center, d); err != nil {
			return err
		}
		if i := simd.FirstNonFinite(opt.Center); i >= 0 {
			return secagg.Errorf(secagg.CodeValidation, "center", "center[%d] must be finite, got %v", i, opt.Center[i])
		}
		copy(v, opt.Center)
	}
	next := make([]float32, d)
	rows := append(make([][]float32, 0, n+1), updates...)
	weights := make([]float64, n+1)
	for range max(opt.Iterations, 1) {
		parallel.Ranges(parallel.Workers(), n, 1, func(_, i, _ int) {
			weights[i] = Distance(updates[i], v)
		})
		if CenteringWeights(weights, opt.Radius) >= 0 {
			return check.NonFinite(updates)
		}
		scaled, total := normalizeWeights(weights)
		if err := average(next, append(rows, v), scaled, 1/total); err != nil {
			return err
		}
		v, next = next, v
	}
	copy(dst, v)
	return nil
}

// CenteringWeights turns one pass's distances into its weights, in place: weights holds
// each client's distance to the center v and one more entry, and becomes each client's
// clip factor (1 within radius, radius/distance beyond) with v's own weight last, n
// minus their sum (what the clipping held back). The pass's next center is the weighted
// mean of the updates and v with these weights (WeightedMean of append(updates, v)). It
// returns the first client whose distance is not finite, or -1 when every one is.
func CenteringWeights(weights []float64, radius float64) (bad int) {
	n := len(weights) - 1
	pulled := 0.0
	for i, dist := range weights[:n] {
		if math.IsNaN(dist) || math.IsInf(dist, 0) {
			return i
		}
		weights[i] = 1
		if dist > radius {
			weights[i] = radius / dist
		}
		pulled += weights[i]
	}
	weights[n] = float64(n) - pulled
	return -1
}

// validateCenteredClipping checks τ and the passes, naming the Config fields.
func validateCenteredClipping(radius float64, iterations int) error {
	if !(radius > 0) || math.IsInf(radius, 0) {
		return secagg.Errorf(secagg.CodeValidation, "centered_clipping_radius",
			"centered_clipping_radius must be positive and finite, got %v", radius)
	}
	if iterations < 0 {
		return secagg.Errorf(secagg.CodeValidation, "centered_clipping_iterations",
			"centered_clipping_iterations must be >= 0, got %d", iterations)
	}
	return nil
}
