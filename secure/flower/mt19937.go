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

// twist makes the next 624 words of state: s[i] from s[i], s[i+1] and s[i+397], indices
// mod 624, in three loops so that none needs the modulo.
func (g *mt19937) twist() {
	s := &g.state
	mix := func(i, j, k int) {
		y := s[i]&upperMask | s[j]&lowerMask
		s[i] = s[k] ^ y>>1 ^ -(y&1)&matrixA
	}
	i := 0
	for ; i < mtN-mtM; i++ {
		mix(i, i+1, i+mtM)
	}
	for ; i < mtN-1; i++ {
		mix(i, i+1, i+mtM-mtN)
	}
	mix(mtN-1, 0, mtM-1)
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

// fillBounded is bounded for every word of dst, in order.
func (g *mt19937) fillBounded(dst []uint32, rng, mask uint32) {
	if rng == 0 {
		clear(dst)
		return
	}
	for i := 0; i < len(dst); {
		if g.pos == mtN {
			g.twist()
		}
		for _, y := range g.state[g.pos:] {
			g.pos++
			y ^= y >> 11
			y ^= y << 7 & 0x9d2c5680
			y ^= y << 15 & 0xefc60000
			y ^= y >> 18
			if v := y & mask; v <= rng {
				dst[i] = v
				if i++; i == len(dst) {
					return
				}
			}
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
