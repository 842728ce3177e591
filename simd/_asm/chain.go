// Bounds by chains of the smallest and largest values (simd/orderstats.go).

package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// maxChain is the longest single chain of smallest values that fits in the vector
// registers beside the row value and a temporary.
func (s isaSpec) maxChain() int {
	if s.vecSize == 64 {
		return 28
	}
	return 13
}

// genBoundsChain emits Bounds for the case n-k <= l: one chain carries the l smallest
// values of each lane (which includes both ranks, k and n-1-k), the chain is stored to
// scratch, and lo, hi are read from it at k and n-1-k. It beats two chains when k is
// large against n, as for medians of up to 2l-1 rows.
func genBoundsChain(s isaSpec, l int) {
	name := fmt.Sprintf("boundsChain%d%s", l, s.suffix)
	text(name, NOSPLIT, "func(lo, hi []float32, rows [][]float32, off, k int, scratch []float32) int")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is boundsGeneric(lo, hi, rows, off, k) for len(lo) a multiple of 32, len(rows)-k == %d,", name, l),
		fmt.Sprintf("2k < len(rows), len(scratch) >= %d and every row's window in bounds. It returns 1 if every", l*s.f32Lanes()),
		"value read was finite, else 0 (and lo and hi are then unspecified).")
	lo := Load(Param("lo").Base(), GP64()).(reg.GPVirtual)
	hi := Load(Param("hi").Base(), GP64()).(reg.GPVirtual)
	rows := Load(Param("rows").Base(), GP64()).(reg.GPVirtual)
	nrows := Load(Param("rows").Len(), GP64()).(reg.GPVirtual)
	off := Load(Param("off"), GP64()).(reg.GPVirtual)
	SHLQ(Imm(2), off)
	kq := Load(Param("k"), GP64()).(reg.GPVirtual)
	scratch := Load(Param("scratch").Base(), GP64()).(reg.GPVirtual)
	SHLQ(Imm(uint64(bitsOf(s.vecSize))), kq) // byte offset of rank k in scratch
	groups := Load(Param("lo").Len(), GP64()).(reg.GPVirtual)
	SHRQ(Imm(uint64(bitsOf(s.f32Lanes()))), groups)
	// The chain reads every value once, so it also checks them. (+Inf's bits are the
	// exponent mask.)
	finite := newFiniteCheck(s, false)
	forEach(groups, "group", func() {
		chain := make([]reg.VecVirtual, l)
		posInf := s.broadcast32(0x7f800000)
		for t := range chain {
			chain[t] = s.vec()
			VMOVUPS(posInf, chain[t])
		}
		rowLoop(rows, nrows, off, "row", func(addr reg.GPVirtual) {
			// Into L2, as boundsInsert (Median n32_d4m 45.1 -> 40.9 ms).
			PREFETCHT1(Mem{Base: addr, Disp: prefetchAhead})
			v := s.vec()
			VMOVUPS(Mem{Base: addr}, v)
			finite.add(v, posInf)
			for t := range chain {
				pushed := s.vec()
				VMAXPS(chain[t], v, pushed)
				VMINPS(chain[t], v, chain[t])
				v = pushed
			}
		})
		for t := range chain {
			VMOVUPS(chain[t], Mem{Base: scratch, Disp: t * s.vecSize})
		}
		// Rank k from scratch; rank n-1-k is the last of the chain.
		storeBounds(s, lo, hi, off, Mem{Base: scratch, Index: kq, Scale: 1}, chain[l-1])
	})
	finite.returnVerdict()
	VZEROUPPER()
	RET()
}
