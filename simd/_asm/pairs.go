// SqDistPairs, blocks of pairwise squared distances (simd/pairs.go).

package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genSqDistPairs emits SqDistPairs' kernel: for blocks of pairs (all 4x4 at once with
// AVX-512's 32 registers, 2x2 at a time with AVX2's 16), each pair keeps its 16 float32
// lanes in registers (one zmm or two ymm) while the coordinates stream past: the b rows'
// vectors are loaded once per step and every a row's once per step, and each pair costs
// one subtraction and one fused multiply-add per vector. The lanes are widened into the
// float64 sums every 256 coordinates and after the last.
func genSqDistPairs(s isaSpec) {
	name := "sqDistPairs" + s.suffix
	text(name, NOSPLIT, "func(acc *[256]float64, a, b [][]float32, off, n int)")
	Pragma("noescape")
	Doc(name+" is sqDistPairsGeneric(acc, a, b, off, n) for n a multiple of 32, len(a) = len(b) = 4",
		"and every row's window [off, off+n) in bounds.")
	accp := Load(Param("acc"), GP64()).(reg.GPVirtual)
	off := Load(Param("off"), GP64()).(reg.GPVirtual)
	SHLQ(Imm(2), off)
	rowPtrs := func(param string) []reg.GPVirtual {
		base := Load(Param(param).Base(), GP64())
		ps := make([]reg.GPVirtual, 4)
		for i := range ps {
			ps[i] = GP64()
			MOVQ(Mem{Base: base, Disp: 24 * i}, ps[i])
			ADDQ(off, ps[i])
		}
		return ps
	}
	as, bs := rowPtrs("a"), rowPtrs("b")
	side, vecs := 4, 1 // rows of a sub-block, vectors per 16 lanes
	if s.vecSize == 32 {
		side, vecs = 2, 2
	}
	for bi := 0; bi < 4; bi += side {
		for bj := 0; bj < 4; bj += side {
			tag := fmt.Sprintf("_%d%d", bi, bj)
			steps := Load(Param("n"), GP64()).(reg.GPVirtual)
			SHRQ(Imm(4), steps) // 16 coordinates a step
			pos := GP64()
			XORQ(pos, pos)
			TESTQ(steps, steps)
			JZ(LabelRef("done" + tag))
			Label("chunk" + tag)
			// This chunk's steps: up to 16 (256 coordinates).
			count := GP64()
			MOVQ(U32(16), count)
			CMPQ(steps, count)
			CMOVQLT(steps, count)
			SUBQ(count, steps)
			accs := make([][]reg.VecVirtual, side*side)
			for p := range accs {
				accs[p] = make([]reg.VecVirtual, vecs)
				for v := range vecs {
					accs[p][v] = s.vec()
					if s.vecSize == 64 {
						VPXORD(accs[p][v], accs[p][v], accs[p][v])
					} else {
						VXORPS(accs[p][v], accs[p][v], accs[p][v])
					}
				}
			}
			Label("step" + tag)
			for v := range vecs {
				disp := v * s.vecSize
				bv := make([]reg.VecVirtual, side)
				for j := range side {
					bv[j] = s.vec()
					VMOVUPS(Mem{Base: bs[bj+j], Index: pos, Scale: 1, Disp: disp}, bv[j])
				}
				for i := range side {
					av := s.vec()
					VMOVUPS(Mem{Base: as[bi+i], Index: pos, Scale: 1, Disp: disp}, av)
					for j := range side {
						t := s.vec()
						VSUBPS(bv[j], av, t) // a − b
						VFMADD231PS(t, t, accs[i*side+j][v])
					}
				}
			}
			ADDQ(U32(64), pos)
			DECQ(count)
			JNZ(LabelRef("step" + tag))
			// Widen the chunk's lanes into the float64 sums of their pairs.
			for i := range side {
				for j := range side {
					p := 4*(bi+i) + bj + j
					for v := range vecs {
						addToSum(s, accp, (p*16+v*s.f32Lanes())*4, accs[i*side+j][v], nil)
					}
				}
			}
			TESTQ(steps, steps)
			JNZ(LabelRef("chunk" + tag))
			Label("done" + tag)
		}
	}
	VZEROUPPER()
	RET()
}
