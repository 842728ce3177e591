package simd

import "unsafe"

// CopyStream copies src into dst[:len(src)] like copy, with stores that bypass the cache
// where the CPU allows: for data written now and read later only if at all, such as a
// saved copy of a buffer about to be overwritten. It saves the cache line fetch every
// ordinary store of a new line costs.
func CopyStream(dst, src []float32) {
	dst = dst[:len(src)]
	// Peel until dst is 64-byte aligned, as the streaming stores require.
	head := 0
	if len(dst) > 0 {
		head = min(len(src), int(-uintptr(unsafe.Pointer(&dst[0]))%64/4))
	}
	copy(dst[:head], src[:head])
	dst, src = dst[head:], src[head:]
	fn := active.Load().k.copyStream
	pieces(len(src), func(lo, hi int) { fn(dst[lo:hi], src[lo:hi]) },
		func(lo, hi int) { copy(dst[lo:hi], src[lo:hi]) })
}

func copyStreamGeneric(dst, src []float32) { copy(dst, src) }
