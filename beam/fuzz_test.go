package secaggbeam

import (
	"bytes"
	"testing"
)

// FuzzDecodeSums: any bytes decode to Sums or a typed error, and what decodes encodes
// back to the same bytes.
func FuzzDecodeSums(f *testing.F) {
	b, _ := (&Sums{Weight: 2, Sum: []float64{1, 2}}).MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Sums
		if s.UnmarshalBinary(b) != nil {
			return
		}
		again, _ := s.MarshalBinary()
		if !bytes.Equal(again, b) {
			t.Fatalf("decoded and encoded again, %x became %x", b, again)
		}
	})
}

// FuzzDecodeWords is FuzzDecodeSums for Words.
func FuzzDecodeWords(f *testing.F) {
	b, _ := (&Words{Sum: []uint32{1, 2, 3}}).MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		var w Words
		if w.UnmarshalBinary(b) != nil {
			return
		}
		again, _ := w.MarshalBinary()
		if !bytes.Equal(again, b) {
			t.Fatalf("decoded and encoded again, %x became %x", b, again)
		}
	})
}
