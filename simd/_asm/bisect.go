// Bounds by bisection of the keys, the generic form (simd/orderstats.go).

package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genBoundsBisect emits Bounds for any k by bisection on order-preserving integer keys:
// per group of lanes it writes each row's keys to scratch, then settles the two ranks'
// keys one bit at a time from the top, counting in every pass how many keys lie below
// each candidate: 32 passes over the group's keys, which stay in cache.
//
// A float32's bits b map to the signed key b ^ ((b >> 31) & 0x7fffffff), whose integer
// order is the float order (with -0 before +0); the map is its own inverse.
func genBoundsBisect(s isaSpec) {
	name := "boundsBisect" + s.suffix
	text(name, NOSPLIT, "func(lo, hi []float32, rows [][]float32, off, k int, keys []int32)")
	Pragma("noescape")
	Doc(name+" is boundsGeneric(lo, hi, rows, off, k) for len(lo) a multiple of 32, 2k < len(rows),",
		fmt.Sprintf("len(keys) >= %d·len(rows), every row's window [off, off+len(lo)) in bounds and finite values.", s.f32Lanes()))
	lo := Load(Param("lo").Base(), GP64()).(reg.GPVirtual)
	hi := Load(Param("hi").Base(), GP64()).(reg.GPVirtual)
	rows := Load(Param("rows").Base(), GP64()).(reg.GPVirtual)
	nrows := Load(Param("rows").Len(), GP64()).(reg.GPVirtual)
	off := Load(Param("off"), GP64()).(reg.GPVirtual)
	SHLQ(Imm(2), off)
	kq := Load(Param("k"), GP64()).(reg.GPVirtual)
	keys := Load(Param("keys").Base(), GP64()).(reg.GPVirtual)
	// The ranks: k from the bottom for lo, n-1-k for hi.
	r2 := GP64()
	MOVQ(nrows, r2)
	DECQ(r2)
	SUBQ(kq, r2)
	rankLo, rankHi := s.broadcastGP32(kq.As32()), s.broadcastGP32(r2.As32())
	magnitude := s.broadcast32(0x7fffffff)
	sign := s.broadcast32(0x80000000)
	var ones reg.VecVirtual
	if s.vecSize == 64 {
		ones = s.broadcast32(1)
	}
	groups := Load(Param("lo").Len(), GP64()).(reg.GPVirtual)
	SHRQ(Imm(uint64(bitsOf(s.f32Lanes()))), groups)
	forEach(groups, "group", func() {
		// Pass 0: the keys of this group's lanes, row by row, into scratch.
		kp := GP64()
		MOVQ(keys, kp)
		rowLoop(rows, nrows, off, "keyrow", func(addr reg.GPVirtual) {
			PREFETCHT0(Mem{Base: addr, Disp: prefetchAhead})
			x := s.vec()
			VMOVUPS(Mem{Base: addr}, x)
			s.signedKey(x, magnitude)
			s.movdqu(x, Mem{Base: kp})
			ADDQ(U32(s.vecSize), kp)
		})
		// Bisection: resLo/resHi hold the unsigned keys settled so far.
		resLo, resHi, bit := s.vec(), s.vec(), s.vec()
		s.pxor(resLo, resLo, resLo)
		s.pxor(resHi, resHi, resHi)
		s.movdqu(sign, bit)
		pass := GP64()
		MOVQ(U32(32), pass)
		Label("pass")
		candLo, candHi, cmpLo, cmpHi := s.vec(), s.vec(), s.vec(), s.vec()
		s.por(bit, resLo, candLo)
		s.por(bit, resHi, candHi)
		s.pxor(sign, candLo, cmpLo) // the candidate as a signed key
		s.pxor(sign, candHi, cmpHi)
		cntLo, cntHi := s.vec(), s.vec()
		s.pxor(cntLo, cntLo, cntLo)
		s.pxor(cntHi, cntHi, cntHi)
		kp2, left := GP64(), GP64()
		MOVQ(keys, kp2)
		MOVQ(nrows, left)
		Label("count")
		if s.vecSize == 64 {
			kl, kh := K(), K()
			VPCMPGTD(Mem{Base: kp2}, cmpLo, kl) // key < candidate
			VPADDD(ones, cntLo, kl, cntLo)
			VPCMPGTD(Mem{Base: kp2}, cmpHi, kh)
			VPADDD(ones, cntHi, kh, cntHi)
		} else {
			t, u := s.vec(), s.vec()
			VPCMPGTD(Mem{Base: kp2}, cmpLo, t)
			VPSUBD(t, cntLo, cntLo)
			VPCMPGTD(Mem{Base: kp2}, cmpHi, u)
			VPSUBD(u, cntHi, cntHi)
		}
		ADDQ(U32(s.vecSize), kp2)
		DECQ(left)
		JNZ(LabelRef("count"))
		// Keep the candidate where at most rank keys lie below it.
		if s.vecSize == 64 {
			kl, kh := K(), K()
			VPCMPD(Imm(2), rankLo, cntLo, kl) // count <= rank
			VMOVDQA32(candLo, kl, resLo)
			VPCMPD(Imm(2), rankHi, cntHi, kh)
			VMOVDQA32(candHi, kh, resHi)
			VPSRLD(Imm(1), bit, bit)
		} else {
			over := s.vec()
			VPCMPGTD(rankLo, cntLo, over) // count > rank: keep what was settled
			VBLENDVPS(over, resLo, candLo, resLo)
			VPCMPGTD(rankHi, cntHi, over)
			VBLENDVPS(over, resHi, candHi, resHi)
			VPSRLD(Imm(1), bit, bit)
		}
		DECQ(pass)
		JNZ(LabelRef("pass"))
		// Back from unsigned keys to floats, zeros as +0.
		zero := s.vec()
		VXORPS(zero, zero, zero)
		for i, r := range []reg.VecVirtual{resLo, resHi} {
			s.floatOfKey(r, magnitude, sign, zero)
			VMOVUPS(r, Mem{Base: []reg.GPVirtual{lo, hi}[i]})
		}
		ADDQ(U32(s.vecSize), lo)
		ADDQ(U32(s.vecSize), hi)
		ADDQ(U32(s.vecSize), off)
	})
	VZEROUPPER()
	RET()
}
