package trimmedmean_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/internal/simdtest"
	"github.com/octomil/secagg/simd"
	"github.com/octomil/secagg/trimmedmean"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// foldOf streams us in the given order, groups of random sizes, most through Fold and
// some through AddRows, which must order what Fold left.
func foldOf(t *testing.T, rng *rand.Rand, us [][]float32, k int, order []int) *trimmedmean.Stream {
	t.Helper()
	s, err := trimmedmean.NewStream(len(us[0]), k)
	require.NoError(t, err)
	rows := make([][]float32, len(order))
	for i, o := range order {
		rows[i] = us[o]
	}
	for lo := 0; lo < len(rows); {
		hi := min(len(rows), lo+1+rng.IntN(2*k+8))
		if rng.IntN(4) == 0 {
			require.NoError(t, s.AddRows(rows[lo:hi]))
		} else {
			require.NoError(t, s.Fold(rows[lo:hi]))
		}
		lo = hi
	}
	return s
}

// TestFoldEqualsBatch: where float64 sums are exact, a folded stream gives the batch
// kernel's bits, for every k' <= k it may finish with, in any grouping and order, at
// sizes across the fold's tiles, merged from two shards, one through its serialised
// form.
func TestFoldEqualsBatch(t *testing.T) {
	for _, panelFrom := range []int{1 << 30, 6} {
		t.Run(fmt.Sprint("panel_from_", panelFrom), func(t *testing.T) {
			defer trimmedmean.SetPanelFrom(panelFrom)()
			foldEqualsBatch(t)
		})
	}
}

func foldEqualsBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(50, 51))
	for _, name := range []string{"grid", "ties", "constant columns", "signed zeros"} {
		for _, n := range []int{1, 2, 3, 7, 20, 33, 70} {
			for _, d := range []int{1, 15, 16, 17, 100, 5000} {
				us := generators[name](rng, n, d)
				for _, k := range []int{0, 1, 2, 5, 16} {
					if 2*k >= n {
						continue
					}
					order := rng.Perm(n)
					cut := rng.IntN(n)
					s := foldOf(t, rng, us, k, order[cut:])
					if cut > 0 {
						blob, err := foldOf(t, rng, us, k, order[:cut]).MarshalBinary()
						require.NoError(t, err)
						var o trimmedmean.Stream
						require.NoError(t, o.UnmarshalBinary(blob))
						require.NoError(t, s.Merge(&o))
					}
					require.Equal(t, n, s.Count())
					for kk := 0; kk <= k; kk++ {
						got := make([]float32, d)
						require.NoError(t, s.ResultK(got, kk))
						sameBits(t, batch(t, us, kk), got, "%s n=%d d=%d k=%d finished at %d", name, n, d, k, kk)
					}
				}
			}
		}
	}
}

// TestFoldKeepsAddRowsExtremes: on general data a folded stream keeps the extremes
// AddRows keeps, slot for slot once serialising has ordered them, and its result agrees
// with the float64 reference.
func TestFoldKeepsAddRowsExtremes(t *testing.T) {
	rng := rand.New(rand.NewPCG(52, 53))
	for _, name := range []string{"normal", "byzantine", "subnormal and huge", "ties"} {
		for _, k := range []int{1, 4, 12} {
			defer trimmedmean.SetPanelFrom(map[int]int{1: 1 << 30, 4: 9, 12: 20}[k])()
			const n, d = 60, 3001
			us := generators[name](rng, n, d)
			order := rng.Perm(n)
			folded := foldOf(t, rng, us, k, order)
			pushed, err := trimmedmean.NewStream(d, k)
			require.NoError(t, err)
			for _, o := range order {
				require.NoError(t, pushed.Add(us[o]))
			}
			checkAgainstReference(t, us, k, result(t, folded), name)
			_, err = folded.MarshalBinary()
			require.NoError(t, err)
			for j := range d {
				for i := range 2 * k {
					want, got := pushed.Extreme(j, i), folded.Extreme(j, i)
					if want != got { // a zero's sign may differ
						t.Fatalf("%s k=%d: coordinate %d slot %d: AddRows keeps %v, Fold %v", name, k, j, i, want, got)
					}
				}
			}
		}
	}
}

// A rejected Fold leaves the stream as it was, its lists full or not.
func TestFoldRejectsWithoutChange(t *testing.T) {
	rng := rand.New(rand.NewPCG(54, 55))
	us := generators["normal"](rng, 12, 40)
	for _, taken := range []int{0, 3, 10} {
		s, err := trimmedmean.NewStream(40, 3)
		require.NoError(t, err)
		require.NoError(t, s.Fold(us[:taken]))
		before, err := s.MarshalBinary()
		require.NoError(t, err)
		bad := append([]float32(nil), us[11]...)
		bad[7] = float32(math.NaN())
		err = s.Fold([][]float32{us[taken], us[taken+1], bad})
		var e *secagg.Error
		require.True(t, errors.As(err, &e))
		assert.Equal(t, secagg.CodeValidation, e.Code)
		assert.Contains(t, e.Message, "updates[2]")
		assert.ErrorIs(t, s.Fold([][]float32{us[0][:39]}), secagg.ErrBadRequest)
		after, err := s.MarshalBinary()
		require.NoError(t, err)
		assert.Equal(t, before, after, "a rejected Fold changed the stream (%d taken)", taken)
	}
}

// BenchmarkFold streams n1000_d100k as a round over its budget does, for k from 10 to
// 100 (trim ratios 0.01 to 0.1): through AddRows four updates a call, as a round's
// pending updates go without a fold buffer, and through Fold with a buffer of b updates;
// either way the last group is left to ResultWith, as Finalize leaves it. Where the two
// cross is what aggregate's foldPays is measured by.
func BenchmarkFold(b *testing.B) {
	const n, d = 1000, 100_000
	us := generators["normal"](rand.New(rand.NewPCG(1, 2)), n, d)
	dst := make([]float32, d)
	for _, k := range []int{10, 25, 50, 100} {
		s, err := trimmedmean.NewStream(d, k)
		require.NoError(b, err)
		run := func(b *testing.B, group int, take func([][]float32) error) {
			b.SetBytes(n * d * 4)
			for b.Loop() {
				s.Reset()
				lo := 0
				for ; lo+group < n; lo += group {
					if err := take(us[lo : lo+group]); err != nil {
						b.Fatal(err)
					}
				}
				if err := s.ResultWith(dst, us[lo:], k); err != nil {
					b.Fatal(err)
				}
			}
		}
		name := "k" + strconv.Itoa(k) + "/"
		b.Run(name+"AddRows/4", func(b *testing.B) { run(b, 4, s.AddRows) })
		for _, group := range []int{2 * k, 4 * k, n / 2} {
			b.Run(name+"Fold/"+strconv.Itoa(group), func(b *testing.B) { run(b, group, s.Fold) })
		}
	}
}

// A folded stream's state is the same bytes on every path, at every GOMAXPROCS and
// with or without a panel: the kernels it folds with are, the tiles do not depend on
// the workers, and a panel holds the same rows in the same order.
func TestFoldBitIdenticalAcrossPathsAndThreads(t *testing.T) {
	rng := rand.New(rand.NewPCG(56, 57))
	const k = 5
	us := generators["byzantine"](rng, 60, 3*4096+77)
	procs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(procs)
	var want []byte
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		for _, threads := range []int{1, 2, 3} {
			runtime.GOMAXPROCS(threads)
			defer trimmedmean.SetPanelFrom(map[int]int{1: 1 << 30, 2: 4, 3: 18}[threads])()
			s, err := trimmedmean.NewStream(len(us[0]), k)
			require.NoError(t, err)
			for lo := 0; lo < len(us); lo += 15 {
				require.NoError(t, s.Fold(us[lo:lo+15]))
			}
			got, err := s.MarshalBinary()
			require.NoError(t, err)
			if want == nil {
				want = got
			} else if !bytes.Equal(want, got) {
				t.Fatalf("%s GOMAXPROCS=%d: the folded stream differs", p, threads)
			}
		}
	})
}

// TestResultWithEqualsBatch: a stream's result with a round's last updates, not taken,
// is the batch kernel's bits where float64 sums are exact, for every k' <= k, whatever
// the stream took before (nothing, fewer than 2k, more) and by Fold or Add, with and
// without a panel, on every path; and the stream is left as it was.
func TestResultWithEqualsBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(58, 59))
	for _, panelFrom := range []int{1 << 30, 8} {
		restore := trimmedmean.SetPanelFrom(panelFrom)
		simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
			for _, name := range []string{"grid", "ties", "constant columns", "signed zeros"} {
				for _, n := range []int{1, 2, 3, 9, 40} {
					for _, d := range []int{1, 17, 100, 5000} {
						us := generators[name](rng, n, d)
						for _, k := range []int{0, 1, 3, 16} {
							if 2*k >= n {
								continue
							}
							order := rng.Perm(n)
							cut := rng.IntN(n) // the stream takes order[:cut]
							var s *trimmedmean.Stream
							if rng.IntN(2) == 0 {
								s = foldOf(t, rng, us, k, order[:cut])
							} else {
								s = streamOf(t, us, k, order[:cut])
							}
							before, err := s.MarshalBinary()
							require.NoError(t, err)
							rest := make([][]float32, 0, n-cut)
							for _, o := range order[cut:] {
								rest = append(rest, us[o])
							}
							for kk := 0; kk <= k; kk++ {
								got := make([]float32, d)
								require.NoError(t, s.ResultWith(got, rest, kk))
								sameBits(t, batch(t, us, kk), got, "%s panel from %d n=%d d=%d k=%d, %d taken, finished at %d",
									name, panelFrom, n, d, k, cut, kk)
							}
							after, err := s.MarshalBinary()
							require.NoError(t, err)
							require.Equal(t, before, after, "ResultWith changed the stream")
						}
					}
				}
			}
		})
		restore()
	}
}

// On general data ResultWith agrees with the float64 reference, as Fold does; on an
// empty stream it is TrimmedMean's bits, the panel's way included.
func TestResultWithOnGeneralData(t *testing.T) {
	rng := rand.New(rand.NewPCG(60, 61))
	for _, name := range []string{"normal", "byzantine", "subnormal and huge"} {
		for _, k := range []int{1, 4, 12, 130} {
			n, d := 60, 3001
			if k == 130 {
				n, d = 300, 500 // past panelFrom: the panel's way
			}
			us := generators[name](rng, n, d)
			s, err := trimmedmean.NewStream(d, k)
			require.NoError(t, err)
			got := make([]float32, d)
			require.NoError(t, s.ResultWith(got, us, k))
			sameBits(t, batch(t, us, k), got, "%s k=%d on an empty stream", name, k)
			if k < 20 {
				require.NoError(t, s.Fold(us[:n/3]))
				require.NoError(t, s.ResultWith(got, us[n/3:], k))
				checkAgainstReference(t, us, k, got, name)
			}
		}
	}
}

// A refused ResultWith names the update and leaves dst as it was.
func TestResultWithRejects(t *testing.T) {
	rng := rand.New(rand.NewPCG(62, 63))
	us := generators["normal"](rng, 12, 40)
	s, err := trimmedmean.NewStream(40, 3)
	require.NoError(t, err)
	require.NoError(t, s.Fold(us[:8]))
	bad := append([]float32(nil), us[11]...)
	bad[7] = float32(math.Inf(-1))
	dst := make([]float32, 40)
	for i := range dst {
		dst[i] = 42
	}
	want := append([]float32(nil), dst...)
	err = s.ResultWith(dst, [][]float32{us[8], bad}, 3)
	var e *secagg.Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, secagg.CodeValidation, e.Code)
	assert.Contains(t, e.Message, "updates[1][7]")
	assert.ErrorIs(t, s.ResultWith(dst, [][]float32{us[8][:39]}, 3), secagg.ErrBadRequest)
	assert.ErrorIs(t, s.ResultWith(dst[:39], [][]float32{us[8]}, 3), secagg.ErrBadRequest)
	assert.ErrorIs(t, s.ResultWith(dst, [][]float32{us[8]}, 4), secagg.ErrValidation)
	short, err := trimmedmean.NewStream(40, 3)
	require.NoError(t, err)
	require.NoError(t, short.Fold(us[:3]))
	assert.ErrorIs(t, short.ResultWith(dst, us[3:6], 3), secagg.ErrInsufficientClients)
	assert.Equal(t, want, dst)
}
