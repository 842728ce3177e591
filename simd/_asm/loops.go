// The loop shapes the kernels share: counted loops over blocks and over rows.

package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

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
