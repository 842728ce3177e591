package simd_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/octomil/secagg/internal/simdtest"
	"github.com/octomil/secagg/simd"
	"github.com/stretchr/testify/require"
)

// orderRows returns n rows of length d+off drawn to make ties, signed zeros, subnormals
// and huge values common.
func orderRows(rng *rand.Rand, n, d int) [][]float32 {
	pool := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 2, math.SmallestNonzeroFloat32,
		-math.SmallestNonzeroFloat32, math.MaxFloat32, -math.MaxFloat32, 0.5}
	rows := make([][]float32, n)
	for i := range rows {
		rows[i] = make([]float32, d)
		for j := range rows[i] {
			if rng.IntN(3) == 0 {
				rows[i][j] = pool[rng.IntN(len(pool))]
			} else {
				rows[i][j] = float32(rng.NormFloat64())
			}
		}
	}
	return rows
}

// TestOrderStatsBitIdentical runs Bounds and KeptSum on every path for every k the
// assembly has (and beyond), windows with tails and offsets, and compares with the
// sort-based specification bit for bit, with canaries around the outputs.
func TestOrderStatsBitIdentical(t *testing.T) {
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		rng := rand.New(rand.NewPCG(40, 41))
		for _, n := range []int{1, 2, 3, 5, 12, 23, 24, 33, 40, 70, 71, 100, 101} {
			for _, d := range []int{1, 31, 32, 33, 95, 130} {
				for _, off := range []int{0, 3} {
					rows := orderRows(rng, n, d+off)
					ks := []int{(n - 1) / 2} // the median's k, always
					for k := 0; 2*k < n; k += 1 + n/40 {
						ks = append(ks, k)
					}
					for _, k := range ks {
						lbuf, lo := guarded32(d, 1)
						hbuf, hi := guarded32(d, 2)
						simd.Bounds(lo, hi, rows, off, k)
						checkGuards32(t, lbuf, d, 1)
						checkGuards32(t, hbuf, d, 2)
						wantLo, wantHi := make([]float32, d), make([]float32, d)
						onGeneric(t, func() { simd.Bounds(wantLo, wantHi, rows, off, k) })
						require.True(t, same32(lo, wantLo) && same32(hi, wantHi), "Bounds n=%d d=%d off=%d k=%d on %s", n, d, off, k, p)
						// The specification itself: sort the coordinate.
						v := make([]float32, n)
						for j := range d {
							for i := range rows {
								v[i] = rows[i][off+j]
							}
							slices.Sort(v)
							require.Equal(t, v[k], lo[j])
							require.Equal(t, v[n-1-k], hi[j])
						}

						sbuf, sum := guarded64(d, 1)
						require.True(t, simd.KeptSum(sum, rows, off, k, lo, hi))
						checkGuards64(t, sbuf, d, 1)
						want := make([]float64, d)
						onGeneric(t, func() { require.True(t, simd.KeptSum(want, rows, off, k, lo, hi)) })
						require.True(t, same64(sum, want), "KeptSum n=%d d=%d off=%d k=%d on %s", n, d, off, k, p)
					}
				}
			}
		}
	})
}

// TestOrderStatsLargeRounds runs Bounds on rounds large enough for the bisection, on
// smooth data (the 16 high bits of a key nearly decide, so the low halves are settled on
// a few kept rows), on data where one coordinate is all ties (every row kept), and on
// rows that share their high bits with the rank's key in one coordinate each.
func TestOrderStatsLargeRounds(t *testing.T) {
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		rng := rand.New(rand.NewPCG(44, 45))
		for _, n := range []int{100, 101, 255, 256, 257, 1000, 1001, 2100} { // 255: counts kept in bytes; 2100: widened twice
			const d, off = 70, 2
			for _, shape := range []string{"smooth", "one tied column", "near ties"} {
				rows := make([][]float32, n)
				for i := range rows {
					rows[i] = make([]float32, d+off)
					for j := range rows[i] {
						rows[i][j] = float32(rng.NormFloat64())
					}
					switch shape {
					case "one tied column":
						rows[i][off+37] = 0.25
					case "near ties": // values one ulp apart around 1 in column i%d
						rows[i][off+i%d] = math.Float32frombits(0x3f800000 + uint32(rng.IntN(5)))
					}
				}
				for _, k := range []int{0, n / 10, n / 5, (n - 1) / 2} {
					lo, hi := make([]float32, d), make([]float32, d)
					simd.Bounds(lo, hi, rows, off, k)
					v := make([]float32, n)
					for j := range d {
						for i := range rows {
							v[i] = rows[i][off+j]
						}
						slices.Sort(v)
						require.Equal(t, v[k], lo[j], "%s n=%d k=%d coordinate %d on %s", shape, n, k, j, p)
						require.Equal(t, v[n-1-k], hi[j], "%s n=%d k=%d coordinate %d on %s", shape, n, k, j, p)
					}
				}
			}
		}
	})
}

// TestBoundsIgnoresWhatLoHiHeld checks that what lo and hi hold as Bounds starts, which
// the byte kernel takes for a guess of the bounds' top bytes, never changes its bits:
// the right bounds, a neighbour's, the other sign's, sixteen times larger, zeros and
// random bits (NaNs and infinities among them) all give the specification's results.
func TestBoundsIgnoresWhatLoHiHeld(t *testing.T) {
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		rng := rand.New(rand.NewPCG(46, 47))
		for _, n := range []int{100, 256, 1000} {
			const d = 96
			rows := make([][]float32, n)
			for i := range rows {
				rows[i] = make([]float32, d)
				for j := range rows[i] {
					rows[i][j] = float32(rng.NormFloat64()*float64(1+j%3)) + float32(j%5-2)
				}
			}
			for _, k := range []int{n / 20, n / 10, n / 5, (n - 1) / 2} {
				wantLo, wantHi := make([]float32, d), make([]float32, d)
				onGeneric(t, func() { simd.Bounds(wantLo, wantHi, rows, 0, k) })
				held := map[string]func(want []float32, j int) float32{
					"right":      func(w []float32, j int) float32 { return w[j] },
					"neighbour":  func(w []float32, j int) float32 { return w[(j+1)%d] },
					"other sign": func(w []float32, j int) float32 { return -w[j] },
					"16x":        func(w []float32, j int) float32 { return 16 * w[j] },
					"zero":       func(w []float32, j int) float32 { return 0 },
					"bits":       func(w []float32, j int) float32 { return math.Float32frombits(rng.Uint32()) },
				}
				for name, f := range held {
					lo, hi := make([]float32, d), make([]float32, d)
					for j := range d {
						lo[j], hi[j] = f(wantLo, j), f(wantHi, j)
					}
					simd.Bounds(lo, hi, rows, 0, k)
					require.True(t, same32(lo, wantLo) && same32(hi, wantHi), "held %s, n=%d k=%d on %s", name, n, k, p)
				}
			}
		}
	})
}

// TestKeptSumFindsNonFinite plants a NaN or ±Inf in every position of a small window.
func TestKeptSumFindsNonFinite(t *testing.T) {
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		rng := rand.New(rand.NewPCG(42, 43))
		const n, d = 5, 70
		rows := orderRows(rng, n, d)
		lo, hi := make([]float32, d), make([]float32, d)
		simd.Bounds(lo, hi, rows, 0, 1)
		sum := make([]float64, d)
		for i := range n {
			for j := range d {
				old := rows[i][j]
				rows[i][j] = []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}[(i+j)%3]
				require.False(t, simd.KeptSum(sum, rows, 0, 1, lo, hi), "row %d coordinate %d on %s", i, j, p)
				rows[i][j] = old
			}
		}
		require.True(t, simd.KeptSum(sum, rows, 0, 1, lo, hi))
	})
}

// TestMiddle compares Middle with Bounds at the median's k, for odd and even rounds on
// both sides of the bisection's threshold, and plants a NaN or ±Inf in each row and in
// the tail of the window in turn (every row of small rounds, every few of large ones):
// Middle must report it.
func TestMiddle(t *testing.T) {
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		rng := rand.New(rand.NewPCG(46, 47))
		ns := []int{60, 99, 100, 101, 1000}
		for n := 1; n <= 30; n++ { // every sorting network, and the first sizes past them
			ns = append(ns, n)
		}
		for _, n := range ns {
			const d, off = 75, 1
			rows := orderRows(rng, n, d+off)
			lo, hi := make([]float32, d), make([]float32, d)
			require.True(t, simd.Middle(lo, hi, rows, off), "n=%d on %s", n, p)
			wantLo, wantHi := make([]float32, d), make([]float32, d)
			simd.Bounds(wantLo, wantHi, rows, off, (n-1)/2)
			require.True(t, same32(lo, wantLo) && same32(hi, wantHi), "n=%d on %s", n, p)
			bad := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
			for i := 0; i < n; i += 1 + n/50 {
				for _, j := range []int{i % d, d - 1 - i%3} {
					old := rows[i][off+j]
					rows[i][off+j] = bad[(i+j)%3]
					require.False(t, simd.Middle(lo, hi, rows, off), "n=%d row %d coordinate %d on %s", n, i, j, p)
					rows[i][off+j] = old
				}
			}
		}
	})
}

// TestBoundsCopy checks that BoundsCopy and MiddleCopy give Bounds' and Middle's bits
// and leave every window in the panel, as CopyWindows would, with the panel's gaps
// untouched: on every path, for row counts and widths that take the copying byte
// kernels (with tails they leave to the others) and ones that do not.
func TestBoundsCopy(t *testing.T) {
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		rng := rand.New(rand.NewPCG(40, 41))
		for _, n := range []int{12, 40, 257, 300} {
			for _, width := range []int{1, 32, 64, 100, 200} {
				const off = 35
				rows := orderRows(rng, n, off+width)
				stride := width + 16
				size := (n-1)*stride + width
				buf, data := guarded32(size, 1)
				panel := simd.Panel{Data: data, Stride: stride, Rows: make([][]float32, n)}
				for i := range panel.Rows {
					panel.Rows[i] = data[i*stride : i*stride+width]
				}
				checkPanel := func(what string) {
					t.Helper()
					checkGuards32(t, buf, size, 1)
					for i, r := range rows {
						require.Equal(t, bitsOf32(r[off:off+width]), bitsOf32(panel.Rows[i]), "%s %s n=%d width=%d row %d", p, what, n, width, i)
						if i+1 < n {
							for _, v := range data[i*stride+width : (i+1)*stride] {
								require.Equal(t, math.Float32bits(canary32), math.Float32bits(v), "%s written between rows", what)
							}
						}
					}
				}
				for _, k := range []int{0, 3, n / 10, n / 5, (n - 1) / 2} {
					for i := range data {
						data[i] = canary32
					}
					lo, hi := make([]float32, width), make([]float32, width)
					simd.Bounds(lo, hi, rows, off, k)
					clo, chi := make([]float32, width), make([]float32, width)
					simd.BoundsCopy(clo, chi, rows, off, k, panel)
					require.Equal(t, bitsOf32(lo), bitsOf32(clo), "%s BoundsCopy lo n=%d width=%d k=%d", p, n, width, k)
					require.Equal(t, bitsOf32(hi), bitsOf32(chi), "%s BoundsCopy hi n=%d width=%d k=%d", p, n, width, k)
					checkPanel("BoundsCopy")
				}
				for i := range data {
					data[i] = canary32
				}
				lo, hi := make([]float32, width), make([]float32, width)
				finite := simd.Middle(lo, hi, rows, off)
				clo, chi := make([]float32, width), make([]float32, width)
				require.Equal(t, finite, simd.MiddleCopy(clo, chi, rows, off, panel), "%s MiddleCopy's verdict", p)
				require.Equal(t, bitsOf32(lo), bitsOf32(clo), "%s MiddleCopy lo n=%d width=%d", p, n, width)
				require.Equal(t, bitsOf32(hi), bitsOf32(chi), "%s MiddleCopy hi n=%d width=%d", p, n, width)
				checkPanel("MiddleCopy")
			}
		}
	})
}

// bitsOf32 returns the bits of x, so that comparisons tell -0 from +0 and see NaNs.
func bitsOf32(x []float32) []uint32 {
	b := make([]uint32, len(x))
	for i, v := range x {
		b[i] = math.Float32bits(v)
	}
	return b
}
