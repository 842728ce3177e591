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
	genScale(s)
	genNonFinite(s)
	genCopyStream(s)
	genMinMax(s, "min", "if x[i] < dst[i] { dst[i] = x[i] }", VMINPS)
	genMinMax(s, "max", "if x[i] > dst[i] { dst[i] = x[i] }", VMAXPS)
	Generate()
}

// loop emits the block loop: body(i) is called for each block with the byte offsets
// advanced by the caller's pointer increments in step.
func loop(blocks reg.GPVirtual, body func(), step func()) {
	TESTQ(blocks, blocks)
	JZ(LabelRef("done"))
	Label("loop")
	body()
	step()
	DECQ(blocks)
	JNZ(LabelRef("loop"))
	Label("done")
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
	TESTQ(n, n)
	JZ(LabelRef("done"))
	Label("block")
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
	DECQ(n)
	JNZ(LabelRef("block"))
	Label("done")
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
	TESTQ(n, n)
	JZ(LabelRef("done"))
	Label("loop")
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
	DECQ(n)
	JNZ(LabelRef("loop"))
	Label("done")
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
	bits := GP32()
	MOVL(U32(0x7f800000), bits)
	mx := XMM()
	MOVD(bits, mx)
	mask := s.vec()
	VPBROADCASTD(mx, mask)
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
	TESTQ(n, n)
	JZ(LabelRef("done"))
	Label("loop")
	for v := 0; v < s.f32Vecs(); v++ {
		t := s.vec()
		VMOVUPS(Mem{Base: src, Disp: v * s.vecSize}, t)
		VMOVNTPS(t, Mem{Base: dst, Disp: v * s.vecSize})
	}
	ADDQ(U32(block*4), src)
	ADDQ(U32(block*4), dst)
	DECQ(n)
	JNZ(LabelRef("loop"))
	Label("done")
	SFENCE()
	VZEROUPPER()
	RET()
}
