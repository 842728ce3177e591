// Scale (simd/scale.go).

package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
)

func genScale(s isaSpec) {
	text("scale"+s.suffix, NOSPLIT, "func(x []float32, a float32)")
	Pragma("noescape")
	Doc("scale" + s.suffix + " is  for i := range x { x[i] *= a }  for len(x) a multiple of 32.")
	x := Load(Param("x").Base(), GP64())
	ax := Load(Param("a"), XMM())
	a := s.vec()
	VBROADCASTSS(ax, a)
	n := blocksOf("x")
	loop(n, func() {
		for v := 0; v < s.f32Vecs(); v++ {
			p := s.vec()
			VMULPS(Mem{Base: x, Disp: v * s.vecSize}, a, p)
			VMOVUPS(p, Mem{Base: x, Disp: v * s.vecSize})
		}
	}, func() {
		ADDQ(U32(block*4), x)
	})
}
