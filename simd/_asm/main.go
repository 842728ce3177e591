// Command _asm generates the amd64 assembly of package simd with avo, one file per
// instruction set:
//
//	go run . -isa avx2   -out ../kernels_avx2_amd64.s   -stubs ../kernels_avx2_amd64.go   -pkg simd
//	go run . -isa avx512 -out ../kernels_avx512_amd64.s -stubs ../kernels_avx512_amd64.go -pkg simd
//
// (the go:generate lines in ../dispatch_amd64.go). Every kernel works on whole blocks of
// Block = 32 elements; the Go side slices the operands to the block multiple and finishes
// the tail with the pure-Go kernel, which is the specification of each one.
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// block is the number of elements an assembly loop iteration consumes; it is also the
// number of float64 partial sums of Dot and SumSquares (their fixed blocking).
const block = 32

// prefetchAhead is how many bytes ahead of its loads addRows asks for each row's lines.
const prefetchAhead = 1024

var isa = flag.String("isa", "avx2", "instruction set to generate: avx2 or avx512")

// isaSpec describes the registers of one instruction set.
type isaSpec struct {
	suffix  string // function-name suffix
	vecSize int    // bytes per vector register
	vec     func() reg.VecVirtual
}

func (s isaSpec) f64Lanes() int { return s.vecSize / 8 }
func (s isaSpec) f32Lanes() int { return s.vecSize / 4 }

// f64Vecs is how many float64 vectors hold one block.
func (s isaSpec) f64Vecs() int { return block / s.f64Lanes() }

// f32Vecs is how many float32 vectors hold one block.
func (s isaSpec) f32Vecs() int { return block / s.f32Lanes() }

// cvtPD2PS narrows a full float64 vector into the float32 register half its size.
func (s isaSpec) cvtPD2PS(src, dst Op) {
	if s.vecSize == 64 {
		VCVTPD2PS(src, dst)
	} else {
		VCVTPD2PSY(src, dst)
	}
}

// halfOf returns the lower half of a vector register (Y of a Z, X of a Y).
func (s isaSpec) halfOf(v reg.VecVirtual) reg.Register {
	if s.vecSize == 64 {
		return v.AsY()
	}
	return v.AsX()
}

// half returns the float32 register that a float64 vector widens from or narrows to.
func (s isaSpec) half() reg.VecVirtual {
	if s.vecSize == 64 {
		return YMM()
	}
	return XMM()
}

func main() {
	flag.Parse()
	var s isaSpec
	switch *isa {
	case "avx2":
		s = isaSpec{suffix: "AVX2", vecSize: 32, vec: YMM}
	case "avx512":
		s = isaSpec{suffix: "AVX512", vecSize: 64, vec: ZMM}
	default:
		fmt.Fprintf(os.Stderr, "unknown -isa %q\n", *isa)
		os.Exit(2)
	}
	ConstraintExpr("!purego,!noasm")
	genAddRows(s, false)
	genAddRows(s, true)
	genFinish(s)
	genDot(s, false)
	genDot(s, true)
	genSqDist(s)
	genSqDistPairs(s)
	genScale(s)
	genNonFinite(s)
	genCopyStream(s)
	genCopyWindows(s)
	for k := 0; k <= s.maxInsertK(); k++ {
		genBoundsInsert(s, k)
	}
	genKeptSum(s)
	genBoundsBisect(s)
	genBoundsBisect16(s, false)
	if s.vecSize == 64 {
		topBytesTable()
		genBoundsBisect8(s, false)
		genBoundsBisect8(s, true)
	}
	genBoundsBisect16(s, true)
	genSuccessor(s)
	for l := 2; l <= s.maxChain(); l++ {
		genBoundsChain(s, l)
	}
	for n := 2; n <= s.maxNet(); n++ {
		genMiddleNet(s, n)
	}
	genPush(s)
	genMinMax(s, "min", "if x[i] < dst[i] { dst[i] = x[i] }", VMINPS)
	genMinMax(s, "max", "if x[i] > dst[i] { dst[i] = x[i] }", VMAXPS)
	Generate()
}

// forEach emits a counted loop: body runs n times (n may be zero), then the code goes on
// at the label "done".
func forEach(n reg.GPVirtual, label string, body func()) {
	TESTQ(n, n)
	JZ(LabelRef("done"))
	Label(label)
	body()
	DECQ(n)
	JNZ(LabelRef(label))
	Label("done")
}

// loop emits a whole kernel's block loop, body then step per block, and returns.
func loop(blocks reg.GPVirtual, body func(), step func()) {
	forEach(blocks, "loop", func() {
		body()
		step()
	})
	VZEROUPPER()
	RET()
}

// blocksOf loads the length of param and turns it into a count of whole blocks.
func blocksOf(param string) reg.GPVirtual {
	n := Load(Param(param).Len(), GP64())
	SHRQ(Imm(5), n) // log2(block)
	return n.(reg.GPVirtual)
}

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
	TEXT(name, NOSPLIT, sig)
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
	TEXT("finish"+s.suffix, NOSPLIT, "func(dst []float32, sum []float64, scale float64)")
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

// genDot emits Dot (square false: acc += x*y) or SumSquares (square true: acc += x*x)
// over the 32 partial sums of the fixed blocking.
func genDot(s isaSpec, square bool) {
	if square {
		TEXT("sumSquares"+s.suffix, NOSPLIT, "func(acc *[32]float64, x []float32)")
		Pragma("noescape")
		Doc("sumSquares" + s.suffix + " is  for i := range x { acc[i%32] += float64(x[i]) * float64(x[i]) }  for len(x) a multiple of 32.")
	} else {
		TEXT("dot"+s.suffix, NOSPLIT, "func(acc *[32]float64, x, y []float32)")
		Pragma("noescape")
		Doc("dot"+s.suffix+" is  for i := range x { acc[i%32] += float64(x[i]) * float64(y[i]) }  for len(x) a multiple of 32 and len(y) >= len(x).",
			"The products of two float32 are exact in float64, so the fused and the plain forms agree.")
	}
	accp := Load(Param("acc"), GP64()).(reg.GPVirtual)
	x := Load(Param("x").Base(), GP64())
	var y reg.Register
	if !square {
		y = Load(Param("y").Base(), GP64())
	}
	n := blocksOf("x")
	as := accumulators(s, accp)
	forEach(n, "loop", func() {
		for v := range as {
			a := s.vec()
			VCVTPS2PD(Mem{Base: x, Disp: v * s.f64Lanes() * 4}, a)
			b := a
			if !square {
				b = s.vec()
				VCVTPS2PD(Mem{Base: y, Disp: v * s.f64Lanes() * 4}, b)
			}
			VFMADD231PD(a, b, as[v])
		}
		ADDQ(U32(block*4), x)
		if !square {
			ADDQ(U32(block*4), y)
		}
	})
	storeAccumulators(s, accp, as)
	VZEROUPPER()
	RET()
}

func genScale(s isaSpec) {
	TEXT("scale"+s.suffix, NOSPLIT, "func(x []float32, a float32)")
	Pragma("noescape")
	Doc("scale" + s.suffix + " is  for i := range x { x[i] *= a }  for len(x) a multiple of 32.")
	x := Load(Param("x").Base(), GP64())
	ax := Load(Param("a"), XMM())
	a := s.vec()
	VBROADCASTSS(ax, a)
	n := blocksOf("x")
	loop(n, func() {
		for v := 0; v < s.f32Vecs(); v++ {
			p := s.vec()
			VMULPS(Mem{Base: x, Disp: v * s.vecSize}, a, p)
			VMOVUPS(p, Mem{Base: x, Disp: v * s.vecSize})
		}
	}, func() {
		ADDQ(U32(block*4), x)
	})
}

// genMinMax emits min or max across two vectors. VMINPS/VMAXPS return their second
// source (Intel order) unless the first is strictly smaller/larger, which is exactly
// the Go rule "if x[i] < dst[i] { dst[i] = x[i] }": Intel's first source is x, the second dst.
func genMinMax(s isaSpec, name, rule string, op func(...Op)) {
	TEXT(name+s.suffix, NOSPLIT, "func(dst, x []float32)")
	Pragma("noescape")
	Doc(name + s.suffix + " is  for i := range x { " + rule + " }  for len(x) a multiple of 32 and len(dst) >= len(x).")
	dst := Load(Param("dst").Base(), GP64())
	x := Load(Param("x").Base(), GP64())
	n := blocksOf("x")
	loop(n, func() {
		for v := 0; v < s.f32Vecs(); v++ {
			p := s.vec()
			VMOVUPS(Mem{Base: x, Disp: v * s.vecSize}, p)
			// Go operand order is reversed: (second source, first source, destination).
			op(Mem{Base: dst, Disp: v * s.vecSize}, p, p)
			VMOVUPS(p, Mem{Base: dst, Disp: v * s.vecSize})
		}
	}, func() {
		ADDQ(U32(block*4), dst)
		ADDQ(U32(block*4), x)
	})
}

// genNonFinite emits the search for NaN and ±Inf: a float32 is one of them exactly when
// its exponent bits are all ones, (bits & 0x7f800000) == 0x7f800000.
func genNonFinite(s isaSpec) {
	TEXT("nonFiniteBlock"+s.suffix, NOSPLIT, "func(x []float32) int")
	Pragma("noescape")
	Doc("nonFiniteBlock"+s.suffix+" returns the index of the first 32-element block of x holding a NaN or ±Inf,",
		"or len(x)/32 if there is none, for len(x) a multiple of 32.")
	x := Load(Param("x").Base(), GP64())
	n := blocksOf("x")
	b := GP64()
	XORQ(b, b)
	mask := s.broadcast32(0x7f800000)
	CMPQ(b, n)
	JE(LabelRef("done"))
	Label("loop")
	if s.vecSize == 64 {
		k := make([]reg.OpmaskVirtual, s.f32Vecs())
		for v := range k {
			t := s.vec()
			VPANDD(Mem{Base: x, Disp: v * s.vecSize}, mask, t)
			k[v] = K()
			VPCMPEQD(mask, t, k[v])
		}
		KORTESTW(k[0], k[1]) // ZF clear when any lane of either half matched
	} else {
		t := make([]reg.VecVirtual, s.f32Vecs())
		for v := range t {
			t[v] = s.vec()
			VPAND(Mem{Base: x, Disp: v * s.vecSize}, mask, t[v])
			VPCMPEQD(mask, t[v], t[v])
		}
		VPOR(t[0], t[1], t[0])
		VPOR(t[2], t[3], t[2])
		VPOR(t[0], t[2], t[0])
		VPTEST(t[0], t[0])
	}
	JNZ(LabelRef("done"))
	ADDQ(U32(block*4), x)
	INCQ(b)
	CMPQ(b, n)
	JNE(LabelRef("loop"))
	Label("done")
	Store(b, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// genCopyStream emits a copy whose stores bypass the cache (VMOVNTPS): for buffers
// written now and read only if something goes wrong, it saves the read-for-ownership
// of every destination line. The stores need dst aligned to the vector size.
func genCopyStream(s isaSpec) {
	TEXT("copyStream"+s.suffix, NOSPLIT, "func(dst, src []float32)")
	Pragma("noescape")
	Doc("copyStream"+s.suffix+" is  copy(dst, src)  with non-temporal stores, for len(src) a multiple of 32,",
		"len(dst) >= len(src) and dst aligned to the vector size.")
	dst := Load(Param("dst").Base(), GP64())
	src := Load(Param("src").Base(), GP64())
	n := blocksOf("src")
	forEach(n, "loop", func() {
		for v := 0; v < s.f32Vecs(); v++ {
			t := s.vec()
			VMOVUPS(Mem{Base: src, Disp: v * s.vecSize}, t)
			VMOVNTPS(t, Mem{Base: dst, Disp: v * s.vecSize})
		}
		ADDQ(U32(block*4), src)
		ADDQ(U32(block*4), dst)
	})
	SFENCE()
	VZEROUPPER()
	RET()
}

// genCopyWindows emits the gathering of every row's window into a panel, one row after
// another: the copy reads each line of the windows once, asking for the same row's
// lines prefetchAhead further on (the next tiles) as it goes.
func genCopyWindows(s isaSpec) {
	name := "copyWindows" + s.suffix
	TEXT(name, NOSPLIT, "func(panel []float32, stride int, rows [][]float32, off, width int)")
	Pragma("noescape")
	Doc(name+" is  for i, r := range rows { copy(panel[i*stride:i*stride+width], r[off:off+width]) }",
		"for width a multiple of 32, stride >= width, len(panel) >= (len(rows)-1)·stride+width and every",
		"row's window in bounds.")
	dst := Load(Param("panel").Base(), GP64()).(reg.GPVirtual)
	stride := Load(Param("stride"), GP64()).(reg.GPVirtual)
	SHLQ(Imm(2), stride)
	rows := Load(Param("rows").Base(), GP64()).(reg.GPVirtual)
	nrows := Load(Param("rows").Len(), GP64()).(reg.GPVirtual)
	off := Load(Param("off"), GP64()).(reg.GPVirtual)
	SHLQ(Imm(2), off)
	blocks := Load(Param("width"), GP64()).(reg.GPVirtual)
	SHRQ(Imm(5), blocks) // log2(block)
	TESTQ(blocks, blocks)
	JZ(LabelRef("done"))
	rowLoop(rows, nrows, off, "row", func(addr reg.GPVirtual) {
		d, left := GP64(), GP64()
		MOVQ(dst, d)
		MOVQ(blocks, left)
		Label("block")
		for v := 0; v < s.f32Vecs(); v++ {
			if (v*s.vecSize)%64 == 0 {
				PREFETCHT1(Mem{Base: addr, Disp: prefetchAhead + v*s.vecSize})
			}
			t := s.vec()
			VMOVUPS(Mem{Base: addr, Disp: v * s.vecSize}, t)
			VMOVUPS(t, Mem{Base: d, Disp: v * s.vecSize})
		}
		ADDQ(U32(block*4), addr)
		ADDQ(U32(block*4), d)
		DECQ(left)
		JNZ(LabelRef("block"))
		ADDQ(stride, dst)
	})
	Label("done")
	VZEROUPPER()
	RET()
}

// maxInsertK is the largest k whose 2(k+1) running extremes, plus the row value and two
// temporaries, fit in the vector registers: 32 on AVX-512, 16 on AVX2.
func (s isaSpec) maxInsertK() int {
	if s.vecSize == 64 {
		return 11
	}
	return 5
}

// broadcast32 fills a vector with the 32-bit pattern bits.
func (s isaSpec) broadcast32(bits uint32) reg.VecVirtual {
	g := GP32()
	MOVL(U32(bits), g)
	return s.broadcastGP32(g)
}

// broadcastGP32 fills a vector with the 32-bit value of a general register. AVX-512
// broadcasts straight from it; AVX2 goes through an XMM register, which the allocator
// then must find among X0-X15 (the assembler rejects anything else, loudly).
func (s isaSpec) broadcastGP32(g reg.Register) reg.VecVirtual {
	v := s.vec()
	if s.vecSize == 64 {
		VPBROADCASTD(g, v)
		return v
	}
	x := XMM()
	MOVD(g, x)
	VPBROADCASTD(x, v)
	return v
}

// rowLoop emits a loop over the rows of a [][]float32: body gets the address of the
// row's window (its data pointer plus the byte offset off) in a fresh register.
func rowLoop(rows, nrows, off reg.GPVirtual, label string, body func(addr reg.GPVirtual)) {
	rp, left := GP64(), GP64()
	MOVQ(rows, rp)
	MOVQ(nrows, left)
	Label(label)
	p := GP64()
	MOVQ(Mem{Base: rp}, p)
	ADDQ(off, p)
	body(p.(reg.GPVirtual))
	ADDQ(Imm(24), rp)
	DECQ(left)
	JNZ(LabelRef(label))
}

// genBoundsInsert emits Bounds for one k by insertion: per group of lanes it carries the
// k+1 smallest and k+1 largest values seen in registers, each row passed down both
// chains by min/max, and reports the last of each chain with zeros made +0.
func genBoundsInsert(s isaSpec, k int) {
	name := fmt.Sprintf("boundsInsert%d%s", k, s.suffix)
	TEXT(name, NOSPLIT, "func(lo, hi []float32, rows [][]float32, off int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is boundsGeneric(lo, hi, rows, off, %d) for len(lo) a multiple of 32, len(rows) > %d,", name, k, 2*k),
		"every row's window [off, off+len(lo)) in bounds and finite values.")
	lo := Load(Param("lo").Base(), GP64()).(reg.GPVirtual)
	hi := Load(Param("hi").Base(), GP64()).(reg.GPVirtual)
	rows := Load(Param("rows").Base(), GP64()).(reg.GPVirtual)
	nrows := Load(Param("rows").Len(), GP64()).(reg.GPVirtual)
	off := Load(Param("off"), GP64()).(reg.GPVirtual)
	SHLQ(Imm(2), off)
	groups := Load(Param("lo").Len(), GP64()).(reg.GPVirtual)
	SHRQ(Imm(uint64(bitsOf(s.f32Lanes()))), groups)
	forEach(groups, "group", func() {
		low, high := make([]reg.VecVirtual, k+1), make([]reg.VecVirtual, k+1)
		posInf, negInf := s.broadcast32(0x7f800000), s.broadcast32(0xff800000)
		for t := range low {
			low[t], high[t] = s.vec(), s.vec()
			VMOVUPS(posInf, low[t])
			VMOVUPS(negInf, high[t])
		}
		rowLoop(rows, nrows, off, "row", func(addr reg.GPVirtual) {
			// Into L2 (T1), whose misses in flight are many more than L1's: each line
			// is read once, and with tens of rows the hardware prefetchers lose
			// track (n32_d4m r=0.1 30.9 -> 26.9 ms, r=0.2 37.7 -> 33.9 ms).
			PREFETCHT1(Mem{Base: addr, Disp: prefetchAhead})
			x := s.vec()
			VMOVUPS(Mem{Base: addr}, x)
			v := x
			for t := range low {
				pushed := s.vec()
				VMAXPS(low[t], v, pushed) // what low[t] pushes on: max(v, low[t])
				VMINPS(low[t], v, low[t]) // low[t] = min(v, low[t])
				v = pushed
			}
			v = x
			for t := range high {
				pushed := s.vec()
				VMINPS(high[t], v, pushed)
				VMAXPS(high[t], v, high[t])
				v = pushed
			}
		})
		zero := s.vec()
		VXORPS(zero, zero, zero)
		VADDPS(zero, low[k], low[k]) // -0 + +0 is +0
		VADDPS(zero, high[k], high[k])
		VMOVUPS(low[k], Mem{Base: lo})
		VMOVUPS(high[k], Mem{Base: hi})
		ADDQ(U32(s.vecSize), lo)
		ADDQ(U32(s.vecSize), hi)
		ADDQ(U32(s.vecSize), off)
	})
	VZEROUPPER()
	RET()
}

// Integer logic on whole vectors: AVX-512 spells it with an element size.
// clearVec clears v with the idiom avo knows defines v without reading it (VPXORD x, x, x
// reads x, for its register allocator, which then keeps x live from the kernel's
// start).
func clearVec(v reg.VecVirtual) { VXORPS(v, v, v) }

func (s isaSpec) pxor(a, b, dst Op) {
	if s.vecSize == 64 {
		VPXORD(a, b, dst)
	} else {
		VPXOR(a, b, dst)
	}
}

func (s isaSpec) por(a, b, dst Op) {
	if s.vecSize == 64 {
		VPORD(a, b, dst)
	} else {
		VPOR(a, b, dst)
	}
}

func (s isaSpec) pand(a, b, dst Op) {
	if s.vecSize == 64 {
		VPANDD(a, b, dst)
	} else {
		VPAND(a, b, dst)
	}
}

// signedKey turns the float32 bits in x into keys whose signed integer order is the
// float order (-0 before +0), in place: b ^ ((b >> 31) & 0x7fffffff), its own inverse.
func (s isaSpec) signedKey(x, magnitude reg.VecVirtual) {
	t := s.vec()
	VPSRAD(Imm(31), x, t)
	s.pand(magnitude, t, t)
	s.pxor(t, x, x)
}

// unsignedKey is signedKey with the sign bit flipped: unsigned integer order.
func (s isaSpec) unsignedKey(x, magnitude, sign reg.VecVirtual) {
	s.signedKey(x, magnitude)
	s.pxor(sign, x, x)
}

// floatOfKey turns unsigned keys back into float32 bits in place, with zeros as +0
// (zero holds +0 in every lane, and -0 + +0 is +0).
func (s isaSpec) floatOfKey(x, magnitude, sign, zero reg.VecVirtual) {
	s.pxor(sign, x, x)
	s.signedKey(x, magnitude)
	VADDPS(zero, x, x)
}

func (s isaSpec) movdqu(src, dst Op) {
	if s.vecSize == 64 {
		VMOVDQU32(src, dst)
	} else {
		VMOVDQU(src, dst)
	}
}

func bitsOf(n int) int {
	b := 0
	for 1<<b < n {
		b++
	}
	return b
}

// Comparison predicates of VCMPPS (ordered, quiet).
const (
	cmpEQ = 0x00
	cmpLE = 0x12
	cmpGE = 0x1d
)

// genKeptSum emits KeptSum: per group of lanes, one pass over the rows clamps each value
// to the bounds, adds it in float64 (two halves of lanes) and checks it is finite; then
// k·lo and k·hi come off, lo first.
func genKeptSum(s isaSpec) {
	name := "keptSum" + s.suffix
	TEXT(name, NOSPLIT, "func(sum []float64, rows [][]float32, off, k int, lo, hi []float32) int")
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

// genBoundsBisect emits Bounds for any k by bisection on order-preserving integer keys:
// per group of lanes it writes each row's keys to scratch, then settles the two ranks'
// keys one bit at a time from the top, counting in every pass how many keys lie below
// each candidate: 32 passes over the group's keys, which stay in cache.
//
// A float32's bits b map to the signed key b ^ ((b >> 31) & 0x7fffffff), whose integer
// order is the float order (with -0 before +0); the map is its own inverse.
func genBoundsBisect(s isaSpec) {
	name := "boundsBisect" + s.suffix
	TEXT(name, NOSPLIT, "func(lo, hi []float32, rows [][]float32, off, k int, keys []int32)")
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

// compactBranchFrom is the row count from which the 16-bit kernels' compaction branches
// on whether a row is kept rather than writing every row.
const compactBranchFrom = 256

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
	TEXT(name, NOSPLIT, "func(lo, hi []float32, rows [][]float32, off, k int, scratch []float32) int")
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

// A comparator of a sorting network: after it, wire a holds the smaller of the two
// values and wire b the larger; min and max say which of those later steps read.
type comparator struct {
	a, b     int
	min, max bool
}

// middleNetwork returns the comparators of Batcher's odd-even merge sort of n wires
// (padded to a power of two with +Inf, whose comparators change nothing and are left
// out) that the middle outputs (n-1)/2 and n/2 depend on, in order, each marked with
// the outputs that are read later.
func middleNetwork(n int) []comparator {
	p := 1
	for p < n {
		p *= 2
	}
	var all []comparator
	for t := 1; t < p; t *= 2 {
		for k := t; k >= 1; k /= 2 {
			for j := k % t; j+k < p; j += 2 * k {
				for i := 0; i < min(k, p-j-k); i++ {
					a, b := i+j, i+j+k
					if a/(2*t) == b/(2*t) && b < n {
						all = append(all, comparator{a: a, b: b})
					}
				}
			}
		}
	}
	needed := map[int]bool{(n - 1) / 2: true, n / 2: true}
	var kept []comparator
	for i := len(all) - 1; i >= 0; i-- {
		c := all[i]
		c.min, c.max = needed[c.a], needed[c.b]
		if c.min || c.max {
			needed[c.a], needed[c.b] = true, true
			kept = append(kept, c)
		}
	}
	slices.Reverse(kept)
	return kept
}

// maxNet is the most rows genMiddleNet takes: every row in a register, beside the
// comparators' temporary, the exponent mask, the finiteness check and a zero.
func (s isaSpec) maxNet() int { return s.vecSize/2 - 4 } // 32 or 16 registers

// genMiddleNet emits Middle for n rows by a sorting network: per group of lanes every
// row is loaded into a register and only the comparators the two middle outputs depend
// on are applied (for 10 rows 50 min/max against the chain's 120).
func genMiddleNet(s isaSpec, n int) {
	name := fmt.Sprintf("middleNet%d%s", n, s.suffix)
	TEXT(name, NOSPLIT, "func(lo, hi []float32, rows [][]float32, off int) int")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is boundsGeneric(lo, hi, rows, off, (len(rows)-1)/2) for len(rows) == %d, len(lo) a", name, n),
		"multiple of 32 and every row's window in bounds. It returns 1 if every value read was finite,",
		"else 0 (and lo and hi are then unspecified).")
	lo := Load(Param("lo").Base(), GP64()).(reg.GPVirtual)
	hi := Load(Param("hi").Base(), GP64()).(reg.GPVirtual)
	rows := Load(Param("rows").Base(), GP64()).(reg.GPVirtual)
	off := Load(Param("off"), GP64()).(reg.GPVirtual)
	SHLQ(Imm(2), off)
	groups := Load(Param("lo").Len(), GP64()).(reg.GPVirtual)
	SHRQ(Imm(uint64(bitsOf(s.f32Lanes()))), groups)
	network := middleNetwork(n)
	finite := newFiniteCheck(s, s.vecSize == 64)
	forEach(groups, "group", func() {
		expMask := s.broadcast32(0x7f800000)
		wires := make([]reg.VecVirtual, n)
		for i := range wires {
			p := GP64()
			MOVQ(Mem{Base: rows, Disp: 24 * i}, p)
			PREFETCHT0(Mem{Base: p, Index: off, Scale: 1, Disp: prefetchAhead})
			wires[i] = s.vec()
			VMOVUPS(Mem{Base: p, Index: off, Scale: 1}, wires[i])
			finite.add(wires[i], expMask)
		}
		for _, c := range network {
			a, b := wires[c.a], wires[c.b]
			switch {
			case c.min && c.max:
				m := s.vec()
				VMINPS(b, a, m)
				VMAXPS(b, a, b)
				wires[c.a] = m
			case c.min:
				VMINPS(b, a, a)
			default:
				VMAXPS(b, a, b)
			}
		}
		storeBounds(s, lo, hi, off, wires[(n-1)/2], wires[n/2])
	})
	finite.returnVerdict()
	VZEROUPPER()
	RET()
}

// storeBounds writes one vector of bounds, a to lo and b to hi with zeros made +0
// (x + +0), and moves lo, hi and off on by a vector.
func storeBounds(s isaSpec, lo, hi, off reg.GPVirtual, a, b Op) {
	zero, x, y := s.vec(), s.vec(), s.vec()
	VXORPS(zero, zero, zero)
	VADDPS(a, zero, x)
	VADDPS(b, zero, y)
	VMOVUPS(x, Mem{Base: lo})
	VMOVUPS(y, Mem{Base: hi})
	ADDQ(U32(s.vecSize), lo)
	ADDQ(U32(s.vecSize), hi)
	ADDQ(U32(s.vecSize), off)
}

// genPush emits the streaming insertion of one update (see pushGeneric): per block of 16
// coordinates, if every value lies between its k-th smallest and k-th largest kept
// values it goes straight into the sums; otherwise the block's values run down the
// chain of smallest values, what drops out (unless it filled an empty +Inf slot) down
// the chain of largest values, and what drops out of that (unless -Inf) into the sums.
// The comparisons are the generic ones, strict, so ties keep the stored value.
func genPush(s isaSpec) {
	name := "push" + s.suffix
	TEXT(name, NOSPLIT, "func(ext []float32, sum []float64, x []float32, k int)")
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
		TEXT(name, NOSPLIT, "func(out []float32, rows [][]float32, off, k int, keys []int32) int")
		Pragma("noescape")
		Doc(name+" writes into out the (k+1)-th smallest value of each coordinate (boundsGeneric's lo), for",
			fmt.Sprintf("len(out) a multiple of 32, k < len(rows) <= 32767, len(keys) >= %d·len(rows) and every", 2*s.f32Lanes()),
			"row's window [off, off+len(out)) in bounds. It returns 1 if every value read was finite, else 0",
			"(and out is then unspecified).")
		lo = Load(Param("out").Base(), GP64()).(reg.GPVirtual)
		lanesPerGroup *= 2
	} else {
		name := "boundsBisect16" + s.suffix
		TEXT(name, NOSPLIT, "func(lo, hi []float32, rows [][]float32, off, k int, keys []int32)")
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
		TEXT(name, NOSPLIT, "func(out []float32, rows [][]float32, off, k int, keys []int32, panel []float32, stride int) int")
		Pragma("noescape")
		Doc(name+" writes into out the (k+1)-th smallest value of each coordinate (boundsGeneric's lo), for",
			"len(out) a multiple of 64, k < len(rows) <= 32767, len(keys) >= 81·len(rows) and every row's",
			"window [off, off+len(out)) in bounds. It returns 1 if every value read was finite, else 0 (and",
			"out is then unspecified). Unless panel is empty, it copies row i's window to panel[i*stride:].")
	} else {
		name := "boundsBisect8" + s.suffix
		TEXT(name, NOSPLIT, "func(lo, hi []float32, rows [][]float32, off, k int, keys []int32, panel []float32, stride int)")
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

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// genSuccessor emits the step from one order statistic to the next: given lo, the
// (k+1)-th smallest value of each lane, it writes the (k+2)-th, which is lo again when
// more than k+1 values are at or below it, and otherwise the smallest value above it.
func genSuccessor(s isaSpec) {
	name := "successor" + s.suffix
	TEXT(name, NOSPLIT, "func(hi, lo []float32, rows [][]float32, off, k int)")
	Pragma("noescape")
	Doc(name+" writes into hi the (k+2)-th smallest value of each coordinate, lo holding the (k+1)-th, for",
		"len(hi) a multiple of 32, k+2 <= len(rows), every row's window in bounds and finite values.")
	hi := Load(Param("hi").Base(), GP64()).(reg.GPVirtual)
	lo := Load(Param("lo").Base(), GP64()).(reg.GPVirtual)
	rows := Load(Param("rows").Base(), GP64()).(reg.GPVirtual)
	nrows := Load(Param("rows").Len(), GP64()).(reg.GPVirtual)
	off := Load(Param("off"), GP64()).(reg.GPVirtual)
	SHLQ(Imm(2), off)
	kq := Load(Param("k"), GP64()).(reg.GPVirtual)
	ADDQ(Imm(1), kq) // lo repeats when more than k+1 values are <= lo
	need := s.broadcastGP32(kq.As32())
	posInf := s.broadcast32(0x7f800000)
	var ones reg.VecVirtual
	if s.vecSize == 64 {
		ones = s.broadcast32(1)
	}
	// Two groups of lanes a row: two independent min chains (a masked min waits for the
	// last) and one load of the row pointer for both.
	groups := Load(Param("hi").Len(), GP64()).(reg.GPVirtual)
	SHRQ(Imm(uint64(bitsOf(2*s.f32Lanes()))), groups)
	forEach(groups, "group", func() {
		var L, m, c [2]reg.VecVirtual
		for g := range 2 {
			L[g], m[g], c[g] = s.vec(), s.vec(), s.vec()
			VMOVUPS(Mem{Base: lo, Disp: g * s.vecSize}, L[g])
			VMOVUPS(posInf, m[g])
			s.pxor(c[g], c[g], c[g])
		}
		rowLoop(rows, nrows, off, "row", func(addr reg.GPVirtual) {
			for g := range 2 {
				x := s.vec()
				VMOVUPS(Mem{Base: addr, Disp: g * s.vecSize}, x)
				if s.vecSize == 64 {
					le, gt := K(), K()
					VCMPPS(Imm(cmpLE), L[g], x, le) // x <= lo
					VPADDD(ones, c[g], le, c[g])
					KNOTW(le, gt)
					VMINPS(x, m[g], gt, m[g]) // above lo: m = x < m ? x : m
				} else {
					le, t := s.vec(), s.vec()
					VCMPPS(Imm(cmpLE), L[g], x, le)
					VPSUBD(le, c[g], c[g])
					VBLENDVPS(le, posInf, x, t) // +Inf where x <= lo
					VMINPS(t, m[g], m[g])
				}
			}
		})
		zero := s.vec()
		VXORPS(zero, zero, zero)
		for g := range 2 {
			VADDPS(zero, m[g], m[g]) // a zero comes out +0
			if s.vecSize == 64 {
				rep := K()
				VPCMPGTD(need, c[g], rep) // count > k+1: lo repeats
				VMOVUPS(L[g], rep, m[g])
			} else {
				rep := s.vec()
				VPCMPGTD(need, c[g], rep)
				VBLENDVPS(rep, L[g], m[g], m[g])
			}
			VMOVUPS(m[g], Mem{Base: hi, Disp: g * s.vecSize})
		}
		ADDQ(U32(2*s.vecSize), lo)
		ADDQ(U32(2*s.vecSize), hi)
		ADDQ(U32(2*s.vecSize), off)
	})
	VZEROUPPER()
	RET()
}

// genSqDist emits the squared Euclidean distance with Dot's blocking: the difference of
// each pair is taken in float64, then squared and added with one rounding.
func genSqDist(s isaSpec) {
	TEXT("sqDist"+s.suffix, NOSPLIT, "func(acc *[32]float64, x, y []float32)")
	Pragma("noescape")
	Doc("sqDist"+s.suffix+" is  for i := range x { d := float64(x[i]) - float64(y[i]); acc[i%32] = math.FMA(d, d, acc[i%32]) }",
		"for len(x) a multiple of 32 and len(y) >= len(x).")
	accp := Load(Param("acc"), GP64()).(reg.GPVirtual)
	x := Load(Param("x").Base(), GP64())
	y := Load(Param("y").Base(), GP64())
	n := blocksOf("x")
	as := accumulators(s, accp)
	forEach(n, "loop", func() {
		for v := range as {
			a, b := s.vec(), s.vec()
			VCVTPS2PD(Mem{Base: x, Disp: v * s.f64Lanes() * 4}, a)
			VCVTPS2PD(Mem{Base: y, Disp: v * s.f64Lanes() * 4}, b)
			VSUBPD(b, a, a) // a - b
			VFMADD231PD(a, a, as[v])
		}
		ADDQ(U32(block*4), x)
		ADDQ(U32(block*4), y)
	})
	storeAccumulators(s, accp, as)
	VZEROUPPER()
	RET()
}

// genSqDistPairs emits SqDistPairs' kernel: for blocks of pairs (all 4x4 at once with
// AVX-512's 32 registers, 2x2 at a time with AVX2's 16), each pair keeps its 16 float32
// lanes in registers (one zmm or two ymm) while the coordinates stream past: the b rows'
// vectors are loaded once per step and every a row's once per step, and each pair costs
// one subtraction and one fused multiply-add per vector. The lanes are widened into the
// float64 sums every 256 coordinates and after the last.
func genSqDistPairs(s isaSpec) {
	name := "sqDistPairs" + s.suffix
	TEXT(name, NOSPLIT, "func(acc *[256]float64, a, b [][]float32, off, n int)")
	Pragma("noescape")
	Doc(name+" is sqDistPairsGeneric(acc, a, b, off, n) for n a multiple of 32, len(a) = len(b) = 4",
		"and every row's window [off, off+n) in bounds.")
	accp := Load(Param("acc"), GP64()).(reg.GPVirtual)
	off := Load(Param("off"), GP64()).(reg.GPVirtual)
	SHLQ(Imm(2), off)
	rowPtrs := func(param string) []reg.GPVirtual {
		base := Load(Param(param).Base(), GP64())
		ps := make([]reg.GPVirtual, 4)
		for i := range ps {
			ps[i] = GP64()
			MOVQ(Mem{Base: base, Disp: 24 * i}, ps[i])
			ADDQ(off, ps[i])
		}
		return ps
	}
	as, bs := rowPtrs("a"), rowPtrs("b")
	side, vecs := 4, 1 // rows of a sub-block, vectors per 16 lanes
	if s.vecSize == 32 {
		side, vecs = 2, 2
	}
	for bi := 0; bi < 4; bi += side {
		for bj := 0; bj < 4; bj += side {
			tag := fmt.Sprintf("_%d%d", bi, bj)
			steps := Load(Param("n"), GP64()).(reg.GPVirtual)
			SHRQ(Imm(4), steps) // 16 coordinates a step
			pos := GP64()
			XORQ(pos, pos)
			TESTQ(steps, steps)
			JZ(LabelRef("done" + tag))
			Label("chunk" + tag)
			// This chunk's steps: up to 16 (256 coordinates).
			count := GP64()
			MOVQ(U32(16), count)
			CMPQ(steps, count)
			CMOVQLT(steps, count)
			SUBQ(count, steps)
			accs := make([][]reg.VecVirtual, side*side)
			for p := range accs {
				accs[p] = make([]reg.VecVirtual, vecs)
				for v := range vecs {
					accs[p][v] = s.vec()
					if s.vecSize == 64 {
						VPXORD(accs[p][v], accs[p][v], accs[p][v])
					} else {
						VXORPS(accs[p][v], accs[p][v], accs[p][v])
					}
				}
			}
			Label("step" + tag)
			for v := range vecs {
				disp := v * s.vecSize
				bv := make([]reg.VecVirtual, side)
				for j := range side {
					bv[j] = s.vec()
					VMOVUPS(Mem{Base: bs[bj+j], Index: pos, Scale: 1, Disp: disp}, bv[j])
				}
				for i := range side {
					av := s.vec()
					VMOVUPS(Mem{Base: as[bi+i], Index: pos, Scale: 1, Disp: disp}, av)
					for j := range side {
						t := s.vec()
						VSUBPS(bv[j], av, t) // a − b
						VFMADD231PS(t, t, accs[i*side+j][v])
					}
				}
			}
			ADDQ(U32(64), pos)
			DECQ(count)
			JNZ(LabelRef("step" + tag))
			// Widen the chunk's lanes into the float64 sums of their pairs.
			for i := range side {
				for j := range side {
					p := 4*(bi+i) + bj + j
					for v := range vecs {
						addToSum(s, accp, (p*16+v*s.f32Lanes())*4, accs[i*side+j][v], nil)
					}
				}
			}
			TESTQ(steps, steps)
			JNZ(LabelRef("chunk" + tag))
			Label("done" + tag)
		}
	}
	VZEROUPPER()
	RET()
}
