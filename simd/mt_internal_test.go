package simd

import (
	"math/rand/v2"
	"testing"
)

func mtSeeded(v uint32) *MTState {
	var s MTState
	s[0] = v
	for i := 1; i < mtN; i++ {
		s[i] = 1812433253*(s[i-1]^s[i-1]>>30) + uint32(i)
	}
	return &s
}

// TestMTNextBitIdentical: every implementation's twist and tempering give the generic
// states, outputs and counts over many twists, for masks that reject often, rarely and
// never; and the first outputs from init_genrand(5489) are the reference MT19937's.
func TestMTNextBitIdentical(t *testing.T) {
	for _, k := range implementations {
		next := func(out *[624]uint32, s *MTState, mask, rng uint32) int {
			if k.mtTwist == nil {
				return mtNextGeneric(out, s, mask, rng)
			}
			k.mtTwist((*[640]uint32)(s))
			mtLast(s)
			return k.mtTemper(out, (*[640]uint32)(s), mask, rng)
		}
		var out [624]uint32
		next(&out, mtSeeded(5489), ^uint32(0), ^uint32(0))
		if out[0] != 3499211612 || out[1] != 581869302 || out[2] != 3890346734 {
			t.Fatalf("%s: first outputs %d %d %d", k.path, out[0], out[1], out[2])
		}
		rng := rand.New(rand.NewPCG(2, 3))
		for _, mr := range [][2]uint32{{^uint32(0), 1<<32 - 2}, {15, 8}, {1<<21 - 1, 1 << 20}} {
			got := mtSeeded(rng.Uint32())
			want := *got
			for range 5 {
				var a, b [624]uint32
				na := next(&a, got, mr[0], mr[1])
				nb := mtNextGeneric(&b, &want, mr[0], mr[1])
				if na != nb || a != b || [624]uint32(got[:624]) != [624]uint32(want[:624]) {
					t.Fatalf("%s mask %#x: differs from the generic twist (count %d against %d)", k.path, mr[0], na, nb)
				}
			}
		}
	}
}
