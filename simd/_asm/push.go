// Push, the stream's insertion of an update (simd/push.go).

package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genPush emits the streaming insertion of one update (see pushGeneric): per block of 16
// coordinates, if every value lies between its k-th smallest and k-th largest kept
// values it goes straight into the sums; otherwise the block's values run down the
// chain of smallest values, what drops out (unless it filled an empty +Inf slot) down
// the chain of largest values, and what drops out of that (unless -Inf) into the sums.
// The comparisons are the generic ones, strict, so ties keep the stored value.
func genPush(s isaSpec) {
	name := "push" + s.suffix
	text(name, NOSPLIT, "func(ext []float32, sum []float64, x []float32, k int)")
	Pragma("noescape")
	Doc(name+" is pushGeneric(ext, sum, x, k) for len(x) a multiple of 32 and k >= 1, with ext laid",
		"out as in Push.")
	ext := Load(Param("ext").Base(), GP64()).(reg.GPVirtual)
	sum := Load(Param("sum").Base(), GP64()).(reg.GPVirtual)
	x := Load(Param("x").Base(), GP64()).(reg.GPVirtual)
	kq := Load(Param("k"), GP64()).(reg.GPVirtual)
	blocks := Load(Param("x").Len(), GP64()).(reg.GPVirtual)
	SHRQ(Imm(4), blocks) // blocks of 16
	plane := GP64()      // bytes of one plane of a block: 64
	MOVQ(U32(64), plane)
	kBytes := GP64() // bytes of k planes
	MOVQ(kq, kBytes)
	SHLQ(Imm(6), kBytes)
	posInf, negInf := s.broadcast32(0x7f800000), s.broadcast32(0xff800000)
	forEach(blocks, "block", func() {
		// One block is 16 lanes: one vector on AVX-512, two halves on AVX2.
		halves := 64 / s.vecSize
		lastLow, lastHigh := GP64(), GP64()
		LEAQ(Mem{Base: ext, Index: kBytes, Scale: 1, Disp: -64}, lastLow) // plane k-1
		LEAQ(Mem{Base: lastLow, Index: kBytes, Scale: 1}, lastHigh)       // plane 2k-1
		for h := 0; h < halves; h++ {
			d := h * s.vecSize
			v := s.vec()
			VMOVUPS(Mem{Base: x, Disp: d}, v)
			lab := fmt.Sprintf("h%d", h)
			// Fast path: lowK <= v <= highK in every lane.
			if s.vecSize == 64 {
				inLow, inHigh := K(), K()
				VCMPPS(Imm(cmpGE), Mem{Base: lastLow, Disp: d}, v, inLow)
				VCMPPS(Imm(cmpLE), Mem{Base: lastHigh, Disp: d}, v, inHigh)
				KANDW(inLow, inHigh, inLow)
				KORTESTW(inLow, inLow) // CF set when all ones
				JCC(LabelRef("insert" + lab))
			} else {
				a, b := s.vec(), s.vec()
				VCMPPS(Imm(cmpGE), Mem{Base: lastLow, Disp: d}, v, a)
				VCMPPS(Imm(cmpLE), Mem{Base: lastHigh, Disp: d}, v, b)
				VANDPS(a, b, a)
				m := GP32()
				VMOVMSKPS(a, m)
				CMPL(m, U8(0xff))
				JNE(LabelRef("insert" + lab))
			}
			addToSum(s, sum, d, v, nil)
			JMP(LabelRef("next" + lab))
			Label("insert" + lab)
			// Down the smallest values: ext[i] = v < ext[i] ? v : ext[i], v = the other.
			p, left := GP64(), GP64()
			MOVQ(ext, p)
			MOVQ(kq, left)
			Label("low" + lab)
			{
				a, n := s.vec(), s.vec()
				VMOVUPS(Mem{Base: p, Disp: d}, a)
				VMINPS(a, v, n) // v < a ? v : a
				VMAXPS(v, a, v) // a > v ? a : v
				VMOVUPS(n, Mem{Base: p, Disp: d})
			}
			ADDQ(plane, p)
			DECQ(left)
			JNZ(LabelRef("low" + lab))
			// A value that filled an empty slot pushes out +Inf: nothing goes on.
			if s.vecSize == 64 {
				e := K()
				VCMPPS(Imm(cmpEQ), posInf, v, e)
				VBLENDMPS(negInf, v, e, v) // v = e ? -Inf : v
			} else {
				e := s.vec()
				VCMPPS(Imm(cmpEQ), posInf, v, e)
				VBLENDVPS(e, negInf, v, v)
			}
			MOVQ(kq, left)
			Label("high" + lab)
			{
				a, n := s.vec(), s.vec()
				VMOVUPS(Mem{Base: p, Disp: d}, a)
				VMAXPS(a, v, n) // v > a ? v : a
				VMINPS(v, a, v) // a < v ? a : v
				VMOVUPS(n, Mem{Base: p, Disp: d})
			}
			ADDQ(plane, p)
			DECQ(left)
			JNZ(LabelRef("high" + lab))
			// -Inf means nothing dropped out: add +0 there instead.
			if s.vecSize == 64 {
				keep := K()
				VCMPPS(Imm(0x0c), negInf, v, keep) // not equal (ordered, quiet)
				addToSum(s, sum, d, v, keep)
			} else {
				keep := s.vec()
				VCMPPS(Imm(0x0c), negInf, v, keep)
				VANDPS(keep, v, v)
				addToSum(s, sum, d, v, nil)
			}
			Label("next" + lab)
		}
		ADDQ(U32(64), x)
		ADDQ(U32(128), sum)
		LEAQ(Mem{Base: ext, Index: kBytes, Scale: 2}, ext) // next block: 2k planes on
	})
	VZEROUPPER()
	RET()
}

// addToSum adds the float32 lanes of v, widened, into the float64 sums at byte offset
// 2d of sum; with a mask (AVX-512), lanes outside it add nothing.
func addToSum(s isaSpec, sum reg.GPVirtual, d int, v reg.VecVirtual, mask reg.OpmaskVirtual) {
	lo, hi := s.vec(), s.vec()
	h := s.half()
	if s.vecSize == 64 {
		VEXTRACTF64X4(Imm(1), v, h)
		if mask != nil {
			mhi := K()
			KSHIFTRW(Imm(8), mask, mhi)
			VCVTPS2PD_Z(v.AsY(), mask, lo)
			VCVTPS2PD_Z(h, mhi, hi)
		} else {
			VCVTPS2PD(v.AsY(), lo)
			VCVTPS2PD(h, hi)
		}
	} else {
		VEXTRACTF128(Imm(1), v, h)
		VCVTPS2PD(v.AsX(), lo)
		VCVTPS2PD(h, hi)
	}
	for i, t := range []reg.VecVirtual{lo, hi} {
		off := 2*d + i*s.vecSize
		VADDPD(Mem{Base: sum, Disp: off}, t, t)
		VMOVUPD(t, Mem{Base: sum, Disp: off})
	}
}
