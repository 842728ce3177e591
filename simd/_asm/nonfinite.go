// The scan for NaN and ±Inf, and the copy that scans as it goes (simd/nonfinite.go).

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
	x := Load(Param("x").Base(), GP64()).(reg.GPVirtual)
	n := blocksOf("x")
	scanBlocks(s, n, func(v int) Op { return Mem{Base: x, Disp: v * s.vecSize} }, func() {
		ADDQ(U32(block*4), x)
	}, false)
}

// genCopyFinite emits the copy that is also the search: each block is loaded, searched
// as nonFiniteBlock searches it and, if finite, stored; with stream, by stores that
// bypass the cache (VMOVNTPS, dst aligned to the vector size), fenced before it returns.
func genCopyFinite(s isaSpec, stream bool) {
	name, doc := "copyFiniteBlock"+s.suffix, ""
	store := func(x, m Op) { VMOVUPS(x, m) }
	if stream {
		name, doc = "copyFiniteStreamBlock"+s.suffix, " with non-temporal stores, dst aligned to the vector size"
		store = VMOVNTPS
	}
	text(name, NOSPLIT, "func(dst, src []float32) int")
	Pragma("noescape")
	Doc(name+" is copyFiniteBlockGeneric(dst, src)"+doc+",",
		"for len(src) a multiple of 32 and len(dst) >= len(src).")
	dst := Load(Param("dst").Base(), GP64()).(reg.GPVirtual)
	src := Load(Param("src").Base(), GP64()).(reg.GPVirtual)
	n := blocksOf("src")
	t := make([]reg.VecVirtual, s.f32Vecs())
	scanBlocks(s, n, func(v int) Op {
		t[v] = s.vec()
		VMOVUPS(Mem{Base: src, Disp: v * s.vecSize}, t[v])
		return t[v]
	}, func() {
		for v := range t {
			store(t[v], Mem{Base: dst, Disp: v * s.vecSize})
		}
		ADDQ(U32(block*4), src)
		ADDQ(U32(block*4), dst)
	}, stream)
}

// scanBlocks emits the loop over n blocks that stops at the first one with a NaN or
// ±Inf and returns its index (n if none): vector(v) gives the block's v-th vector as an
// operand, then, for a finite block, next runs before the loop goes on; fence orders
// non-temporal stores before the return.
func scanBlocks(s isaSpec, n reg.GPVirtual, vector func(v int) Op, next func(), fence bool) {
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
			VPANDD(vector(v), mask, t)
			k[v] = K()
			VPCMPEQD(mask, t, k[v])
		}
		KORTESTW(k[0], k[1]) // ZF clear when any lane of either half matched
	} else {
		t := make([]reg.VecVirtual, s.f32Vecs())
		for v := range t {
			t[v] = s.vec()
			VPAND(vector(v), mask, t[v])
			VPCMPEQD(mask, t[v], t[v])
		}
		VPOR(t[0], t[1], t[0])
		VPOR(t[2], t[3], t[2])
		VPOR(t[0], t[2], t[0])
		VPTEST(t[0], t[0])
	}
	JNZ(LabelRef("done"))
	next()
	INCQ(b)
	CMPQ(b, n)
	JNE(LabelRef("loop"))
	Label("done")
	if fence {
		SFENCE()
	}
	Store(b, ReturnIndex(0))
	VZEROUPPER()
	RET()
}
