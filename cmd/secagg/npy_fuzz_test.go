package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/octomil/secagg"
)

// rawNpy is a version 1.0 .npy file with the header dictionary dict and the data bytes.
func rawNpy(dict string, data []byte) []byte {
	for (10+len(dict)+1)%64 != 0 {
		dict += " "
	}
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(dict)+1), byte((len(dict)+1)>>8))
	return append(append(append(b, dict...), '\n'), data...)
}

// FuzzReadNpy: whatever the bytes, readNpy returns an array whose shape matches its data,
// or a typed error; it never panics, whatever npyio makes of a damaged header.
func FuzzReadNpy(f *testing.F) {
	f.Add([]byte("\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }" +
		"                                                       \n\x00\x00\x80\x3f\x00\x00\x00\x40"))
	f.Add([]byte("\x93NUMPY\x01\x00\x10\x00{'descr': '<f8'}"))
	f.Add([]byte("\x93NUMPY\x02\x00\x05\x00\x00\x00shape"))
	f.Add([]byte("\x93NUMPY\x01\x00\x3a\x00{'descr': '<f4', 'fortran_order': True, 'shape': (), }\n"))
	f.Add([]byte("not a numpy file"))
	// A shape whose element count wrapped to 0 in int64 (it panicked), and one that
	// declares 64 GiB.
	f.Add(rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", nil))
	f.Add(rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (131072, 131072), }", make([]byte, 64)))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "x.npy")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		a, err := readNpy(path)
		if err != nil {
			var e *secagg.Error
			if !errors.As(err, &e) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		n := 1
		for _, s := range a.shape {
			n *= s
		}
		if n != len(a.data) || len(a.shape) < 1 || len(a.shape) > 2 {
			t.Fatalf("shape %v with %d elements", a.shape, len(a.data))
		}
	})
}
