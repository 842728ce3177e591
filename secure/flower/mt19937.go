package flower

import "github.com/octomil/secagg/simd"

// mt19937 is the Mersenne Twister as numpy's legacy RandomState runs it (seeded from one
// 32-bit integer by init_genrand), drawing as randint does over [0, rng]: each output
// ANDed with the smallest all-ones mask covering rng, drawn again while above it. The
// twist and tempering are simd.MTNext, 624 words at a time (16 lanes on AVX-512), or
// MTNextAdd and MTNextSub where a whole block goes into the sums.
type mt19937 struct {
	st        simd.MTState
	out       [624]uint32 // the current block's outputs, masked
	pos       int         // the next unread one
	above     int         // how many of the block exceed rng
	mask, rng uint32
	buf       []uint32
}

const mtN = 624

func newMT19937(seed, rng uint32) *mt19937 {
	g := &mt19937{pos: mtN, rng: rng, mask: coverMask(rng)}
	g.st[0] = seed
	for i := 1; i < mtN; i++ {
		prev := g.st[i-1]
		g.st[i] = 1812433253*(prev^prev>>30) + uint32(i)
	}
	return g
}

func (g *mt19937) refill() {
	g.above = simd.MTNext(&g.out, &g.st, g.mask, g.rng)
	g.pos = 0
}

// bounded is one draw. rng = 0 draws nothing (numpy returns the bound without calling
// the generator).
func (g *mt19937) bounded() uint32 {
	if g.rng == 0 {
		return 0
	}
	for {
		if g.pos == mtN {
			g.refill()
		}
		v := g.out[g.pos]
		g.pos++
		if v <= g.rng {
			return v
		}
	}
}

// draws returns the next draws in order, at most max and at least one: the rest of the
// current block, as it is when none of it was rejected (no copy), else its accepted
// words. For rng = 0 they are zeros and nothing is drawn.
func (g *mt19937) draws(max int) []uint32 {
	if g.rng == 0 {
		if cap(g.buf) < max {
			g.buf = make([]uint32, max)
		}
		g.buf = g.buf[:max]
		clear(g.buf)
		return g.buf
	}
	for {
		if g.pos == mtN {
			g.refill()
		}
		if g.above == 0 {
			b := g.out[g.pos:min(g.pos+max, mtN)]
			g.pos += len(b)
			return b
		}
		g.buf = g.buf[:0]
		for g.pos < mtN && len(g.buf) < max {
			if v := g.out[g.pos]; v <= g.rng {
				g.buf = append(g.buf, v)
			}
			g.pos++
		}
		if len(g.buf) > 0 {
			return g.buf
		}
	}
}

// addBlock adds the next block's 624 draws into sum[:624] (subtracts them, for
// subtract) straight from the twist's registers, when the generator is at a block's
// start, sum has room for it and none of it is rejected, and reports whether it did.
// Otherwise sum is as it was and the block, if one was made, is left to draws: a
// rejected word shifts every draw after it (for Flower's rng = 2^32 - 2, one block in 7
// million).
func (g *mt19937) addBlock(sum []uint32, subtract bool) bool {
	if g.pos != mtN || len(sum) < mtN || g.rng == 0 {
		return false
	}
	dst := (*[mtN]uint32)(sum[:mtN])
	if subtract {
		g.above = simd.MTNextSub(dst, &g.out, &g.st, g.mask, g.rng)
	} else {
		g.above = simd.MTNextAdd(dst, &g.out, &g.st, g.mask, g.rng)
	}
	if g.above == 0 {
		return true // g.pos stays at mtN: the block is drawn
	}
	for i, v := range g.out { // undone
		if subtract {
			dst[i] += v
		} else {
			dst[i] -= v
		}
	}
	g.pos = 0
	return false
}

// coverMask is the smallest 2^k - 1 >= v.
func coverMask(v uint32) uint32 {
	v |= v >> 1
	v |= v >> 2
	v |= v >> 4
	v |= v >> 8
	v |= v >> 16
	return v
}
