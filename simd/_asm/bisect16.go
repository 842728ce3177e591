// The 16-bit bisection kernels (AVX2 and AVX-512; simd/orderstats.go).

package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genBoundsBisect16 emits Bounds for any k and up to 32767 rows, by bisection in two
// 16-bit stages: the high halves of both ranks' keys are settled first, two ranks per
// 32-bit lane, then every key is mapped to 16 bits against its rank's settled high half
// (below it: 0, above it: 0xffff, equal: its low half) and the low halves are settled
// the same way, on only the rows that hold a key equal to its prefix in some word. Half
// the bits per compare against genBoundsBisect, and both ranks in one.
//
// Words hold unsigned key halves; comparisons run on signed words, so every stored or
// compared word is flipped by 0x8000.
//
// With pair set it emits selectRank16 instead: one rank, and the words of a 32-bit lane
// belong to two neighbouring groups of lanes, so each compare serves twice the
// coordinates; a median needs no more (see Bounds).
func genBoundsBisect16(s isaSpec, pair bool) {
	var lo, hi reg.GPVirtual
	lanesPerGroup := s.f32Lanes()
	if pair {
		name := "selectRank16" + s.suffix
		text(name, NOSPLIT, "func(out []float32, rows [][]float32, off, k int, keys []int32) int")
		Pragma("noescape")
		Doc(name+" writes into out the (k+1)-th smallest value of each coordinate (boundsGeneric's lo), for",
			fmt.Sprintf("len(out) a multiple of 32, k < len(rows) <= 32767, len(keys) >= %d·len(rows) and every", 2*s.f32Lanes()),
			"row's window [off, off+len(out)) in bounds. It returns 1 if every value read was finite, else 0",
			"(and out is then unspecified).")
		lo = Load(Param("out").Base(), GP64()).(reg.GPVirtual)
		lanesPerGroup *= 2
	} else {
		name := "boundsBisect16" + s.suffix
		text(name, NOSPLIT, "func(lo, hi []float32, rows [][]float32, off, k int, keys []int32)")
		Pragma("noescape")
		Doc(name+" is boundsGeneric(lo, hi, rows, off, k) for len(lo) a multiple of 32, 2k < len(rows) <= 32767,",
			fmt.Sprintf("len(keys) >= %d·len(rows), every row's window [off, off+len(lo)) in bounds and finite values.", 2*s.f32Lanes()))
		lo = Load(Param("lo").Base(), GP64()).(reg.GPVirtual)
		hi = Load(Param("hi").Base(), GP64()).(reg.GPVirtual)
	}
	rows := Load(Param("rows").Base(), GP64()).(reg.GPVirtual)
	nrows := Load(Param("rows").Len(), GP64()).(reg.GPVirtual)
	off := Load(Param("off"), GP64()).(reg.GPVirtual)
	SHLQ(Imm(2), off)
	kq := Load(Param("k"), GP64()).(reg.GPVirtual)
	keys := Load(Param("keys").Base(), GP64()).(reg.GPVirtual)
	// B, the low halves (then the mapped keys), lies n vectors after A, the high halves.
	bOff := GP64()
	MOVQ(nrows, bOff)
	SHLQ(Imm(uint64(bitsOf(s.vecSize))), bOff)
	// Ranks packed in words: k for lo in the low word, n-1-k for hi in the high word
	// (or k in both, for the two groups of a pair).
	rq := GP64()
	if pair {
		MOVQ(kq, rq)
	} else {
		MOVQ(nrows, rq)
		DECQ(rq)
		SUBQ(kq, rq)
	}
	SHLQ(Imm(16), rq)
	ORQ(kq, rq)
	ranks := s.broadcastGP32(rq.As32())
	magnitude := s.broadcast32(0x7fffffff)
	flip := s.broadcast32(0x80008000)
	lowWord := s.broadcast32(0x0000ffff)
	highWord := s.broadcast32(0xffff0000)
	topWord := s.broadcast32(0x7fff7fff)
	sign := s.broadcast32(0x80000000)
	var ones reg.VecVirtual
	if s.vecSize == 64 {
		ones = s.broadcast32(0x00010001)
	}
	groups := Load(Param([]string{"lo", "out"}[b2i(pair)]).Len(), GP64()).(reg.GPVirtual)
	SHRQ(Imm(uint64(bitsOf(lanesPerGroup))), groups)
	// selectRank16 checks the values as it keys them. The exponent mask is made afresh
	// for each group's key pass: AVX2 has no register to keep it through the bisection.
	var expMask reg.VecVirtual
	var finite *finiteCheck
	if pair {
		finite = newFiniteCheck(s, false)
	}
	checkFinite := func(x reg.VecVirtual) {
		if pair {
			finite.add(x, expMask)
		}
	}
	forEach(groups, "group", func() {
		// Pass 0: per row, A = (hi half, hi half) and B = (lo half, lo half), flipped; for a
		// pair, the halves of the first group's key in the low words, the second's in the high.
		kp := GP64()
		MOVQ(keys, kp)
		unsignedKey := func(x reg.VecVirtual) { s.unsignedKey(x, magnitude, sign) }
		if pair {
			expMask = s.broadcast32(0x7f800000)
		}
		// The prefetches go to L2 (T1): this pass touches every row at once, and a burst
		// of T0 prefetches that large outruns L1's fill buffers (measured: median n100_d1m
		// 48 -> 42 ms).
		rowLoop(rows, nrows, off, "keyrow", func(addr reg.GPVirtual) {
			PREFETCHT1(Mem{Base: addr, Disp: prefetchAhead})
			x, y, t, w := s.vec(), s.vec(), s.vec(), s.vec()
			VMOVUPS(Mem{Base: addr}, x)
			checkFinite(x)
			unsignedKey(x)
			if pair {
				PREFETCHT1(Mem{Base: addr, Disp: prefetchAhead + s.vecSize})
				VMOVUPS(Mem{Base: addr, Disp: s.vecSize}, y)
				checkFinite(y)
				unsignedKey(y)
			} else {
				y = x
			}
			VPSRLD(Imm(16), x, w)
			s.pand(highWord, y, t)
			s.por(t, w, w)
			s.pxor(flip, w, w)
			s.movdqu(w, Mem{Base: kp})
			s.pand(lowWord, x, x)
			VPSLLD(Imm(16), y, t)
			s.por(t, x, x)
			s.pxor(flip, x, x)
			s.movdqu(x, Mem{Base: kp, Index: bOff, Scale: 1})
			ADDQ(U32(s.vecSize), kp)
		})
		prefix := bisect16(s, keys, nrows, ranks, flip, ones, "a")
		// Map B against the prefixes: below -> 0, above -> 0xffff, equal -> the low half,
		// and keep only the rows with a key equal to its prefix in some word: the others
		// cannot move the low halves, they only count below, so their below words are
		// taken off the ranks and the low halves are settled on the kept rows alone
		// (a few in a hundred on smooth data, where the 16 high bits nearly decide).
		ps := s.vec()
		s.pxor(flip, prefix, ps)
		minWord := flip // 0x8000 flipped is 0
		outside := s.vec()
		s.pxor(outside, outside, outside)
		MOVQ(keys, kp)
		bBase, kept := GP64(), GP64()
		LEAQ(Mem{Base: keys, Index: bOff, Scale: 1}, bBase)
		MOVQ(bBase, kept)
		left := GP64()
		MOVQ(nrows, left)
		// A row kept has its low words written at kept, those of the other lanes made the
		// least or the greatest word (below or above the prefix).
		keepRow := func(a, below reg.VecVirtual, belowK reg.Register) {
			m := s.vec()
			s.movdqu(Mem{Base: kp, Index: bOff, Scale: 1}, m)
			if s.vecSize == 64 {
				above := K()
				VPCMPGTW(ps, a, above) // a > prefix
				VMOVDQU16(minWord, belowK, m)
				VMOVDQU16(topWord, above, m)
			} else {
				above := s.vec()
				VPCMPGTW(ps, a, above)
				VPBLENDVB(below, minWord, m, m)
				VPBLENDVB(above, topWord, m, m)
			}
			s.movdqu(m, Mem{Base: kept})
		}
		// As in the byte kernels, up to compactBranchFrom rows every row is written and
		// kept moves on only for a kept one: a branch on it would miss too often.
		CMPQ(nrows, U32(compactBranchFrom))
		JAE(LabelRef("map"))
		Label("mapfree")
		{
			a := s.vec()
			s.movdqu(Mem{Base: kp}, a)
			dropped, all := GP64(), GP64()
			XORQ(dropped, dropped)
			MOVQ(I32(-1), all)
			if s.vecSize == 64 {
				below, eq, kd, belowDropped := K(), K(), K(), K()
				VPCMPGTW(a, ps, below) // prefix > a
				VPCMPEQW(a, ps, eq)
				keepRow(a, nil, below)
				KORTESTD(eq, eq)
				CMOVQEQ(all, dropped) // all ones if no word is the prefix
				KMOVD(dropped.As32(), kd)
				KANDD(below, kd, belowDropped)
				VPADDW(ones, outside, belowDropped, outside)
			} else {
				below, eq, dm := s.vec(), s.vec(), s.vec()
				VPCMPGTW(a, ps, below)
				VPCMPEQW(a, ps, eq)
				keepRow(a, below, nil)
				VPTEST(eq, eq)
				CMOVQEQ(all, dropped)
				dx := XMM()
				MOVQ(dropped, dx)
				VPBROADCASTQ(dx, dm)
				VPAND(dm, below, below)
				VPSUBW(below, outside, outside)
			}
			NOTQ(dropped)
			ANDQ(U32(s.vecSize), dropped)
			ADDQ(dropped, kept)
		}
		ADDQ(U32(s.vecSize), kp)
		DECQ(left)
		JNZ(LabelRef("mapfree"))
		JMP(LabelRef("allmapped"))
		Label("map")
		{
			a := s.vec()
			s.movdqu(Mem{Base: kp}, a)
			if s.vecSize == 64 {
				below, eq := K(), K()
				VPCMPGTW(a, ps, below) // prefix > a
				VPCMPEQW(a, ps, eq)
				KORTESTD(eq, eq)
				JNZ(LabelRef("keep"))
				VPADDW(ones, outside, below, outside)
				JMP(LabelRef("mapped"))
				Label("keep")
				keepRow(a, nil, below)
			} else {
				below, eq := s.vec(), s.vec()
				VPCMPGTW(a, ps, below)
				VPCMPEQW(a, ps, eq)
				VPTEST(eq, eq)
				JNZ(LabelRef("keep"))
				VPSUBW(below, outside, outside)
				JMP(LabelRef("mapped"))
				Label("keep")
				keepRow(a, below, nil)
			}
			ADDQ(U32(s.vecSize), kept)
		}
		Label("mapped")
		ADDQ(U32(s.vecSize), kp)
		DECQ(left)
		JNZ(LabelRef("map"))
		Label("allmapped")
		// Rows kept: (kept - bBase) / vecSize, never 0 (the rank's own key is kept).
		SUBQ(bBase, kept)
		SHRQ(Imm(uint64(bitsOf(s.vecSize))), kept)
		rest := s.vec()
		VPSUBW(outside, ranks, rest)
		low := bisect16(s, bBase, kept, rest, flip, ones, "b")
		// Reassemble the unsigned keys, then back to floats with zeros as +0.
		uLo, uHi, t := s.vec(), s.vec(), s.vec()
		VPSLLD(Imm(16), prefix, uLo)
		s.pand(lowWord, low, t)
		s.por(t, uLo, uLo)
		s.pand(highWord, prefix, uHi)
		VPSRLD(Imm(16), low, t)
		s.por(t, uHi, uHi)
		zero := s.vec()
		VXORPS(zero, zero, zero)
		for i, r := range []reg.VecVirtual{uLo, uHi} {
			s.floatOfKey(r, magnitude, sign, zero)
			if pair {
				VMOVUPS(r, Mem{Base: lo, Disp: i * s.vecSize})
			} else {
				VMOVUPS(r, Mem{Base: []reg.GPVirtual{lo, hi}[i]})
			}
		}
		if pair {
			ADDQ(U32(2*s.vecSize), lo)
			ADDQ(U32(2*s.vecSize), off)
		} else {
			ADDQ(U32(s.vecSize), lo)
			ADDQ(U32(s.vecSize), hi)
			ADDQ(U32(s.vecSize), off)
		}
	})
	if pair {
		finite.returnVerdict()
	}
	VZEROUPPER()
	RET()
}

// bisect16 settles, for both ranks packed in words, the largest unsigned word c with at
// most rank flipped words of the n-vector array at base below c (flipped), one bit at a
// time from the top, and returns the packed results.
func bisect16(s isaSpec, base, nrows reg.GPVirtual, ranks, flip, ones reg.VecVirtual, tag string) reg.VecVirtual {
	res, bit := s.vec(), s.vec()
	clearVec(res)
	s.movdqu(flip, bit) // 0x8000 in each word
	pass := GP64()
	MOVQ(U32(16), pass)
	Label("pass" + tag)
	cand, cmp, cnt := s.vec(), s.vec(), s.vec()
	s.por(bit, res, cand)
	s.pxor(flip, cand, cmp)
	clearVec(cnt)
	// Several rows per iteration into several counters, so neither a counter's chain nor
	// the loop overhead sets the pace; the rest one row at a time.
	// (AVX2 has registers for two counters only; AVX-512 takes four, eight rows a turn.)
	counters := []reg.VecVirtual{cnt}
	nc := 2
	if s.vecSize == 64 {
		nc = 4
	}
	for len(counters) < nc {
		c := s.vec()
		clearVec(c)
		counters = append(counters, c)
	}
	unroll := 2 * nc
	p, quads, left := GP64(), GP64(), GP64()
	MOVQ(base, p)
	MOVQ(nrows, quads)
	SHRQ(Imm(uint64(bitsOf(unroll))), quads)
	MOVQ(nrows, left)
	ANDQ(Imm(uint64(unroll-1)), left)
	countRow := func(disp int, c reg.VecVirtual) {
		if s.vecSize == 64 {
			below := K()
			VPCMPGTW(Mem{Base: p, Disp: disp}, cmp, below) // key < candidate
			VPADDW(ones, c, below, c)
		} else {
			below := s.vec()
			VPCMPGTW(Mem{Base: p, Disp: disp}, cmp, below)
			VPSUBW(below, c, c)
		}
	}
	TESTQ(quads, quads)
	JZ(LabelRef("single" + tag))
	Label("count" + tag)
	for r := range unroll {
		countRow(r*s.vecSize, counters[r%nc])
	}
	ADDQ(U32(unroll*s.vecSize), p)
	DECQ(quads)
	JNZ(LabelRef("count" + tag))
	Label("single" + tag)
	TESTQ(left, left)
	JZ(LabelRef("counted" + tag))
	Label("one" + tag)
	countRow(0, cnt)
	ADDQ(U32(s.vecSize), p)
	DECQ(left)
	JNZ(LabelRef("one" + tag))
	Label("counted" + tag)
	for _, c := range counters[1:] {
		VPADDW(c, cnt, cnt)
	}
	if s.vecSize == 64 {
		keep := K()
		VPCMPW(Imm(2), ranks, cnt, keep) // count <= rank
		VMOVDQU16(cand, keep, res)
	} else {
		over := s.vec()
		VPCMPGTW(ranks, cnt, over) // count > rank: keep what was settled
		VPBLENDVB(over, res, cand, res)
	}
	VPSRLW(Imm(1), bit, bit)
	DECQ(pass)
	JNZ(LabelRef("pass" + tag))
	return res
}

// bisect16Pair is bisect16 for two arrays of n rows at once (AVX-512): X at base and
// Y at base + yScale·step, with their own ranks, one loop over the rows serving both,
// so the passes' fixed costs (and the branch at each pass's end) are paid once.
func bisect16Pair(base, step, nrows reg.GPVirtual, yScale uint8, ranksX, ranksY, flip, ones reg.VecVirtual) (resX, resY reg.VecVirtual) {
	resX, resY = ZMM(), ZMM()
	clearVec(resX)
	clearVec(resY)
	bit := ZMM()
	VMOVDQA64(flip, bit) // 0x8000 in each word
	pass := GP64()
	MOVQ(U32(16), pass)
	Label("pass16")
	cmpX, cmpY := ZMM(), ZMM()
	VPORD(bit, resX, cmpX)
	VPORD(bit, resY, cmpY)
	VPXORD(flip, cmpX, cmpX)
	VPXORD(flip, cmpY, cmpY)
	cx, cy, dx, dy := ZMM(), ZMM(), ZMM(), ZMM()
	for _, c := range []reg.VecVirtual{cx, cy, dx, dy} {
		clearVec(c)
	}
	p, pairs, left := GP64(), GP64(), GP64()
	MOVQ(base, p)
	MOVQ(nrows, pairs)
	SHRQ(Imm(1), pairs)
	MOVQ(nrows, left)
	ANDQ(Imm(1), left)
	countRow := func(disp int, x, y reg.VecVirtual) {
		kx, ky := K(), K()
		VPCMPGTW(Mem{Base: p, Disp: disp}, cmpX, kx) // key < candidate
		VPADDW(ones, x, kx, x)
		VPCMPGTW(Mem{Base: p, Index: step, Scale: yScale, Disp: disp}, cmpY, ky)
		VPADDW(ones, y, ky, y)
	}
	TESTQ(pairs, pairs)
	JZ(LabelRef("single16"))
	Label("count16")
	countRow(0, cx, cy)
	countRow(64, dx, dy)
	ADDQ(U32(128), p)
	DECQ(pairs)
	JNZ(LabelRef("count16"))
	Label("single16")
	TESTQ(left, left)
	JZ(LabelRef("counted16"))
	countRow(0, cx, cy)
	Label("counted16")
	VPADDW(dx, cx, cx)
	VPADDW(dy, cy, cy)
	keepX, keepY := K(), K()
	VPCMPW(Imm(2), ranksX, cx, keepX) // count <= rank
	VPCMPW(Imm(2), ranksY, cy, keepY)
	candX, candY := ZMM(), ZMM()
	VPXORD(flip, cmpX, candX)
	VPXORD(flip, cmpY, candY)
	VMOVDQU16(candX, keepX, resX)
	VMOVDQU16(candY, keepY, resY)
	VPSRLW(Imm(1), bit, bit)
	DECQ(pass)
	JNZ(LabelRef("pass16"))
	return resX, resY
}
