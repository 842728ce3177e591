package simd_test

import (
	"encoding/binary"
	"math"
	"slices"
	"testing"

	"github.com/octomil/secagg/simd"
)

// floats reads little-endian float32 from b; any bit pattern, NaN and Inf included.
func floats(b []byte) []float32 {
	x := make([]float32, len(b)/4)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return x
}

// FuzzPathsAgree runs every primitive on every supported path over fuzzed bit patterns
// and demands the generic path's answer: bit for bit, except that where two NaNs meet in
// an addition any NaN may come out (which operand's payload x86 keeps is the compiler's
// choice of operand order, not part of the contract).
func FuzzPathsAgree(f *testing.F) {
	f.Add(make([]byte, 4*70), uint8(0), 1.5)
	f.Add([]byte{0, 0, 0xc0, 0x7f, 0, 0, 0x80, 0xff, 1, 0, 0, 0}, uint8(1), -0.0)
	f.Fuzz(func(t *testing.T, data []byte, off uint8, w float64) {
		all := floats(data)
		k := min(int(off%4), len(all))
		x := all[k:]
		y := slices.Clone(x)
		slices.Reverse(y)
		type result struct {
			rows, scaled []float64
			fin, sc, lo  []float32
			hi           []float32
			dot, ss      uint64
			bad          int
			pairs        []float64
			flip, deq    []float32
			copyBad      [2]int
			copies       [2][]float32
		}
		compute := func() result {
			var r result
			r.rows = make([]float64, len(x))
			simd.AddRows(r.rows, [][]float32{x, y, x}, 0)
			r.scaled = make([]float64, len(x))
			simd.AddScaledRows(r.scaled, []float64{w, -w}, [][]float32{x, y}, 0)
			r.fin = make([]float32, len(x))
			simd.Finish(r.fin, r.scaled, w)
			r.sc = slices.Clone(x)
			simd.Scale(r.sc, float32(w))
			r.lo, r.hi = slices.Clone(x), slices.Clone(x)
			simd.Min(r.lo, y)
			simd.Max(r.hi, y)
			r.dot = math.Float64bits(simd.Dot(x, y))
			r.ss = math.Float64bits(simd.SumSquares(x))
			r.bad = simd.FirstNonFinite(x)
			var pairs [simd.PairBlock * simd.PairBlock]float64
			z := slices.Clone(x)
			simd.Scale(z, -2)
			simd.SqDistPairs(&pairs, [][]float32{x, y, z, x}, [][]float32{y, z, x, r.sc}, 0, len(x))
			r.pairs = pairs[:]
			r.flip = make([]float32, len(x))
			simd.ScaleFlip(r.flip, x, float32(w), data) // the bytes as signs: 8 a value
			r.deq = make([]float32, len(x))
			words := make([]uint32, len(x))
			for i, v := range x {
				words[i] = math.Float32bits(v)
			}
			simd.Dequantize(r.deq, words, 1+int(off)%32, w)
			for i, copyFinite := range []func(dst, src []float32) int{simd.CopyFinite, simd.CopyFiniteStream} {
				r.copies[i] = make([]float32, len(x))
				r.copyBad[i] = copyFinite(r.copies[i], x)
			}
			return r
		}
		prev := simd.Active()
		defer simd.Select(prev)
		var want result
		for i, p := range simd.Supported() {
			simd.Select(p)
			got := compute()
			if i == 0 {
				want = got
				continue
			}
			for name, ok := range map[string]bool{
				"AddRows":        sameOrNaN64(got.rows, want.rows),
				"AddScaledRows":  sameOrNaN64(got.scaled, want.scaled),
				"Finish":         sameOrNaN32(got.fin, want.fin),
				"Scale":          same32(got.sc, want.sc),
				"Min":            same32(got.lo, want.lo),
				"Max":            same32(got.hi, want.hi),
				"Dot":            sameOrNaN64([]float64{math.Float64frombits(got.dot)}, []float64{math.Float64frombits(want.dot)}),
				"SumSquares":     sameOrNaN64([]float64{math.Float64frombits(got.ss)}, []float64{math.Float64frombits(want.ss)}),
				"FirstNonFinite": got.bad == want.bad,
				"SqDistPairs":    sameOrNaN64(got.pairs, want.pairs),
				"ScaleFlip":      same32(got.flip, want.flip),
				"Dequantize":     sameOrNaN32(got.deq, want.deq),
				// Their copies must be x itself, on every path, where x is finite.
				"CopyFinite":       got.copyBad[0] == want.bad && (want.bad >= 0 || same32(got.copies[0], x)),
				"CopyFiniteStream": got.copyBad[1] == want.bad && (want.bad >= 0 || same32(got.copies[1], x)),
			} {
				if !ok {
					t.Fatalf("%s: %s differs from generic on %d values", name, p, len(x))
				}
			}
		}
	})
}

func sameOrNaN64(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool {
		return math.Float64bits(x) == math.Float64bits(y) || math.IsNaN(x) && math.IsNaN(y)
	})
}

func sameOrNaN32(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool {
		return math.Float32bits(x) == math.Float32bits(y) || x != x && y != y
	})
}

// panelFor returns a panel for n rows of width values, a line between rows.
func panelFor(n, width int) simd.Panel {
	p := simd.Panel{Stride: width + 16, Rows: make([][]float32, n)}
	p.Data = make([]float32, n*p.Stride)
	for i := range p.Rows {
		p.Rows[i] = p.Data[i*p.Stride : i*p.Stride+width]
	}
	return p
}

// FuzzOrderStatsAgree runs Bounds, Middle, KeptSum and Push on every path over fuzzed
// finite values (non-finite bit patterns become 1, after Middle and MiddleCopy have
// been checked to report them) and demands the generic path's bits, and the same bits
// from BoundsCopy and MiddleCopy with every window left in their panels.
func FuzzOrderStatsAgree(f *testing.F) {
	f.Add(make([]byte, 4*7*40), uint8(7), uint8(2))
	f.Add([]byte{0, 0, 0, 0x80, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0x80, 0x3f}, uint8(2), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, n, k uint8) {
		all := floats(data)
		// Up to 40 rows, or up to 127 when n's top bit is set (the bisection's sizes).
		rowsN := int(n%40) + 1
		if n >= 128 {
			rowsN = int(n-128) + 1
		}
		d := len(all) / rowsN
		if d == 0 {
			return
		}
		rows := make([][]float32, rowsN)
		for i := range rows {
			rows[i] = all[i*d : (i+1)*d]
		}
		// Middle on the raw values: it must report exactly whether all are finite.
		finite := true
		for _, v := range all[:rowsN*d] {
			finite = finite && !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0)
		}
		prevPath := simd.Active()
		for _, p := range simd.Supported() {
			simd.Select(p)
			lo, hi := make([]float32, d), make([]float32, d)
			if simd.Middle(lo, hi, rows, 0) != finite {
				simd.Select(prevPath)
				t.Fatalf("%s: Middle's finiteness differs from the data's (%v): n=%d d=%d", p, finite, rowsN, d)
			}
			if simd.MiddleCopy(lo, hi, rows, 0, panelFor(rowsN, d)) != finite {
				simd.Select(prevPath)
				t.Fatalf("%s: MiddleCopy's finiteness differs from the data's (%v): n=%d d=%d", p, finite, rowsN, d)
			}
		}
		simd.Select(prevPath)
		for i, v := range all {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				all[i] = 1
			}
		}
		kk := int(k) % ((rowsN + 1) / 2)
		type state struct {
			lo, hi   []float32
			mlo, mhi []float32
			sum      []float64
			ext      []float32
			psum     []float64
		}
		run := func() state {
			var st state
			st.lo, st.hi = make([]float32, d), make([]float32, d)
			simd.Bounds(st.lo, st.hi, rows, 0, kk)
			st.mlo, st.mhi = make([]float32, d), make([]float32, d)
			if !simd.Middle(st.mlo, st.mhi, rows, 0) {
				t.Fatalf("Middle: finite values reported non-finite")
			}
			// The copying forms: the same bits, and the windows left in the panel.
			clo, chi, cp := make([]float32, d), make([]float32, d), panelFor(rowsN, d)
			simd.BoundsCopy(clo, chi, rows, 0, kk, cp)
			mlo, mhi, mp := make([]float32, d), make([]float32, d), panelFor(rowsN, d)
			simd.MiddleCopy(mlo, mhi, rows, 0, mp)
			if !same32(clo, st.lo) || !same32(chi, st.hi) || !same32(mlo, st.mlo) || !same32(mhi, st.mhi) {
				t.Fatalf("%s: BoundsCopy or MiddleCopy differs from Bounds or Middle: n=%d d=%d k=%d", simd.Active(), rowsN, d, kk)
			}
			for i, r := range rows {
				if !same32(cp.Rows[i], r) || !same32(mp.Rows[i], r) {
					t.Fatalf("%s: row %d not copied to the panel: n=%d d=%d k=%d", simd.Active(), i, rowsN, d, kk)
				}
			}
			st.sum = make([]float64, d)
			simd.KeptSum(st.sum, rows, 0, kk, st.lo, st.hi)
			st.ext, st.psum = newPushState(d, kk)
			for _, r := range rows {
				simd.Push(st.ext, st.psum, r, kk)
			}
			return st
		}
		prev := simd.Active()
		defer simd.Select(prev)
		var want state
		for i, p := range simd.Supported() {
			simd.Select(p)
			got := run()
			if i == 0 {
				want = got
				continue
			}
			if !same32(got.lo, want.lo) || !same32(got.hi, want.hi) || !same64(got.sum, want.sum) ||
				!same32(got.mlo, want.mlo) || !same32(got.mhi, want.mhi) ||
				!same32(got.ext, want.ext) || !same64(got.psum, want.psum) {
				t.Fatalf("%s differs from generic: n=%d d=%d k=%d", p, rowsN, d, kk)
			}
		}
	})
}
