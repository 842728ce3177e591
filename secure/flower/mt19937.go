package flower

import "github.com/octomil/secagg/simd"

// mt19937 is the Mersenne Twister as numpy's legacy RandomState runs it (seeded from one
// 32-bit integer by init_genrand), drawing as randint does over [0, rng]: each output
// ANDed with the smallest all-ones mask covering rng, drawn again while above it. The
// twist and tempering are simd.MTNext, 624 words at a time (16 lanes on AVX-512).
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

// coverMask is the smallest 2^k - 1 >= v.
func coverMask(v uint32) uint32 {
	v |= v >> 1
	v |= v >> 2
	v |= v >> 4
	v |= v >> 8
	v |= v >> 16
	return v
}
