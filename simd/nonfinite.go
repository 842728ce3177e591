package simd

import "math"

// FirstNonFinite returns the index of the first NaN or ±Inf in x, or -1 if every value
// is finite. It reads at memory speed, so validation can afford to look at every update.
func FirstNonFinite(x []float32) int {
	find := active.Load().k.nonFiniteBlock
	return searchBlocks(x, func(lo, hi int) int { return find(x[lo:hi]) })
}

// searchBlocks finds the first NaN or ±Inf of x, or -1: blocks(lo, hi) runs a block
// kernel over x[lo:hi] (a whole number of blocks, maxPiece at most) and returns the
// index of the first block holding one, or (hi-lo)/Block; the values past the last
// whole block are searched in Go.
func searchBlocks(x []float32, blocks func(lo, hi int) int) int {
	whole := len(x) &^ (Block - 1)
	for lo := 0; lo < whole; lo += maxPiece {
		hi := min(lo+maxPiece, whole)
		if b := blocks(lo, hi); lo+b*Block < hi {
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

// CopyFinite copies src into dst[:len(src)] and returns -1 if every value is finite, or
// else the index of the first NaN or ±Inf, with an unspecified part of src in dst. One
// read of src does both: a round that keeps a copy of a caller's update checks it as it
// copies, rather than reading it once for the check and again for the copy.
func CopyFinite(dst, src []float32) int {
	return copyFinite(active.Load().k.copyFiniteBlock, dst[:len(src)], src)
}

// CopyFiniteStream is CopyFinite with stores that bypass the cache where the CPU allows,
// as Go's copy has from 1 MiB on: for a copy that will be read again only after much
// else (a round's copy of an update, read at Finalize), it saves the fetch of every
// destination line and leaves the cache to the data in use.
func CopyFiniteStream(dst, src []float32) int {
	dst = dst[:len(src)]
	head := streamHead(dst)
	if i := copyFinite(copyFiniteBlockGeneric, dst[:head], src[:head]); i >= 0 {
		return i
	}
	if i := copyFinite(active.Load().k.copyFiniteStreamBlock, dst[head:], src[head:]); i >= 0 {
		return head + i
	}
	return -1
}

// copyFinite runs a copyFiniteBlock kernel over the whole blocks of src, the rest in Go.
func copyFinite(copyBlocks func(dst, src []float32) int, dst, src []float32) int {
	if i := searchBlocks(src, func(lo, hi int) int { return copyBlocks(dst[lo:hi], src[lo:hi]) }); i >= 0 {
		return i
	}
	whole := len(src) &^ (Block - 1)
	copy(dst[whole:], src[whole:])
	return -1
}

// copyFiniteBlockGeneric is the block form the assembly implements: src's blocks of
// Block values copied into dst until the first holding a NaN or ±Inf, whose index it
// returns (len(src)/Block if there is none).
func copyFiniteBlockGeneric(dst, src []float32) int {
	for b := 0; b < len(src)/Block; b++ {
		x := src[b*Block : (b+1)*Block]
		if firstNonFiniteGeneric(x) >= 0 {
			return b
		}
		copy(dst[b*Block:], x)
	}
	return len(src) / Block
}
