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
