package aggregate

import (
	"math"
	"slices"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/internal/check"
	"github.com/octomil/secagg/internal/parallel"
)

// Bulyan writes into dst the Bulyan aggregate (El Mhamdi et al. 2018) tolerating f
// Byzantine clients, as Flower computes it: θ = n−2f updates are chosen by repeated Krum
// on the ones not yet chosen (each round scoring max(1, n'−f−2) nearest neighbours, ties
// to the lower index); then, coordinate by coordinate, the β = θ−2f chosen values closest
// to their median (numpy's) are averaged in float64, ties in distance going to the update
// chosen earlier. It needs n >= 4f+3 updates (else insufficient_clients) and returns the
// indices chosen, in order. The coordinate phase is plain Go, not yet vectorised.
func Bulyan(dst []float32, updates [][]float32, f int) (selected []int, err error) {
	if err := check.Batch(dst, updates); err != nil {
		return nil, err
	}
	n := len(updates)
	if f < 0 {
		return nil, secagg.Errorf(secagg.CodeValidation, "byzantine_clients", "byzantine_clients must be >= 0, got %d", f)
	}
	if n < 4*f+3 {
		return nil, secagg.Errorf(secagg.CodeInsufficientClients, "updates",
			"Bulyan with byzantine_clients %d needs at least %d updates, got %d", f, 4*f+3, n)
	}
	dist, finite := pairwiseSqDist(updates)
	if !finite {
		return nil, check.NonFinite(updates)
	}
	theta, beta := n-2*f, n-4*f
	remaining := make([]int, n)
	for i := range remaining {
		remaining[i] = i
	}
	for len(selected) < theta {
		m := len(remaining)
		sub := make([]float64, m*m)
		for a, i := range remaining {
			for b, j := range remaining {
				sub[a*m+b] = dist[i*n+j]
			}
		}
		scores := krumScores(sub, m, max(1, m-f-2))
		best := 0
		for a := range scores {
			if scores[a] < scores[best] {
				best = a
			}
		}
		selected = append(selected, remaining[best])
		remaining = slices.Delete(remaining, best, best+1)
	}
	chosen := make([][]float32, theta)
	for a, i := range selected {
		chosen[a] = updates[i]
	}
	const chunk = 4096
	parallel.Ranges(parallel.Workers(), len(dst), chunk, func(_, lo, hi int) {
		vals := make([]float64, theta)
		sorted := make([]float64, theta)
		idx := make([]int, theta)
		for j := lo; j < hi; j++ {
			for a, u := range chosen {
				vals[a] = float64(u[j])
			}
			copy(sorted, vals)
			slices.Sort(sorted)
			med := sorted[(theta-1)/2]
			if theta%2 == 0 {
				med = (med + sorted[theta/2]) / 2
			}
			for a := range idx {
				idx[a] = a
			}
			slices.SortStableFunc(idx, func(a, b int) int {
				da, db := math.Abs(vals[a]-med), math.Abs(vals[b]-med)
				switch {
				case da < db:
					return -1
				case da > db:
					return 1
				}
				return 0
			})
			s := 0.0
			for _, a := range idx[:beta] {
				s += vals[a]
			}
			dst[j] = float32(s * (1 / float64(beta)))
		}
	})
	return selected, nil
}
