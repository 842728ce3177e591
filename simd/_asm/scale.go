// Scale (simd/scale.go).

package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
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

// genScaleFlip emits ScaleFlip's kernel: each float times a, then the sign bit XORed in
// from one bit of signs per lane. AVX-512 takes 16 bits at a time as a mask register and
// flips its lanes under it; AVX2 broadcasts a byte to all eight lanes and shifts lane
// i's bit i up to bit 31 (by 31-i: every other bit of the byte goes elsewhere), then
// keeps that bit alone.
func genScaleFlip(s isaSpec) {
	text("scaleFlip"+s.suffix, NOSPLIT, "func(dst, x []float32, a float32, signs []byte)")
	Pragma("noescape")
	Doc("scaleFlip"+s.suffix+" is  dst[i] = x[i]*a with its sign bit XORed with bit i of signs,",
		"for len(dst) a multiple of 32, len(x) >= len(dst) and len(signs) >= len(dst)/8.")
	dst := Load(Param("dst").Base(), GP64())
	x := Load(Param("x").Base(), GP64())
	sg := Load(Param("signs").Base(), GP64())
	ax := Load(Param("a"), XMM())
	a := s.vec()
	VBROADCASTSS(ax, a)
	sign := s.broadcast32(1 << 31)
	var shifts reg.VecVirtual
	if s.vecSize == 32 {
		shifts = YMM()
		VMOVDQU(laneShifts(), shifts)
	}
	n := blocksOf("dst")
	loop(n, func() {
		for v := 0; v < s.f32Vecs(); v++ {
			p := s.vec()
			VMULPS(Mem{Base: x, Disp: v * s.vecSize}, a, p)
			if s.vecSize == 64 {
				k := K()
				KMOVW(Mem{Base: sg, Disp: 2 * v}, k)
				VPXORD(sign, p, k, p)
			} else {
				f := YMM()
				VPBROADCASTB(Mem{Base: sg, Disp: v}, f)
				VPSLLVD(shifts, f, f)
				VPAND(sign, f, f)
				VXORPS(f, p, p)
			}
			VMOVUPS(p, Mem{Base: dst, Disp: v * s.vecSize})
		}
	}, func() {
		ADDQ(U32(block*4), dst)
		ADDQ(U32(block*4), x)
		ADDQ(U32(block/8), sg)
	})
}

// laneShifts is the constant 31, 30, ..., 24: by how much each of eight lanes shifts the
// byte of signs so that its own bit lands at bit 31.
func laneShifts() Mem {
	m := GLOBL("flipShifts", RODATA|NOPTR)
	for i := range 8 {
		DATA(4*i, U32(31-i))
	}
	return m
}
