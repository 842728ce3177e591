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

// genDequantize emits Dequantize's kernel: words shifted up and arithmetically back
// down by the count in an XMM register (the sign extension), widened to float64
// (exact), times scale, narrowed to float32: the one rounding of the definition.
// AVX-512 shifts 16 words in a Z register and converts its halves; AVX2 takes four words
// at a time into the X register that widens to a Y.
func genDequantize(s isaSpec) {
	text("dequantize"+s.suffix, NOSPLIT, "func(dst []float32, words []uint32, shift uint64, scale float64)")
	Pragma("noescape")
	Doc("dequantize"+s.suffix+" is  dst[i] = float32(float64(int32(words[i]<<shift)>>shift) * scale)",
		"for len(dst) a multiple of 32 and len(words) >= len(dst).")
	dst := Load(Param("dst").Base(), GP64())
	w := Load(Param("words").Base(), GP64())
	sh := Load(Param("shift"), GP64())
	count := XMM()
	MOVQ(sh, count)
	scx := Load(Param("scale"), XMM())
	sc := s.vec()
	VBROADCASTSD(scx, sc)
	n := blocksOf("dst")
	// widen converts f64Lanes sign-extended words in src to float32 in dst: times scale
	// in float64 between.
	widen := func(src, dst reg.Register) {
		p := s.vec()
		VCVTDQ2PD(src, p)
		VMULPD(sc, p, p)
		s.cvtPD2PS(p, dst)
	}
	loop(n, func() {
		if s.vecSize == 64 {
			for v := 0; v < block/16; v++ {
				z, hi := ZMM(), YMM()
				VMOVDQU32(Mem{Base: w, Disp: 64 * v}, z)
				VPSLLD(count, z, z)
				VPSRAD(count, z, z)
				VEXTRACTI64X4(Imm(1), z, hi)
				out, top := ZMM(), YMM()
				widen(z.AsY(), out.AsY())
				widen(hi, top)
				VINSERTF64X4(Imm(1), top, out, out)
				VMOVUPS(out, Mem{Base: dst, Disp: 64 * v})
			}
			return
		}
		for v := 0; v < block/4; v++ {
			h := XMM()
			VMOVDQU(Mem{Base: w, Disp: 16 * v}, h)
			VPSLLD(count, h, h)
			VPSRAD(count, h, h)
			widen(h, h)
			VMOVUPS(h, Mem{Base: dst, Disp: 16 * v})
		}
	}, func() {
		ADDQ(U32(block*4), dst)
		ADDQ(U32(block*4), w)
	})
}
