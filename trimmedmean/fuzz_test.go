package trimmedmean_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"testing"

	"github.com/octomil/secagg"
	"github.com/octomil/secagg/trimmedmean"
)

// FuzzUnmarshal: any bytes give a stream or a bad_request, never a panic; blobs with a
// valid checksum reach the semantic checks, and whatever is accepted re-serialises to
// the same bytes and yields a finite result.
func FuzzUnmarshal(f *testing.F) {
	s, _ := trimmedmean.NewStream(17, 2)
	for i := range 6 {
		u := make([]float32, 17)
		for j := range u {
			u[j] = float32((i*31+j*7)%13) - 6
		}
		s.Add(u)
	}
	blob, _ := s.MarshalBinary()
	f.Add(blob, false)
	f.Add(blob[:40], false)
	f.Fuzz(func(t *testing.T, b []byte, fixChecksum bool) {
		if fixChecksum && len(b) >= 4 {
			binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.Checksum(b[:len(b)-4], crc32.MakeTable(crc32.Castagnoli)))
		}
		var x trimmedmean.Stream
		err := x.UnmarshalBinary(b)
		if err != nil {
			if !errors.Is(err, secagg.ErrBadRequest) {
				t.Fatalf("not a bad_request: %v", err)
			}
			return
		}
		again, _ := x.MarshalBinary()
		if string(again) != string(b) {
			t.Fatal("accepted blob does not re-serialise to itself")
		}
		dst := make([]float32, x.Dim())
		for _, k := range []int{x.K(), x.K() / 2} { // ResultK's kernels read the kept slots
			if x.ResultK(dst, k) == nil {
				for _, v := range dst {
					if math.IsNaN(float64(v)) {
						t.Fatal("accepted blob gives NaN")
					}
				}
			}
		}
	})
}

// FuzzKernels compares TrimmedMean and Median with the sort-per-coordinate reference on
// fuzzed values, and checks NaN/Inf rejection names the first bad value.
func FuzzKernels(f *testing.F) {
	f.Add([]byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40, 0, 0, 0, 0}, uint8(5), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, n, k uint8) {
		clients := int(n%12) + 1
		d := len(data) / 4 / clients
		if d == 0 {
			return
		}
		us := make([][]float32, clients)
		finite := true
		for i := range us {
			us[i] = make([]float32, d)
			for j := range us[i] {
				v := math.Float32frombits(binary.LittleEndian.Uint32(data[4*(i*d+j):]))
				us[i][j] = v
				finite = finite && !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0)
			}
		}
		kk := int(k) % ((clients + 1) / 2)
		dst := make([]float32, d)
		err := trimmedmean.TrimmedMean(dst, us, math.Min((float64(kk)+0.5)/float64(clients), math.Nextafter(0.5, 0)))
		if !finite {
			if !errors.Is(err, secagg.ErrValidation) {
				t.Fatalf("non-finite input not rejected: %v", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		checkAgainstReference(t, us, kk, dst, "fuzz")
		if err := trimmedmean.Median(dst, us); err != nil {
			t.Fatal(err)
		}
		checkAgainstReference(t, us, (clients-1)/2, dst, "fuzz")
		// The stream, fed one at a time and all together, holds the same bits.
		one, _ := trimmedmean.NewStream(d, kk)
		all, _ := trimmedmean.NewStream(d, kk)
		for _, u := range us {
			if err := one.Add(u); err != nil {
				t.Fatal(err)
			}
		}
		if err := all.AddRows(us); err != nil {
			t.Fatal(err)
		}
		a, _ := one.MarshalBinary()
		b, _ := all.MarshalBinary()
		if !bytes.Equal(a, b) {
			t.Fatal("Stream.AddRows differs from Add in order")
		}
		// Folded in two parts, it agrees with the reference and keeps AddRows's
		// extremes once serialising has ordered them.
		folded, _ := trimmedmean.NewStream(d, kk)
		if err := folded.Fold(us[:clients/2]); err != nil {
			t.Fatal(err)
		}
		if err := folded.Fold(us[clients/2:]); err != nil {
			t.Fatal(err)
		}
		if err := folded.Result(dst); err != nil {
			t.Fatal(err)
		}
		checkAgainstReference(t, us, kk, dst, "fuzz fold")
		c, _ := folded.MarshalBinary()
		for j := range d {
			for i := range 2 * kk {
				if x, y := all.Extreme(j, i), folded.Extreme(j, i); x != y {
					t.Fatalf("coordinate %d slot %d: AddRows keeps %v, Fold %v", j, i, x, y)
				}
			}
		}
		var back trimmedmean.Stream
		if err := back.UnmarshalBinary(c); err != nil {
			t.Fatalf("a folded stream's blob is refused: %v", err)
		}
	})
}
