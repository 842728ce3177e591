// Bounds by insertion through 2k registers (simd/orderstats.go).

package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// maxInsertK is the largest k whose 2(k+1) running extremes, plus the row value and two
// temporaries, fit in the vector registers: 32 on AVX-512, 16 on AVX2.
func (s isaSpec) maxInsertK() int {
	if s.vecSize == 64 {
		return 11
	}
	return 5
}

// genBoundsInsert emits Bounds for one k by insertion: per group of lanes it carries the
// k+1 smallest and k+1 largest values seen in registers, each row passed down both
// chains by min/max, and reports the last of each chain with zeros made +0.
func genBoundsInsert(s isaSpec, k int) {
	name := fmt.Sprintf("boundsInsert%d%s", k, s.suffix)
	text(name, NOSPLIT, "func(lo, hi []float32, rows [][]float32, off int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is boundsGeneric(lo, hi, rows, off, %d) for len(lo) a multiple of 32, len(rows) > %d,", name, k, 2*k),
		"every row's window [off, off+len(lo)) in bounds and finite values.")
	lo := Load(Param("lo").Base(), GP64()).(reg.GPVirtual)
	hi := Load(Param("hi").Base(), GP64()).(reg.GPVirtual)
	rows := Load(Param("rows").Base(), GP64()).(reg.GPVirtual)
	nrows := Load(Param("rows").Len(), GP64()).(reg.GPVirtual)
	off := Load(Param("off"), GP64()).(reg.GPVirtual)
	SHLQ(Imm(2), off)
	groups := Load(Param("lo").Len(), GP64()).(reg.GPVirtual)
	SHRQ(Imm(uint64(bitsOf(s.f32Lanes()))), groups)
	forEach(groups, "group", func() {
		low, high := make([]reg.VecVirtual, k+1), make([]reg.VecVirtual, k+1)
		posInf, negInf := s.broadcast32(0x7f800000), s.broadcast32(0xff800000)
		for t := range low {
			low[t], high[t] = s.vec(), s.vec()
			VMOVUPS(posInf, low[t])
			VMOVUPS(negInf, high[t])
		}
		rowLoop(rows, nrows, off, "row", func(addr reg.GPVirtual) {
			// Into L2 (T1), whose misses in flight are many more than L1's: each line
			// is read once, and with tens of rows the hardware prefetchers lose
			// track (n32_d4m r=0.1 30.9 -> 26.9 ms, r=0.2 37.7 -> 33.9 ms).
			PREFETCHT1(Mem{Base: addr, Disp: prefetchAhead})
			x := s.vec()
			VMOVUPS(Mem{Base: addr}, x)
			v := x
			for t := range low {
				pushed := s.vec()
				VMAXPS(low[t], v, pushed) // what low[t] pushes on: max(v, low[t])
				VMINPS(low[t], v, low[t]) // low[t] = min(v, low[t])
				v = pushed
			}
			v = x
			for t := range high {
				pushed := s.vec()
				VMINPS(high[t], v, pushed)
				VMAXPS(high[t], v, high[t])
				v = pushed
			}
		})
		zero := s.vec()
		VXORPS(zero, zero, zero)
		VADDPS(zero, low[k], low[k]) // -0 + +0 is +0
		VADDPS(zero, high[k], high[k])
		VMOVUPS(low[k], Mem{Base: lo})
		VMOVUPS(high[k], Mem{Base: hi})
		ADDQ(U32(s.vecSize), lo)
		ADDQ(U32(s.vecSize), hi)
		ADDQ(U32(s.vecSize), off)
	})
	VZEROUPPER()
	RET()
}
