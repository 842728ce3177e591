package simd

import (
	"math/rand/v2"
	"slices"
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

// TestMTNextBitIdentical: every implementation's fused twist and tempering give the
// generic states, outputs and counts over many twists, for masks that reject often,
// rarely and never, and its add and subtract forms the generic sums; and the first
// outputs from init_genrand(5489) are the reference MT19937's.
func TestMTNextBitIdentical(t *testing.T) {
	for _, k := range implementations {
		// next runs k's MTNext (op 0), MTNextAdd (1) or MTNextSub (2).
		next := func(op int, sum, out *[624]uint32, s *MTState, mask, rng uint32) int {
			switch {
			case k.mtNext == nil:
				n := mtNextGeneric(out, s, mask, rng)
				for i, v := range out {
					sum[i] += [3]uint32{0, v, -v}[op]
				}
				return n
			case op == 1:
				return k.mtNextAdd(sum, out, (*[640]uint32)(s), mask, rng)
			case op == 2:
				return k.mtNextSub(sum, out, (*[640]uint32)(s), mask, rng)
			}
			return k.mtNext(out, (*[640]uint32)(s), mask, rng)
		}
		var sum, out [624]uint32
		next(0, &sum, &out, mtSeeded(5489), ^uint32(0), ^uint32(0))
		if out[0] != 3499211612 || out[1] != 581869302 || out[2] != 3890346734 {
			t.Fatalf("%s: first outputs %d %d %d", k.path, out[0], out[1], out[2])
		}
		rng := rand.New(rand.NewPCG(2, 3))
		for _, mr := range [][2]uint32{{^uint32(0), 1<<32 - 2}, {15, 8}, {1<<21 - 1, 1 << 20}} {
			for op := range 3 {
				got := mtSeeded(rng.Uint32())
				want := *got
				// The sums and outputs with words past their ends, which no kernel may
				// write.
				var sums, outs [640]uint32
				for i := range sums {
					sums[i], outs[i] = rng.Uint32(), rng.Uint32()
				}
				gotSum, a := (*[624]uint32)(sums[:624]), (*[624]uint32)(outs[:624])
				wantSum, past, outPast := *gotSum, slices.Clone(sums[624:]), slices.Clone(outs[624:])
				for range 5 {
					var b [624]uint32
					na := next(op, gotSum, a, got, mr[0], mr[1])
					nb := mtNextGeneric(&b, &want, mr[0], mr[1])
					for i, v := range b {
						wantSum[i] += [3]uint32{0, v, -v}[op]
					}
					if na != nb || *a != b || [624]uint32(got[:624]) != [624]uint32(want[:624]) || *gotSum != wantSum ||
						!slices.Equal(sums[624:], past) || !slices.Equal(outs[624:], outPast) {
						t.Fatalf("%s op %d mask %#x: differs from the generic twist (count %d against %d)", k.path, op, mr[0], na, nb)
					}
				}
			}
		}
	}
}
