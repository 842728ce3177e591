package secure

import (
	"encoding/binary"
	"math"

	"github.com/octomil/secagg"
)

// The binary encoding of the messages (SPEC.md, "Wire format"): a 4-byte header, the
// bytes "SA", the version and the message's type, then its fields in order, integers
// little-endian (a setting 64 bits, two's complement), each list as a uint32 count and
// its entries, each byte string as a uint32 length and its bytes. Every message implements encoding.BinaryMarshaler and
// BinaryUnmarshaler; a decoder refuses a wrong header, a count beyond the bytes there
// are and bytes left over, with a bad_request, and changes nothing then.

// WireVersion is the version of the encoding.
const WireVersion = 1

// The message types on the wire.
const (
	wireSetup byte = 1 + iota
	wireKeys
	wireShareKeysRequest
	wireSharesReply
	wireMaskRequest
	wireMaskedVector
	wireUnmaskRequest
	wireUnmaskReply
	wireUnmasking // server to its own workers, not a client's message
)

func header(t byte) []byte { return []byte{'S', 'A', WireVersion, t} }

// reader decodes one message; the first error sticks and every read after it is zero.
type reader struct {
	b   []byte
	err error
}

func newReader(b []byte, t byte, name string) *reader {
	r := &reader{b: b}
	switch {
	case len(b) < 4 || b[0] != 'S' || b[1] != 'A':
		r.fail("not a secure aggregation message")
	case b[2] != WireVersion:
		r.fail("wire version %d, want %d", b[2], WireVersion)
	case b[3] != t:
		r.fail("a message of type %d, want %d (%s)", b[3], t, name)
	default:
		r.b = b[4:]
	}
	return r
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = secagg.Errorf(secagg.CodeBadRequest, "message", format, args...)
	}
	r.b = nil
}

func (r *reader) take(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		r.fail("truncated message")
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) u32() uint32 {
	if p := r.take(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if p := r.take(8); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

func (r *reader) key() (k [32]byte) { copy(k[:], r.take(32)); return k }

// count reads a list's length and checks that its entries, at least min bytes each,
// fit in what is left, before anything is allocated for them.
func (r *reader) count(min int) int {
	n := r.u32()
	if r.err == nil && uint64(n)*uint64(min) > uint64(len(r.b)) {
		r.fail("a list of %d entries in %d bytes", n, len(r.b))
		return 0
	}
	return int(n)
}

// bytes reads a length-prefixed byte string (a copy, so the message owns it).
func (r *reader) bytes() []byte { return append([]byte(nil), r.take(r.count(1))...) }

// done reports the first error, or bytes left over.
func (r *reader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d bytes after the message", len(r.b))
	}
	return r.err
}

func putU32(b []byte, v int) []byte     { return binary.LittleEndian.AppendUint32(b, uint32(v)) }
func putInt(b []byte, v int) []byte     { return binary.LittleEndian.AppendUint64(b, uint64(int64(v))) }
func putU64(b []byte, v uint64) []byte  { return binary.LittleEndian.AppendUint64(b, v) }
func putBytes(b, p []byte) []byte       { return append(putU32(b, len(p)), p...) }
func putF64(b []byte, v float64) []byte { return putU64(b, math.Float64bits(v)) }

// MarshalBinary encodes the Setup.
func (m Setup) MarshalBinary() ([]byte, error) {
	b := append(header(wireSetup), m.Session[:]...)
	b = putU64(b, m.Round)
	b = putInt(b, m.Clients)
	c := m.Config
	b = putInt(putInt(b, c.Shares), c.Threshold)
	b = putF64(b, c.ClippingRange)
	b = putU64(b, uint64(c.QuantizationRange))
	b = putInt(b, c.ModulusBits)
	b = putF64(b, c.MaxWeight)
	return putInt(b, c.MinClients), nil
}

// UnmarshalBinary decodes a Setup.
func (m *Setup) UnmarshalBinary(b []byte) error {
	r := newReader(b, wireSetup, "setup")
	var v Setup
	copy(v.Session[:], r.take(16))
	v.Round = r.u64()
	v.Clients = int(int64(r.u64()))
	v.Config.Shares, v.Config.Threshold = int(int64(r.u64())), int(int64(r.u64()))
	v.Config.ClippingRange = math.Float64frombits(r.u64())
	v.Config.QuantizationRange = int64(r.u64())
	v.Config.ModulusBits = int(int64(r.u64()))
	v.Config.MaxWeight = math.Float64frombits(r.u64())
	v.Config.MinClients = int(int64(r.u64()))
	if err := r.done(); err != nil {
		return err
	}
	*m = v
	return nil
}

// MarshalBinary encodes the Keys.
func (m Keys) MarshalBinary() ([]byte, error) {
	return append(append(header(wireKeys), m.PK1[:]...), m.PK2[:]...), nil
}

// UnmarshalBinary decodes Keys.
func (m *Keys) UnmarshalBinary(b []byte) error {
	r := newReader(b, wireKeys, "keys")
	v := Keys{r.key(), r.key()}
	if err := r.done(); err != nil {
		return err
	}
	*m = v
	return nil
}

// MarshalBinary encodes the ShareKeysRequest.
func (m ShareKeysRequest) MarshalBinary() ([]byte, error) {
	b := putU32(header(wireShareKeysRequest), len(m.Neighbours))
	for _, k := range m.Neighbours {
		b = append(append(putU64(b, k.ID), k.PK1[:]...), k.PK2[:]...)
	}
	return b, nil
}

// UnmarshalBinary decodes a ShareKeysRequest.
func (m *ShareKeysRequest) UnmarshalBinary(b []byte) error {
	r := newReader(b, wireShareKeysRequest, "share_keys request")
	var v ShareKeysRequest
	for range r.count(8 + 64) {
		v.Neighbours = append(v.Neighbours, ClientKeys{r.u64(), Keys{r.key(), r.key()}})
	}
	if err := r.done(); err != nil {
		return err
	}
	*m = v
	return nil
}

func putBoxes(b []byte, boxes []Box) []byte {
	b = putU32(b, len(boxes))
	for _, x := range boxes {
		b = putBytes(putU64(b, x.Peer), x.Data)
	}
	return b
}

func (r *reader) boxes() []Box {
	var out []Box
	for range r.count(8 + 4) {
		out = append(out, Box{Peer: r.u64(), Data: r.bytes()})
	}
	return out
}

// MarshalBinary encodes the SharesReply.
func (m SharesReply) MarshalBinary() ([]byte, error) {
	return putBoxes(append(header(wireSharesReply), m.Commitment[:]...), m.Boxes), nil
}

// UnmarshalBinary decodes a SharesReply.
func (m *SharesReply) UnmarshalBinary(b []byte) error {
	r := newReader(b, wireSharesReply, "share_keys reply")
	v := SharesReply{Commitment: r.key()}
	v.Boxes = r.boxes()
	if err := r.done(); err != nil {
		return err
	}
	*m = v
	return nil
}

// MarshalBinary encodes the MaskRequest.
func (m MaskRequest) MarshalBinary() ([]byte, error) {
	return putBoxes(header(wireMaskRequest), m.Boxes), nil
}

// UnmarshalBinary decodes a MaskRequest.
func (m *MaskRequest) UnmarshalBinary(b []byte) error {
	r := newReader(b, wireMaskRequest, "mask request")
	v := MaskRequest{Boxes: r.boxes()}
	if err := r.done(); err != nil {
		return err
	}
	*m = v
	return nil
}

// MarshalBinary encodes the MaskedVector: the clipped count, then the words.
func (m MaskedVector) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 4+8+4+4*len(m.Words))
	b = putU32(putU64(append(b, header(wireMaskedVector)...), uint64(m.Clipped)), len(m.Words))
	for _, w := range m.Words {
		b = binary.LittleEndian.AppendUint32(b, w)
	}
	return b, nil
}

// UnmarshalBinary decodes a MaskedVector.
func (m *MaskedVector) UnmarshalBinary(b []byte) error {
	r := newReader(b, wireMaskedVector, "masked vector")
	clipped, n := r.maskedPrefix()
	p := r.take(4 * n)
	if err := r.done(); err != nil {
		return err
	}
	v := MaskedVector{Words: make([]uint32, n), Clipped: clipped}
	for i := range v.Words {
		v.Words[i] = binary.LittleEndian.Uint32(p[4*i:])
	}
	*m = v
	return nil
}

// MaskedVectorPrefix is the bytes of a MaskedVector's encoding before its words.
const MaskedVectorPrefix = 4 + 8 + 4

// ParseMaskedVectorPrefix decodes the first MaskedVectorPrefix bytes of a MaskedVector's
// encoding, its clipped count and how many words follow, for a reader that takes the
// words a block at a time (such as a sharded unmasking's).
func ParseMaskedVectorPrefix(b []byte) (clipped, words int, err error) {
	r := newReader(b, wireMaskedVector, "masked vector")
	clipped, words = r.maskedPrefix()
	return clipped, words, r.done()
}

// maskedPrefix reads a MaskedVector's clipped count and its words' count.
func (r *reader) maskedPrefix() (clipped, words int) {
	c := r.u64()
	n := r.u32()
	if c > uint64(n) {
		r.fail("%d values clipped of %d", c, n)
	}
	return int(c), int(n)
}

func putIDs(b []byte, ids []uint64) []byte {
	b = putU32(b, len(ids))
	for _, id := range ids {
		b = putU64(b, id)
	}
	return b
}

func (r *reader) ids() []uint64 {
	var out []uint64
	for range r.count(8) {
		out = append(out, r.u64())
	}
	return out
}

// MarshalBinary encodes the UnmaskRequest.
func (m UnmaskRequest) MarshalBinary() ([]byte, error) {
	return putIDs(putIDs(header(wireUnmaskRequest), m.Active), m.Dead), nil
}

// UnmarshalBinary decodes an UnmaskRequest.
func (m *UnmaskRequest) UnmarshalBinary(b []byte) error {
	r := newReader(b, wireUnmaskRequest, "unmask request")
	v := UnmaskRequest{Active: r.ids()}
	v.Dead = r.ids()
	if err := r.done(); err != nil {
		return err
	}
	*m = v
	return nil
}

func putShares(b []byte, shares []Share) []byte {
	b = putU32(b, len(shares))
	for _, s := range shares {
		b = append(putU64(b, s.Owner), s.Y[:]...)
	}
	return b
}

func (r *reader) shares() []Share {
	var out []Share
	for range r.count(8 + 32) {
		out = append(out, Share{Owner: r.u64(), Y: r.key()})
	}
	return out
}

// MarshalBinary encodes the UnmaskReply.
func (m UnmaskReply) MarshalBinary() ([]byte, error) {
	return putShares(putShares(header(wireUnmaskReply), m.Seeds), m.Keys), nil
}

// UnmarshalBinary decodes an UnmaskReply.
func (m *UnmaskReply) UnmarshalBinary(b []byte) error {
	r := newReader(b, wireUnmaskReply, "unmask reply")
	v := UnmaskReply{Seeds: r.shares()}
	v.Keys = r.shares()
	if err := r.done(); err != nil {
		return err
	}
	*m = v
	return nil
}
