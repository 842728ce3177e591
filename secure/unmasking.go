package secure

import (
	"math"
	"slices"

	"github.com/octomil/secagg"
)

// Unmasking is what removing a round's masks from its sum takes, when the masked vectors
// are summed elsewhere (Server.RecordMasked, then Server.Unmasking): the keys of the
// masks the sum carries, a self mask per active client and a pairwise one per (dropped,
// active neighbour), and the settings that map the sum back to values. Every mask is a
// keystream readable from any word, so each block of the sum is unmasked on its own, by
// whoever summed it.
//
// It is the server's secret, as the sum is: with it and the vectors that are not in the
// sum, a client's masked vector is still masked by its pairwise masks with the active
// clients, which no key here holds. It crosses to the server's workers in its
// MarshalBinary encoding.
type Unmasking struct {
	dim     int      // values in a vector: the sum has dim+1 words, the weights' first
	clients []uint64 // the active clients, sorted
	bits    int      // modulus_bits
	T       int64    // quantization_range
	c       float64  // clipping_range
	masks   []mask
}

// Dim is the values in a vector: the sum has Dim()+1 words, the weights' word first.
func (u *Unmasking) Dim() int { return u.dim }

// ModulusBits is b: the sum's words are mod 2^b, and so is every masked vector's word.
func (u *Unmasking) ModulusBits() int { return u.bits }

// Clients are the active clients, sorted: the sum must be of exactly their masked
// vectors, each once.
func (u *Unmasking) Clients() []uint64 { return slices.Clone(u.clients) }

// Unmask removes the masks from words, the words [off, off+len(words)) of the sum mod
// 2^32 of the active clients' masked vectors (word 0 is the weights' word), in place,
// and reduces them mod 2^modulus_bits. Removed by blocks, the words are those of the
// whole sum unmasked at once.
func (u *Unmasking) Unmask(words []uint32, off int) error {
	if off < 0 || off > u.dim+1-len(words) {
		return secagg.Errorf(secagg.CodeBadRequest, "words", "words [%d, %d) are not in a sum of %d", off, off+len(words), u.dim+1)
	}
	applyMasks(words, uint64(off), u.masks, uint32(1<<u.bits-1))
	return nil
}

// Mean writes into dst the active clients' weighted mean of the values whose unmasked
// sums are values, given the sum's unmasked weights' word: Finalize's result, to the bit,
// for any block of values. A weight of 0 is a validation_error.
func (u *Unmasking) Mean(dst []float32, values []uint32, weight uint32) error {
	if len(dst) != len(values) {
		return secagg.Errorf(secagg.CodeBadRequest, "dst", "dst has %d values for %d sums", len(dst), len(values))
	}
	if weight == 0 {
		return errZeroWeight
	}
	dequantize(dst, values, weight, len(u.clients), u.c, u.T)
	return nil
}

// MarshalBinary encodes the Unmasking as a message of the wire format (SPEC.md, type 9):
// dim, modulus_bits and quantization_range (u64 each), clipping_range (f64 bits), the
// list of active ids, then the list of masks, each its 16-byte key and a byte, 1 when
// the mask is subtracted.
func (u *Unmasking) MarshalBinary() ([]byte, error) {
	out := putInt(header(wireUnmasking), u.dim)
	out = putInt(out, u.bits)
	out = putU64(out, uint64(u.T))
	out = putF64(out, u.c)
	out = putIDs(out, u.clients)
	out = putU32(out, len(u.masks))
	for _, m := range u.masks {
		sub := byte(0)
		if m.subtract {
			sub = 1
		}
		out = append(append(out, m.key...), sub)
	}
	return out, nil
}

// UnmarshalBinary decodes an Unmasking, refusing settings out of range, ids out of order
// and a sign byte other than 0 or 1; a refused one changes nothing.
func (u *Unmasking) UnmarshalBinary(b []byte) error {
	r := newReader(b, wireUnmasking, "unmasking")
	v := Unmasking{dim: int(int64(r.u64())), bits: int(int64(r.u64())), T: int64(r.u64())}
	v.c = math.Float64frombits(r.u64())
	v.clients = r.ids()
	for range r.count(17) {
		m := mask{key: append([]byte(nil), r.take(16)...)}
		switch sign := r.take(1); {
		case sign == nil:
		case sign[0] == 1:
			m.subtract = true
		case sign[0] != 0:
			r.fail("a mask's sign byte is %d, not 0 or 1", sign[0])
		}
		v.masks = append(v.masks, m)
	}
	switch {
	case r.err != nil:
	case v.dim < 1 || v.dim >= math.MaxUint32: // a MaskedVector's words are a uint32 count
		r.fail("dim %d", v.dim)
	case v.bits < 1 || v.bits > 32:
		r.fail("modulus_bits %d", v.bits)
	case v.T < 1 || !(v.c > 0) || math.IsInf(v.c, 0):
		r.fail("quantization_range %d, clipping_range %v", v.T, v.c)
	case len(v.clients) == 0:
		r.fail("no active clients")
	}
	for i := 1; r.err == nil && i < len(v.clients); i++ {
		if v.clients[i] <= v.clients[i-1] {
			r.fail("active ids not sorted and distinct")
		}
	}
	if err := r.done(); err != nil {
		return err
	}
	*u = v
	return nil
}
