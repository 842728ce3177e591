package dp

import (
	"math"
	"math/bits"
	"sync/atomic"
)

// shape names a symmetric distribution on ℤ with P(k) ∝ exp(−φ(k)).
type shape uint8

const (
	gaussianShape shape = iota // the discrete Gaussian N_ℤ(0, s²): φ(k) = k²/(2s²)
	laplaceShape               // the discrete Laplace (two-sided geometric): φ(k) = |k|/s
	poissonShape               // Poisson of mean s: φ(k) = log(p(mode)/p(k)), k >= 0
	numShapes
)

// The samplers' tails: the discrete Gaussian is cut beyond 12s and the discrete Laplace
// beyond 72s, where less than 2^-100 of the mass lies (TailMass). The cut is the only
// way the samplers differ from their distributions.
const (
	gaussianTail = 12
	laplaceTail  = 72
	// MaxIntegerScale is the largest scale the integer samplers take, so that every
	// value within the tails is exact in an int64 and a float64.
	MaxIntegerScale = 0x1p46
	// TailMass bounds, per value drawn, the total variation distance between a sampler
	// and its distribution: the mass beyond its tail cut. A release of d values is
	// within d·TailMass of the exact mechanism, which the Ledger adds to δ.
	TailMass = 0x1p-100
)

// fastMargin is the relative error allowed to the float64 estimate of an acceptance
// probability: at least 2^8 times its worst error (see accept and poissonPhi), so the
// fast decisions are exact and the exact path runs for about one draw in 2^35 (2^31 for
// Poisson draws, whose estimate is less accurate).
const (
	fastMargin    = 0x1p-36
	poissonMargin = 0x1p-32
)

// sampler draws from the distribution of shape and scale s cut to [minK, maxK], exactly,
// by rejection from a piecewise-uniform proposal. The range is split into blocks of
// width W = 2^w, a block is proposed with an integer weight Q_b >= T·ρ_b (ρ_b the largest
// exp(−φ) in the block) through an alias table read with one 64-bit draw, a point in it
// uniformly, and the point k is accepted with probability exp(−φ(k))·T/Q_b <= 1. Every
// number in that chain is an integer or an exact rational, so the result has exactly
// the distribution ∝ exp(−φ(k)) on the covered points: floating point only decides the
// acceptance where its error bound allows (accept), and exactAccept decides the rest.
// φ is unimodal with φ(mode) = 0.
type sampler struct {
	shape      shape
	s          float64
	phiScale   float64 // 1/(2s²) or 1/s: φ(k) ≈ k²·phiScale or |k|·phiScale
	logPMode   float64 // poisson: log p(mode)
	margin     float64
	t          float64 // T, the proposal's scale; an exact rational like every other number
	w          uint
	mode       int64
	lo         int64 // block b covers [lo + b·W, lo + (b+1)·W)
	minK, maxK int64 // draws outside are refused
	colShift   uint  // a draw's top m bits pick the column
	vMask      uint64
	thresh     []uint64 // per column: take the column's block below this, else its alias
	alias      []uint16
	blocks     []block
}

type block struct {
	sq    uint64  // a draw below this accepts without evaluating exp: ≤ 2^64 · min acceptance
	scale float64 // T/Q_b, rounded
	q     uint64  // Q_b
}

// phi is φ(k) in float64: within 2^-51 relative for the Gaussian and Laplace shapes,
// within 2^-39 absolute for Poisson (poissonPhi).
func (t *sampler) phi(k int64) float64 {
	x := float64(k)
	switch t.shape {
	case gaussianShape:
		return x * x * t.phiScale
	case laplaceShape:
		return math.Abs(x) * t.phiScale
	}
	return t.logPMode - poissonLogP(k, t.s)
}

// newSampler builds the tables for a shape and a scale s in (0, MaxIntegerScale].
func newSampler(sh shape, s float64) *sampler {
	t := &sampler{shape: sh, s: s, margin: fastMargin}
	var spread float64 // the standard deviation's order, which sets the blocks' width
	var cut int64
	switch sh {
	case gaussianShape: // W <= s/64: acceptance within a block >= e^(−12/64)
		t.phiScale, spread, cut = 0.5/(s*s), s, int64(math.Ceil(gaussianTail*s))
	case laplaceShape: // W <= s/16: acceptance within a block >= e^(−1/16)
		t.phiScale, spread, cut = 1/s, 4*s, int64(math.Ceil(laplaceTail*s))
	case poissonShape:
		t.margin, spread = poissonMargin, math.Sqrt(s)
		t.mode = int64(math.Floor(s))
		t.logPMode = poissonLogP(t.mode, s)
	}
	if e := math.Ilogb(spread) - 6; e > 0 {
		t.w = uint(e)
	}
	W := int64(1) << t.w
	if sh == poissonShape {
		// Bennett's bounds: P(N >= μ + r) <= exp(−r²/(2(μ + r/3))) and P(N <= μ − r) <=
		// exp(−r²/(2μ)), both below e^-72 at r = 24 + √(576 + 144μ).
		r := int64(math.Ceil(24 + math.Sqrt(576+144*s)))
		t.minK, t.maxK = max(0, t.mode-r), t.mode+r+1
		t.lo = t.minK
	} else {
		side := cut>>t.w + 1
		t.lo, t.minK, t.maxK = -side*W, -(side*W - 1), side*W-1
	}
	nBlocks := int((t.maxK-t.lo)>>t.w + 1)
	m := uint(bits.Len(uint(nBlocks))) // 2^m columns > nBlocks: room for the rejection entry
	t.colShift, t.vMask = 64-m, 1<<(63-m)-1

	// Weights: Q_b >= T·ρ_b, with T sized so that they sum to just under 2^63 and the
	// rest, 2^63 − ΣQ_b, is a rejection entry of the alias table.
	rho := make([]float64, nBlocks)
	var total float64
	for b := range rho {
		near, _ := t.blockEnds(b)
		rho[b] = math.Exp(-t.phi(near))
		total += rho[b]
	}
	t.t = 0x1p63 * (1 - 0x1p-20) / total
	t.blocks = make([]block, nBlocks)
	weights := make([]uint64, 1<<m)
	var sum uint64
	for b := range t.blocks {
		q := uint64(math.Ceil(t.t * rho[b] * (1 + t.margin)))
		blk := &t.blocks[b]
		blk.q = q
		if q > 0 {
			blk.scale = t.t / float64(q)
			_, far := t.blockEnds(b)
			sq := math.Exp(-t.phi(far)) * blk.scale * (1 - t.margin) * 0x1p64
			blk.sq = uint64(math.Min(sq, 0x1p64-2048))
		}
		weights[b] = q
		sum += q
	}
	if sum > 1<<63 {
		panic("dp: sampler weights exceed 2^63") // impossible by the choice of T
	}
	weights[nBlocks] = 1<<63 - sum
	t.thresh, t.alias = aliasTable(weights, 63-m)
	return t
}

// blockEnds returns block b's points of the largest and the smallest exp(−φ): φ is
// unimodal, so they are its ends, or the mode and an end.
func (t *sampler) blockEnds(b int) (near, far int64) {
	start := t.lo + int64(b)<<t.w
	end := start + 1<<t.w - 1
	switch {
	case start >= t.mode:
		return start, end
	case end <= t.mode:
		return end, start
	case t.phi(start) > t.phi(end):
		return t.mode, start
	}
	return t.mode, end
}

// aliasTable builds Walker's alias table for integer weights summing to exactly
// len(weights)·2^c, in integers, so column j (of len(weights), chosen uniformly) with a
// uniform v in [0, 2^c) gives entry j when v < thresh[j] and alias[j] otherwise, and
// entry i comes out with probability exactly weights[i]/2^63.
func aliasTable(weights []uint64, c uint) (thresh []uint64, alias []uint16) {
	n, capacity := len(weights), uint64(1)<<c
	thresh, alias = make([]uint64, n), make([]uint16, n)
	w := append([]uint64(nil), weights...)
	var small, large []int
	for i, v := range w {
		if v < capacity {
			small = append(small, i)
		} else {
			large = append(large, i)
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		thresh[s], alias[s] = w[s], uint16(l)
		w[l] -= capacity - w[s]
		if w[l] < capacity {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	// What is left holds exactly one column's capacity each: the arithmetic is exact.
	for _, i := range append(small, large...) {
		thresh[i], alias[i] = capacity, uint16(i)
	}
	return thresh, alias
}

// draw returns one value: a proposal from the alias table and a uniform offset in its
// block, accepted against a uniform whose first bits share the offset's draw.
func (t *sampler) draw(src *keystream) int64 {
	for {
		u := src.uint64()
		col := u >> t.colShift
		b := col
		if u&t.vMask >= t.thresh[col] {
			b = uint64(t.alias[col])
		}
		if b >= uint64(len(t.blocks)) {
			continue // the rejection entry
		}
		// One draw gives the offset in the block (its low w bits) and the first 64−w bits
		// of the acceptance's uniform U; most draws are accepted on those alone.
		r := src.uint64()
		k := t.lo + int64(b)<<t.w + int64(r&(1<<t.w-1))
		if k < t.minK || k > t.maxK {
			continue // beyond the cut (or, for the symmetric shapes, −maxK−1)
		}
		blk := &t.blocks[b]
		head := r >> t.w
		if head < blk.sq>>t.w && !exactOnly {
			return k // U < (head+1)/2^(64−w) <= sq/2^64
		}
		u = r // U's first 64 bits: head, then w bits of a further draw
		if t.w > 0 {
			u = head<<t.w | src.uint64()>>(64-t.w)
		}
		if (u < blk.sq && !exactOnly) || t.accept(k, blk, u, src) {
			return k
		}
	}
}

// exactOnly sends every acceptance to exactAccept (a test hook).
var exactOnly bool

// accept decides whether U < exp(−φ(k))·T/Q_b for the uniform U in [0, 1) whose first 64
// bits are u. The float64 estimate p is within 2^-44 relative of the truth for the
// Gaussian and Laplace shapes (φ within 2^-51 relative, four roundings, and at most
// 72, so exp(−φ) within 2^-45, times one rounded T/Q_b) and within 2^-38 for Poisson.
// Where U's known bits put it beyond p·(1 ± margin) the answer is certain; otherwise
// exactAccept works it out.
func (t *sampler) accept(k int64, blk *block, u uint64, src *keystream) bool {
	if !exactOnly {
		p := math.Exp(-t.phi(k)) * blk.scale * 0x1p64
		if lo := p * (1 - t.margin); lo >= 1 && u < uint64(math.Min(lo, 0x1p64-2048)) {
			return true // U < (u+1)/2^64 <= lo/2^64
		}
		if hi := math.Ceil(p * (1 + t.margin)); hi < 0x1p64 && u >= uint64(hi) {
			return false // U >= u/2^64 >= hi/2^64
		}
	}
	return t.exactAccept(k, blk.q, u, src)
}

// Samplers are built per scale; the last one built for each shape is kept, since a
// training run draws at one scale round after round.
var lastSampler [numShapes]atomic.Pointer[sampler]

func samplerFor(sh shape, s float64) *sampler {
	if t := lastSampler[sh].Load(); t != nil && t.s == s {
		return t
	}
	t := newSampler(sh, s)
	lastSampler[sh].Store(t)
	return t
}
