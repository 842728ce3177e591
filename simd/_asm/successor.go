// The successor of a rank, for even medians (simd/orderstats.go).

package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genSuccessor emits the step from one order statistic to the next: given lo, the
// (k+1)-th smallest value of each lane, it writes the (k+2)-th, which is lo again when
// more than k+1 values are at or below it, and otherwise the smallest value above it.
func genSuccessor(s isaSpec) {
	name := "successor" + s.suffix
	text(name, NOSPLIT, "func(hi, lo []float32, rows [][]float32, off, k int)")
	Pragma("noescape")
	Doc(name+" writes into hi the (k+2)-th smallest value of each coordinate, lo holding the (k+1)-th, for",
		"len(hi) a multiple of 32, k+2 <= len(rows), every row's window in bounds and finite values.")
	hi := Load(Param("hi").Base(), GP64()).(reg.GPVirtual)
	lo := Load(Param("lo").Base(), GP64()).(reg.GPVirtual)
	rows := Load(Param("rows").Base(), GP64()).(reg.GPVirtual)
	nrows := Load(Param("rows").Len(), GP64()).(reg.GPVirtual)
	off := Load(Param("off"), GP64()).(reg.GPVirtual)
	SHLQ(Imm(2), off)
	kq := Load(Param("k"), GP64()).(reg.GPVirtual)
	ADDQ(Imm(1), kq) // lo repeats when more than k+1 values are <= lo
	need := s.broadcastGP32(kq.As32())
	posInf := s.broadcast32(0x7f800000)
	var ones reg.VecVirtual
	if s.vecSize == 64 {
		ones = s.broadcast32(1)
	}
	// Two groups of lanes a row: two independent min chains (a masked min waits for the
	// last) and one load of the row pointer for both.
	groups := Load(Param("hi").Len(), GP64()).(reg.GPVirtual)
	SHRQ(Imm(uint64(bitsOf(2*s.f32Lanes()))), groups)
	forEach(groups, "group", func() {
		var L, m, c [2]reg.VecVirtual
		for g := range 2 {
			L[g], m[g], c[g] = s.vec(), s.vec(), s.vec()
			VMOVUPS(Mem{Base: lo, Disp: g * s.vecSize}, L[g])
			VMOVUPS(posInf, m[g])
			s.pxor(c[g], c[g], c[g])
		}
		rowLoop(rows, nrows, off, "row", func(addr reg.GPVirtual) {
			for g := range 2 {
				x := s.vec()
				VMOVUPS(Mem{Base: addr, Disp: g * s.vecSize}, x)
				if s.vecSize == 64 {
					le, gt := K(), K()
					VCMPPS(Imm(cmpLE), L[g], x, le) // x <= lo
					VPADDD(ones, c[g], le, c[g])
					KNOTW(le, gt)
					VMINPS(x, m[g], gt, m[g]) // above lo: m = x < m ? x : m
				} else {
					le, t := s.vec(), s.vec()
					VCMPPS(Imm(cmpLE), L[g], x, le)
					VPSUBD(le, c[g], c[g])
					VBLENDVPS(le, posInf, x, t) // +Inf where x <= lo
					VMINPS(t, m[g], m[g])
				}
			}
		})
		zero := s.vec()
		VXORPS(zero, zero, zero)
		for g := range 2 {
			VADDPS(zero, m[g], m[g]) // a zero comes out +0
			if s.vecSize == 64 {
				rep := K()
				VPCMPGTD(need, c[g], rep) // count > k+1: lo repeats
				VMOVUPS(L[g], rep, m[g])
			} else {
				rep := s.vec()
				VPCMPGTD(need, c[g], rep)
				VBLENDVPS(rep, L[g], m[g], m[g])
			}
			VMOVUPS(m[g], Mem{Base: hi, Disp: g * s.vecSize})
		}
		ADDQ(U32(2*s.vecSize), lo)
		ADDQ(U32(2*s.vecSize), hi)
		ADDQ(U32(2*s.vecSize), off)
	})
	VZEROUPPER()
	RET()
}
