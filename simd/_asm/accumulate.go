// AddRows, AddScaledRows and Finish (simd/accumulate.go).

package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genAddRows emits the accumulation of many client rows into float64 sums. The sums of
// one block stay in registers while every row is added to them in order, so the sums
// cross the cache once per call instead of once per row. With weights (scaled), each
// row is fused in with its weight: acc = math.FMA(w[i], x, acc).
func genAddRows(s isaSpec, scaled bool) {
	name, sig := "addRows"+s.suffix, "func(sum []float64, rows [][]float32, off int)"
	spec := "for _, r := range rows { for j := range sum { sum[j] += float64(r[off+j]) } }"
	if scaled {
		name, sig = "addScaledRows"+s.suffix, "func(sum []float64, w []float64, rows [][]float32, off int)"
		spec = "for i, r := range rows { for j := range sum { sum[j] = math.FMA(w[i], float64(r[off+j]), sum[j]) } }"
	}
	text(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(name+" is  "+spec,
		"for len(sum) a multiple of 32, len(w) >= len(rows) and every len(r) >= off+len(sum).")
	sum := Load(Param("sum").Base(), GP64())
	rows := Load(Param("rows").Base(), GP64())
	nrows := Load(Param("rows").Len(), GP64())
	off := Load(Param("off"), GP64())
	SHLQ(Imm(2), off) // byte offset into each row
	var w reg.GPVirtual
	if scaled {
		w = Load(Param("w").Base(), GP64()).(reg.GPVirtual)
	}
	n := blocksOf("sum")
	TESTQ(nrows, nrows)
	JZ(LabelRef("done"))
	forEach(n, "block", func() {
		acc := make([]reg.VecVirtual, s.f64Vecs())
		for v := range acc {
			acc[v] = s.vec()
			VMOVUPD(Mem{Base: sum, Disp: v * s.vecSize}, acc[v])
		}
		rp, left := GP64(), GP64()
		MOVQ(rows, rp)
		MOVQ(nrows, left)
		var wp reg.GPVirtual
		if scaled {
			wp = GP64()
			MOVQ(w, wp)
		}
		Label("row")
		p := GP64()
		MOVQ(Mem{Base: rp}, p) // the row's data pointer: first word of its slice header
		var wv reg.VecVirtual
		if scaled {
			wv = s.vec()
			VBROADCASTSD(Mem{Base: wp}, wv)
		}
		// The hardware prefetchers stop at every 4 KiB page and relearn each of the group's
		// streams there; asking for the row's lines a little ahead keeps the loads flowing.
		PREFETCHT0(Mem{Base: p, Index: off, Scale: 1, Disp: prefetchAhead})
		PREFETCHT0(Mem{Base: p, Index: off, Scale: 1, Disp: prefetchAhead + 64})
		for v := range acc {
			t := s.vec()
			VCVTPS2PD(Mem{Base: p, Index: off, Scale: 1, Disp: v * s.f64Lanes() * 4}, t)
			if scaled {
				VFMADD231PD(wv, t, acc[v])
			} else {
				VADDPD(t, acc[v], acc[v])
			}
		}
		ADDQ(Imm(24), rp) // next slice header
		if scaled {
			ADDQ(Imm(8), wp)
		}
		DECQ(left)
		JNZ(LabelRef("row"))
		for v := range acc {
			VMOVUPD(acc[v], Mem{Base: sum, Disp: v * s.vecSize})
		}
		ADDQ(U32(block*8), sum)
		ADDQ(U32(block*4), off)
	})
	VZEROUPPER()
	RET()
}

func genFinish(s isaSpec) {
	text("finish"+s.suffix, NOSPLIT, "func(dst []float32, sum []float64, scale float64)")
	Pragma("noescape")
	Doc("finish" + s.suffix + " is  for i := range dst { dst[i] = float32(sum[i] * scale) }  for len(dst) a multiple of 32 and len(sum) >= len(dst).")
	dst := Load(Param("dst").Base(), GP64())
	sum := Load(Param("sum").Base(), GP64())
	scx := Load(Param("scale"), XMM())
	sc := s.vec()
	VBROADCASTSD(scx, sc)
	n := blocksOf("dst")
	loop(n, func() {
		for v := 0; v < s.f64Vecs(); v++ {
			p := s.vec()
			VMULPD(Mem{Base: sum, Disp: v * s.vecSize}, sc, p)
			h := s.half()
			s.cvtPD2PS(p, h)
			VMOVUPS(h, Mem{Base: dst, Disp: v * s.vecSize / 2})
		}
	}, func() {
		ADDQ(U32(block*4), dst)
		ADDQ(U32(block*8), sum)
	})
}

// accumulators loads the 32 partial sums of Dot/SumSquares into vector registers.
func accumulators(s isaSpec, acc reg.GPVirtual) []reg.VecVirtual {
	as := make([]reg.VecVirtual, s.f64Vecs())
	for v := range as {
		as[v] = s.vec()
		VMOVUPD(Mem{Base: acc, Disp: v * s.vecSize}, as[v])
	}
	return as
}

// storeAccumulators writes the partial sums back; it must run before the loop's RET.
func storeAccumulators(s isaSpec, acc reg.GPVirtual, as []reg.VecVirtual) {
	for v := range as {
		VMOVUPD(as[v], Mem{Base: acc, Disp: v * s.vecSize})
	}
}
