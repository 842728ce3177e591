// KeptSum (simd/orderstats.go).

package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genKeptSum emits KeptSum: per group of lanes, one pass over the rows clamps each value
// to the bounds, adds it in float64 (two halves of lanes) and checks it is finite; then
// k·lo and k·hi come off, lo first.
func genKeptSum(s isaSpec) {
	name := "keptSum" + s.suffix
	text(name, NOSPLIT, "func(sum []float64, rows [][]float32, off, k int, lo, hi []float32) int")
	Pragma("noescape")
	Doc(name+" is keptSumGeneric(sum, rows, off, k, lo, hi), returning 1 for finite and 0 otherwise,",
		"for len(sum) a multiple of 32 and every row's window [off, off+len(sum)) in bounds.")
	sum := Load(Param("sum").Base(), GP64()).(reg.GPVirtual)
	rows := Load(Param("rows").Base(), GP64()).(reg.GPVirtual)
	nrows := Load(Param("rows").Len(), GP64()).(reg.GPVirtual)
	off := Load(Param("off"), GP64()).(reg.GPVirtual)
	SHLQ(Imm(2), off)
	lo := Load(Param("lo").Base(), GP64()).(reg.GPVirtual)
	hi := Load(Param("hi").Base(), GP64()).(reg.GPVirtual)
	kq := Load(Param("k"), GP64()).(reg.GPVirtual)
	kf := s.vec()
	VCVTDQ2PD(s.halfOf(s.broadcastGP32(kq.As32())), kf) // k as float64 in every lane
	expMask := s.broadcast32(0x7f800000)
	// A group is two vectors of lanes, four float64 sums: each sum's additions wait on
	// the one before, and four chains keep the adders busy where two left them waiting
	// (BenchmarkKeptSum n1000_k100 200 -> 130 ns a coordinate; TrimmedMean n100_d1m
	// r=0.1 34.1 -> 32.2 ms).
	const vecs = 2
	groups := Load(Param("sum").Len(), GP64()).(reg.GPVirtual)
	SHRQ(Imm(uint64(bitsOf(vecs*s.f32Lanes()))), groups)
	finite := newFiniteCheck(s, true)
	forEach(groups, "group", func() {
		var L, H [vecs]reg.VecVirtual
		var sums [2 * vecs]reg.VecVirtual
		for v := range vecs {
			L[v], H[v] = s.vec(), s.vec()
			VMOVUPS(Mem{Base: lo, Disp: v * s.vecSize}, L[v])
			VMOVUPS(Mem{Base: hi, Disp: v * s.vecSize}, H[v])
		}
		for i := range sums {
			sums[i] = s.vec()
			VXORPD(sums[i], sums[i], sums[i])
		}
		rowLoop(rows, nrows, off, "row", func(addr reg.GPVirtual) {
			for line := 0; line < vecs*s.vecSize; line += 64 {
				PREFETCHT0(Mem{Base: addr, Disp: prefetchAhead + line})
			}
			for v := range vecs {
				x, c := s.vec(), s.vec()
				VMOVUPS(Mem{Base: addr, Disp: v * s.vecSize}, x)
				VMAXPS(L[v], x, c) // x > lo ? x : lo
				VMINPS(H[v], c, c) // c < hi ? c : hi
				t0, t1, h := s.vec(), s.vec(), s.half()
				if s.vecSize == 64 {
					VEXTRACTF64X4(Imm(1), c, h)
					VCVTPS2PD(c.AsY(), t0)
				} else {
					VEXTRACTF128(Imm(1), c, h)
					VCVTPS2PD(c.AsX(), t0)
				}
				VCVTPS2PD(h, t1)
				VADDPD(t0, sums[2*v], sums[2*v])
				VADDPD(t1, sums[2*v+1], sums[2*v+1])
				finite.add(x, expMask)
			}
		})
		half := s.vecSize / 2 // bytes of float32 that widen into one float64 vector
		for i, acc := range sums {
			lf, hf := s.vec(), s.vec()
			VCVTPS2PD(Mem{Base: lo, Disp: i * half}, lf)
			VCVTPS2PD(Mem{Base: hi, Disp: i * half}, hf)
			VFNMADD231PD(kf, lf, acc) // acc - k·lo: the product is exact, so one rounding
			VFNMADD231PD(kf, hf, acc)
			VMOVUPD(acc, Mem{Base: sum, Disp: i * s.vecSize})
		}
		ADDQ(U32(vecs*s.vecSize), lo)
		ADDQ(U32(vecs*s.vecSize), hi)
		ADDQ(U32(vecs*s.vecSize), off)
		ADDQ(U32(2*vecs*s.vecSize), sum)
	})
	finite.returnVerdict()
	VZEROUPPER()
	RET()
}

// genOutsideRows emits Outside: per group of 32 coordinates, the bounds in registers,
// each row's 32 values compared with both and the lanes outside stored as one 32-bit
// mask.
func genOutsideRows(s isaSpec) {
	name := "outsideRows" + s.suffix
	text(name, NOSPLIT, "func(masks []uint32, rows [][]float32, off int, lo, hi []float32)")
	Pragma("noescape")
	Doc(name+" is outsideRowsGeneric(masks, rows, off, lo, hi), for len(lo) a multiple of 32,",
		"every row's window [off, off+len(lo)) in bounds and len(masks) >= len(rows)·len(lo)/32.")
	masks := Load(Param("masks").Base(), GP64()).(reg.GPVirtual)
	rows := Load(Param("rows").Base(), GP64()).(reg.GPVirtual)
	nrows := Load(Param("rows").Len(), GP64()).(reg.GPVirtual)
	off := Load(Param("off"), GP64()).(reg.GPVirtual)
	SHLQ(Imm(2), off)
	lo := Load(Param("lo").Base(), GP64()).(reg.GPVirtual)
	hi := Load(Param("hi").Base(), GP64()).(reg.GPVirtual)
	groups := Load(Param("lo").Len(), GP64()).(reg.GPVirtual)
	SHRQ(Imm(5), groups)
	vecs := block * 4 / s.vecSize
	TESTQ(nrows, nrows)
	JZ(LabelRef("none"))
	forEach(groups, "group", func() {
		L, H := make([]reg.VecVirtual, vecs), make([]reg.VecVirtual, vecs)
		for v := range vecs {
			L[v], H[v] = s.vec(), s.vec()
			VMOVUPS(Mem{Base: lo, Disp: v * s.vecSize}, L[v])
			VMOVUPS(Mem{Base: hi, Disp: v * s.vecSize}, H[v])
		}
		rowLoop(rows, nrows, off, "row", func(addr reg.GPVirtual) {
			if s.vecSize == 64 {
				var out [2]reg.OpmaskVirtual
				for v := range vecs {
					x, below, above := s.vec(), K(), K()
					VMOVUPS(Mem{Base: addr, Disp: v * s.vecSize}, x)
					VCMPPS(Imm(cmpLT), L[v], x, below) // x < lo
					VCMPPS(Imm(cmpGT), H[v], x, above) // x > hi
					KORW(below, above, below)
					out[v] = below
				}
				m := K()
				KUNPCKWD(out[0], out[1], m) // the second half in the upper 16 bits
				KMOVD(m, Mem{Base: masks})
			} else {
				m := GP32()
				for v := range vecs {
					x, below, above := s.vec(), s.vec(), s.vec()
					VMOVUPS(Mem{Base: addr, Disp: v * s.vecSize}, x)
					VCMPPS(Imm(cmpLT), L[v], x, below)
					VCMPPS(Imm(cmpGT), H[v], x, above)
					VORPS(below, above, below)
					if v == 0 {
						VMOVMSKPS(below, m)
					} else {
						t := GP32()
						VMOVMSKPS(below, t)
						SHLL(U8(8*v), t)
						ORL(t, m)
					}
				}
				MOVL(m, Mem{Base: masks})
			}
			ADDQ(Imm(4), masks)
		})
		ADDQ(U32(block*4), lo)
		ADDQ(U32(block*4), hi)
		ADDQ(U32(block*4), off)
	})
	Label("none")
	VZEROUPPER()
	RET()
}
