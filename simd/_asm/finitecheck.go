// The finiteness check the order-statistic kernels run as they read.

package main

import (
	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/reg"
)

// finiteCheck gathers, over the vectors it is shown, whether any holds a NaN or ±Inf (an
// exponent of all ones): in an opmask on AVX-512; on AVX2 in a vector register, or, for a
// kernel that needs all sixteen for itself, in a general register.
type finiteCheck struct {
	s    isaSpec
	badK reg.OpmaskVirtual
	badV reg.VecVirtual
	badG reg.GPVirtual
}

// newFiniteCheck starts a check; spareVec says the AVX2 kernel can keep a vector for it.
func newFiniteCheck(s isaSpec, spareVec bool) *finiteCheck {
	f := &finiteCheck{s: s}
	switch {
	case s.vecSize == 64:
		f.badK = K()
		KXORW(f.badK, f.badK, f.badK)
	case spareVec:
		f.badV = s.vec()
		VPXOR(f.badV, f.badV, f.badV)
	default:
		f.badG = GP32()
		XORL(f.badG, f.badG)
	}
	return f
}

// add checks x; expMask holds 0x7f800000 in every lane.
func (f *finiteCheck) add(x, expMask reg.VecVirtual) {
	e := f.s.vec()
	f.s.pand(x, expMask, e)
	switch {
	case f.s.vecSize == 64:
		nf := K()
		VPCMPEQD(expMask, e, nf)
		KORW(nf, f.badK, f.badK)
	case f.badV != nil:
		VPCMPEQD(expMask, e, e)
		VPOR(e, f.badV, f.badV)
	default:
		VPCMPEQD(expMask, e, e)
		m := GP32()
		VPMOVMSKB(e, m)
		ORL(m, f.badG)
	}
}

// returnVerdict stores the function's int result: 1 if every value shown was finite.
func (f *finiteCheck) returnVerdict() {
	ok := GP64()
	XORQ(ok, ok)
	switch {
	case f.s.vecSize == 64:
		KORTESTW(f.badK, f.badK)
	case f.badV != nil:
		VPTEST(f.badV, f.badV)
	default:
		TESTL(f.badG, f.badG)
	}
	SETEQ(ok.As8())
	Store(ok, ReturnIndex(0))
}
