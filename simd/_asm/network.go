// Medians by sorting networks (simd/orderstats.go).

package main

import (
	"fmt"
	"slices"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

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
	text(name, NOSPLIT, "func(lo, hi []float32, rows [][]float32, off int) int")
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
