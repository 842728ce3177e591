package shamir

import (
	"encoding/binary"
	"math/bits"
)

// element is a member of GF(2^128) = GF(2)[x] / (x^128 + x^7 + x^2 + x + 1): bit i of the
// 128-bit integer hi·2^64 + lo is the coefficient of x^i. Its 16-byte encoding is that
// integer big-endian, as pycryptodome's Shamir encodes it (not GCM's reflected order).
type element struct{ hi, lo uint64 }

// reduction is x^128 mod the field polynomial: x^7 + x^2 + x + 1.
const reduction = 0x87

func decode(b []byte) element {
	return element{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:16])}
}

func (a element) put(b []byte) {
	binary.BigEndian.PutUint64(b[:8], a.hi)
	binary.BigEndian.PutUint64(b[8:16], a.lo)
}

func fromUint(x uint32) element { return element{lo: uint64(x)} }

func (a element) isZero() bool { return a.hi|a.lo == 0 }

// add is addition and subtraction alike: coefficients in GF(2).
func (a element) add(b element) element { return element{a.hi ^ b.hi, a.lo ^ b.lo} }

// timesX is a·x: a shift, and the reduction when x^127's coefficient carries out.
func (a element) timesX() element {
	carry := a.hi >> 63
	return element{a.hi<<1 | a.lo>>63, a.lo<<1 ^ -carry&reduction}
}

// mul is a·b: the 256-bit carry-less product by Karatsuba over three 64x64 products,
// reduced by x^128 = x^7 + x^2 + x + 1. It is constant-time: integer products and
// shifts only, no table indexed by secret bits (mulHorner is its specification).
func (a element) mul(b element) element {
	// (a1·X + a0)(b1·X + b0) with X = x^64: a1b1·X² + ((a1+a0)(b1+b0) - a1b1 - a0b0)·X + a0b0.
	h1, l1 := clmul(a.hi, b.hi)
	h0, l0 := clmul(a.lo, b.lo)
	hm, lm := clmul(a.hi^a.lo, b.hi^b.lo)
	hm ^= h1 ^ h0
	lm ^= l1 ^ l0
	// The product is p3·X³ + p2·X² + p1·X + p0.
	p3, p2, p1, p0 := h1, l1^hm, h0^lm, l0
	// Fold p3·X³ + p2·X² = (p3·X + p2)·x^128 down: times x^7 + x^2 + x + 1, twice, as
	// the first fold's own top bits (at most 7 of them) land above x^128 again.
	t1, t0, over := timesReduction(p3, p2)
	r1, r0, _ := timesReduction(0, over)
	return element{p1 ^ t1 ^ r1, p0 ^ t0 ^ r0}
}

// timesReduction is (h·X + l)·(x^7 + x^2 + x + 1) as the 128 bits it keeps and the 7
// that go above them.
func timesReduction(h, l uint64) (rh, rl, over uint64) {
	rh = h ^ h<<1 ^ h<<2 ^ h<<7 ^ l>>63 ^ l>>62 ^ l>>57
	rl = l ^ l<<1 ^ l<<2 ^ l<<7
	over = h>>63 ^ h>>62 ^ h>>57
	return rh, rl, over
}

// clmul is the 128-bit carry-less product of x and y.
func clmul(x, y uint64) (hi, lo uint64) {
	lo = bmul64(x, y)
	hi = bits.Reverse64(bmul64(bits.Reverse64(x), bits.Reverse64(y))) >> 1
	return hi, lo
}

// bmul64 is the low 64 bits of the carry-less product of x and y, from integer
// products with holes (BearSSL's trick): each operand split into the bits at positions
// 0, 1, 2, 3 mod 4, so that a product's sums at one position count at most 15 terms
// below bit 60 (16 at bit 60, whose carry leaves the word) and never carry into the
// next kept position.
func bmul64(x, y uint64) uint64 {
	const m0, m1, m2, m3 = 0x1111111111111111, 0x2222222222222222, 0x4444444444444444, 0x8888888888888888
	x0, x1, x2, x3 := x&m0, x&m1, x&m2, x&m3
	y0, y1, y2, y3 := y&m0, y&m1, y&m2, y&m3
	z0 := x0*y0 ^ x1*y3 ^ x2*y2 ^ x3*y1
	z1 := x0*y1 ^ x1*y0 ^ x2*y3 ^ x3*y2
	z2 := x0*y2 ^ x1*y1 ^ x2*y0 ^ x3*y3
	z3 := x0*y3 ^ x1*y2 ^ x2*y1 ^ x3*y0
	return z0&m0 | z1&m1 | z2&m2 | z3&m3
}

// mulHorner is a·b by Horner's rule over b's bits, from x^127 down: the definition mul
// is tested against.
func (a element) mulHorner(b element) element {
	var r element
	for _, w := range [2]uint64{b.hi, b.lo} {
		for i := 63; i >= 0; i-- {
			r = r.timesX()
			mask := -(w >> uint(i) & 1)
			r.hi ^= a.hi & mask
			r.lo ^= a.lo & mask
		}
	}
	return r
}

// inv is a^-1 = a^(2^128 - 2) (Fermat); inv of 0 is 0, which callers never ask for.
func (a element) inv() element {
	// 2^128 - 2 = 0b11...10: square and multiply over 127 ones, then one squaring.
	r := a
	for i := 0; i < 126; i++ {
		r = r.mul(r).mul(a)
	}
	return r.mul(r)
}
