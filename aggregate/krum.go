package aggregate

import (
	"math"
	"slices"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/internal/check"
	"github.com/octomil/secagg/internal/parallel"
	"github.com/octomil/secagg/simd"
)

// Krum writes into dst the update that Krum selects (Blanchard et al. 2017): the one
// whose squared distances to its n−f−2 nearest other updates sum lowest, f being the
// number of Byzantine clients to tolerate. It needs n > 2f+2 updates (else
// insufficient_clients) and returns the index of the selected update.
func Krum(dst []float32, updates [][]float32, f int) (selected int, err error) {
	sel, err := MultiKrum(dst, updates, f, 1)
	if err != nil {
		return 0, err
	}
	return sel[0], nil
}

// MultiKrum writes into dst the mean of the m updates with the lowest Krum scores (ties
// go to the lower index) and returns their indices, lowest score first.
func MultiKrum(dst []float32, updates [][]float32, f, m int) (selected []int, err error) {
	if err := check.Batch(dst, updates); err != nil {
		return nil, err
	}
	n := len(updates)
	if err := checkKrum(n, f, m); err != nil {
		return nil, err
	}
	if selected, err = krumSelect(updates, n-f-2, m); err != nil {
		return nil, err
	}
	chosen := make([][]float32, m)
	for i, s := range selected {
		chosen[i] = updates[s]
	}
	if err := Mean(dst, chosen); err != nil {
		return nil, err
	}
	return selected, nil
}

// KrumSelect returns the indices of the m updates with the lowest Krum scores, lowest
// first (ties to the lower index), each score the sum of the update's `nearest` smallest
// squared distances to the others. Krum is nearest = n−f−2; Flower's Krum and
// Multi-Krum take max(1, n−f−2), which also runs where n <= 2f+2 and Krum's guarantee
// does not hold: this is the selection its adapter uses. nearest must be in [1, n−1].
func KrumSelect(updates [][]float32, nearest, m int) ([]int, error) {
	if len(updates) == 0 {
		return nil, secagg.Errorf(secagg.CodeBadRequest, "updates", "updates must hold at least one update")
	}
	for i, u := range updates {
		if err := secagg.ValidateUpdateLength(check.UpdateName(i), u, len(updates[0])); err != nil {
			return nil, err
		}
	}
	n := len(updates)
	if nearest < 1 || nearest > n-1 {
		return nil, secagg.Errorf(secagg.CodeValidation, "nearest", "nearest must be in [1, %d], got %d", n-1, nearest)
	}
	if m < 1 || m > n {
		return nil, secagg.Errorf(secagg.CodeValidation, "multi_krum_m", "multi_krum_m must be in [1, %d], got %d", n, m)
	}
	return krumSelect(updates, nearest, m)
}

// krumSelect is KrumSelect on checked arguments.
func krumSelect(updates [][]float32, nearest, m int) ([]int, error) {
	dist, finite := pairwiseSqDist(updates)
	if !finite {
		return nil, check.NonFinite(updates)
	}
	return selectLowest(krumScores(dist, len(updates), nearest), m), nil
}

// SqDistRange is the run of coordinates whose squared distances Krum and Bulyan add up
// on their own: the matrix of a round is the sum, in coordinate order, of one partial
// matrix per SqDistRange coordinates. A computation sharded by blocks of exactly
// SqDistRange coordinates that adds its blocks' SqDistances in block order gets the
// round's distances bit for bit.
const SqDistRange = pairTask

// SqDistances returns the n×n matrix, row-major, of the squared L2 distances between
// the updates as Krum and Bulyan measure them (float32 differences, float64 sums), for
// a computation sharded by coordinates. A NaN or ±Inf value is a validation_error
// naming the update.
func SqDistances(updates [][]float32) ([]float64, error) {
	if len(updates) == 0 {
		return nil, secagg.Errorf(secagg.CodeBadRequest, "updates", "updates must hold at least one update")
	}
	for i, u := range updates {
		if err := secagg.ValidateUpdateLength(check.UpdateName(i), u, len(updates[0])); err != nil {
			return nil, err
		}
	}
	dist, finite := pairwiseSqDist(updates)
	if !finite {
		return nil, check.NonFinite(updates)
	}
	return dist, nil
}

// KrumSelectDistances is MultiKrum's selection from the n×n matrix of squared
// distances (the sum of SqDistances over a round's blocks): the m lowest Krum scores
// tolerating f Byzantine clients, lowest first, ties to the lower index. It needs
// n > 2f+2, as MultiKrum does.
func KrumSelectDistances(dist []float64, n, f, m int) ([]int, error) {
	if err := checkKrum(n, f, m); err != nil {
		return nil, err
	}
	if err := checkDistances(dist, n); err != nil {
		return nil, err
	}
	return selectLowest(krumScores(dist, n, n-f-2), m), nil
}

// checkKrum refuses an f that Krum cannot tolerate with n updates, or an m it cannot
// average.
func checkKrum(n, f, m int) error {
	if f < 0 {
		return secagg.Errorf(secagg.CodeValidation, "byzantine_clients", "byzantine_clients must be >= 0, got %d", f)
	}
	if n <= 2*f+2 {
		return secagg.Errorf(secagg.CodeInsufficientClients, "updates",
			"Krum with byzantine_clients %d needs more than %d updates, got %d", f, 2*f+2, n)
	}
	if m < 1 || m > n {
		return secagg.Errorf(secagg.CodeValidation, "multi_krum_m", "multi_krum_m must be in [1, %d], got %d", n, m)
	}
	return nil
}

// checkDistances checks a matrix of squared distances given to a selection: n×n,
// finite, >= 0 and symmetric (it is a sum of SqDistances; anything else was not).
func checkDistances(dist []float64, n int) error {
	if n < 1 || len(dist) != n*n {
		return secagg.Errorf(secagg.CodeBadRequest, "distances", "%d distances for %d updates; want %d×%d", len(dist), n, n, n)
	}
	for i := range n {
		for j := range n {
			v := dist[i*n+j]
			if !(v >= 0) || math.IsInf(v, 1) || v != dist[j*n+i] || (i == j && v != 0) {
				return secagg.Errorf(secagg.CodeBadRequest, "distances",
					"distance (%d, %d) is %v: not a matrix of squared distances", i, j, v)
			}
		}
	}
	return nil
}

// selectLowest returns the indices of the m lowest scores, lowest first, ties to the
// lower index.
func selectLowest(scores []float64, m int) []int {
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case scores[a] < scores[b]:
			return -1
		case scores[a] > scores[b]:
			return 1
		}
		return 0
	})
	return order[:m]
}

// krumScores returns, for each update, the sum of its `nearest` smallest squared
// distances to the other updates (all of them if there are fewer, as Flower's slice of
// the sorted row does: Bulyan's last pick has no other update left).
func krumScores(dist []float64, n, nearest int) []float64 {
	scores := make([]float64, n)
	row := make([]float64, 0, n-1)
	for i := range n {
		row = row[:0]
		for j := range n {
			if j != i {
				row = append(row, dist[i*n+j])
			}
		}
		slices.Sort(row)
		for _, v := range row[:min(nearest, len(row))] {
			scores[i] += v
		}
	}
	return scores
}

// pairTile is how many coordinates of every update one pass over all pairs reads: the
// tiles of all N updates stay in cache (L2/L3) while the N(N−1)/2 pairs are measured, so
// memory is read once, not N times.
const pairTile = 16384

// pairTask is how many coordinates one worker's partial distance matrix covers (a
// multiple of pairTile).
const pairTask = 1 << 16

// pairwiseSqDist returns the N×N matrix of squared distances between the updates, and
// whether all are finite. The pairs are measured PairBlock × PairBlock at a time by
// simd.SqDistPairs (float32 differences and squares, float64 sums; the update list is
// padded to a multiple of PairBlock with its last update, whose extra pairs are not
// used); a pair whose float32 arithmetic overflows is measured again in float64 by
// simd.SqDist, so only a non-finite input makes a distance non-finite. Each fixed range of
// coordinates gets its own partial matrix, added up in range order, so the result does
// not depend on the number of workers.
func pairwiseSqDist(updates [][]float32) (dist []float64, finite bool) {
	n, d := len(updates), len(updates[0])
	blocks := (n + simd.PairBlock - 1) / simd.PairBlock
	padded := make([][]float32, blocks*simd.PairBlock)
	for i := range padded {
		padded[i] = updates[min(i, n-1)]
	}
	tasks := (d + pairTask - 1) / pairTask
	parts := make([]float64, tasks*n*n)
	parallel.Ranges(parallel.Workers(), d, pairTask, func(_, lo, hi int) {
		part := parts[lo/pairTask*n*n : (lo/pairTask+1)*n*n]
		for t := lo; t < hi; t += pairTile {
			e := min(t+pairTile, hi)
			for bi := range blocks {
				a := padded[bi*simd.PairBlock : (bi+1)*simd.PairBlock]
				for bj := bi; bj < blocks; bj++ {
					var block [simd.PairBlock * simd.PairBlock]float64
					simd.SqDistPairs(&block, a, padded[bj*simd.PairBlock:(bj+1)*simd.PairBlock], t, e-t)
					for p, v := range block {
						i, j := bi*simd.PairBlock+p/simd.PairBlock, bj*simd.PairBlock+p%simd.PairBlock
						if i >= j || j >= n {
							continue
						}
						if !(v <= math.MaxFloat64) { // overflowed float32, or a NaN/Inf input
							v = simd.SqDist(updates[i][t:e], updates[j][t:e])
						}
						part[i*n+j] += v
					}
				}
			}
		}
	})
	dist = make([]float64, n*n)
	finite = true
	for t := range tasks {
		part := parts[t*n*n : (t+1)*n*n]
		for i := range n {
			for j := i + 1; j < n; j++ {
				dist[i*n+j] += part[i*n+j]
			}
		}
	}
	for i := range n {
		for j := i + 1; j < n; j++ {
			v := dist[i*n+j]
			if math.IsNaN(v) || math.IsInf(v, 1) {
				finite = false
			}
			dist[j*n+i] = v
		}
	}
	return dist, finite
}
