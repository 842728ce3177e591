// The scan for NaN and ±Inf (simd/nonfinite.go).

package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genNonFinite emits the search for NaN and ±Inf: a float32 is one of them exactly when
// its exponent bits are all ones, (bits & 0x7f800000) == 0x7f800000.
func genNonFinite(s isaSpec) {
	text("nonFiniteBlock"+s.suffix, NOSPLIT, "func(x []float32) int")
	Pragma("noescape")
	Doc("nonFiniteBlock"+s.suffix+" returns the index of the first 32-element block of x holding a NaN or ±Inf,",
		"or len(x)/32 if there is none, for len(x) a multiple of 32.")
	x := Load(Param("x").Base(), GP64())
	n := blocksOf("x")
	b := GP64()
	XORQ(b, b)
	mask := s.broadcast32(0x7f800000)
	CMPQ(b, n)
	JE(LabelRef("done"))
	Label("loop")
	if s.vecSize == 64 {
		k := make([]reg.OpmaskVirtual, s.f32Vecs())
		for v := range k {
			t := s.vec()
			VPANDD(Mem{Base: x, Disp: v * s.vecSize}, mask, t)
			k[v] = K()
			VPCMPEQD(mask, t, k[v])
		}
		KORTESTW(k[0], k[1]) // ZF clear when any lane of either half matched
	} else {
		t := make([]reg.VecVirtual, s.f32Vecs())
		for v := range t {
			t[v] = s.vec()
			VPAND(Mem{Base: x, Disp: v * s.vecSize}, mask, t[v])
			VPCMPEQD(mask, t[v], t[v])
		}
		VPOR(t[0], t[1], t[0])
		VPOR(t[2], t[3], t[2])
		VPOR(t[0], t[2], t[0])
		VPTEST(t[0], t[0])
	}
	JNZ(LabelRef("done"))
	ADDQ(U32(block*4), x)
	INCQ(b)
	CMPQ(b, n)
	JNE(LabelRef("loop"))
	Label("done")
	Store(b, ReturnIndex(0))
	VZEROUPPER()
	RET()
}
