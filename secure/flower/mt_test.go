package flower

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestMT19937AgainstNumpy pins the generator and randint's mapping to numpy's legacy
// RandomState(12345).randint(0, 2**32 - 1, 5) (numpy 1.24, Debian's).
func TestMT19937AgainstNumpy(t *testing.T) {
	g := newMT19937(12345, 1<<32-2)
	want := []uint32{3992670690, 3823185381, 1358822685, 561383553, 789925284}
	for i, w := range want {
		if got := g.bounded(); got != w {
			t.Fatalf("draw %d = %d, numpy %d", i, got, w)
		}
	}
}

// TestDrawsAreBounded: the bulk draws give bounded's values in bounded's order for
// ranges with many rejections, none, and rng = 0 (no draw at all), across blocks.
func TestDrawsAreBounded(t *testing.T) {
	for _, m := range []uint64{2, 3, 10, 1000, 1 << 20, 1<<31 + 5, 1 << 32} {
		rng := uint32(m - 2)
		a, b := newMT19937(99, rng), newMT19937(99, rng)
		var got []uint32
		for _, n := range []int{1, 1499, 1500, 5000} {
			for want := len(got) + n; len(got) < want; {
				got = append(got, a.draws(want-len(got))...)
			}
		}
		for i, v := range got {
			if w := b.bounded(); v != w {
				t.Fatalf("m=%d: draw %d = %d, bounded %d", m, i, v, w)
			}
		}
	}
}

// TestWindowedSums: the uint32 sums (simd word kernels, m = 2^32) and the uint64 ones
// every other m uses, taken window by window with windows that cross the arrays'
// boundaries, both equal the sums taken value by value over whole vectors.
func TestWindowedSums(t *testing.T) {
	n, split := 10_000, 3_001
	seeds := [][]byte{[]byte("0123456789abcdef0123456789abcdef"), []byte("another seed of 32 bytes, padded")}
	var vectors [][][]uint32
	for v := range 3 {
		vals := make([]uint32, n)
		for i := range vals {
			vals[i] = uint32((i + v) * 2654435761)
		}
		vectors = append(vectors, [][]uint32{vals[:split], vals[split:]})
	}
	want := make([]uint32, n)
	for _, v := range vectors {
		for i, x := range slices.Concat(v...) {
			want[i] += x
		}
	}
	for k, seed := range seeds {
		g := newMaskGen(seed, k == 0, 1<<32).g
		for i := range want {
			if k == 0 {
				want[i] -= g.bounded()
			} else {
				want[i] += g.bounded()
			}
		}
	}
	for _, c := range []struct {
		s   *sums
		win int
	}{{newSums(n, 1<<32), 777}, {&sums{m: 1 << 32, wide: make([]uint64, n)}, 1000}} {
		gens := []*maskGen{newMaskGen(seeds[0], true, 1<<32), newMaskGen(seeds[1], false, 1<<32)}
		for i := range c.s.words {
			c.s.words[i] = 12345 // sum must not depend on what the buffer held
		}
		for lo := 0; lo < n; lo += c.win {
			c.s.sum(lo, min(lo+c.win, n), vectors, gens)
		}
		assert.Equal(t, want, c.s.reduce(), "window %d", c.win)
	}
}

// TestWordSumsWithRejections: word sums take whole blocks fused with the twist, and a
// block with a rejected word is undone and left to draws. With ranges that reject in
// most blocks (Flower's own rejects in one block of 7 million), windows of every size
// give the sums draw by draw, added and subtracted.
func TestWordSumsWithRejections(t *testing.T) {
	const n = 20_000
	for _, rng := range []uint32{1<<31 + 3, 1<<32 - 2, 1000, 1<<32 - 1<<20} {
		for _, subtract := range []bool{false, true} {
			want := make([]uint32, n)
			ref := newMT19937(7, rng)
			for i := range want {
				if subtract {
					want[i] -= ref.bounded()
				} else {
					want[i] += ref.bounded()
				}
			}
			for _, win := range []int{623, 624, 1000, 1 << 15} {
				s := &sums{m: 1 << 32, words: slices.Repeat([]uint32{777}, n)} // cleared by sum
				mg := &maskGen{newMT19937(7, rng), subtract}
				for lo := 0; lo < n; lo += win {
					s.sum(lo, min(lo+win, n), nil, []*maskGen{mg})
				}
				if !slices.Equal(s.words, want) {
					t.Fatalf("rng %d subtract %v window %d: the sums differ from the draws'", rng, subtract, win)
				}
			}
		}
	}
}
