// The coordinate-wise min and max (simd/minmax.go).

package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
)

// genMinMax emits min or max across two vectors. VMINPS/VMAXPS return their second
// source (Intel order) unless the first is strictly smaller/larger, which is exactly
// the Go rule "if x[i] < dst[i] { dst[i] = x[i] }": Intel's first source is x, the second dst.
func genMinMax(s isaSpec, name, rule string, op func(...Op)) {
	text(name+s.suffix, NOSPLIT, "func(dst, x []float32)")
	Pragma("noescape")
	Doc(name + s.suffix + " is  for i := range x { " + rule + " }  for len(x) a multiple of 32 and len(dst) >= len(x).")
	dst := Load(Param("dst").Base(), GP64())
	x := Load(Param("x").Base(), GP64())
	n := blocksOf("x")
	loop(n, func() {
		for v := 0; v < s.f32Vecs(); v++ {
			p := s.vec()
			VMOVUPS(Mem{Base: x, Disp: v * s.vecSize}, p)
			// Go operand order is reversed: (second source, first source, destination).
			op(Mem{Base: dst, Disp: v * s.vecSize}, p, p)
			VMOVUPS(p, Mem{Base: dst, Disp: v * s.vecSize})
		}
	}, func() {
		ADDQ(U32(block*4), dst)
		ADDQ(U32(block*4), x)
	})
}
