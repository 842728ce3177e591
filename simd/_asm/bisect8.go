// The byte-wide bisection kernels (AVX-512; simd/orderstats.go).

package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genBoundsBisect8 emits Bounds for 32 coordinates at a time (AVX-512 only), with the
// high half of each key settled a byte at a time: a byte compare decides 64 lanes, the
// two ranks of 32 coordinates, where a word compare decides 32, and the bisection's
// passes over all rows are nearly all of its time. Per group: a key pass writes, per
// row, the keys' top bytes (A1), their second bytes (A2) and their low halves (B),
// and per lane the range of the top bytes of either sign; one pass settles the sign
// and a few more the top bytes within that sign's range (normally distributed values
// span a few top bytes on either side of zero, so 3-4 passes instead of 7 in all), or
// one pass tries the top bytes of a guess (what lo and hi held) and settles the lanes
// it hits; A2 is mapped against them (below -> 0, above -> 0xff,
// so counting below a candidate still counts every row below); 8 passes settle the
// second bytes; then, as in boundsBisect16, only the rows whose high half equals some
// lane's prefix are kept, the others' below-counts taken off the ranks, and the low
// halves settled on the kept rows, once for lanes 0-31 and once for lanes 32-63.
//
// With pair, it emits selectRank8 instead: one rank k for 64 coordinates (the lanes
// are 64 coordinates rather than two ranks of 32), checking the values as it keys them.
func genBoundsBisect8(s isaSpec, pair bool) {
	coords := 32 // per group
	if pair {
		coords = 64
		name := "selectRank8" + s.suffix
		text(name, NOSPLIT, "func(out []float32, rows [][]float32, off, k int, keys []int32, panel []float32, stride int) int")
		Pragma("noescape")
		Doc(name+" writes into out the (k+1)-th smallest value of each coordinate (boundsGeneric's lo), for",
			"len(out) a multiple of 64, k < len(rows) <= 32767, len(keys) >= 81·len(rows) and every row's",
			"window [off, off+len(out)) in bounds. It returns 1 if every value read was finite, else 0 (and",
			"out is then unspecified). Unless panel is empty, it copies row i's window to panel[i*stride:].")
	} else {
		name := "boundsBisect8" + s.suffix
		text(name, NOSPLIT, "func(lo, hi []float32, rows [][]float32, off, k int, keys []int32, panel []float32, stride int)")
		Pragma("noescape")
		Doc(name+" is boundsGeneric(lo, hi, rows, off, k) for len(lo) a multiple of 32, 2k < len(rows) <= 32767,",
			"len(keys) >= 65·len(rows), every row's window [off, off+len(lo)) in bounds and finite values.",
			"Unless panel is empty, it copies row i's window to panel[i*stride:]. It reads lo and hi before",
			"it writes them, for a guess.")
	}
	vecs := coords / 16 // row vectors a group reads
	rows := Load(Param("rows").Base(), GP64()).(reg.GPVirtual)
	nrows := Load(Param("rows").Len(), GP64()).(reg.GPVirtual)
	off := Load(Param("off"), GP64()).(reg.GPVirtual)
	SHLQ(Imm(2), off)
	keys := Load(Param("keys").Base(), GP64()).(reg.GPVirtual)
	// Scratch, in arrays of 64 bytes a row, step bytes apart: A1, A2, then B (the low
	// halves of lanes 0-31, in words) and the low halves of lanes 32-63: the same B for
	// Bounds, whose two halves are one coordinate's two ranks; its own array B2 at 4
	// steps for selectRank8. The kept rows' low halves are compacted in place: lanes
	// 0-31 over B, lanes 32-63 over B2 (or, for Bounds, into the array after B). After
	// the last array, 4 bytes a row list the kept rows.
	step := GP64()
	MOVQ(nrows, step)
	SHLQ(Imm(6), step)
	yScale := uint8(1) // the upper lanes' kept rows lie yScale steps after the lower ones'
	if pair {
		yScale = 2
	}
	// Ranks in words: for Bounds k in lanes 0-31 (the lower bounds) and n-1-k in lanes
	// 32-63; for selectRank8 k in all.
	rLo, rHi := s.vec(), s.vec()
	kq := Load(Param("k"), GP64()).(reg.GPVirtual)
	VPBROADCASTW(kq.As32(), rLo)
	if pair {
		VMOVDQA64(rLo, rHi)
	} else {
		rq := GP64()
		MOVQ(nrows, rq)
		DECQ(rq)
		SUBQ(kq, rq)
		VPBROADCASTW(rq.As32(), rHi)
	}
	magnitude := s.broadcast32(0x7fffffff)
	sign := s.broadcast32(0x80000000)
	flip := s.broadcast32(0x80008000)
	topWord := s.broadcast32(0x7fff7fff)
	onesW := s.broadcast32(0x00010001)
	var finite *finiteCheck
	var expMask reg.VecVirtual
	if pair {
		finite = newFiniteCheck(s, true)
		expMask = s.broadcast32(0x7f800000)
	}
	// The group count and the outputs' offset live on the stack: the passes need every
	// general register they can get.
	groups, outOff := AllocLocal(8), AllocLocal(8)
	// The panel's column of this group (nil for no copy), its row stride in bytes, and
	// the tile's width in bytes (the stride less the line between rows): copying, the
	// key pass asks for each row's lines one tile on, which the worker takes next.
	// (Further on, as without a panel, and the lines of a thousand rows are gone from
	// L2 before their turn; n1000_d100k r=0.1 42.7 -> 39 ms, the median 27.2 -> 25 ms.)
	panelAt, panelStride, tileAhead := AllocLocal(8), AllocLocal(8), AllocLocal(8)
	// Whether Bounds guesses the next group's top bytes (from 1, see below).
	var guessing Mem
	if !pair {
		guessing = AllocLocal(8)
		MOVQ(U32(1), guessing)
	}
	{
		pb, ps := GP64(), GP64()
		MOVQ(U32(0), pb)
		ln := Load(Param("panel").Len(), GP64()).(reg.GPVirtual)
		TESTQ(ln, ln)
		JZ(LabelRef("nopanel"))
		Load(Param("panel").Base(), pb)
		Label("nopanel")
		MOVQ(pb, panelAt)
		Load(Param("stride"), ps)
		SHLQ(Imm(2), ps)
		MOVQ(ps, panelStride)
		SUBQ(Imm(64), ps)
		MOVQ(ps, tileAhead)
	}
	g := Load(Param([]string{"lo", "out"}[b2i(pair)]).Len(), GP64()).(reg.GPVirtual)
	SHRQ(Imm(uint64(bitsOf(coords))), g)
	MOVQ(g, groups)
	MOVQ(U32(0), outOff)
	TESTQ(g, g)
	JZ(LabelRef("done"))
	// The byte permutations that gather the top bytes of two vectors of keys (32
	// coordinates) into the lanes of one: for Bounds twice over, for selectRank8 into
	// lanes 0-31 (the upper 32 come from the second pair).
	topBytes := ZMM()
	VMOVDQU64(topBytesTable(), topBytes)
	Label("group")
	// The key pass also gathers, per lane, the range of the top bytes: the smallest and
	// largest, the smallest with the sign bit set (the least positive, a signed byte
	// minimum) and the largest without it (the least negative, a signed maximum), so the
	// top byte's bisection can skip the bits the lane's values share.
	minAll, maxAll := s.broadcast32(0xffffffff), ZMM()
	clearVec(maxAll)
	minPos, maxNeg := s.broadcast32(0x7f7f7f7f), s.broadcast32(0x80808080)
	keyPass := func(label string, pp reg.GPVirtual) {
		pa := GP64()
		MOVQ(keys, pa)
		rowLoop(rows, nrows, off, label, func(addr reg.GPVirtual) {
			xs := make([]reg.VecVirtual, vecs)
			ahead := Mem{Base: addr, Disp: prefetchAhead}
			if pp != nil {
				next := GP64()
				MOVQ(tileAhead, next)
				ADDQ(addr, next)
				ahead = Mem{Base: next}
			}
			for i := range xs {
				PREFETCHT1(ahead.Offset(64 * i))
				xs[i] = s.vec()
				VMOVUPS(Mem{Base: addr, Disp: 64 * i}, xs[i])
				if pp != nil {
					VMOVUPS(xs[i], Mem{Base: pp, Disp: 64 * i})
				}
				if pair {
					finite.add(xs[i], expMask)
				}
				s.unsignedKey(xs[i], magnitude, sign)
			}
			// The byte at shift sh of each key, 16 lanes per vector (for Bounds, the 32
			// coordinates twice over). Stored straight from the narrowing moves: a
			// register written in part would count as live all through the kernel, for
			// the register allocator.
			bytesAt := func(sh uint64, dst Mem) {
				for i, x := range xs {
					t := s.vec()
					VPSRLD(Imm(sh), x, t)
					VPMOVDB(t, dst.Offset(16*i))
					if !pair {
						VPMOVDB(t, dst.Offset(32+16*i))
					}
				}
			}
			top := ZMM()
			VMOVDQA64(topBytes, top)
			VPERMI2B(xs[1], xs[0], top)
			if pair {
				upper := ZMM()
				VMOVDQA64(topBytes, upper)
				VPERMI2B(xs[3], xs[2], upper)
				VINSERTI64X4(Imm(1), upper.AsY(), top, top)
			}
			VMOVDQU64(top, Mem{Base: pa})
			VPMINUB(top, minAll, minAll)
			VPMAXUB(top, maxAll, maxAll)
			VPMINSB(top, minPos, minPos)
			VPMAXSB(top, maxNeg, maxNeg)
			bytesAt(16, Mem{Base: pa, Index: step, Scale: 1})
			for i, x := range xs {
				VPXORD(flip, x, x) // the low word flipped, for bisect16's signed compares
				scale := uint8(2)  // B
				if i >= 2 {
					scale = 4 // B2
				}
				VPMOVDW(x, Mem{Base: pa, Index: step, Scale: scale, Disp: 32 * (i % 2)})
			}
			ADDQ(Imm(64), pa)
			if pp != nil {
				ADDQ(panelStride, pp)
			}
		})
	}
	{
		// The key pass, copying the windows into the panel as it reads them if there is one.
		pp := GP64()
		MOVQ(panelAt, pp)
		TESTQ(pp, pp)
		JZ(LabelRef("keysonly"))
		keyPass("keycopyrow", pp)
		ADDQ(U32(4*coords), panelAt)
		JMP(LabelRef("keyed"))
		Label("keysonly")
		keyPass("keyrow", nil)
		Label("keyed")
	}
	// The top bytes: the sign first, then the range of the lane's values of that sign.
	// Bounds may try a guess instead, the top bytes of what lo and hi hold as it starts
	// (a trimmed mean's caller passes the bounds of its previous tile there): one pass
	// counting below, above and below 0x80 settles every lane the guess hits, and
	// neighbouring coordinates' bounds mostly share their top bytes. It guesses in the
	// first group and then while the guesses would have hit in guessHits lanes of 64:
	// a lane missed costs the passes of the sign's range after the guess's (bounds of
	// alternating signs and magnitudes: 50 -> 53 ms had it always guessed). Medians
	// (selectRank8), near zero for symmetric data, change top bytes too often.
	p1 := ZMM()
	signFirst := func(tag string) {
		low, high := ZMM(), s.broadcast32(0xffffffff)
		clearVec(low)
		signOnly := bisect8(keys, nrows, rLo, rHi, low, high, 1, "sign"+tag)
		positive := K()
		VPMOVB2M(signOnly, positive)
		VMOVDQA64(minAll, low)
		VMOVDQU8(minPos, positive, low)
		VMOVDQA64(maxNeg, high)
		VMOVDQU8(maxAll, positive, high)
		VMOVDQA64(bisect8(keys, nrows, rLo, rHi, low, high, 8, "a1"+tag), p1)
	}
	if !pair {
		g, gHi := ZMM(), ZMM()
		for i, param := range []string{"lo", "hi"} {
			at := Load(Param(param).Base(), GP64()).(reg.GPVirtual)
			ADDQ(outOff, at)
			x0, x1 := ZMM(), ZMM()
			for v, x := range []reg.VecVirtual{x0, x1} {
				VMOVUPS(Mem{Base: at, Disp: 64 * v}, x)
				s.unsignedKey(x, magnitude, sign)
			}
			dst := []reg.VecVirtual{g, gHi}[i]
			VMOVDQA64(topBytes, dst)
			VPERMI2B(x1, x0, dst)
		}
		VINSERTI64X4(Imm(1), gHi.AsY(), g, g)
		CMPQ(guessing, Imm(0))
		JE(LabelRef("signfirst"))
		low, high := guess8(keys, nrows, rLo, rHi, g, minAll, maxAll, minPos, maxNeg)
		VMOVDQA64(bisect8(keys, nrows, rLo, rHi, low, high, 8, "a1"), p1)
		JMP(LabelRef("topsettled"))
		Label("signfirst")
		signFirst("s")
		Label("topsettled")
		hit := K()
		VPCMPEQB(p1, g, hit)
		hits, flag := GP64(), GP64()
		KMOVQ(hit, hits)
		POPCNTQ(hits, hits)
		XORL(flag.As32(), flag.As32())
		CMPQ(hits, Imm(guessHits))
		SETCC(flag.As8()) // at least guessHits lanes' top bytes were the guess
		MOVQ(flag, guessing)
	} else {
		signFirst("")
	}
	// Map A2 against the top bytes: below -> 0, above -> 0xff.
	{
		zv, ff := s.vec(), s.broadcast32(0xffffffff)
		clearVec(zv)
		pa, left := GP64(), GP64()
		MOVQ(keys, pa)
		MOVQ(nrows, left)
		Label("map2")
		x, y := s.vec(), s.vec()
		below, above := K(), K()
		VMOVDQU64(Mem{Base: pa}, x)
		VPCMPUB(Imm(6), x, p1, below) // p1 > x
		VPCMPUB(Imm(1), x, p1, above) // p1 < x
		VMOVDQU64(Mem{Base: pa, Index: step, Scale: 1}, y)
		VMOVDQU8(zv, below, y)
		VMOVDQU8(ff, above, y)
		VMOVDQU64(y, Mem{Base: pa, Index: step, Scale: 1})
		ADDQ(Imm(64), pa)
		DECQ(left)
		JNZ(LabelRef("map2"))
	}
	a2 := GP64()
	LEAQ(Mem{Base: keys, Index: step, Scale: 1}, a2)
	low2, high2 := ZMM(), s.broadcast32(0xffffffff)
	clearVec(low2)
	p2 := bisect8(a2, nrows, rLo, rHi, low2, high2, 8, "a2")
	// Keep the rows equal to some lane's 16-bit prefix; count the others below: out0
	// for lanes 0-31, out1 for 32-63.
	out0, out1 := s.vec(), s.vec()
	xBase := GP64()
	LEAQ(Mem{Base: keys, Index: step, Scale: 2}, xBase)
	{
		pa, px, left := GP64(), GP64(), GP64()
		MOVQ(keys, pa)
		MOVQ(xBase, px)
		MOVQ(nrows, left)
		// A row's masks: below (in the lane's rank order, below its prefix) and eq
		// (equal to it), over the 64 lanes.
		rowMasks := func() (below, eq reg.Register) {
			x1, x2 := s.vec(), s.vec()
			VMOVDQU64(Mem{Base: pa}, x1)
			VMOVDQU64(Mem{Base: pa, Index: step, Scale: 1}, x2)
			eq1, lt1, lt2 := K(), K(), K()
			below, eq = K(), K()
			VPCMPEQB(x1, p1, eq1)
			VPCMPUB(Imm(6), x1, p1, lt1)      // x1 < p1
			VPCMPEQB(x2, p2, eq1, eq)         // x1 == p1 and x2 == p2
			VPCMPUB(Imm(6), x2, p2, eq1, lt2) // x1 == p1 and x2 < p2
			KORQ(lt1, lt2, below)
			return below, eq
		}
		// keepRow writes the row's low halves at px, the other lanes' made the least or
		// the greatest word (below or above the prefix). Rows are read before any kept
		// row is written over them (px <= pa's row).
		keepRow := func(below, eq reg.Register) {
			above, t := K(), K()
			KORQ(below, eq, t)
			KNOTQ(t, above)
			w0, w1 := s.vec(), s.vec()
			VMOVDQU64(Mem{Base: pa, Index: step, Scale: 2}, w0)
			if pair {
				VMOVDQU64(Mem{Base: pa, Index: step, Scale: 4}, w1)
			} else {
				VMOVDQA64(w0, w1)
			}
			VMOVDQU16(flip, below, w0)
			VMOVDQU16(topWord, above, w0)
			VMOVDQU64(w0, Mem{Base: px})
			belowHi2, aboveHi := K(), K()
			KSHIFTRQ(Imm(32), below, belowHi2)
			KSHIFTRQ(Imm(32), above, aboveHi)
			VMOVDQU16(flip, belowHi2, w1)
			VMOVDQU16(topWord, aboveHi, w1)
			VMOVDQU64(w1, Mem{Base: px, Index: step, Scale: yScale})
		}
		// Up to a few hundred rows about half are kept, past that a seventh or so (at a
		// thousand), and a branch on each row would miss often (writing every row, as
		// the 16-bit kernels do below compactBranchFrom, costs more): a first pass,
		// branch-free, counts every row's lanes below their prefix and lists the rows
		// to keep (each row's index is written at the cursor, which moves on only for
		// a kept one); a second copies the listed rows and takes their below-counts
		// off again, as the word stage counts them. The first pass compares the high
		// halves as words, A1 and A2 interleaved by VPUNPCKLBW/VPUNPCKHBW (lanes 0-7
		// and 8-15 of each 16), and counts with vector arithmetic, min(prefix -sat
		// half, 1): the opmask instructions the byte compares need, six a row, are few
		// a cycle. (TrimmedMean n1000_d100k r=0.1: compaction 14.5 -> 5.3 ms of CPU a
		// round; Median n100_d1m 23.1 -> 21.7 ms.)
		Label("compact")
		{
			pL, pH, t := s.vec(), s.vec(), s.vec()
			VPUNPCKLBW(p1, p2, pL) // words p1:p2, of the lanes 0-7 of each 16
			VPUNPCKHBW(p1, p2, pH) // of the lanes 8-15
			cL, cH := s.vec(), s.vec()
			clearVec(cL)
			clearVec(cH)
			list, cursor, row := GP64(), GP64(), GP64()
			LEAQ(Mem{Base: keys, Index: step, Scale: 4}, list) // after A1, A2, B and Y
			if pair {
				ADDQ(step, list) // and B2
			}
			MOVQ(list, cursor)
			XORQ(row, row)
			Label("listrows")
			{
				x1, x2, hL, hH := s.vec(), s.vec(), s.vec(), s.vec()
				VMOVDQU64(Mem{Base: pa}, x1)
				VMOVDQU64(Mem{Base: pa, Index: step, Scale: 1}, x2)
				VPUNPCKLBW(x1, x2, hL)
				VPUNPCKHBW(x1, x2, hH)
				eqL, eqH := K(), K()
				VPCMPEQW(hL, pL, eqL)
				VPCMPEQW(hH, pH, eqH)
				for _, c := range [][3]reg.VecVirtual{{hL, pL, cL}, {hH, pH, cH}} {
					VPSUBUSW(c[0], c[1], t) // prefix - half, 0 unless below
					VPMINUW(onesW, t, t)
					VPADDW(t, c[2], c[2])
				}
				MOVL(row.As32(), Mem{Base: cursor})
				kept := GP64()
				XORL(kept.As32(), kept.As32())
				KORTESTD(eqL, eqH)
				SETNE(kept.As8())
				LEAQ(Mem{Base: cursor, Index: kept, Scale: 4}, cursor)
				INCQ(row)
				ADDQ(Imm(64), pa)
				DECQ(left)
				JNZ(LabelRef("listrows"))
			}
			// The counts back in lane order: block j of 16 lanes is block j of cL,
			// then block j of cH.
			VSHUFI64X2(Imm(0b01_00_01_00), cH, cL, t) // cL0 cL1 cH0 cH1
			VSHUFI64X2(Imm(0b11_01_10_00), t, t, out0)
			VSHUFI64X2(Imm(0b11_10_11_10), cH, cL, t) // cL2 cL3 cH2 cH3
			VSHUFI64X2(Imm(0b11_01_10_00), t, t, out1)
			// Copy the listed rows (never none: each rank's own key is kept). A row is
			// read before any kept row is written over it, as its index is at least
			// the kept rows' count so far.
			Label("keeprow")
			MOVL(Mem{Base: list}, pa.As32())
			SHLQ(Imm(6), pa)
			ADDQ(keys, pa)
			below, eq := rowMasks()
			keepRow(below, eq)
			belowHi := K()
			VPSUBW(onesW, out0, below, out0)
			KSHIFTRQ(Imm(32), below, belowHi)
			VPSUBW(onesW, out1, belowHi, out1)
			ADDQ(Imm(64), px)
			ADDQ(Imm(4), list)
			CMPQ(list, cursor)
			JNE(LabelRef("keeprow"))
		}
		// Rows kept: never 0 (each rank's own key is kept).
		SUBQ(xBase, px)
		SHRQ(Imm(6), px)
		restLo, restHi := s.vec(), s.vec()
		VPSUBW(out0, rLo, restLo)
		VPSUBW(out1, rHi, restHi)
		lowLo, lowHi := bisect16Pair(xBase, step, px, yScale, restLo, restHi, flip, onesW)
		// Reassemble the unsigned keys, then back to floats with zeros as +0.
		zv := s.vec()
		clearVec(zv)
		for half, low := range []reg.VecVirtual{lowLo, lowHi} {
			param, disp := []string{"lo", "hi"}[half], 0
			if pair {
				param, disp = "out", 128*half
			}
			dst := Load(Param(param).Base(), GP64()).(reg.GPVirtual)
			ADDQ(outOff, dst)
			for q := range 2 {
				lane := 2*half + q // which 16 of the 64 byte lanes
				b1, b2, lw, u := s.vec(), s.vec(), s.vec(), s.vec()
				xb1, xb2, yw := XMM(), XMM(), YMM()
				VEXTRACTI32X4(Imm(uint64(lane)), p1, xb1)
				VEXTRACTI32X4(Imm(uint64(lane)), p2, xb2)
				VPMOVZXBD(xb1, b1)
				VPMOVZXBD(xb2, b2)
				VEXTRACTI64X4(Imm(uint64(q)), low, yw)
				VPMOVZXWD(yw, lw)
				VPSLLD(Imm(24), b1, u)
				VPSLLD(Imm(16), b2, b2)
				VPORD(b2, u, u)
				VPORD(lw, u, u)
				s.floatOfKey(u, magnitude, sign, zv)
				VMOVUPS(u, Mem{Base: dst, Disp: disp + 64*q})
			}
		}
	}
	ADDQ(U32(4*coords), outOff)
	ADDQ(U32(4*coords), off)
	DECQ(groups)
	JNZ(LabelRef("group"))
	Label("done")
	if pair {
		finite.returnVerdict()
	}
	VZEROUPPER()
	RET()
}

// bisect8 settles, for 64 byte lanes (ranks rLo in lanes 0-31, rHi in 32-63, as
// words), the largest byte c with at most rank bytes of the n-row array at base below
// c, given that it lies in [low, high] (both per lane; both written over): each pass
// counts below the middle, (low+high+1)/2, and keeps the half that holds c, until
// every lane's range is one byte or maxPasses passes have run (8 halve any range of
// bytes). The counts run in bytes, four counters a turn, and are widened into words
// every 1008 rows, before a byte can overflow.
func bisect8(base, nrows reg.GPVirtual, rLo, rHi, low, high reg.VecVirtual, maxPasses int, tag string) reg.VecVirtual {
	ones8 := ZMM()
	g := GP32()
	MOVL(U32(0x01010101), g)
	VPBROADCASTD(g, ones8)
	// Up to 255 rows the byte counts cannot overflow, so they are compared with the
	// ranks as bytes, not widened: the ranks as bytes, lanes 0-31 from rLo's words and
	// 32-63 from rHi's (meaningless, and unused, for more rows).
	ranks8 := ZMM()
	{
		lo8, hi8 := YMM(), YMM()
		VPMOVWB(rLo, lo8)
		VPMOVWB(rHi, hi8)
		VINSERTI64X4(Imm(1), hi8, lo8.AsZ(), ranks8)
	}
	pass := GP32()
	MOVL(U32(uint64(maxPasses)), pass)
	Label("pass" + tag)
	settled := K()
	VPCMPEQB(low, high, settled)
	KORTESTQ(settled, settled)
	JCS(LabelRef("settled" + tag)) // every lane's range is one byte
	cand := ZMM()
	VPAVGB(low, high, cand) // (low+high+1)/2: above low, at most high
	w0, w1 := ZMM(), ZMM()
	clearVec(w0)
	clearVec(w1)
	p, left := GP64(), GP64()
	MOVQ(base, p)
	MOVQ(nrows, left)
	Label("chunk" + tag)
	c := GP64()
	MOVQ(left, c)
	CMPQ(c, U32(1008))
	JLE(LabelRef("sized" + tag))
	MOVQ(U32(1008), c)
	Label("sized" + tag)
	SUBQ(c, left)
	counters := []reg.VecVirtual{ZMM(), ZMM(), ZMM(), ZMM()}
	for _, x := range counters {
		clearVec(x)
	}
	quads := GP64()
	MOVQ(c, quads)
	SHRQ(Imm(2), quads)
	ANDQ(Imm(3), c)
	TESTQ(quads, quads)
	JZ(LabelRef("single" + tag))
	Label("count" + tag)
	for r, x := range counters {
		below := K()
		VPCMPUB(Imm(6), Mem{Base: p, Disp: 64 * r}, cand, below) // cand > key
		VPADDB(ones8, x, below, x)
	}
	ADDQ(U32(256), p)
	DECQ(quads)
	JNZ(LabelRef("count" + tag))
	Label("single" + tag)
	TESTQ(c, c)
	JZ(LabelRef("widen" + tag))
	Label("one" + tag)
	{
		below := K()
		VPCMPUB(Imm(6), Mem{Base: p}, cand, below)
		VPADDB(ones8, counters[0], below, counters[0])
	}
	ADDQ(Imm(64), p)
	DECQ(c)
	JNZ(LabelRef("one" + tag))
	Label("widen" + tag)
	keep := K()
	CMPQ(nrows, U32(maxByteCount))
	JA(LabelRef("words" + tag))
	{
		sum := ZMM()
		VPADDB(counters[0], counters[1], sum)
		VPADDB(counters[2], sum, sum)
		VPADDB(counters[3], sum, sum)
		VPCMPUB(Imm(2), ranks8, sum, keep) // count <= rank
		JMP(LabelRef("counted" + tag))
	}
	Label("words" + tag)
	for _, x := range counters {
		addBytesAsWords(x, w0, w1)
	}
	TESTQ(left, left)
	JNZ(LabelRef("chunk" + tag))
	atMostRanks(rLo, rHi, w0, w1, keep)
	Label("counted" + tag)
	over := K()
	KNOTQ(keep, over)
	VMOVDQU8(cand, keep, low)       // the byte is at least cand
	VPSUBB(ones8, cand, over, high) // or below it
	DECL(pass)
	JNZ(LabelRef("pass" + tag))
	Label("settled" + tag)
	return low
}

// guessHits is how many lanes of 64 a group's guess of the top bytes must have hit (or
// would have) for boundsBisect8 to guess in the next group.
const guessHits = 56

// guess8 settles, for 64 byte lanes (ranks rLo in lanes 0-31, rHi in 32-63, as words),
// what one pass can of the largest byte c with at most rank bytes of the n-row array at
// base below c: it counts the bytes below the guess g, above g and below 0x80, and
// returns the range bisect8 is to search: g alone where c is g, else the range of the
// lane's bytes of c's sign (from minAll, maxAll, minPos and maxNeg, as the key pass
// gathered them) on c's side of g. It counts with vector arithmetic, min(a -sat b, 1),
// not opmasks (an opmask form took twice as long), in bytes widened into words every
// 508 rows.
func guess8(base, nrows reg.GPVirtual, rLo, rHi, g, minAll, maxAll, minPos, maxNeg reg.VecVirtual) (low, high reg.VecVirtual) {
	ones8, signBit := ZMM(), ZMM()
	c32 := GP32()
	MOVL(U32(0x01010101), c32)
	VPBROADCASTD(c32, ones8)
	MOVL(U32(0x80808080), c32)
	VPBROADCASTD(c32, signBit)
	// Word counts, below g, above g and below 0x80, each for lanes 0-31 and 32-63.
	var words [6]reg.VecVirtual
	for i := range words {
		words[i] = ZMM()
		clearVec(words[i])
	}
	p, left := GP64(), GP64()
	MOVQ(base, p)
	MOVQ(nrows, left)
	Label("chunkguess")
	c := GP64()
	MOVQ(left, c)
	CMPQ(c, U32(508))
	JLE(LabelRef("sizedguess"))
	MOVQ(U32(508), c)
	Label("sizedguess")
	SUBQ(c, left)
	// Byte counts for even and odd rows, each in bytes until 254 rows.
	var counts [3][2]reg.VecVirtual
	for i := range counts {
		for r := range counts[i] {
			counts[i][r] = ZMM()
			clearVec(counts[i][r])
		}
	}
	count := func(r int, at Mem) {
		x := ZMM()
		VMOVDQU64(at, x)
		for i, d := range [][2]reg.VecVirtual{{x, g}, {g, x}, {x, signBit}} {
			t := ZMM()
			VPSUBUSB(d[0], d[1], t) // d[1] -sat d[0]: not 0 if d[0] < d[1]
			VPMINUB(ones8, t, t)
			VPADDB(t, counts[i][r], counts[i][r])
		}
	}
	pairs := GP64()
	MOVQ(c, pairs)
	SHRQ(Imm(1), pairs)
	ANDQ(Imm(1), c)
	TESTQ(pairs, pairs)
	JZ(LabelRef("singleguess"))
	Label("countguess")
	count(0, Mem{Base: p})
	count(1, Mem{Base: p, Disp: 64})
	ADDQ(U32(128), p)
	DECQ(pairs)
	JNZ(LabelRef("countguess"))
	Label("singleguess")
	TESTQ(c, c)
	JZ(LabelRef("widenguess"))
	count(0, Mem{Base: p})
	ADDQ(Imm(64), p)
	Label("widenguess")
	for i := range counts {
		for _, x := range counts[i] {
			addBytesAsWords(x, words[2*i], words[2*i+1])
		}
	}
	TESTQ(left, left)
	JNZ(LabelRef("chunkguess"))
	// c is at least g where the count below g is at most the rank, above g where the
	// count up to g (n less the count above) is too, and has its sign bit where the
	// count below 0x80 is.
	nw := ZMM()
	VPBROADCASTW(nrows.As32(), nw)
	VPSUBW(words[2], nw, words[2])
	VPSUBW(words[3], nw, words[3])
	var atLeast, higher, positive reg.OpmaskVirtual = K(), K(), K()
	for i, k := range []reg.OpmaskVirtual{atLeast, higher, positive} {
		atMostRanks(rLo, rHi, words[2*i], words[2*i+1], k)
	}
	// The range of the lane's bytes of c's sign, cut at g.
	low, high = ZMM(), ZMM()
	VMOVDQA64(minAll, low)
	VMOVDQU8(minPos, positive, low)
	highS := ZMM()
	VMOVDQA64(maxNeg, highS)
	VMOVDQU8(maxAll, positive, highS)
	t, u := ZMM(), ZMM()
	VPADDB(ones8, g, u)
	VPMAXUB(low, u, u) // above g
	VPSUBB(ones8, g, t)
	VPMINUB(highS, t, high) // below g
	VMOVDQU8(g, atLeast, low)
	VMOVDQU8(g, atLeast, high)
	VMOVDQU8(u, higher, low)
	VMOVDQU8(highS, higher, high)
	return low, high
}

// addBytesAsWords adds the 64 byte counts in x, widened, to the word counts of lanes
// 0-31 (lo) and 32-63 (hi).
func addBytesAsWords(x, lo, hi reg.VecVirtual) {
	t, y := ZMM(), YMM()
	VPMOVZXBW(x.AsY(), t)
	VPADDW(t, lo, lo)
	VEXTRACTI64X4(Imm(1), x, y)
	VPMOVZXBW(y, t)
	VPADDW(t, hi, hi)
}

// atMostRanks sets in k the lanes of 64 whose word count (lanes 0-31 in lo, 32-63 in
// hi) is at most their rank (rLo, rHi).
func atMostRanks(rLo, rHi, lo, hi reg.VecVirtual, k reg.OpmaskVirtual) {
	kLo, kHi := K(), K()
	VPCMPUW(Imm(2), rLo, lo, kLo) // count <= rank
	VPCMPUW(Imm(2), rHi, hi, kHi)
	KUNPCKDQ(kLo, kHi, k) // kHi in the upper 32 bits
}

// maxByteCount is the most rows whose counts bisect8 keeps in bytes to the end.
const maxByteCount = 255

// topBytesTable is the VPERMI2B index that gathers byte 3 of the 32 keys of two vectors
// into lanes 0-31, and again into lanes 32-63.
// It is laid down once, before the kernels that read it.
func topBytesTable() Mem {
	if topBytesData == nil {
		m := GLOBL("topbytes", RODATA|NOPTR)
		for l := range 64 {
			c := l % 32
			DATA(l, U8(uint8(64*(c/16)+4*(c%16)+3)))
		}
		topBytesData = &m
	}
	return *topBytesData
}

var topBytesData *Mem
