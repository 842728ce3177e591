package simd

import "math"

// Add adds a client vector into float64 sums: sum[i] += float64(x[i]) for i < len(x).
func Add(sum []float64, x []float32) {
	rows := [1][]float32{x}
	AddRows(sum[:len(x)], rows[:], 0)
}

// AddScaled adds a weighted client vector into float64 sums with one rounding per
// element: sum[i] = math.FMA(w, float64(x[i]), sum[i]) for i < len(x).
func AddScaled(sum []float64, w float64, x []float32) {
	rows, ws := [1][]float32{x}, [1]float64{w}
	AddScaledRows(sum[:len(x)], ws[:], rows[:], 0)
}

// AddRows adds the window [off, off+len(sum)) of every row into sum, rows in order:
// sum[j] += float64(rows[i][off+j]). It is Add over many clients at once, and faster:
// the sums stay in registers while a group of rows streams past, so call it with all
// the rows of a cache-sized window rather than one row at a time.
func AddRows(sum []float64, rows [][]float32, off int) {
	for _, r := range rows {
		_ = r[off : off+len(sum)] // every window in bounds, before any work
	}
	addRows := active.Load().k.addRows
	for g := 0; g < len(rows); g += rowGroup {
		group := rows[g:min(g+rowGroup, len(rows))]
		pieces(len(sum), func(lo, hi int) { addRows(sum[lo:hi], group, off+lo) },
			func(lo, hi int) { addRowsGeneric(sum[lo:hi], group, off+lo) })
	}
}

// rowGroup is how many rows one pass of AddRows adds while the sums stay in registers:
// few enough streams for the hardware prefetchers to follow (measured best of 4-32).
const rowGroup = 16

// AddScaledRows is AddRows with a weight per row, each product fused into the sum with
// one rounding: sum[j] = math.FMA(w[i], float64(rows[i][off+j]), sum[j]).
func AddScaledRows(sum []float64, w []float64, rows [][]float32, off int) {
	w = w[:len(rows)]
	for _, r := range rows {
		_ = r[off : off+len(sum)]
	}
	addScaledRows := active.Load().k.addScaledRows
	for g := 0; g < len(rows); g += rowGroup {
		group, wg := rows[g:min(g+rowGroup, len(rows))], w[g:]
		pieces(len(sum), func(lo, hi int) { addScaledRows(sum[lo:hi], wg, group, off+lo) },
			func(lo, hi int) { addScaledRowsGeneric(sum[lo:hi], wg, group, off+lo) })
	}
}

// Finish scales float64 sums and rounds them once to float32:
// dst[i] = float32(sum[i] * scale) for i < len(dst).
func Finish(dst []float32, sum []float64, scale float64) {
	sum = sum[:len(dst)]
	finish := active.Load().k.finish
	pieces(len(dst), func(lo, hi int) { finish(dst[lo:hi], sum[lo:hi], scale) },
		func(lo, hi int) { finishGeneric(dst[lo:hi], sum[lo:hi], scale) })
}

func addRowsGeneric(sum []float64, rows [][]float32, off int) {
	for _, r := range rows {
		x := r[off : off+len(sum)]
		for j, v := range x {
			sum[j] += float64(v)
		}
	}
}

func addScaledRowsGeneric(sum []float64, w []float64, rows [][]float32, off int) {
	for i, r := range rows {
		x := r[off : off+len(sum)]
		for j, v := range x {
			sum[j] = math.FMA(w[i], float64(v), sum[j])
		}
	}
}

func finishGeneric(dst []float32, sum []float64, scale float64) {
	sum = sum[:len(dst)]
	for i, s := range sum {
		dst[i] = float32(s * scale)
	}
}
