// The instruction sets, and the helpers every kernel shares: vector widths, the keys of
// floats, logic that takes either encoding.

package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// isaSpec describes the registers of one instruction set.
type isaSpec struct {
	suffix  string // function-name suffix
	vecSize int    // bytes per vector register
	vec     func() reg.VecVirtual
}

func (s isaSpec) f64Lanes() int { return s.vecSize / 8 }

func (s isaSpec) f32Lanes() int { return s.vecSize / 4 }

// f64Vecs is how many float64 vectors hold one block.
func (s isaSpec) f64Vecs() int { return block / s.f64Lanes() }

// f32Vecs is how many float32 vectors hold one block.
func (s isaSpec) f32Vecs() int { return block / s.f32Lanes() }

// cvtPD2PS narrows a full float64 vector into the float32 register half its size.
func (s isaSpec) cvtPD2PS(src, dst Op) {
	if s.vecSize == 64 {
		VCVTPD2PS(src, dst)
	} else {
		VCVTPD2PSY(src, dst)
	}
}

// halfOf returns the lower half of a vector register (Y of a Z, X of a Y).
func (s isaSpec) halfOf(v reg.VecVirtual) reg.Register {
	if s.vecSize == 64 {
		return v.AsY()
	}
	return v.AsX()
}

// half returns the float32 register that a float64 vector widens from or narrows to.
func (s isaSpec) half() reg.VecVirtual {
	if s.vecSize == 64 {
		return YMM()
	}
	return XMM()
}

// broadcast32 fills a vector with the 32-bit pattern bits.
func (s isaSpec) broadcast32(bits uint32) reg.VecVirtual {
	g := GP32()
	MOVL(U32(bits), g)
	return s.broadcastGP32(g)
}

// broadcastGP32 fills a vector with the 32-bit value of a general register. AVX-512
// broadcasts straight from it; AVX2 goes through an XMM register, which the allocator
// then must find among X0-X15 (the assembler rejects anything else, loudly).
func (s isaSpec) broadcastGP32(g reg.Register) reg.VecVirtual {
	v := s.vec()
	if s.vecSize == 64 {
		VPBROADCASTD(g, v)
		return v
	}
	x := XMM()
	MOVD(g, x)
	VPBROADCASTD(x, v)
	return v
}

// Integer logic on whole vectors: AVX-512 spells it with an element size.
// clearVec clears v with the idiom avo knows defines v without reading it (VPXORD x, x, x
// reads x, for its register allocator, which then keeps x live from the kernel's
// start).
func clearVec(v reg.VecVirtual) { VXORPS(v, v, v) }

func (s isaSpec) pxor(a, b, dst Op) {
	if s.vecSize == 64 {
		VPXORD(a, b, dst)
	} else {
		VPXOR(a, b, dst)
	}
}

func (s isaSpec) por(a, b, dst Op) {
	if s.vecSize == 64 {
		VPORD(a, b, dst)
	} else {
		VPOR(a, b, dst)
	}
}

func (s isaSpec) pand(a, b, dst Op) {
	if s.vecSize == 64 {
		VPANDD(a, b, dst)
	} else {
		VPAND(a, b, dst)
	}
}

// signedKey turns the float32 bits in x into keys whose signed integer order is the
// float order (-0 before +0), in place: b ^ ((b >> 31) & 0x7fffffff), its own inverse.
func (s isaSpec) signedKey(x, magnitude reg.VecVirtual) {
	t := s.vec()
	VPSRAD(Imm(31), x, t)
	s.pand(magnitude, t, t)
	s.pxor(t, x, x)
}

// unsignedKey is signedKey with the sign bit flipped: unsigned integer order.
func (s isaSpec) unsignedKey(x, magnitude, sign reg.VecVirtual) {
	s.signedKey(x, magnitude)
	s.pxor(sign, x, x)
}

// floatOfKey turns unsigned keys back into float32 bits in place, with zeros as +0
// (zero holds +0 in every lane, and -0 + +0 is +0).
func (s isaSpec) floatOfKey(x, magnitude, sign, zero reg.VecVirtual) {
	s.pxor(sign, x, x)
	s.signedKey(x, magnitude)
	VADDPS(zero, x, x)
}

func (s isaSpec) movdqu(src, dst Op) {
	if s.vecSize == 64 {
		VMOVDQU32(src, dst)
	} else {
		VMOVDQU(src, dst)
	}
}

func bitsOf(n int) int {
	b := 0
	for 1<<b < n {
		b++
	}
	return b
}

// Comparison predicates of VCMPPS (ordered, quiet).
const (
	cmpEQ = 0x00
	cmpLT = 0x11
	cmpLE = 0x12
	cmpGE = 0x1d
	cmpGT = 0x1e
)

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
