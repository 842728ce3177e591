package trimmedmean_test

import (
	"bytes"
	"errors"
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

// BenchmarkFold streams n1000_d100k at k = 100 (a round at trim_ratio 0.1 over its
// budget) through AddRows four updates a call, as a round's pending updates go, and
// through Fold with a buffer of b updates.
func BenchmarkFold(b *testing.B) {
	const n, d, k = 1000, 100_000, 100
	us := generators["normal"](rand.New(rand.NewPCG(1, 2)), n, d)
	s, err := trimmedmean.NewStream(d, k)
	require.NoError(b, err)
	run := func(b *testing.B, group int, take func([][]float32) error) {
		b.SetBytes(n * d * 4)
		for b.Loop() {
			s.Reset()
			for lo := 0; lo < n; lo += group {
				if err := take(us[lo:min(n, lo+group)]); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("AddRows/4", func(b *testing.B) { run(b, 4, s.AddRows) })
	for _, group := range []int{50, 100, 200, 400, 1000} {
		b.Run("Fold/"+strconv.Itoa(group), func(b *testing.B) { run(b, group, s.Fold) })
	}
}

// A folded stream's state is the same bytes on every path and at every GOMAXPROCS: the
// kernels it folds with are, and the tiles do not depend on the workers.
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
