package flower

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/octomil/secagg"
)

// FuzzReadRound feeds the round reader (JSON, base64, .npy, PEM) mutated fixtures: it
// must return a round or a typed error, never panic, and a round it returns must unmask
// or fail with a typed error.
func FuzzReadRound(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"shapes": [[2]]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rd, err := ReadRound(bytes.NewReader(b))
		var typed *secagg.Error
		if err != nil {
			if !errors.As(err, &typed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(rd.Masked) > 64 || len(rd.NodeIDs) > 64 {
			return
		}
		if _, err := Unmask(rd); err != nil && !errors.As(err, &typed) {
			t.Fatalf("untyped error %v", err)
		}
	})
}

// FuzzDecodeNpy: the .npy reader on arbitrary bytes.
func FuzzDecodeNpy(f *testing.F) {
	f.Add([]byte("\x93NUMPY\x01\x00v\x00{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }"))
	f.Fuzz(func(t *testing.T, b []byte) {
		shape, data, err := decodeNpy(b, "<i8")
		if err != nil {
			return
		}
		n := 1
		for _, s := range shape {
			n *= s
		}
		if len(data) != 8*n {
			t.Fatalf("shape %v with %d bytes", shape, len(data))
		}
	})
}
