// FWHT's kernels (simd/hadamard.go): the butterflies of one stage, of two or three
// stages a pass, and the first five stages of every 32 values.

package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genButterflies emits one stage's butterflies between two halves: a, b <- a+b, a-b.
func genButterflies(s isaSpec) {
	text("butterflies"+s.suffix, NOSPLIT, "func(a, b []float32)")
	Pragma("noescape")
	Doc("butterflies"+s.suffix+" is  for j := range a { a[j], b[j] = a[j]+b[j], a[j]-b[j] }",
		"for len(a) a multiple of 32 and len(b) >= len(a).")
	a := Load(Param("a").Base(), GP64())
	b := Load(Param("b").Base(), GP64())
	n := blocksOf("a")
	loop(n, func() {
		for v := 0; v < s.f32Vecs(); v++ {
			at := Mem{Base: a, Disp: v * s.vecSize}
			bt := Mem{Base: b, Disp: v * s.vecSize}
			u, sum, diff := s.vec(), s.vec(), s.vec()
			VMOVUPS(at, u)
			VADDPS(bt, u, sum)  // u + b
			VSUBPS(bt, u, diff) // u - b
			VMOVUPS(sum, at)
			VMOVUPS(diff, bt)
		}
	}, func() {
		ADDQ(U32(block*4), a)
		ADDQ(U32(block*4), b)
	})
}

// genHadamard32 emits the Walsh-Hadamard transform of every 32 values on its own: the
// stages of half-width 1 to 16. A stage of half-width h within a register pairs lane i
// with lane i^h: with w the register with those lanes swapped, lanes whose bit h is clear
// take x+w (= a+b) and the others w-x (= a-b), the generic butterfly's very operations.
// Wider stages pair whole registers.
func genHadamard32(s isaSpec) {
	text("hadamard32"+s.suffix, NOSPLIT, "func(x []float32)")
	Pragma("noescape")
	Doc("hadamard32" + s.suffix + " is  hadamard32Generic(x)  for len(x) a multiple of 32.")
	x := Load(Param("x").Base(), GP64())
	n := blocksOf("x")
	lanes := s.f32Lanes()
	var masks []reg.Register // AVX-512: the lanes of each in-register stage that take w-x
	if s.vecSize == 64 {
		for _, bits := range []uint32{0xAAAA, 0xCCCC, 0xF0F0, 0xFF00} {
			g, k := GP32(), K()
			MOVL(U32(bits), g)
			KMOVW(g, k)
			masks = append(masks, k)
		}
	}
	loop(n, func() {
		r := make([]reg.VecVirtual, s.f32Vecs())
		for v := range r {
			r[v] = s.vec()
			VMOVUPS(Mem{Base: x, Disp: v * s.vecSize}, r[v])
		}
		for stage, h := 0, 1; h < lanes; stage, h = stage+1, h*2 {
			for v := range r {
				w, out := s.vec(), s.vec()
				swapLanes(s, h, r[v], w)
				VADDPS(w, r[v], out) // x + w
				if s.vecSize == 64 {
					VSUBPS(r[v], w, masks[stage], out) // w - x where the mask is set
				} else {
					d := s.vec()
					VSUBPS(r[v], w, d)                                     // w - x
					VBLENDPS(Imm(uint64(0xFF&masks8[stage])), d, out, out) // d where the bit is set
				}
				r[v] = out
			}
		}
		for h := 1; h < len(r); h *= 2 {
			for i := 0; i < len(r); i += 2 * h {
				for j := i; j < i+h; j++ {
					sum, diff := s.vec(), s.vec()
					VADDPS(r[j+h], r[j], sum)  // a + b
					VSUBPS(r[j+h], r[j], diff) // a - b
					r[j], r[j+h] = sum, diff
				}
			}
		}
		for v := range r {
			VMOVUPS(r[v], Mem{Base: x, Disp: v * s.vecSize})
		}
	}, func() {
		ADDQ(U32(block*4), x)
	})
}

// masks8 are AVX2's blends of the in-register stages: the lanes of 8 whose bit h is set.
var masks8 = []uint32{0xAA, 0xCC, 0xF0}

// swapLanes writes to w the lanes of x, lane i taking lane i^h.
func swapLanes(s isaSpec, h int, x, w reg.VecVirtual) {
	switch h {
	case 1:
		VPERMILPS(Imm(0xB1), x, w) // 1 0 3 2 in each 128 bits
	case 2:
		VPERMILPS(Imm(0x4E), x, w) // 2 3 0 1 in each 128 bits
	case 4:
		if s.vecSize == 64 {
			VSHUFF32X4(Imm(0xB1), x, x, w) // 128-bit blocks 1 0 3 2
		} else {
			VPERM2F128(Imm(0x01), x, x, w) // the two 128-bit halves swapped
		}
	case 8:
		VSHUFF32X4(Imm(0x4E), x, x, w) // 128-bit blocks 2 3 0 1
	default:
		panic("no in-register swap at this distance")
	}
}

// genStridedButterflies emits the stages of half-width stride, 2·stride, ... (stages of
// them) over the 2^stages windows x[m·stride:][:width]: FWHT's wider stages, several a
// pass, so that the values cross the cache once for them all rather than once a stage.
// A vector of every window is loaded, goes through every stage in registers, and is
// stored: the same butterflies, a+b and a-b of the same operands, as stage after stage.
func genStridedButterflies(s isaSpec, stages int) {
	rows := 1 << stages
	name := fmt.Sprintf("butterflies%d%s", rows, s.suffix)
	text(name, NOSPLIT, "func(x []float32, stride, width int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is  stridedButterfliesGeneric(x, stride, width, %d)  for width a multiple of 32,", name, stages),
		fmt.Sprintf("and len(x) >= %d·stride + width.", rows-1))
	p := Load(Param("x").Base(), GP64())
	st := Load(Param("stride"), GP64())
	SHLQ(Imm(2), st) // bytes
	st3 := GP64()
	LEAQ(Mem{Base: st, Index: st, Scale: 2}, st3)
	var p4 reg.Register
	if rows == 8 {
		p4 = GP64()
		LEAQ(Mem{Base: p, Index: st, Scale: 4}, p4)
	}
	// window m's vector v: four windows from p, the next four from p4.
	at := func(m, v int) Mem {
		base := p
		if m >= 4 {
			base = p4
		}
		d := v * s.vecSize
		switch m % 4 {
		case 1:
			return Mem{Base: base, Index: st, Scale: 1, Disp: d}
		case 2:
			return Mem{Base: base, Index: st, Scale: 2, Disp: d}
		case 3:
			return Mem{Base: base, Index: st3, Scale: 1, Disp: d}
		}
		return Mem{Base: base, Disp: d}
	}
	width := Load(Param("width"), GP64())
	SHRQ(Imm(5), width)
	loop(width.(reg.GPVirtual), func() {
		for v := 0; v < s.f32Vecs(); v++ {
			r := make([]reg.VecVirtual, rows)
			for m := range r {
				r[m] = s.vec()
				VMOVUPS(at(m, v), r[m])
			}
			for h := 1; h < rows; h *= 2 {
				for m := range r {
					if m&h == 0 {
						sum, diff := s.vec(), s.vec()
						VADDPS(r[m+h], r[m], sum)  // a + b
						VSUBPS(r[m+h], r[m], diff) // a - b
						r[m], r[m+h] = sum, diff
					}
				}
			}
			for m := range r {
				VMOVUPS(r[m], at(m, v))
			}
		}
	}, func() {
		ADDQ(U32(block*4), p)
		if p4 != nil {
			ADDQ(U32(block*4), p4)
		}
	})
}
