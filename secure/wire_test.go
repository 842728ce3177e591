package secure

import (
	"bytes"
	"encoding"
	"errors"
	"slices"
	"testing"

	"github.com/octomil/secagg"
)

// message is what every message type implements.
type message interface {
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}

// wireExamples are one of each message, taken from a real round.
func wireExamples(t *testing.T) []message {
	st := newStaged(t, 7, 5)
	id := st.sim.ids[0]
	mv, err := st.clients[id].Mask(st.masks[id], st.sim.updates[id], st.sim.weights[id])
	mustOK(t, err)
	setup := st.srv.setup
	req := st.masks[id]
	st.mask(id)
	return []message{&setup, &Keys{PK1: [32]byte{1}, PK2: [32]byte{2}},
		&ShareKeysRequest{Neighbours: st.srv.live[id]}, &SharesReply{Commitment: st.srv.commits[id], Boxes: st.srv.boxes[id]},
		&req, &mv, ptr(st.unmasks[id]), ptr(st.replies[id])}
}

func ptr[T any](v T) *T { return &v }

// fresh is a new zero message of m's type.
func fresh(m message) message {
	switch m.(type) {
	case *Setup:
		return new(Setup)
	case *Keys:
		return new(Keys)
	case *ShareKeysRequest:
		return new(ShareKeysRequest)
	case *SharesReply:
		return new(SharesReply)
	case *MaskRequest:
		return new(MaskRequest)
	case *MaskedVector:
		return new(MaskedVector)
	case *UnmaskRequest:
		return new(UnmaskRequest)
	}
	return new(UnmaskReply)
}

// TestWireRoundTrip: every message decodes to itself, and every prefix of it, a byte
// more, another type's header or another version is a bad_request that leaves the
// destination as it was.
func TestWireRoundTrip(t *testing.T) {
	examples := wireExamples(t)
	for i, m := range examples {
		b, err := m.MarshalBinary()
		mustOK(t, err)
		got := fresh(m)
		mustOK(t, got.UnmarshalBinary(b))
		again, _ := got.MarshalBinary()
		if !bytes.Equal(again, b) {
			t.Fatalf("%T does not round-trip", m)
		}
		bad := [][]byte{append(slices.Clone(b), 0), b[:len(b)-1], b[:3], nil}
		other := slices.Clone(b)
		other[3] = byte(1 + (i+1)%8)
		version := slices.Clone(b)
		version[2] = WireVersion + 1
		bad = append(bad, other, version)
		for _, x := range bad {
			dst := fresh(m)
			before, _ := dst.MarshalBinary()
			if err := dst.UnmarshalBinary(x); !errors.Is(err, secagg.ErrBadRequest) {
				t.Fatalf("%T from %d bytes: %v, want bad_request", m, len(x), err)
			}
			if after, _ := dst.MarshalBinary(); !bytes.Equal(after, before) {
				t.Fatalf("%T: a refused decode changed the destination", m)
			}
		}
	}
	// A count far beyond the bytes there are is refused before anything is allocated.
	huge := append(header(wireUnmaskRequest), 0xff, 0xff, 0xff, 0xff)
	if err := new(UnmaskRequest).UnmarshalBinary(huge); !errors.Is(err, secagg.ErrBadRequest) {
		t.Fatalf("a 2^32-entry list in 4 bytes: %v", err)
	}
}

// FuzzWire decodes arbitrary bytes as every message type, and as a masked vector's
// prefix: a typed error or a message that encodes back to exactly those bytes, never a
// panic.
func FuzzWire(f *testing.F) {
	f.Add([]byte("SA\x01\x02"))
	f.Add(append(header(wireUnmaskReply), 1, 0, 0, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, _, err := ParseMaskedVectorPrefix(b); err != nil && !errors.Is(err, secagg.ErrBadRequest) {
			t.Fatalf("masked vector prefix: %v", err)
		}
		for _, m := range []message{new(Setup), new(Keys), new(ShareKeysRequest), new(SharesReply),
			new(MaskRequest), new(MaskedVector), new(UnmaskRequest), new(UnmaskReply), new(Unmasking)} {
			if err := m.UnmarshalBinary(b); err != nil {
				if !errors.Is(err, secagg.ErrBadRequest) {
					t.Fatalf("%T: %v", m, err)
				}
				continue
			}
			again, _ := m.MarshalBinary()
			if !bytes.Equal(again, b) {
				t.Fatalf("%T decoded from %x encodes as %x", m, b, again)
			}
		}
	})
}
