package flower

// mt19937 is the Mersenne Twister as numpy's legacy RandomState runs it: seeded from one
// 32-bit integer by Matsumoto and Nishimura's init_genrand, drawing 32-bit words.
type mt19937 struct {
	state [624]uint32
	pos   int
}

const (
	mtN, mtM  = 624, 397
	upperMask = 0x80000000
	lowerMask = 0x7fffffff
	matrixA   = 0x9908b0df
)

func newMT19937(seed uint32) *mt19937 {
	g := &mt19937{pos: mtN}
	g.state[0] = seed
	for i := 1; i < mtN; i++ {
		prev := g.state[i-1]
		g.state[i] = 1812433253*(prev^prev>>30) + uint32(i)
	}
	return g
}

// twist makes the next 624 words of state.
func (g *mt19937) twist() {
	s := &g.state
	for i := 0; i < mtN; i++ {
		y := s[i]&upperMask | s[(i+1)%mtN]&lowerMask
		s[i] = s[(i+mtM)%mtN] ^ y>>1 ^ -(y&1)&matrixA
	}
	g.pos = 0
}

// next is the next tempered output word.
func (g *mt19937) next() uint32 {
	if g.pos == mtN {
		g.twist()
	}
	y := g.state[g.pos]
	g.pos++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	return y ^ y>>18
}

// bounded is numpy's masked rejection for randint over [0, rng]: the output ANDed with
// the smallest all-ones mask covering rng, drawn again while above it. rng = 0 draws
// nothing (numpy returns the bound without calling the generator).
func (g *mt19937) bounded(rng, mask uint32) uint32 {
	if rng == 0 {
		return 0
	}
	for {
		if v := g.next() & mask; v <= rng {
			return v
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
