package simd

// AddWords adds the window [off, off+len(sum)) of every row into sum mod 2^32, rows in
// order: sum[j] += rows[i][off+j]. Secure aggregation sums masked vectors and masks so;
// a sum mod 2^b is the low b bits of this one. As with AddRows, call it with all the
// rows of a cache-sized window: the sums stay in registers while the rows stream past.
func AddWords(sum []uint32, rows [][]uint32, off int) {
	wordRows(sum, rows, off, active.Load().k.addWordRows, addWordRowsGeneric)
}

// SubWords is AddWords subtracting: sum[j] -= rows[i][off+j] mod 2^32.
func SubWords(sum []uint32, rows [][]uint32, off int) {
	wordRows(sum, rows, off, active.Load().k.subWordRows, subWordRowsGeneric)
}

func wordRows(sum []uint32, rows [][]uint32, off int, kernel, generic func([]uint32, [][]uint32, int)) {
	for _, r := range rows {
		_ = r[off : off+len(sum)] // every window in bounds, before any work
	}
	for g := 0; g < len(rows); g += rowGroup {
		group := rows[g:min(g+rowGroup, len(rows))]
		pieces(len(sum), func(lo, hi int) { kernel(sum[lo:hi], group, off+lo) },
			func(lo, hi int) { generic(sum[lo:hi], group, off+lo) })
	}
}

func addWordRowsGeneric(sum []uint32, rows [][]uint32, off int) {
	for _, r := range rows {
		x := r[off : off+len(sum)]
		for j, v := range x {
			sum[j] += v
		}
	}
}

func subWordRowsGeneric(sum []uint32, rows [][]uint32, off int) {
	for _, r := range rows {
		x := r[off : off+len(sum)]
		for j, v := range x {
			sum[j] -= v
		}
	}
}

// FirstOverBits returns the index of the first word not below 2^bits, or -1 if every
// word is (always so for bits >= 32). Secure aggregation checks every masked vector so
// before summing it. It ORs a block at a time and searches only a block whose OR is
// too wide, so a vector that passes costs its loads alone. It is the same Go on every
// path: eight independent ORs already keep up with memory on one core here (24 GB/s
// against 25 for a read), where the one-word loop ran at a third of that.
func FirstOverBits(words []uint32, bits int) int {
	if bits < 0 {
		panic("simd: FirstOverBits with negative bits")
	}
	if bits >= 32 {
		return -1
	}
	for lo := 0; lo < len(words); lo += wordBlock {
		block := words[lo:min(lo+wordBlock, len(words))]
		if orWords(block)>>bits != 0 {
			for i, w := range block {
				if w>>bits != 0 {
					return lo + i
				}
			}
		}
	}
	return -1
}

// wordBlock is how many words FirstOverBits ORs before it tests them.
const wordBlock = 2048

// orWords is the OR of every word, in eight independent chains.
func orWords(w []uint32) uint32 {
	var a, b, c, d, e, f, g, h uint32
	for ; len(w) >= 8; w = w[8:] {
		a |= w[0]
		b |= w[1]
		c |= w[2]
		d |= w[3]
		e |= w[4]
		f |= w[5]
		g |= w[6]
		h |= w[7]
	}
	for _, x := range w {
		a |= x
	}
	return a | b | c | d | e | f | g | h
}

// Dequantize writes into dst the words as signed integers of bits bits, times scale, in
// float64 and then rounded once to float32: dst[i] = float32(float64(v) * scale), v
// words[i]'s low bits bits read in two's complement (in [-2^(bits-1), 2^(bits-1))). A
// sum mod 2^bits of integers that stay within that range is their true sum so centred;
// distributed DP decodes its sums with it. len(words) must be at least len(dst); bits is
// in [1, 32].
func Dequantize(dst []float32, words []uint32, bits int, scale float64) {
	if bits < 1 || bits > 32 {
		panic("simd: Dequantize with bits outside [1, 32]")
	}
	words = words[:len(dst)]
	shift := uint64(32 - bits)
	k := active.Load().k.dequantize
	pieces(len(dst), func(lo, hi int) { k(dst[lo:hi], words[lo:hi], shift, scale) },
		func(lo, hi int) { dequantizeGeneric(dst[lo:hi], words[lo:hi], shift, scale) })
}

// dequantizeGeneric shifts each word's low bits to the top and back down
// arithmetically: the sign extension of a (32-shift)-bit integer.
func dequantizeGeneric(dst []float32, words []uint32, shift uint64, scale float64) {
	words = words[:len(dst)]
	for i, w := range words {
		dst[i] = float32(float64(int32(w<<shift)>>shift) * scale)
	}
}
