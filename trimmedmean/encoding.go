package trimmedmean

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/octomil/secagg"
)

// The serialised form of a Stream, version 1, all integers and floats little-endian:
//
//	offset  size  field
//	0       4     magic "STM1"
//	4       2     version (1)
//	6       2     lanes (16): coordinates per block of extremes
//	8       4     k
//	12      4     reserved (0)
//	16      8     dim
//	24      8     count: updates taken
//	32      4·E   extremes, E = ceil(dim/16)·16·2k float32, block by block: per block
//	              k planes of 16 smallest values ascending (+Inf: empty), then k planes
//	              of 16 largest values descending (-Inf: empty)
//	32+4E   8·dim sums, float64
//	end-4   4     CRC-32C (Castagnoli) of every byte before it
const (
	magic         = "STM1"
	formatVersion = 1
	headerSize    = 32
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// MarshalBinary serialises the stream in the versioned format above.
func (s *Stream) MarshalBinary() ([]byte, error) {
	s.order()
	b := make([]byte, headerSize, headerSize+len(s.ext)*4+len(s.sum)*8+4)
	copy(b, magic)
	binary.LittleEndian.PutUint16(b[4:], formatVersion)
	binary.LittleEndian.PutUint16(b[6:], lanes)
	binary.LittleEndian.PutUint32(b[8:], uint32(s.k))
	binary.LittleEndian.PutUint64(b[16:], uint64(s.dim))
	binary.LittleEndian.PutUint64(b[24:], uint64(s.count))
	for _, v := range s.ext {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	for _, v := range s.sum {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

// UnmarshalBinary replaces the stream with the one serialised in b. A truncated,
// corrupt or inconsistent blob is a bad_request and leaves the stream unchanged.
func (s *Stream) UnmarshalBinary(b []byte) error {
	bad := func(format string, args ...any) error {
		return secagg.Errorf(secagg.CodeBadRequest, "stream", "stream blob: "+format, args...)
	}
	if len(b) < headerSize+4 {
		return bad("%d bytes is shorter than the %d-byte header and checksum", len(b), headerSize+4)
	}
	if string(b[:4]) != magic {
		return bad("magic %q is not %q", b[:4], magic)
	}
	if v := binary.LittleEndian.Uint16(b[4:]); v != formatVersion {
		return bad("version %d is not supported (want %d)", v, formatVersion)
	}
	if l := binary.LittleEndian.Uint16(b[6:]); l != lanes {
		return bad("block width %d is not %d", l, lanes)
	}
	k64, dim64, count64 := uint64(binary.LittleEndian.Uint32(b[8:])), binary.LittleEndian.Uint64(b[16:]), binary.LittleEndian.Uint64(b[24:])
	if binary.LittleEndian.Uint32(b[12:]) != 0 {
		return bad("reserved header bytes are not zero")
	}
	if k64 > maxK || dim64 < 1 || dim64 > 1<<40 || count64 > maxCount {
		return bad("k %d, dim %d or count %d out of range", k64, dim64, count64)
	}
	k, dim := int(k64), int(dim64)
	blocks := (dim + lanes - 1) / lanes
	extLen := uint64(blocks) * lanes * 2 * k64
	if want := uint64(headerSize) + 4*extLen + 8*dim64 + 4; uint64(len(b)) != want {
		return bad("%d bytes, want %d for dim %d and k %d", len(b), want, dim, k)
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return bad("checksum mismatch")
	}
	n := &Stream{dim: dim, k: k, count: int(count64), ext: make([]float32, extLen), sum: make([]float64, dim)}
	p := b[headerSize:]
	for i := range n.ext {
		n.ext[i] = math.Float32frombits(binary.LittleEndian.Uint32(p[4*i:]))
	}
	p = p[4*extLen:]
	for i := range n.sum {
		n.sum[i] = math.Float64frombits(binary.LittleEndian.Uint64(p[8*i:]))
		if math.IsNaN(n.sum[i]) || math.IsInf(n.sum[i], 0) {
			return bad("sum %d is %v", i, n.sum[i])
		}
	}
	if err := n.checkExtremes(); err != nil {
		return bad("%v", err)
	}
	if err := n.checkSums(); err != nil { // a recomputed checksum does not make a forged sum valid
		return bad("%v", err)
	}
	*s = *n
	return nil
}

// checkExtremes verifies the invariants Add and Merge keep: every filled slot finite
// (ResultK's kernels read them), each list ordered with its empty slots last, and as many filled slots as the count allows.
func (s *Stream) checkExtremes() error {
	k := s.k
	want := min(s.count, k)
	for j := range s.dim {
		base := j/lanes*2*k*lanes + j%lanes
		for side, empty := range []float32{float32(math.Inf(1)), float32(math.Inf(-1))} {
			filled := 0
			for i := range k {
				v := s.ext[base+(side*k+i)*lanes]
				if v != v || v != empty && math.IsInf(float64(v), 0) {
					return errorf("coordinate %d holds %v among its extremes", j, v)
				}
				if i > 0 {
					prev := s.ext[base+(side*k+i-1)*lanes]
					if side == 0 && v < prev || side == 1 && v > prev {
						return errorf("coordinate %d: extremes out of order", j)
					}
				}
				if v != empty {
					filled++
				}
			}
			if filled != want && side == 0 || filled != min(max(s.count-k, 0), k) && side == 1 {
				return errorf("coordinate %d holds %d extremes on one side, the count %d implies otherwise", j, filled, s.count)
			}
		}
	}
	return nil
}

// maxCount bounds a decoded stream's count: 2^40 updates, beyond any round, and small
// enough for checkSums' rounding bound to mean something.
const maxCount = 1 << 40

// checkSums verifies that every coordinate's sum is one that the values pushed out
// between its kept extremes can add up to: the m = count − 2k of them (none while the
// lists fill) lie between the largest kept small value and the smallest kept large one
// (any finite float32 when k = 0), so m·lo <= sum <= m·hi, give or take the float64
// rounding of a sum of m terms (at most m·2^-53 of m·max|x|).
func (s *Stream) checkSums() error {
	k := s.k
	m := max(s.count-2*k, 0)
	lo, hi := -math.MaxFloat32, math.MaxFloat32
	for j := range s.dim {
		if k > 0 && m > 0 {
			base := j/lanes*2*k*lanes + j%lanes
			lo, hi = float64(s.ext[base+(k-1)*lanes]), float64(s.ext[base+(2*k-1)*lanes])
		}
		n := float64(m)
		slack := n * math.Max(math.Abs(lo), math.Abs(hi)) * (n*0x1p-53 + 0x1p-52)
		if sum := s.sum[j]; m == 0 && sum != 0 || sum < n*lo-slack || sum > n*hi+slack {
			return errorf("coordinate %d: sum %v is not what %d values in [%v, %v] add up to", j, sum, m, lo, hi)
		}
	}
	return nil
}

type formatError string

func (e formatError) Error() string { return string(e) }

func errorf(format string, args ...any) error { return formatError(fmt.Sprintf(format, args...)) }
