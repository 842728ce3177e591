package simd

import "unsafe"

// CopyStream copies src into dst[:len(src)] like copy, with stores that bypass the cache
// where the CPU allows: for data written now and read later only if at all, such as a
// saved copy of a buffer about to be overwritten. It saves the cache line fetch every
// ordinary store of a new line costs.
func CopyStream(dst, src []float32) {
	dst = dst[:len(src)]
	head := streamHead(dst)
	copy(dst[:head], src[:head])
	dst, src = dst[head:], src[head:]
	fn := active.Load().k.copyStream
	pieces(len(src), func(lo, hi int) { fn(dst[lo:hi], src[lo:hi]) },
		func(lo, hi int) { copy(dst[lo:hi], src[lo:hi]) })
}

func copyStreamGeneric(dst, src []float32) { copy(dst, src) }

// streamHead is how many values of dst come before its first 64-byte boundary (all of
// a shorter dst): a streaming copy peels them with ordinary stores, as the streaming
// ones need the alignment.
func streamHead(dst []float32) int {
	if len(dst) == 0 {
		return 0
	}
	return min(len(dst), int(-uintptr(unsafe.Pointer(&dst[0]))%64/4))
}

// CopyWindows copies the window [off, off+width) of every row into panel, row i at
// panel[i*stride:]: a tile of many clients' coordinates gathered into one block. Rows
// that lie whole pages apart put the same window of each in the same few cache sets,
// which hold only a couple of hundred of them; a panel with a stride that is not a
// multiple of the page spreads them over the whole cache, so passes after the copy read
// the tile from L2 instead of beyond it.
func CopyWindows(panel []float32, stride int, rows [][]float32, off, width int) {
	if len(rows) == 0 || width == 0 {
		return
	}
	if stride < width {
		panic("simd: CopyWindows needs stride >= width")
	}
	_ = panel[(len(rows)-1)*stride+width-1]
	for _, r := range rows {
		_ = r[off : off+width]
	}
	whole := width &^ (Block - 1)
	if whole > 0 {
		active.Load().k.copyWindows(panel, stride, rows, off, whole)
	}
	if whole < width {
		copyWindowsGeneric(panel[whole:], stride, rows, off+whole, width-whole)
	}
}

// A Panel holds a tile of many rows' windows, row i at Data[i*Stride:] and, as a slice
// of the tile's width, at Rows[i]: the block CopyWindows fills (see BoundsCopy and
// MiddleCopy), for passes that read a tile more than once.
type Panel struct {
	Data   []float32
	Stride int
	Rows   [][]float32
}

// check panics unless p can take the windows [off, off+width) of rows, and every
// window is in bounds: the kernels that copy into p check nothing.
func (p Panel) check(rows [][]float32, off, width int) {
	if len(rows) == 0 || width == 0 {
		return
	}
	if p.Stride < width || len(p.Rows) < len(rows) {
		panic("simd: Panel too small for the windows")
	}
	_ = p.Data[(len(rows)-1)*p.Stride+width-1]
	for _, r := range rows {
		_ = r[off : off+width]
	}
}

func copyWindowsGeneric(panel []float32, stride int, rows [][]float32, off, width int) {
	for i, r := range rows {
		copy(panel[i*stride:i*stride+width], r[off:off+width])
	}
}
