package secaggbeam

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"codeberg.org/sbinet/npyio"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/secure"
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

// FuzzReadBlocks: any file's bytes are read as an update or refused with a typed error,
// never a panic (npyio panics on some damaged headers; readBlocks must not).
func FuzzReadBlocks(f *testing.F) {
	var b bytes.Buffer
	_ = npyio.Write(&b, []float32{1, 2, 3, 4, 5})
	f.Add(b.Bytes())
	f.Add([]byte("\x93NUMPY\x01\x00\x10\x00{'descr': '<f4',"))
	path := filepath.Join(f.TempDir(), "update.npy")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		var got []float32
		err := (&readBlocks{Dim: 5, Block: 2}).ProcessElement(context.Background(), File{Path: path}, func(_ int, v []float32) { got = append(got, v...) })
		var e *secagg.Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("untyped error %v", err)
		}
		if err == nil && len(got) != 5 {
			t.Fatalf("read %d values of 5", len(got))
		}
	})
}

// FuzzDecodeRow: any bytes decode to a Row or a typed error, and what decodes encodes
// back to the same bytes.
func FuzzDecodeRow(f *testing.F) {
	b, _ := encodeRow(Row{Client: 3, Values: []float32{1, -2, 0.5}})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRow(b)
		if err != nil {
			var e *secagg.Error
			if !errors.As(err, &e) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		again, _ := encodeRow(r)
		if !bytes.Equal(again, b) {
			t.Fatalf("decoded and encoded again, %x became %x", b, again)
		}
	})
}

// FuzzReadWeights: any file's bytes are three weights or a typed error, never a panic.
func FuzzReadWeights(f *testing.F) {
	for _, w := range []any{[]float64{1, 2, 3}, []int64{4, 5, 6}, []float32{0.5, 1, 2}} {
		var b bytes.Buffer
		_ = npyio.Write(&b, w)
		f.Add(b.Bytes())
	}
	path := filepath.Join(f.TempDir(), "weights.npy")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		w, err := ReadWeights(context.Background(), path, 3)
		var e *secagg.Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("untyped error %v", err)
		}
		if err == nil && len(w) != 3 {
			t.Fatalf("read %d weights of 3", len(w))
		}
	})
}

// FuzzReadMasked: any file's bytes are a masked vector's 6 words (the weights' and 5
// values, each below 2^20) or a typed error, never a panic.
func FuzzReadMasked(f *testing.F) {
	good, _ := secure.MaskedVector{Words: []uint32{3, 1, 4, 1, 5, 9}, Clipped: 2}.MarshalBinary()
	f.Add(good)
	f.Add(good[:secure.MaskedVectorPrefix])
	path := filepath.Join(f.TempDir(), "masked.bin")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		var got []uint32
		err := (&readMasked{Dim: 5, Block: 2, Bits: 20}).ProcessElement(context.Background(), MaskedFile{Client: 1, Path: path},
			func(_ int, w []uint32) { got = append(got, w...) })
		var e *secagg.Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("untyped error %v", err)
		}
		if err == nil && len(got) != 6 {
			t.Fatalf("read %d words of 6", len(got))
		}
		for _, w := range got {
			if err == nil && w >= 1<<20 {
				t.Fatalf("word %d passed as below 2^20", w)
			}
		}
	})
}
