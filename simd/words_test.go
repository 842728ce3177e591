package simd_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/octomil/secagg/internal/simdtest"
	"github.com/octomil/secagg/simd"
)

// wordCanary fills the words around a buffer a kernel writes.
const wordCanary = 0xdeadbeef

// TestWordsBitIdentical checks AddWords and SubWords on every path against their
// definition, sums mod 2^32 of every row computed one word at a time (in uint64, so the
// reference does not share the kernels' wrapping), with canaries around the sums.
func TestWordsBitIdentical(t *testing.T) {
	simdtest.ForEachPath(t, func(t *testing.T, p simd.Path) {
		rng := rand.New(rand.NewPCG(8, 9))
		for _, nrows := range []int{0, 1, 2, 15, 16, 17, 40} {
			for _, n := range []int{0, 1, 31, 32, 33, 257, 1<<16 + 40} {
				for _, off := range []int{0, 1, 3, 32} {
					rows := make([][]uint32, nrows)
					for i := range rows {
						rows[i] = make([]uint32, off+n+rng.IntN(3))
						for j := range rows[i] {
							rows[i][j] = rng.Uint32()
						}
					}
					s0 := make([]uint32, n)
					for j := range s0 {
						s0[j] = rng.Uint32()
					}
					for _, sub := range []bool{false, true} {
						buf := make([]uint32, n+2*8)
						for j := range buf {
							buf[j] = wordCanary
						}
						got := buf[8 : 8+n]
						copy(got, s0)
						if sub {
							simd.SubWords(got, rows, off)
						} else {
							simd.AddWords(got, rows, off)
						}
						for j, v := range buf {
							if (j < 8 || j >= 8+n) && v != wordCanary {
								t.Fatalf("%s n=%d: canary at %d overwritten", p, n, j)
							}
						}
						for j := range got {
							want := uint64(s0[j])
							for _, r := range rows {
								if sub {
									want += 1<<32 - uint64(r[off+j])
								} else {
									want += uint64(r[off+j])
								}
							}
							require.Equal(t, uint32(want), got[j], "%s rows=%d n=%d off=%d sub=%v word %d", p, nrows, n, off, sub, j)
						}
					}
				}
			}
		}
	})
	short := [][]uint32{make([]uint32, 64), make([]uint32, 40)}
	sum := make([]uint32, 32)
	assert.Panics(t, func() { simd.AddWords(sum, short, 9) }, "a row too short for the window")
	assert.Equal(t, make([]uint32, 32), sum, "nothing added before the panic")
}

// TestFirstOverBits checks FirstOverBits against its definition, one word at a time, on
// lengths around its blocks, with a wide word planted at the first, last and random
// places (and at a second place after the first, which must not be the one found).
func TestFirstOverBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	first := func(words []uint32, bits int) int {
		for i, w := range words {
			if uint64(w) >= 1<<bits {
				return i
			}
		}
		return -1
	}
	for _, bits := range []int{0, 1, 12, 16, 20, 31, 32} {
		for _, n := range []int{0, 1, 7, 8, 9, 2047, 2048, 2049, 3*2048 + 5} {
			words := make([]uint32, n)
			for i := range words {
				if bits < 32 {
					words[i] = rng.Uint32() & (1<<bits - 1)
				} else {
					words[i] = rng.Uint32()
				}
			}
			require.Equal(t, first(words, bits), simd.FirstOverBits(words, bits), "bits %d, n %d, none wide", bits, n)
			if n == 0 || bits == 32 {
				continue
			}
			for _, at := range []int{0, n - 1, rng.IntN(n), rng.IntN(n)} {
				w := append([]uint32(nil), words...)
				w[at] |= 1 << (bits + rng.IntN(32-bits))
				if after := at + 1 + rng.IntN(n-at); after < n {
					w[after] |= 1 << bits
				}
				require.Equal(t, at, simd.FirstOverBits(w, bits), "bits %d, n %d, wide at %d", bits, n, at)
				require.Equal(t, first(w, bits), at)
			}
		}
	}
	assert.Panics(t, func() { simd.FirstOverBits(nil, -1) })
}
