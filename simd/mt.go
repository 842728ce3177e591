package simd

// MTState is MT19937's state as MTNext keeps it: the 624 words, and padding that lets
// the kernels read a chunk past the end (the AVX-512 one keeps a copy of the new first
// word there, for the last word's twist).
type MTState [640]uint32

// MT19937's constants (Matsumoto and Nishimura).
const (
	mtN, mtM  = 624, 397
	mtUpper   = 0x80000000
	mtLower   = 0x7fffffff
	mtMatrixA = 0x9908b0df
	mtTemperB = 0x9d2c5680
	mtTemperC = 0xefc60000
)

// MTNext twists the state and writes its 624 tempered outputs into out, each ANDed with
// mask, and returns how many of those exceed rng: numpy's randint draws a word, masks
// it and rejects it above its range, so 0 means all 624 are draws as they stand. The
// AVX-512 path twists and tempers 16 words at a time in one pass, the others run
// mtNextGeneric, bit for bit.
func MTNext(out *[624]uint32, s *MTState, mask, rng uint32) int {
	if k := active.Load().k.mtNext; k != nil {
		return k(out, (*[640]uint32)(s), mask, rng)
	}
	return mtNextGeneric(out, s, mask, rng)
}

// MTNextAdd is MTNext and then sum[i] += out[i] mod 2^32 for the 624 outputs, whatever
// it returns (a caller that rejects above rng subtracts them again when it is not 0:
// for mask 2^32 - 1 and rng 2^32 - 2, Flower's masks, one block in 7 million). Fused,
// the outputs are added while still in registers.
func MTNextAdd(sum *[624]uint32, out *[624]uint32, s *MTState, mask, rng uint32) int {
	if k := active.Load().k.mtNextAdd; k != nil {
		return k(sum, out, (*[640]uint32)(s), mask, rng)
	}
	n := mtNextGeneric(out, s, mask, rng)
	for i, v := range out {
		sum[i] += v
	}
	return n
}

// MTNextSub is MTNextAdd subtracting: sum[i] -= out[i] mod 2^32.
func MTNextSub(sum *[624]uint32, out *[624]uint32, s *MTState, mask, rng uint32) int {
	if k := active.Load().k.mtNextSub; k != nil {
		return k(sum, out, (*[640]uint32)(s), mask, rng)
	}
	n := mtNextGeneric(out, s, mask, rng)
	for i, v := range out {
		sum[i] -= v
	}
	return n
}

// mtLast is the twist's last word, which reads the new first one.
func mtLast(s *MTState) {
	y := s[mtN-1]&mtUpper | s[0]&mtLower
	s[mtN-1] = s[mtM-1] ^ y>>1 ^ -(y&1)&mtMatrixA
}

// mtNextGeneric is MTNext word by word: the specification of the kernels.
func mtNextGeneric(out *[624]uint32, s *MTState, mask, rng uint32) int {
	for i := 0; i < mtN-1; i++ {
		y := s[i]&mtUpper | s[i+1]&mtLower
		s[i] = s[(i+mtM)%mtN] ^ y>>1 ^ -(y&1)&mtMatrixA
	}
	mtLast(s)
	above := 0
	for i, y := range s[:mtN] {
		y ^= y >> 11
		y ^= y << 7 & mtTemperB
		y ^= y << 15 & mtTemperC
		y ^= y >> 18
		out[i] = y & mask
		if out[i] > rng {
			above++
		}
	}
	return above
}
