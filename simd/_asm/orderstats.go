// What the order-statistic kernels share.

package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// compactBranchFrom is the row count from which the 16-bit kernels' compaction branches
// on whether a row is kept rather than writing every row.
const compactBranchFrom = 256

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
