// The streaming copies (simd/copy.go).

package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genCopyStream emits a copy whose stores bypass the cache (VMOVNTPS): for buffers
// written now and read only if something goes wrong, it saves the read-for-ownership
// of every destination line. The stores need dst aligned to the vector size.
func genCopyStream(s isaSpec) {
	text("copyStream"+s.suffix, NOSPLIT, "func(dst, src []float32)")
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
	text(name, NOSPLIT, "func(panel []float32, stride int, rows [][]float32, off, width int)")
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
