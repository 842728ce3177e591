package flower

import "testing"

// TestMT19937AgainstNumpy pins the generator and randint's mapping to numpy's legacy
// RandomState(12345).randint(0, 2**32 - 1, 5) (numpy 1.24, Debian's).
func TestMT19937AgainstNumpy(t *testing.T) {
	g := newMT19937(12345)
	rng := uint32(1<<32 - 2)
	want := []uint32{3992670690, 3823185381, 1358822685, 561383553, 789925284}
	for i, w := range want {
		if got := g.bounded(rng, coverMask(rng)); got != w {
			t.Fatalf("draw %d = %d, numpy %d", i, got, w)
		}
	}
}
