package shamir

import "encoding/binary"

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

// mul is a·b by Horner's rule over b's bits, from x^127 down.
func (a element) mul(b element) element {
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
