package simd

import "math"

// FirstNonFinite returns the index of the first NaN or ±Inf in x, or -1 if every value
// is finite. It reads at memory speed, so validation can afford to look at every update.
func FirstNonFinite(x []float32) int {
	find := active.Load().k.nonFiniteBlock
	whole := len(x) &^ (Block - 1)
	for lo := 0; lo < whole; lo += maxPiece {
		hi := min(lo+maxPiece, whole)
		if b := find(x[lo:hi]); lo+b*Block < hi {
			start := lo + b*Block
			return start + firstNonFiniteGeneric(x[start:start+Block])
		}
	}
	if i := firstNonFiniteGeneric(x[whole:]); i >= 0 {
		return whole + i
	}
	return -1
}

// firstNonFiniteGeneric is the specification: the exponent bits of NaN and ±Inf are all ones.
func firstNonFiniteGeneric(x []float32) int {
	for i, v := range x {
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
			return i
		}
	}
	return -1
}

// nonFiniteBlockGeneric is the block form the assembly implements: the index of the
// first Block-element block holding a NaN or ±Inf, or len(x)/Block.
func nonFiniteBlockGeneric(x []float32) int {
	if i := firstNonFiniteGeneric(x); i >= 0 {
		return i / Block
	}
	return len(x) / Block
}
