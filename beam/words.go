package secaggbeam

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/simd"
)

// WordsSumFn is secure aggregation's sum of masked vectors, summed mod 2^Bits (uint32
// words wrapping at 2^32, reduced at the end), so the unmasking server can be sharded:
// key the vectors' coordinate blocks and combine per key (Unmask does). Every word must
// be below 2^Bits, and every vector of a key as long as the first: Dim words, or with
// Dim 0 the first vector's length (a round's blocks, the last shorter).
type WordsSumFn struct {
	Dim  int
	Bits int
}

// Words is WordsSumFn's accumulator: the running sum mod 2^32, nil before any vector.
type Words struct{ Sum []uint32 }

func (f *WordsSumFn) CreateAccumulator() *Words {
	if f.Dim > 0 {
		return &Words{Sum: make([]uint32, f.Dim)}
	}
	return &Words{}
}

func (f *WordsSumFn) AddInput(a *Words, x []uint32) (*Words, error) {
	if f.Bits < 1 || f.Bits > 32 {
		return a, secagg.Errorf(secagg.CodeValidation, "modulus_bits", "modulus_bits must be in [1, 32], got %d", f.Bits)
	}
	switch {
	case len(x) == 0:
		return a, secagg.Errorf(secagg.CodeBadRequest, "masked_vector", "an empty masked vector")
	case a.Sum != nil && len(x) != len(a.Sum):
		return a, secagg.Errorf(secagg.CodeBadRequest, "masked_vector", "masked vector has %d words, want %d", len(x), len(a.Sum))
	}
	if i := simd.FirstOverBits(x, f.Bits); i >= 0 {
		return a, secagg.Errorf(secagg.CodeBadRequest, "masked_vector", "word %d is %d, not below 2^%d", i, x[i], f.Bits)
	}
	if a.Sum == nil {
		a.Sum = make([]uint32, len(x))
	}
	simd.AddWords(a.Sum, [][]uint32{x}, 0)
	return a, nil
}

func (f *WordsSumFn) MergeAccumulators(a, b *Words) (*Words, error) {
	switch {
	case b.Sum == nil:
		return a, nil
	case a.Sum == nil:
		return b, nil
	case len(b.Sum) != len(a.Sum):
		return a, secagg.Errorf(secagg.CodeBadRequest, "words", "merging sums of %d words into %d", len(b.Sum), len(a.Sum))
	}
	simd.AddWords(a.Sum, [][]uint32{b.Sum}, 0)
	return a, nil
}

func (f *WordsSumFn) ExtractOutput(a *Words) []uint32 {
	out := make([]uint32, len(a.Sum))
	mask := uint32(1<<f.Bits - 1)
	for i, w := range a.Sum {
		out[i] = w & mask
	}
	return out
}

// The binary form of Words, version 1, little-endian: magic "WSM1", version uint32 (1),
// the count of words uint64, the words uint32 each, then the CRC-32C of every byte
// before it.
const (
	wordsMagic   = "WSM1"
	wordsVersion = 1
	wordsHeader  = 16
)

// MarshalBinary encodes the words in the format above.
func (w *Words) MarshalBinary() ([]byte, error) {
	b := make([]byte, wordsHeader, wordsHeader+4*len(w.Sum)+4)
	copy(b, wordsMagic)
	binary.LittleEndian.PutUint32(b[4:], wordsVersion)
	binary.LittleEndian.PutUint64(b[8:], uint64(len(w.Sum)))
	for _, v := range w.Sum {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

// UnmarshalBinary decodes words in the format above; anything else is a bad_request and
// leaves w as it was.
func (w *Words) UnmarshalBinary(b []byte) error {
	bad := func(format string, a ...any) error {
		return secagg.Errorf(secagg.CodeBadRequest, "words", format, a...)
	}
	if len(b) < wordsHeader+4 || string(b[:4]) != wordsMagic {
		return bad("not encoded Words (%d bytes)", len(b))
	}
	if v := binary.LittleEndian.Uint32(b[4:]); v != wordsVersion {
		return bad("Words version %d, want %d", v, wordsVersion)
	}
	n := binary.LittleEndian.Uint64(b[8:])
	if n > uint64(len(b)) || uint64(len(b)) != wordsHeader+4*n+4 {
		return bad("%d bytes for %d words", len(b), n)
	}
	if got, want := crc32.Checksum(b[:len(b)-4], castagnoli), binary.LittleEndian.Uint32(b[len(b)-4:]); got != want {
		return bad("Words checksum %08x, want %08x", got, want)
	}
	var sum []uint32 // nil for no words, as before any vector
	if n > 0 {
		sum = make([]uint32, n)
	}
	for i := range sum {
		sum[i] = binary.LittleEndian.Uint32(b[wordsHeader+4*i:])
	}
	w.Sum = sum
	return nil
}
