package simd_test

import (
	"testing"

	"github.com/octomil/secagg/simd"
)

// BenchmarkMTNext is one block of 624 MT19937 words on the active path, alone and added
// into sums as Flower's unmasking adds a mask (the sums in cache, as its windows keep
// them): the bytes are the words made, 4 each, so MB/s is the generator's rate on
// one core, the bound of a Flower unmask's mask work.
func BenchmarkMTNext(b *testing.B) {
	var s simd.MTState
	s[0] = 5489
	for i := 1; i < 624; i++ {
		s[i] = 1812433253*(s[i-1]^s[i-1]>>30) + uint32(i)
	}
	var out, sum [624]uint32
	b.Run("next", func(b *testing.B) {
		b.SetBytes(624 * 4)
		for b.Loop() {
			simd.MTNext(&out, &s, ^uint32(0), 1<<32-2)
		}
	})
	b.Run("add", func(b *testing.B) {
		b.SetBytes(624 * 4)
		for b.Loop() {
			simd.MTNextAdd(&sum, &out, &s, ^uint32(0), 1<<32-2)
		}
	})
}
