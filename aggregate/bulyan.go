package aggregate

import (
	"math"
	"slices"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/internal/check"
	"github.com/octomil/secagg/internal/parallel"
	"github.com/octomil/secagg/simd"
)

// Bulyan writes into dst the Bulyan aggregate (El Mhamdi et al. 2018) tolerating f
// Byzantine clients, as Flower computes it: θ = n−2f updates are chosen by repeated Krum
// on the ones not yet chosen (each round scoring max(1, n'−f−2) nearest neighbours, ties
// to the lower index); then, coordinate by coordinate, the β = θ−2f chosen values closest
// to their median (numpy's) are averaged in float64 (in ascending order), ties in distance
// going to the update chosen earlier. It needs n >= 4f+3 updates (else insufficient_clients) and returns the
// indices chosen, in order. The coordinate phase is plain Go, not yet vectorised.
func Bulyan(dst []float32, updates [][]float32, f int) (selected []int, err error) {
	if err := check.Batch(dst, updates); err != nil {
		return nil, err
	}
	n := len(updates)
	if err := checkBulyan(n, f); err != nil {
		return nil, err
	}
	dist, finite := pairwiseSqDist(updates)
	if !finite {
		return nil, check.NonFinite(updates)
	}
	selected = bulyanSelect(dist, n, f)
	chosen := make([][]float32, len(selected))
	for a, i := range selected {
		chosen[a] = updates[i]
	}
	bulyanCoordinates(dst, chosen, n-4*f)
	return selected, nil
}

// BulyanSelectDistances is Bulyan's first phase from the n×n matrix of squared
// distances (the sum of SqDistances over a round's blocks): the θ = n−2f updates chosen
// by repeated Krum, in the order chosen. It needs n >= 4f+3.
func BulyanSelectDistances(dist []float64, n, f int) ([]int, error) {
	if err := checkBulyan(n, f); err != nil {
		return nil, err
	}
	if err := checkDistances(dist, n); err != nil {
		return nil, err
	}
	return bulyanSelect(dist, n, f), nil
}

// BulyanCoordinates is Bulyan's second phase on the chosen updates, in the order
// BulyanSelectDistances chose them (or on the same coordinates of each, a block): each
// coordinate of dst is the mean of the β = len(chosen)−2f chosen values closest to their
// median. A NaN or ±Inf value is a validation_error, and then dst is not written.
func BulyanCoordinates(dst []float32, chosen [][]float32, f int) error {
	if err := check.Batch(dst, chosen); err != nil {
		return err
	}
	if f < 0 || len(chosen) < 2*f+1 {
		return secagg.Errorf(secagg.CodeValidation, "byzantine_clients",
			"Bulyan's coordinate phase with byzantine_clients %d needs at least %d chosen updates, got %d", f, 2*f+1, len(chosen))
	}
	for _, u := range chosen {
		if simd.FirstNonFinite(u) >= 0 {
			return check.NonFinite(chosen) // names the first non-finite value
		}
	}
	bulyanCoordinates(dst, chosen, len(chosen)-2*f)
	return nil
}

// checkBulyan refuses an f that Bulyan cannot tolerate with n updates.
func checkBulyan(n, f int) error {
	if f < 0 {
		return secagg.Errorf(secagg.CodeValidation, "byzantine_clients", "byzantine_clients must be >= 0, got %d", f)
	}
	if n < 4*f+3 {
		return secagg.Errorf(secagg.CodeInsufficientClients, "updates",
			"Bulyan with byzantine_clients %d needs at least %d updates, got %d", f, 4*f+3, n)
	}
	return nil
}

// bulyanSelect is BulyanSelectDistances on checked arguments.
func bulyanSelect(dist []float64, n, f int) (selected []int) {
	remaining := make([]int, n)
	for i := range remaining {
		remaining[i] = i
	}
	for len(selected) < n-2*f {
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
	return selected
}

// bulyanCoordinates writes the mean of the beta chosen values closest to their median
// into each coordinate of dst, over all workers.
func bulyanCoordinates(dst []float32, chosen [][]float32, beta int) {
	const chunk = 4096
	theta := len(chosen)
	parallel.Ranges(parallel.Workers(), len(dst), chunk, func(_, lo, hi int) {
		vals := make([]float32, theta)
		keys := make([]uint64, 2*theta)
		for j := lo; j < hi; j++ {
			for a, u := range chosen {
				vals[a] = u[j]
			}
			dst[j] = closestMean(vals, beta, keys)
		}
	})
}

// closestMean returns the mean, in float64 rounded once, of the beta values of vals
// closest to their median (numpy's: the mean of the two middles for an even count), a
// tie in distance going to the value earlier in vals. keys is scratch of 2·len(vals).
//
// The values are sorted once, as (order-preserving bits, position) keys; the beta
// closest then form a window of the sorted values, grown from the median outwards one
// value at a time, and added in ascending order. Where the two sides tie (v = med ± δ),
// the two groups of equal values are taken in the order of their positions in vals.
func closestMean(vals []float32, beta int, keys []uint64) float32 {
	n := len(vals)
	keys, scratch := keys[:n], keys[n:2*n]
	for a, v := range vals {
		keys[a] = uint64(orderBits(v+0))<<32 | uint64(a) // v+0: −0 is +0, one group of zeros
	}
	sortByValue(keys, scratch)
	at := func(p int) float64 { return float64(fromOrderBits(uint32(keys[p] >> 32))) }
	index := func(p int) uint32 { return uint32(keys[p]) }
	med := at((n - 1) / 2)
	if n%2 == 0 {
		med = (med + at(n/2)) / 2
	}
	r := (n - 1) / 2 // the first value at or above the median
	for r > 0 && at(r-1) >= med {
		r--
	}
	for r < n && at(r) < med {
		r++
	}
	l := r - 1 // the window is (l, r)
	for taken := 0; taken < beta; {
		switch dl, dr := med-at(max(l, 0)), at(min(r, n-1))-med; {
		case r >= n || l >= 0 && dl < dr:
			l--
			taken++
		case l < 0 || dr < dl:
			r++
			taken++
		default: // a tie across the median: merge the two equal groups by position
			gl, gr := 1, 1
			for l-gl >= 0 && keys[l-gl]>>32 == keys[l]>>32 {
				gl++
			}
			for r+gr < n && keys[r+gr]>>32 == keys[r]>>32 {
				gr++
			}
			i, j := l-gl+1, r // each group's positions rise with the position in vals
			cl, cr := 0, 0
			for range min(beta-taken, gl+gr) {
				if j >= r+gr || i <= l && index(i) < index(j) {
					i, cl = i+1, cl+1
				} else {
					j, cr = j+1, cr+1
				}
			}
			l, r, taken = l-cl, r+cr, taken+cl+cr
		}
	}
	s := 0.0
	for p := l + 1; p < r; p++ {
		s += at(p)
	}
	return float32(s * (1 / float64(beta)))
}

// radixFrom is the count of keys from which sortByValue's radix sort beats the
// comparison sort (measured: Bulyan's θ = 80 on n100_d1m 1.86x faster, θ = 18 on
// n32_d4m 1.5x slower).
const radixFrom = 48

// sortByValue sorts keys (value bits << 32 | position, in position order) by value,
// stably, so the result is in (value, position) order: from radixFrom keys on, a
// least-significant-digit radix sort on the value's four bytes (a byte that every key
// shares skipped), which does not branch on the data as a comparison sort does; below
// it, slices.Sort on the whole keys, which gives the same order. scratch has len(keys).
func sortByValue(keys, scratch []uint64) {
	if len(keys) < radixFrom {
		slices.Sort(keys)
		return
	}
	src, dst := keys, scratch
	for shift := 32; shift < 64; shift += 8 {
		var count [257]int
		for _, k := range src {
			count[(k>>shift)&0xff+1]++
		}
		if count[(src[0]>>shift)&0xff+1] == len(src) {
			continue
		}
		for b := 1; b < len(count); b++ {
			count[b] += count[b-1]
		}
		for _, k := range src {
			b := (k >> shift) & 0xff
			dst[count[b]] = k
			count[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
}

// orderBits maps a float32 to a uint32 in the same order.
func orderBits(v float32) uint32 {
	b := math.Float32bits(v)
	if b>>31 != 0 {
		return ^b
	}
	return b | 1<<31
}

// fromOrderBits inverts orderBits.
func fromOrderBits(k uint32) float32 {
	if k>>31 != 0 {
		return math.Float32frombits(k &^ (1 << 31))
	}
	return math.Float32frombits(^k)
}
