// MT19937Twist and MT19937Temper (simd/mt.go): the Mersenne Twister of Flower's masks,
// 16 words at a time, on AVX-512 only.

package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// mtN and mtM are MT19937's state length and shift; mtPad the state's padding, so that a
// chunk's reads past the end stay in the buffer (their lanes are never stored).
const mtN, mtM, mtPad = 624, 397, 16

// genMTTwist emits MT19937's twist of words 0..622 (the caller does 622's successor, 623,
// which reads the new word 0): s[i] = s[i+397 mod 624] ^ y>>1 ^ (y&1)·0x9908b0df for
// y = s[i]&0x80000000 | s[i+1]&0x7fffffff. Up to i = 226 every word read is old; after,
// s[i-227] is new, and 16 lanes never read a word of their own chunk, so the chunks run
// in order and the partial chunk at each end is stored under a mask.
func genMTTwist(s isaSpec) {
	name := "mtTwist" + s.suffix
	text(name, NOSPLIT, "func(state *[640]uint32)")
	Pragma("noescape")
	Doc(name + " is  for i := 0; i < 623; i++ { y := s[i]&upper | s[i+1]&lower; s[i] = s[(i+397)%624] ^ y>>1 ^ -(y&1)&matrixA }")
	st := Load(Param("state"), GP64())
	upper, lower, one, matrix := s.broadcast32(0x80000000), s.broadcast32(0x7fffffff), s.broadcast32(1), s.broadcast32(0x9908b0df)
	zero := ZMM()
	clearVec(zero)
	chunk := func(i, far int, lanes int) {
		a, b, c := ZMM(), ZMM(), ZMM()
		VMOVDQU32(Mem{Base: st, Disp: 4 * i}, a)
		VMOVDQU32(Mem{Base: st, Disp: 4 * (i + 1)}, b)
		VMOVDQU32(Mem{Base: st, Disp: 4 * far}, c)
		VPANDD(upper, a, a)
		VPANDD(lower, b, b)
		VPORD(b, a, a) // y
		t := ZMM()
		VPANDD(one, a, t)
		VPSUBD(t, zero, t) // -(y&1)
		VPANDD(matrix, t, t)
		VPSRLD(U8(1), a, a)
		VPXORD(a, c, c)
		VPXORD(t, c, c)
		if lanes == 16 {
			VMOVDQU32(c, Mem{Base: st, Disp: 4 * i})
			return
		}
		k, g := K(), GP32()
		MOVL(U32(1<<lanes-1), g)
		KMOVW(g, k)
		VMOVDQU32(c, k, Mem{Base: st, Disp: 4 * i})
	}
	// i in [0, 227): s[i+397], all old.
	for i := 0; i < mtN-mtM; i += 16 {
		chunk(i, i+mtM, min(16, mtN-mtM-i))
	}
	// i in [227, 623): s[i-227], new.
	for i := mtN - mtM; i < mtN-1; i += 16 {
		chunk(i, i+mtM-mtN, min(16, mtN-1-i))
	}
	VZEROUPPER()
	RET()
}

// genMTTemper emits the tempering of all 624 words of the state into out, each ANDed
// with mask, and returns how many of them are above rng (numpy's randint rejects
// those): 0 means every output is a draw as it stands.
func genMTTemper(s isaSpec) {
	name := "mtTemper" + s.suffix
	text(name, NOSPLIT, "func(out *[624]uint32, state *[640]uint32, mask, rng uint32) int")
	Pragma("noescape")
	Doc(name + " is  for i, y := range state[:624] { y ^= y>>11; y ^= y<<7&0x9d2c5680; y ^= y<<15&0xefc60000; y ^= y>>18; out[i] = y&mask; n += out[i] > rng }")
	out := Load(Param("out"), GP64())
	st := Load(Param("state"), GP64())
	m := s.broadcastGP32(Load(Param("mask"), GP32()))
	r := s.broadcastGP32(Load(Param("rng"), GP32()))
	b, c := s.broadcast32(0x9d2c5680), s.broadcast32(0xefc60000)
	count := GP64()
	XORQ(count, count)
	for i := 0; i < mtN; i += 16 {
		y, t := ZMM(), ZMM()
		VMOVDQU32(Mem{Base: st, Disp: 4 * i}, y)
		VPSRLD(U8(11), y, t)
		VPXORD(t, y, y)
		VPSLLD(U8(7), y, t)
		VPANDD(b, t, t)
		VPXORD(t, y, y)
		VPSLLD(U8(15), y, t)
		VPANDD(c, t, t)
		VPXORD(t, y, y)
		VPSRLD(U8(18), y, t)
		VPXORD(t, y, y)
		VPANDD(m, y, y)
		VMOVDQU32(y, Mem{Base: out, Disp: 4 * i})
		k, g := K(), GP64()
		VPCMPUD(U8(6), r, y, k) // y > rng (predicate 6: not less or equal)
		KMOVW(k, g.As32())
		POPCNTQ(g, g)
		ADDQ(g, count)
	}
	Store(count, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

var _ = reg.K0
