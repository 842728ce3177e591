// AddWords and SubWords (simd/words.go).

package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genWordRows emits the sum mod 2^32 of many rows of uint32 words into sum (or, sub, their
// difference): secure aggregation's masked vectors and masks. As in genAddRows, one block
// of sums stays in registers while every row passes, so the sums cross the cache once.
func genWordRows(s isaSpec, sub bool) {
	name, op := "addWordRows"+s.suffix, "+="
	if sub {
		name, op = "subWordRows"+s.suffix, "-="
	}
	text(name, NOSPLIT, "func(sum []uint32, rows [][]uint32, off int)")
	Pragma("noescape")
	Doc(name+" is  for _, r := range rows { for j := range sum { sum[j] "+op+" r[off+j] } }",
		"for len(sum) a multiple of 32 and every len(r) >= off+len(sum).")
	sum := Load(Param("sum").Base(), GP64())
	rows := Load(Param("rows").Base(), GP64()).(reg.GPVirtual)
	nrows := Load(Param("rows").Len(), GP64()).(reg.GPVirtual)
	off := Load(Param("off"), GP64()).(reg.GPVirtual)
	SHLQ(Imm(2), off) // byte offset into each row
	n := blocksOf("sum")
	TESTQ(nrows, nrows)
	JZ(LabelRef("done"))
	forEach(n, "block", func() {
		acc := make([]reg.VecVirtual, s.f32Vecs())
		for v := range acc {
			acc[v] = s.vec()
			s.movdqu(Mem{Base: sum, Disp: v * s.vecSize}, acc[v])
		}
		rowLoop(rows, nrows, off, "row", func(p reg.GPVirtual) {
			PREFETCHT0(Mem{Base: p, Disp: prefetchAhead})
			PREFETCHT0(Mem{Base: p, Disp: prefetchAhead + 64})
			for v := range acc {
				if sub {
					VPSUBD(Mem{Base: p, Disp: v * s.vecSize}, acc[v], acc[v])
				} else {
					VPADDD(Mem{Base: p, Disp: v * s.vecSize}, acc[v], acc[v])
				}
			}
		})
		for v := range acc {
			s.movdqu(acc[v], Mem{Base: sum, Disp: v * s.vecSize})
		}
		ADDQ(U32(block*4), sum)
		ADDQ(U32(block*4), off)
	})
	VZEROUPPER()
	RET()
}
