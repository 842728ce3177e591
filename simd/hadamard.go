package simd

import "math/bits"

// HadamardPiece is how many values FWHT transforms in one piece before the stages that
// cross pieces: 32 KiB, an L1 data cache.
const HadamardPiece = 1 << 13

// FWHT replaces x by its Walsh-Hadamard transform, unnormalised: x <- H x with H the
// Sylvester-ordered ±1 matrix of size len(x), which must be a power of two (it panics
// otherwise). H·H = len(x)·I, so FWHT twice, then a division by len(x), is the identity.
// Distributed DP rotates updates with it (randomised Hadamard: sign flips, then FWHT,
// then 1/sqrt(len)), so that clipping and rounding spread over all coordinates.
//
// It is FWHT of each HadamardPiece values on its own, then FWHTAcross of every column: a
// caller with cores to spare runs those pieces, then ranges of columns, on goroutines
// of its own, and gets FWHT's result bit for bit.
//
// Every path is bit-identical to fwhtGeneric for finite values: the transform is the
// same butterflies, a+b and a-b of the same operands, done in another order.
func FWHT(x []float32) {
	n := len(x)
	if n == 0 || n&(n-1) != 0 {
		panic("simd: FWHT of a length that is not a power of two")
	}
	k := active.Load().k
	if n < Block {
		fwhtGeneric(x)
		return
	}
	piece := min(n, HadamardPiece)
	for lo := 0; lo < n; lo += piece {
		k.hadamard32(x[lo : lo+piece]) // stages 1 to 16 of every 32 values
		stageGroups(k, x[lo:lo+piece], Block, 0, Block)
	}
	FWHTAcross(x, 0, piece)
}

// FWHTAcross runs the stages of FWHT whose half-width is HadamardPiece or more, which pair
// piece p with piece p^(h/HadamardPiece), on the columns [lo, hi) of every piece: for each
// column, a transform along the pieces. lo and hi must be multiples of 32 within
// [0, HadamardPiece], and len(x) a power of two; it does nothing to an x of one piece or
// less. Columns are independent, so ranges of them may run concurrently.
//
// They go a strip of columns at a time, all stages per strip, so the values cross memory
// once more rather than once a stage.
func FWHTAcross(x []float32, lo, hi int) {
	n := len(x)
	if n == 0 || n&(n-1) != 0 || lo < 0 || lo > hi || hi > HadamardPiece || lo%Block != 0 || hi%Block != 0 {
		panic("simd: FWHTAcross of a length that is not a power of two, or columns off the pieces")
	}
	if n <= HadamardPiece {
		return
	}
	k := active.Load().k
	for c := lo; c < hi; c += hadamardStrip {
		stageGroups(k, x, HadamardPiece, c, min(hadamardStrip, hi-c))
	}
}

// hadamardStrip is how many columns of the pieces FWHTAcross takes at a time: 1 KiB of
// each piece, every piece's strip together in L2 up to 2^22 values or so.
const hadamardStrip = 256

// stageGroups runs the stages of half-width h = unit, 2·unit, ... < len(x) on the
// columns [c, c+w) of every unit of x (a power of two of values, unit <= len(x)): stage
// h pairs unit u with unit u^(h/unit). They go three stages a pass while three remain
// (then two, or one), each pass a call per window the stages pair, or a single one
// per group of units when the columns are whole units (w = unit), whose windows touch.
func stageGroups(k *kernels, x []float32, unit, c, w int) {
	n := len(x)
	for h := unit; h < n; {
		stages := min(3, bits.Len(uint(n/h))-1)
		span := h << stages
		step, width := unit, w
		if w == unit {
			step, width = h, h
		}
		for i := 0; i < n; i += span {
			for j := i + c; j < i+h; j += step {
				switch stages {
				case 3:
					k.butterflies8(x[j:], h, width)
				case 2:
					k.butterflies4(x[j:], h, width)
				default:
					k.butterflies(x[j:j+width], x[j+h:j+h+width])
				}
			}
		}
		h = span
	}
}

// stridedButterfliesGeneric runs the stages of half-width stride, 2·stride, ... (stages
// of them) over the 2^stages windows x[m·stride:][:width], m < 2^stages: stage t pairs
// window m with m + 2^t for every m whose bit t is clear.
func stridedButterfliesGeneric(x []float32, stride, width, stages int) {
	for t := range stages {
		h := 1 << t
		for m := range 1 << stages {
			if m&h == 0 {
				a, b := m*stride, (m+h)*stride
				butterfliesGeneric(x[a:a+width], x[b:b+width])
			}
		}
	}
}

// butterflies4Generic and butterflies8Generic are the generic path's strided kernels.
func butterflies4Generic(x []float32, stride, width int) {
	stridedButterfliesGeneric(x, stride, width, 2)
}

func butterflies8Generic(x []float32, stride, width int) {
	stridedButterfliesGeneric(x, stride, width, 3)
}

// fwhtGeneric is the specification: stage by stage, half-width h = 1, 2, 4, ..., each
// pair (a, b) = (x[j], x[j+h]) becoming (a+b, a-b).
func fwhtGeneric(x []float32) {
	for h := 1; h < len(x); h *= 2 {
		for i := 0; i < len(x); i += 2 * h {
			butterfliesGeneric(x[i:i+h], x[i+h:i+2*h])
		}
	}
}

// butterfliesGeneric is a, b <- a+b, a-b element by element.
func butterfliesGeneric(a, b []float32) {
	b = b[:len(a)]
	for j, u := range a {
		v := b[j]
		a[j], b[j] = u+v, u-v
	}
}

// hadamard32Generic transforms every 32 values of x on its own (len(x) a multiple of 32):
// the stages of half-width 1 to 16.
func hadamard32Generic(x []float32) {
	for lo := 0; lo+Block <= len(x); lo += Block {
		fwhtGeneric(x[lo : lo+Block])
	}
}
