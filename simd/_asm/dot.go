// Dot, SumSquares and SqDist (simd/dot.go).

package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genDot emits Dot (square false: acc += x*y) or SumSquares (square true: acc += x*x)
// over the 32 partial sums of the fixed blocking.
func genDot(s isaSpec, square bool) {
	if square {
		text("sumSquares"+s.suffix, NOSPLIT, "func(acc *[32]float64, x []float32)")
		Pragma("noescape")
		Doc("sumSquares" + s.suffix + " is  for i := range x { acc[i%32] += float64(x[i]) * float64(x[i]) }  for len(x) a multiple of 32.")
	} else {
		text("dot"+s.suffix, NOSPLIT, "func(acc *[32]float64, x, y []float32)")
		Pragma("noescape")
		Doc("dot"+s.suffix+" is  for i := range x { acc[i%32] += float64(x[i]) * float64(y[i]) }  for len(x) a multiple of 32 and len(y) >= len(x).",
			"The products of two float32 are exact in float64, so the fused and the plain forms agree.")
	}
	accp := Load(Param("acc"), GP64()).(reg.GPVirtual)
	x := Load(Param("x").Base(), GP64())
	var y reg.Register
	if !square {
		y = Load(Param("y").Base(), GP64())
	}
	n := blocksOf("x")
	as := accumulators(s, accp)
	forEach(n, "loop", func() {
		for v := range as {
			a := s.vec()
			VCVTPS2PD(Mem{Base: x, Disp: v * s.f64Lanes() * 4}, a)
			b := a
			if !square {
				b = s.vec()
				VCVTPS2PD(Mem{Base: y, Disp: v * s.f64Lanes() * 4}, b)
			}
			VFMADD231PD(a, b, as[v])
		}
		ADDQ(U32(block*4), x)
		if !square {
			ADDQ(U32(block*4), y)
		}
	})
	storeAccumulators(s, accp, as)
	VZEROUPPER()
	RET()
}

// genSqDist emits the squared Euclidean distance with Dot's blocking: the difference of
// each pair is taken in float64, then squared and added with one rounding.
func genSqDist(s isaSpec) {
	text("sqDist"+s.suffix, NOSPLIT, "func(acc *[32]float64, x, y []float32)")
	Pragma("noescape")
	Doc("sqDist"+s.suffix+" is  for i := range x { d := float64(x[i]) - float64(y[i]); acc[i%32] = math.FMA(d, d, acc[i%32]) }",
		"for len(x) a multiple of 32 and len(y) >= len(x).")
	accp := Load(Param("acc"), GP64()).(reg.GPVirtual)
	x := Load(Param("x").Base(), GP64())
	y := Load(Param("y").Base(), GP64())
	n := blocksOf("x")
	as := accumulators(s, accp)
	forEach(n, "loop", func() {
		for v := range as {
			a, b := s.vec(), s.vec()
			VCVTPS2PD(Mem{Base: x, Disp: v * s.f64Lanes() * 4}, a)
			VCVTPS2PD(Mem{Base: y, Disp: v * s.f64Lanes() * 4}, b)
			VSUBPD(b, a, a) // a - b
			VFMADD231PD(a, a, as[v])
		}
		ADDQ(U32(block*4), x)
		ADDQ(U32(block*4), y)
	})
	storeAccumulators(s, accp, as)
	VZEROUPPER()
	RET()
}
