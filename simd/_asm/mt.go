// MTNext, MTNextAdd and MTNextSub (simd/mt.go): the Mersenne Twister of Flower's masks,
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

// Bitwise functions of VPTERNLOGD's three operands A (the destination), B and C.
const (
	ternSelectCAB = 0xe4 // C ? A : B, bit by bit
	ternXorAndBC  = 0x78 // A ^ (B & C)
	ternAndXorABC = 0x28 // (A ^ B) & C
)

// genMTNext emits MT19937's twist and tempering in one pass over the state: each chunk
// of 16 words is twisted, stored, tempered, ANDed with mask and counted above rng in
// registers, then written to out and, for op "Add" or "Sub", added to (subtracted from)
// sum. The twist is s[i] = s[i+397 mod 624] ^ y>>1 ^ (y&1)·0x9908b0df for
// y = s[i]&0x80000000 | s[i+1]&0x7fffffff: up to i = 226 every word it reads is old,
// after that s[i-227] is new, and 16 lanes never read a word of their own chunk, so the
// chunks run in order, with the partial chunk at each phase's end under a lane mask.
// The last word reads the new s[0] as its s[i+1]: the kernel copies it into the padding
// at s[624] first, so that word is one more chunk, of one lane.
func genMTNext(s isaSpec, op string) {
	name := "mtNext" + op + s.suffix
	sig := "func(out *[624]uint32, state *[640]uint32, mask, rng uint32) int"
	if op != "" {
		sig = "func(sum *[624]uint32, out *[624]uint32, state *[640]uint32, mask, rng uint32) int"
	}
	text(name, NOSPLIT, sig)
	Pragma("noescape")
	doc := " twists the state and tempers it: for i, y := range twisted state[:624] { y ^= y>>11; y ^= y<<7&0x9d2c5680; y ^= y<<15&0xefc60000; y ^= y>>18; out[i] = y&mask; n += out[i] > rng }"
	switch op {
	case "Add":
		doc += "; sum[i] += out[i]"
	case "Sub":
		doc += "; sum[i] -= out[i]"
	}
	Doc(name + doc)
	var sum reg.GPVirtual
	if op != "" {
		sum = Load(Param("sum"), GP64()).(reg.GPVirtual)
	}
	out := Load(Param("out"), GP64())
	st := Load(Param("state"), GP64())
	m := s.broadcastGP32(Load(Param("mask"), GP32()))
	r := s.broadcastGP32(Load(Param("rng"), GP32()))
	upper, one, matrix := s.broadcast32(0x80000000), s.broadcast32(1), s.broadcast32(0x9908b0df)
	b, c := s.broadcast32(0x9d2c5680), s.broadcast32(0xefc60000)
	count := GP64()
	XORQ(count, count)
	chunk := func(i, far, lanes int) {
		var lane reg.OpmaskVirtual
		if lanes < 16 {
			lane = K()
			g := GP32()
			MOVL(U32(1<<lanes-1), g)
			KMOVW(g, lane)
		}
		// store writes v to the chunk's lanes of the words at base.
		store := func(v reg.VecVirtual, base reg.Register) {
			if lanes == 16 {
				VMOVDQU32(v, Mem{Base: base, Disp: 4 * i})
			} else {
				VMOVDQU32(v, lane, Mem{Base: base, Disp: 4 * i})
			}
		}
		y, next, x := ZMM(), ZMM(), ZMM()
		VMOVDQU32(Mem{Base: st, Disp: 4 * i}, y)
		VMOVDQU32(Mem{Base: st, Disp: 4 * (i + 1)}, next)
		VMOVDQU32(Mem{Base: st, Disp: 4 * far}, x)
		VPTERNLOGD(U8(ternSelectCAB), upper, next, y) // s[i]&upper | s[i+1]&lower
		odd := K()
		VPTESTMD(one, y, odd)
		VPSRLD(U8(1), y, y)
		VPXORD(y, x, x)
		VPXORD(matrix, x, odd, x) // the new s[i]
		store(x, st)
		t := ZMM()
		VPSRLD(U8(11), x, t)
		VPXORD(t, x, x)
		VPSLLD(U8(7), x, t)
		VPTERNLOGD(U8(ternXorAndBC), b, t, x)
		VPSLLD(U8(15), x, t)
		VPTERNLOGD(U8(ternXorAndBC), c, t, x)
		VPSRLD(U8(18), x, t)
		VPTERNLOGD(U8(ternAndXorABC), m, t, x) // tempered, masked
		store(x, out)
		above, g := K(), GP64()
		if lanes == 16 {
			VPCMPUD(U8(6), r, x, above) // x > rng (predicate 6: not less or equal)
		} else {
			VPCMPUD(U8(6), r, x, lane, above)
		}
		KMOVW(above, g.As32())
		POPCNTQ(g, g)
		ADDQ(g, count)
		if op == "" {
			return
		}
		w := ZMM()
		if lanes == 16 {
			VMOVDQU32(Mem{Base: sum, Disp: 4 * i}, w)
		} else {
			VMOVDQU32_Z(Mem{Base: sum, Disp: 4 * i}, lane, w) // no read past sum's end
		}
		if op == "Add" {
			VPADDD(x, w, w)
		} else {
			VPSUBD(x, w, w)
		}
		store(w, sum)
	}
	// i in [0, 227): s[i+397], all old.
	for i := 0; i < mtN-mtM; i += 16 {
		chunk(i, i+mtM, min(16, mtN-mtM-i))
	}
	// i in [227, 623): s[i-227], new.
	for i := mtN - mtM; i < mtN-1; i += 16 {
		chunk(i, i+mtM-mtN, min(16, mtN-1-i))
	}
	// i = 623: its s[i+1] is the new s[0], copied to the padding.
	first := GP32()
	MOVL(Mem{Base: st}, first)
	MOVL(first, Mem{Base: st, Disp: 4 * mtN})
	chunk(mtN-1, mtM-1, 1)
	Store(count, ReturnIndex(0))
	VZEROUPPER()
	RET()
}
