package secaggbeam

import (
	"encoding/binary"
	"hash/crc32"
	"math"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/simd"
)

// Sums is the accumulator of the means: float64 sums of the (weighted or clipped)
// updates and the total weight (the count, for the mean and the clipped means). Within a bundle
// the updates are added in arrival order and bundles merge in the runner's order, so
// the result is bit-identical to the engine's wherever the float64 sums are exact
// (inputs with few significant bits), and otherwise within the rounding of n float64
// additions per coordinate, far below the result's float32 step.
type Sums struct {
	Weight float64
	Sum    []float64
}

// The binary form of Sums, version 1, little-endian:
//
//	offset  size   field
//	0       4      magic "SUM1"
//	4       4      version (1)
//	8       8      dim
//	16      8      weight, float64
//	24      8·dim  sums, float64
//	end-4   4      CRC-32C (Castagnoli) of every byte before it
const (
	sumsMagic   = "SUM1"
	sumsVersion = 1
	sumsHeader  = 24
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// MarshalBinary encodes the sums in the format above.
func (s *Sums) MarshalBinary() ([]byte, error) {
	b := make([]byte, sumsHeader, sumsHeader+8*len(s.Sum)+4)
	copy(b, sumsMagic)
	binary.LittleEndian.PutUint32(b[4:], sumsVersion)
	binary.LittleEndian.PutUint64(b[8:], uint64(len(s.Sum)))
	binary.LittleEndian.PutUint64(b[16:], math.Float64bits(s.Weight))
	for _, v := range s.Sum {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

// UnmarshalBinary decodes sums in the format above; anything else is a bad_request and
// leaves s as it was.
func (s *Sums) UnmarshalBinary(b []byte) error {
	bad := func(format string, a ...any) error { return secagg.Errorf(secagg.CodeBadRequest, "sums", format, a...) }
	if len(b) < sumsHeader+4 || string(b[:4]) != sumsMagic {
		return bad("not an encoded Sums (%d bytes)", len(b))
	}
	if v := binary.LittleEndian.Uint32(b[4:]); v != sumsVersion {
		return bad("Sums version %d, want %d", v, sumsVersion)
	}
	dim := binary.LittleEndian.Uint64(b[8:])
	if dim > uint64(len(b)) || uint64(len(b)) != sumsHeader+8*dim+4 {
		return bad("%d bytes for a Sums of dimension %d", len(b), dim)
	}
	if got, want := crc32.Checksum(b[:len(b)-4], castagnoli), binary.LittleEndian.Uint32(b[len(b)-4:]); got != want {
		return bad("Sums checksum %08x, want %08x", got, want)
	}
	sum := make([]float64, dim)
	for i := range sum {
		sum[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[sumsHeader+8*i:]))
	}
	s.Weight, s.Sum = math.Float64frombits(binary.LittleEndian.Uint64(b[16:])), sum
	return nil
}

// newSums is an empty accumulator of dim sums; dim 0 takes the first update's length.
func newSums(dim int) *Sums {
	if dim == 0 {
		return &Sums{}
	}
	return &Sums{Sum: make([]float64, dim)}
}

// add adds w·x (w = 1: x as it is, with no multiply) and count to the weight, after
// checking x whole: a bad update changes nothing. The means count w (the weight is the
// divisor); the clipped means count 1 per update (the divisor is n).
func (s *Sums) add(x []float32, w, count float64) error {
	if s.Sum == nil {
		s.Sum = make([]float64, len(x)) // a dimension of 0: the first update's
	}
	if len(x) != len(s.Sum) {
		return secagg.Errorf(secagg.CodeBadRequest, "update", "update has %d values, want %d", len(x), len(s.Sum))
	}
	if i := secagg.FirstNonFinite(x); i >= 0 {
		return secagg.Errorf(secagg.CodeValidation, "update", "update[%d] is %v: not finite", i, x[i])
	}
	if w == 1 {
		simd.AddRows(s.Sum, [][]float32{x}, 0)
	} else {
		simd.AddScaledRows(s.Sum, []float64{w}, [][]float32{x}, 0) // each product rounded once, as the engine's
	}
	s.Weight += count
	return nil
}

// merge adds o into s.
func (s *Sums) merge(o *Sums) error {
	switch {
	case o.Weight == 0 && len(o.Sum) == 0:
		return nil // an empty accumulator of a dimension not yet known
	case s.Weight == 0 && len(s.Sum) == 0:
		s.Sum, s.Weight = append([]float64(nil), o.Sum...), o.Weight
		return nil
	}
	if len(o.Sum) != len(s.Sum) {
		return secagg.Errorf(secagg.CodeBadRequest, "sums", "merging sums of dimension %d into %d", len(o.Sum), len(s.Sum))
	}
	for i, v := range o.Sum {
		s.Sum[i] += v
	}
	s.Weight += o.Weight
	return nil
}

// mean is the sums times 1/weight (the engine's finish), each rounded once to float32.
func (s *Sums) mean() ([]float32, error) {
	if s.Weight == 0 {
		return nil, secagg.Errorf(secagg.CodeInsufficientClients, "updates", "no updates (or a total weight of 0) to average")
	}
	out := make([]float32, len(s.Sum))
	simd.Finish(out, s.Sum, 1/s.Weight)
	return out, nil
}
