package flower

import "testing"

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

// TestWideAndWordSumsAgree: for m = 2^32 the uint32 sums (simd word kernels) and the
// uint64 ones every other m uses give the same result.
func TestWideAndWordSumsAgree(t *testing.T) {
	n := 10_000
	words := newSums(n, 1<<32)
	wide := &sums{m: 1 << 32, wide: make([]uint64, n)}
	vals := make([]uint32, n)
	for i := range vals {
		vals[i] = uint32(i * 2654435761)
	}
	for _, s := range []*sums{words, wide} {
		s.addValues(0, vals)
		s.expand([]byte("0123456789abcdef0123456789abcdef"), true)
		s.expand([]byte("another seed of 32 bytes, padded"), false)
	}
	a, b := words.reduce(), wide.reduce()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("word %d: %d against %d", i, a[i], b[i])
		}
	}
}
