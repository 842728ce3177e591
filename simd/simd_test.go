package simd_test

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/internal/simdtest"
	"github.com/octomil/secagg/simd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// guard is how many canary elements surround every buffer a kernel writes.
const guard = 8

// canary32 and canary64 are NaN payloads no kernel produces.
var (
	canary32 = math.Float32frombits(0x7fc0dead)
	canary64 = math.Float64frombits(0x7ff8_dead_dead_dead)
)

// guarded32 returns a slice of length n starting off elements into a buffer with
// canaries on both sides, so writes past either end are caught by checkGuards32.
func guarded32(n, off int) (buf, x []float32) {
	buf = make([]float32, off+n+2*guard)
	for i := range buf {
		buf[i] = canary32
	}
	return buf, buf[guard+off : guard+off+n]
}

func guarded64(n, off int) (buf, x []float64) {
	buf = make([]float64, off+n+2*guard)
	for i := range buf {
		buf[i] = canary64
	}
	return buf, buf[guard+off : guard+off+n]
}

func checkGuards32(t *testing.T, buf []float32, n, off int) {
	t.Helper()
	for i, v := range buf {
		if (i < guard+off || i >= guard+off+n) && math.Float32bits(v) != math.Float32bits(canary32) {
			t.Fatalf("n=%d off=%d: canary at %d overwritten with %v", n, off, i, v)
		}
	}
}

func checkGuards64(t *testing.T, buf []float64, n, off int) {
	t.Helper()
	for i, v := range buf {
		if (i < guard+off || i >= guard+off+n) && math.Float64bits(v) != math.Float64bits(canary64) {
			t.Fatalf("n=%d off=%d: canary at %d overwritten with %v", n, off, i, v)
		}
	}
}

// values returns n float32 mixing ordinary values with the awkward ones: ±0,
// subnormals, values near ±MaxFloat32, ties.
func values(rng *rand.Rand, n int) []float32 {
	special := []float32{0, float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32,
		-math.SmallestNonzeroFloat32, 1e-40, math.MaxFloat32, -math.MaxFloat32, 1, -1, 0.5}
	x := make([]float32, n)
	for i := range x {
		switch rng.IntN(8) {
		case 0:
			x[i] = special[rng.IntN(len(special))]
		case 1:
			x[i] = float32(rng.NormFloat64() * 1e30)
		default:
			x[i] = float32(rng.NormFloat64())
		}
	}
	return x
}

// sums64 returns n float64 partial sums of the size accumulation produces.
func sums64(rng *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = rng.NormFloat64() * math.Exp2(float64(rng.IntN(200)-100))
	}
	return s
}

func same32(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}

func same64(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) })
}

// onGeneric runs fn on the pure-Go path and restores the path before.
func onGeneric(t *testing.T, fn func()) {
	t.Helper()
	prev, err := simd.Select(simd.Generic)
	require.NoError(t, err)
	defer simd.Select(prev)
	fn()
}

// lengths are every length to 257 (all tails around the 32-element block) plus lengths
// that cross the 64 Ki-element piece boundary of the wrappers.
func lengths() []int {
	ns := make([]int, 0, 262)
	for n := 0; n <= 257; n++ {
		ns = append(ns, n)
	}
	return append(ns, 1<<16-1, 1<<16, 1<<16+33, 3<<16+37)
}

// TestPathsBitIdentical runs every primitive on every supported path and compares it bit
// for bit with the pure-Go path, at every length to 257 and four alignments, with
// canaries around every buffer written.
func TestPathsBitIdentical(t *testing.T) {
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		rng := rand.New(rand.NewPCG(1, uint64(len(p))))
		for _, n := range lengths() {
			for off := range 4 {
				x, y := values(rng, n), values(rng, n)
				s0 := sums64(rng, n)
				w := rng.NormFloat64() * 3

				check64 := func(name string, op func(sum []float64)) {
					buf, got := guarded64(n, off)
					copy(got, s0)
					op(got)
					checkGuards64(t, buf, n, off)
					want := slices.Clone(s0)
					onGeneric(t, func() { op(want) })
					if !same64(got, want) {
						t.Fatalf("%s n=%d off=%d: %s differs from generic", name, n, off, p)
					}
				}
				check64("Add", func(sum []float64) { simd.Add(sum, x) })
				check64("AddScaled", func(sum []float64) { simd.AddScaled(sum, w, x) })

				check32 := func(name string, op func(dst []float32)) {
					buf, got := guarded32(n, off)
					copy(got, y)
					op(got)
					checkGuards32(t, buf, n, off)
					want := slices.Clone(y)
					onGeneric(t, func() { op(want) })
					if !same32(got, want) {
						t.Fatalf("%s n=%d off=%d: %s differs from generic", name, n, off, p)
					}
				}
				check32("Finish", func(dst []float32) { simd.Finish(dst, s0, w) })
				check32("Scale", func(dst []float32) { simd.Scale(dst, float32(w)) })
				check32("Min", func(dst []float32) { simd.Min(dst, x) })
				check32("Max", func(dst []float32) { simd.Max(dst, x) })
				check32("CopyStream", func(dst []float32) { simd.CopyStream(dst, x) })

				// Dot and SumSquares read unaligned sub-slices too.
				xs, ys := x[min(off, n):], y[min(off, n):]
				var dot, ss float64
				onGeneric(t, func() { dot, ss = simd.Dot(xs, ys), simd.SumSquares(xs) })
				if got := simd.Dot(xs, ys); math.Float64bits(got) != math.Float64bits(dot) {
					t.Fatalf("Dot n=%d off=%d: %s gives %v, generic %v", n, off, p, got, dot)
				}
				if got := simd.SumSquares(xs); math.Float64bits(got) != math.Float64bits(ss) {
					t.Fatalf("SumSquares n=%d off=%d: %s gives %v, generic %v", n, off, p, got, ss)
				}
				var sd float64
				onGeneric(t, func() { sd = simd.SqDist(xs, ys) })
				if got := simd.SqDist(xs, ys); math.Float64bits(got) != math.Float64bits(sd) {
					t.Fatalf("SqDist n=%d off=%d: %s gives %v, generic %v", n, off, p, got, sd)
				}
			}
		}
	})
}

// TestGenericAgainstReference checks the specification itself against brute force:
// exact arithmetic for the reductions, float64 formulas for the element-wise primitives.
func TestGenericAgainstReference(t *testing.T) {
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		rng := rand.New(rand.NewPCG(2, 3))
		for _, n := range []int{0, 1, 7, 31, 32, 33, 100, 1000, 4099} {
			x, y := make([]float32, n), make([]float32, n)
			for i := range x {
				x[i], y[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64()*100)
			}
			// Dot and SumSquares: the products are exact, so an exact big.Float sum
			// bounds the error of any summation order by n ulps of the magnitude sum.
			exact, mag := new(big.Float).SetPrec(2000), 0.0
			for i := range x {
				exact.Add(exact, new(big.Float).SetFloat64(float64(x[i])*float64(y[i])))
				mag += math.Abs(float64(x[i]) * float64(y[i]))
			}
			want, _ := exact.Float64()
			got := simd.Dot(x, y)
			assert.InDelta(t, want, got, float64(n)*mag*0x1p-52+1e-300, "Dot n=%d", n)

			exact.SetFloat64(0)
			for _, v := range x {
				exact.Add(exact, new(big.Float).SetFloat64(float64(v)*float64(v)))
			}
			want, _ = exact.Float64()
			assert.InDelta(t, want, simd.SumSquares(x), float64(n)*want*0x1p-52+1e-300, "SumSquares n=%d", n)

			exact.SetFloat64(0)
			for i := range x {
				d := new(big.Float).SetPrec(2000).SetFloat64(float64(x[i]))
				d.Sub(d, new(big.Float).SetFloat64(float64(y[i])))
				exact.Add(exact, d.Mul(d, d))
			}
			want, _ = exact.Float64()
			assert.InDelta(t, want, simd.SqDist(x, y), float64(n+2)*want*0x1p-52+1e-300, "SqDist n=%d", n)
			assert.Zero(t, simd.SqDist(x, x), "a vector is at distance 0 from itself")

			sum := make([]float64, n)
			simd.Add(sum, x)
			simd.AddScaled(sum, 0.25, y)
			for i := range sum {
				require.Equal(t, float64(x[i])+0.25*float64(y[i]), sum[i], "Add/AddScaled n=%d i=%d", n, i)
			}
			dst := make([]float32, n)
			simd.Finish(dst, sum, 1.0/3)
			for i := range dst {
				require.Equal(t, float32(sum[i]/3), dst[i], "Finish n=%d i=%d", n, i)
			}
			lo, hi := slices.Clone(x), slices.Clone(x)
			simd.Min(lo, y)
			simd.Max(hi, y)
			for i := range lo {
				require.Equal(t, float32(math.Min(float64(x[i]), float64(y[i]))), lo[i])
				require.Equal(t, float32(math.Max(float64(x[i]), float64(y[i]))), hi[i])
			}
			cp := make([]float32, n+1)
			simd.CopyStream(cp[1:], x)
			require.Equal(t, x, cp[1:])
			sc := slices.Clone(y)
			simd.Scale(sc, 0.5)
			for i := range sc {
				require.Equal(t, y[i]/2, sc[i])
			}
		}
	})
}

// TestAddScaledRoundsOnce pins the fused multiply-add: the plain product w*x rounds
// before the add and gives another sum here.
func TestAddScaledRoundsOnce(t *testing.T) {
	w, x := 1+0x1p-30, float32(1+0x1p-23)
	s0 := -1.0
	want := math.FMA(w, float64(x), s0)
	require.NotEqual(t, w*float64(x)+s0, want, "the example must tell fused from unfused")
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		for _, n := range []int{1, 32, 64 + 5} {
			sum := make([]float64, n)
			xs := make([]float32, n)
			for i := range sum {
				sum[i], xs[i] = s0, x
			}
			simd.AddScaled(sum, w, xs)
			for i := range sum {
				require.Equal(t, want, sum[i], "n=%d i=%d", n, i)
			}
		}
	})
}

// TestMinMaxZeroAndNaN pins the rule for equal values and NaN: dst is kept.
func TestMinMaxZeroAndNaN(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	nan := float32(math.NaN())
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		n := 40 // one block plus a tail
		dst, x := make([]float32, n), make([]float32, n)
		for i := range dst {
			dst[i], x[i] = 0, negZero
		}
		dst[1], x[1] = nan, 1
		dst[33], x[33] = 1, nan
		lo := slices.Clone(dst)
		simd.Min(lo, x)
		hi := slices.Clone(dst)
		simd.Max(hi, x)
		for _, i := range []int{0, 32, 39} {
			assert.False(t, math.Signbit(float64(lo[i])), "Min keeps +0 over -0 at %d", i)
			assert.False(t, math.Signbit(float64(hi[i])), "Max keeps +0 over -0 at %d", i)
		}
		assert.True(t, math.IsNaN(float64(lo[1])) && math.IsNaN(float64(hi[1])), "NaN in dst stays")
		assert.Equal(t, float32(1), lo[33])
		assert.Equal(t, float32(1), hi[33])
	})
}

func TestLengthsPanicBeforeWriting(t *testing.T) {
	x := make([]float32, 64)
	short64 := []float64{7}
	short32 := []float32{7}
	assert.Panics(t, func() { simd.Add(short64, x) })
	assert.Panics(t, func() { simd.AddScaled(short64, 1, x) })
	assert.Panics(t, func() { simd.Finish(x, short64, 1) })
	assert.Panics(t, func() { simd.Dot(x, short32) })
	assert.Panics(t, func() { simd.Min(short32, x) })
	assert.Panics(t, func() { simd.Max(short32, x) })
	assert.Equal(t, []float64{7}, short64)
	assert.Equal(t, []float32{7}, short32)
}

func TestSelect(t *testing.T) {
	supported := simd.Supported()
	require.Equal(t, simd.Generic, supported[0])
	before := simd.Active()
	require.Contains(t, supported, before)
	t.Logf("active %s: %s (supported %v)", before, simd.Reason(), supported)

	prev, err := simd.Select("sse9")
	var e *secagg.Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, secagg.CodeValidation, e.Code)
	assert.Contains(t, e.Message, `got "sse9"`)
	assert.Equal(t, before, prev)
	assert.Equal(t, before, simd.Active(), "a rejected Select changes nothing")

	prev, err = simd.Select(simd.Generic)
	require.NoError(t, err)
	assert.Equal(t, before, prev)
	assert.Equal(t, simd.Generic, simd.Active())
	assert.Contains(t, simd.Reason(), "selected by Select")

	_, err = simd.Select("auto")
	require.NoError(t, err)
	assert.Equal(t, supported[len(supported)-1], simd.Active())
	assert.Contains(t, simd.Reason(), "fastest")
	simd.Select(before)
}

// TestFirstNonFinite plants one NaN or ±Inf (and sometimes a second one after it) at
// every position of every length, on every path, and demands its index from
// FirstNonFinite and from the copies that search as they go, CopyFinite and
// CopyFiniteStream.
func TestFirstNonFinite(t *testing.T) {
	bad := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
		math.Float32frombits(0xffc00001), math.Float32frombits(0x7f800001)}
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		rng := rand.New(rand.NewPCG(4, 5))
		for _, n := range append(lengths()[:140], 1<<16+70) {
			x := values(rng, n+3)[3:] // unaligned start
			dst := make([]float32, n+1)[1:]
			search := func() []int {
				return []int{simd.FirstNonFinite(x), simd.CopyFinite(dst, x), simd.CopyFiniteStream(dst, x)}
			}
			require.Equal(t, []int{-1, -1, -1}, search(), "n=%d", n)
			step := 1
			if n > 300 {
				step = 997
			}
			for i := 0; i < n; i += step {
				old := x[i]
				x[i] = bad[rng.IntN(len(bad))]
				second := -1
				if j := i + 1 + rng.IntN(40); j < n && rng.IntN(2) == 0 {
					second = j
					x[j] = bad[0]
				}
				require.Equal(t, []int{i, i, i}, search(), "n=%d i=%d", n, i)
				x[i] = old
				if second >= 0 {
					require.Equal(t, []int{second, second, second}, search(), "n=%d second=%d", n, second)
					x[second] = 1
				}
			}
			// The largest finite values are not flagged.
			for i := range x {
				x[i] = math.MaxFloat32
			}
			require.Equal(t, []int{-1, -1, -1}, search())
		}
	})
}

// TestCopyFinite checks that CopyFinite and CopyFiniteStream copy a finite src bit for
// bit on every path (negative zeros, subnormals and the largest values too), whatever
// dst's alignment, and touch nothing past it; TestFirstNonFinite checks their search.
func TestCopyFinite(t *testing.T) {
	special := []float32{float32(math.Copysign(0, -1)), math.Float32frombits(1), -math.MaxFloat32, math.MaxFloat32}
	copies := map[string]func(dst, src []float32) int{"CopyFinite": simd.CopyFinite, "CopyFiniteStream": simd.CopyFiniteStream}
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		rng := rand.New(rand.NewPCG(40, 41))
		for name, copyFinite := range copies {
			for _, n := range append(lengths()[:140], 1<<16+70, 1<<17+33) {
				src := values(rng, n+3)[3:] // unaligned start
				for i := range src {
					if rng.IntN(8) == 0 {
						src[i] = special[rng.IntN(len(special))]
					}
				}
				at := 1 + rng.IntN(16) // dst's offset from an aligned start
				dst := make([]float32, at+n+1)
				dst[at-1], dst[at+n] = 7, 7
				require.Equal(t, -1, copyFinite(dst[at:at+n], src[:n]), "%s n=%d", name, n)
				require.Equal(t, []float32{7, 7}, []float32{dst[at-1], dst[at+n]}, "%s n=%d: wrote outside dst", name, n)
				for i := range n {
					if math.Float32bits(dst[at+i]) != math.Float32bits(src[i]) {
						t.Fatalf("%s %s n=%d: dst[%d] = %v, src %v", p, name, n, i, dst[at+i], src[i])
					}
				}
			}
		}
	})
}

// BenchmarkCopyFinite copies and checks a 64 MiB update, beyond the cache, on one core:
// the check then the copy as a round did (FirstNonFinite, copy), and CopyFinite and
// CopyFiniteStream, which read it once; the bytes are the update's.
func BenchmarkCopyFinite(b *testing.B) {
	src := values(rand.New(rand.NewPCG(42, 43)), 1<<24)
	dst := make([]float32, len(src))
	for _, c := range []struct {
		name string
		fn   func(dst, src []float32) int
	}{
		{"check_then_copy", func(dst, src []float32) int {
			if i := simd.FirstNonFinite(src); i >= 0 {
				return i
			}
			copy(dst, src)
			return -1
		}},
		{"CopyFinite", simd.CopyFinite},
		{"CopyFiniteStream", simd.CopyFiniteStream},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(4 * len(src)))
			for b.Loop() {
				if c.fn(dst, src) >= 0 {
					b.Fatal("a non-finite value")
				}
			}
		})
	}
}

// TestRowsBitIdentical checks the many-row accumulation on every path against the
// generic path and against row-by-row Add, for windows at several offsets.
func TestRowsBitIdentical(t *testing.T) {
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		rng := rand.New(rand.NewPCG(6, 7))
		for _, nrows := range []int{0, 1, 2, 5, 17} {
			for _, n := range []int{0, 1, 31, 32, 33, 100, 257, 1<<16 + 40} {
				for _, off := range []int{0, 1, 3, 32} {
					rows := make([][]float32, nrows)
					for i := range rows {
						rows[i] = values(rng, off+n+rng.IntN(3))
					}
					w := make([]float64, nrows)
					for i := range w {
						w[i] = rng.NormFloat64()
					}
					s0 := sums64(rng, n)
					for _, scaled := range []bool{false, true} {
						op := func(sum []float64) {
							if scaled {
								simd.AddScaledRows(sum, w, rows, off)
							} else {
								simd.AddRows(sum, rows, off)
							}
						}
						buf, got := guarded64(n, 1)
						copy(got, s0)
						op(got)
						checkGuards64(t, buf, n, 1)
						want := slices.Clone(s0)
						onGeneric(t, func() { op(want) })
						require.True(t, same64(got, want), "rows=%d n=%d off=%d scaled=%v: %s differs from generic", nrows, n, off, scaled, p)
						one := slices.Clone(s0)
						for i, r := range rows {
							if scaled {
								simd.AddScaled(one, w[i], r[off:off+n])
							} else {
								simd.Add(one, r[off:off+n])
							}
						}
						require.True(t, same64(got, one), "rows=%d n=%d off=%d scaled=%v: rows at once differ from one by one", nrows, n, off, scaled)
					}
				}
			}
		}
	})
	short := [][]float32{make([]float32, 64), make([]float32, 40)}
	sum := make([]float64, 32)
	assert.Panics(t, func() { simd.AddRows(sum, short, 9) }, "a row too short for the window")
	assert.Panics(t, func() { simd.AddScaledRows(sum, []float64{1}, short, 0) }, "a weight missing")
	assert.Equal(t, make([]float64, 32), sum, "nothing added before the panic")
}

// TestCopyWindows: every row's window lands at its place in the panel, nothing is
// written between the rows or past the last one, on every path, with tails.
func TestCopyWindows(t *testing.T) {
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		rng := rand.New(rand.NewPCG(8, 9))
		for _, nrows := range []int{1, 2, 17} {
			for _, width := range []int{1, 31, 32, 33, 64, 100, 1000} {
				for _, off := range []int{0, 1, 35} {
					rows := make([][]float32, nrows)
					for i := range rows {
						rows[i] = values(rng, off+width+rng.IntN(3))
					}
					stride := width + rng.IntN(20)
					n := (nrows-1)*stride + width
					buf, panel := guarded32(n, 1)
					simd.CopyWindows(panel, stride, rows, off, width)
					checkGuards32(t, buf, n, 1)
					for i, r := range rows {
						at := i * stride
						require.Equal(t, r[off:off+width], panel[at:at+width], "%s rows=%d width=%d off=%d row %d", p, nrows, width, off, i)
						if i+1 < nrows {
							for _, v := range panel[at+width : at+stride] {
								require.Equal(t, math.Float32bits(canary32), math.Float32bits(v), "written between rows")
							}
						}
					}
				}
			}
		}
	})
	rows := [][]float32{make([]float32, 64), make([]float32, 40)}
	panel := make([]float32, 200)
	assert.Panics(t, func() { simd.CopyWindows(panel, 64, rows, 9, 32) }, "a row too short for the window")
	assert.Panics(t, func() { simd.CopyWindows(panel, 16, rows, 0, 32) }, "stride below the width")
	assert.Panics(t, func() { simd.CopyWindows(panel[:50], 32, rows, 0, 32) }, "panel too short")
	assert.Equal(t, make([]float32, 200), panel, "nothing copied before the panic")
}
